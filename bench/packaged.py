"""The bench's Lift app as `lift package` ships it: a /var/task-like folder for the measured Python.

The folder holds what the deployment package of `bench/apps/lift_app.py` holds: lift's runtime part
(copied by `lift package`'s own `_copy_tree`, without its tooling), the third-party packages the
measured virtualenv gives the app (msgspec; typing_extensions when the virtualenv has it, as pydantic
or another dependency would bring it into a package), and the app's modules. Compiled, it goes
through `lift package`'s own `_compile` for the measured Python (unchecked-hash .pyc files and lift's
core bundle); uncompiled, it is what `lift package --no-compile` ships (no .pyc, no bundle).

msgspec's submodules a function does not use are imported on first use, and `uuid` without
`platform`, as `lift package` makes them (`defer_msgspec_imports`).

`bench/instructions.py` (`app@venv+package`) and `bench/cold_start.py` (`@...+package` rows) run the
app from this folder, first on sys.path as /var/task is in Lambda, with the virtualenv's Python and
its `awslambdaric`: the editable lift of the virtualenv comes after the folder, so the packaged lift
is the one imported (`check` makes sure).
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
APP_MODULES = ("lift_app.py", "catalog.py")
THIRD_PARTY = ("msgspec", "typing_extensions")  # what the measured virtualenv may give a Lift app

_BUILT: dict[tuple[str, bool], Path] = {}


def _site_files(python: str) -> dict[str, Path]:
    """name -> where the virtualenv of `python` has it (a package folder or a module file)."""
    code = (
        "import importlib.util, json, sys\n"
        "found = {}\n"
        f"for name in {THIRD_PARTY!r}:\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    if spec is not None and spec.origin:\n"
        "        found[name] = spec.origin\n"
        "print(json.dumps(found))"
    )
    import json

    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True)
    found = {}
    for name, origin in json.loads(out.stdout).items():
        path = Path(origin)
        found[name] = path.parent if path.name == "__init__.py" else path
    return found


def build(python: str, *, compiled: bool = True) -> Path:
    """The packaged app's folder for `python` (built once per process and kind)."""
    key = (python, compiled)
    if key in _BUILT:
        return _BUILT[key]
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))  # (this checkout's packaging code)
    from lift.deploy.package import _TOOLING, _compile, _copy_tree, defer_msgspec_imports

    root = Path(tempfile.mkdtemp(prefix="lift-bench-task-"))
    atexit.register(shutil.rmtree, root, True)
    for path in _site_files(python).values():
        _copy_tree(path, root / path.name)  # (_copy_tree leaves out __pycache__ and .pyc files)
    if not defer_msgspec_imports(root):  # (as build_package does to the dependencies pip installed)
        raise SystemExit(
            f"lift package would ship msgspec as installed for {python}: its files are not the known shape"
        )
    _copy_tree(SRC / "lift", root / "lift", skip_top=_TOOLING)
    for module in APP_MODULES:
        shutil.copyfile(HERE / "apps" / module, root / module)
    if compiled:
        version = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
        ).stdout.strip()
        # (the folder stands for /var/task: the code names its files where they are, as on Lambda)
        ok, note = _compile(root, f"python{version}", prefix=str(root))
        if not ok or "lift's core modules bundled" not in note:
            raise SystemExit(f"lift package's compile step for {python}: {note}")
    check(python, root, compiled)
    _BUILT[key] = root
    return root


def check(python: str, root: Path, compiled: bool) -> None:
    """The app imports lift and msgspec from the folder (not from the virtualenv), and lift's core
    modules from its bundle when compiled."""
    code = (
        "import sys, lift_app, lift, msgspec\n"
        "loader = type(sys.modules['lift.app'].__spec__.loader).__name__\n"
        "print(lift.__file__, msgspec.__file__, loader)"
    )
    out = subprocess.run(
        [python, "-c", code],
        cwd=root,
        env={"PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"the packaged app does not import with {python}:\n{out.stderr[-2000:]}")
    lift_file, msgspec_file, loader = out.stdout.split()
    want = "CoreBundle" if compiled else "SourceFileLoader"
    if not (lift_file.startswith(str(root)) and msgspec_file.startswith(str(root)) and loader == want):
        raise SystemExit(f"the packaged app in {root} imported {lift_file}, {msgspec_file}, lift.app by {loader}")
