"""`lift package`: the deployment zip, reproducible, built for the Lambda platform.

    code      the app's module or package (from `[tool.lift] app`) and `[tool.lift] include` paths
    lift      the runtime part of the installed lift (never cli/, dev/, deploy/, testing/)
    deps      `[project] dependencies` (or requirements.txt) installed by pip for the target:
              --platform manylinux2014_<arch> (+ manylinux_2_28/2_34 on AL2023 runtimes)
              --only-binary=:all: --python-version X.Y --implementation cp --target
              boto3/botocore left out (the runtime has them) unless pinned with `==`

Then `__pycache__`, `*.dist-info/RECORD`, `bin/` and dependencies' `tests/` folders are dropped,
bytecode is compiled by an interpreter of the target version (`compileall`, unchecked-hash .pyc:
/var/task is read-only and a zip without .pyc recompiles every module on every cold start), and
the zip is written with sorted entries, fixed timestamps and fixed permissions, so the same
inputs give the same bytes (and the same sha256, which names the artifact in S3).

Why not `sam build`: it needs the SAM CLI (and often Docker); pip's cross-platform install and
zipfile do the same for wheels-only dependencies, and let us fix what `sam build` does not
(reproducible zips, precompiled bytecode).
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "PackageError",
    "PackageResult",
    "build_package",
    "check_package",
    "find_interpreter",
    "MAX_ZIPPED",
    "MAX_UNZIPPED",
]

MAX_ZIPPED = 50 * 1024 * 1024  # direct upload limit
MAX_UNZIPPED = 250 * 1024 * 1024  # function + layers, unzipped
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_TOOLING = ("cli", "dev", "deploy", "testing")  # lift packages a deployed function never imports
_AWS_SDK = {"boto3", "botocore", "s3transfer", "jmespath"}
_SKIP_DIRS = {
    "__pycache__",
    ".git",
    ".venv",
    "venv",
    ".lift",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "node_modules",
}


class PackageError(Exception):
    """The package cannot be built as asked (the message says why and what to do)."""


@dataclass
class PackageResult:
    path: Path
    sha256: str
    zipped: int
    unzipped: int
    files: int
    compiled: bool
    compile_note: str
    largest: list[tuple[str, int]] = field(default_factory=list)  # top-level entries by unzipped size
    requirements: list[str] = field(default_factory=list)
    layer: PackageResult | None = None  # the dependencies layer, when built apart


def find_interpreter(version: str) -> str | None:
    """A CPython of `version` ("3.12") on this machine: the running one, pythonX.Y on PATH, or pyenv's."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    candidates = [shutil.which(f"python{version}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        candidates += [str(p / "bin" / f"python{version}") for p in sorted(pyenv.glob(f"{version}.*"), reverse=True)]
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return candidate
    return None


def platforms(runtime: str, architecture: str) -> list[str]:
    """pip --platform tags the runtime's glibc accepts (python3.12+ run on Amazon Linux 2023, glibc 2.34)."""
    arch = "aarch64" if architecture == "arm64" else "x86_64"
    tags = [f"manylinux2014_{arch}"]
    if runtime != "python3.11":
        tags += [f"manylinux_2_28_{arch}", f"manylinux_2_34_{arch}"]
    return tags


# -- what goes in --------------------------------------------------------------------------------
def project_requirements(root: Path) -> list[str]:
    """The project's runtime requirements: requirements.txt if present, else [project] dependencies."""
    import tomllib

    req_file = root / "requirements.txt"
    if req_file.is_file():
        lines = [line.split("#", 1)[0].strip() for line in req_file.read_text().splitlines()]
        return [line for line in lines if line and not line.startswith("-")]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        return list(data.get("project", {}).get("dependencies", []))
    return []


def _is_lift(name: str) -> bool:
    return name.lower().replace("_", "-") in ("lift", "lift-lambda")


def resolve_requirements(requirements: list[str]) -> list[str]:
    """The requirements pip installs: lift itself replaced by its runtime deps (lift is copied from this
    installation), boto3 and friends dropped unless pinned with `==` (the runtime provides them)."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement

    out: list[str] = []
    for text in requirements:
        req = Requirement(text)
        if _is_lift(req.name):
            try:
                own = requires("lift-lambda")
            except PackageNotFoundError:
                own = requires("lift")
            for dep in own or []:
                dep_req = Requirement(dep)
                marker = dep_req.marker
                wanted = marker is None or any(marker.evaluate({"extra": extra}) for extra in req.extras)
                if wanted and not _is_lift(dep_req.name):
                    out.append(str(dep_req).split(";")[0].strip())
            continue
        out.append(text)
    kept = []
    for text in out:
        req = Requirement(text)
        if req.name.lower() in _AWS_SDK and not any(s.operator in ("==", "===") for s in req.specifier):
            continue
        if text not in kept:
            kept.append(text)
    return kept


def app_paths(root: Path, app_ref: str | None, include: list[str]) -> list[Path]:
    """The project files to ship: the app's top-level module or package, and `include` paths."""
    module = (app_ref or "app:app").split(":", 1)[0].split(".", 1)[0]
    paths = []
    for base in (root, root / "src"):
        for candidate in (base / module, base / f"{module}.py"):
            if candidate.exists():
                paths.append(candidate)
        if paths:
            break
    if not paths:
        raise PackageError(f"Cannot find the app's module {module!r} in {root} or {root / 'src'}")
    for extra in include:
        path = Path(os.path.normpath(root / extra))  # a symlink inside the project stays as named
        if not path.is_relative_to(root):  # "../shared", "/etc/...": it landed outside the zip, or failed
            raise PackageError(
                f"[tool.lift] include: {extra} is outside the project {root}: the package holds paths of the "
                "project only (move or copy it into the project)"
            )
        if not path.exists():
            raise PackageError(f"[tool.lift] include: {extra} does not exist in {root}")
        paths.append(path)
    return paths


def _copy_tree(src: Path, dest: Path, skip_top: tuple[str, ...] = ()) -> None:
    if src.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in _SKIP_DIRS for part in rel.parts) or (rel.parts and rel.parts[0] in skip_top):
            continue
        if path.is_file() and path.suffix not in (".pyc", ".pyo"):
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)  # with its mode: an executable (lift/run_asgi.sh) stays one in the zip


def _pip_install(requirements: list[str], target: Path, runtime: str, architecture: str) -> None:
    if not requirements:
        return
    version = runtime.removeprefix("python")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    cmd += ["--target", str(target), "--implementation", "cp", "--python-version", version, "--only-binary=:all:"]
    for tag in platforms(runtime, architecture):
        cmd += ["--platform", tag]
    proc = subprocess.run([*cmd, *requirements], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-5:]
        raise PackageError(
            f"pip could not install the dependencies for {runtime} on {architecture} "
            f"(wheels only: a dependency without a wheel for manylinux/{architecture} cannot be packaged here):\n  "
            + "\n  ".join(detail)
        )


def _prune(build: Path) -> None:
    """Drop what a deployed function never needs from the installed dependencies (the only content of
    `build` at this point): bytecode of this machine, RECORD files, scripts, the packages' own tests."""
    for path in sorted(build.rglob("*"), reverse=True):
        if not path.exists():
            continue
        depth = len(path.relative_to(build).parts)
        if path.is_dir() and (path.name == "__pycache__" or (path.name in ("tests", "test") and depth >= 2)):
            shutil.rmtree(path)
        elif path.is_file() and (
            path.suffix in (".pyc", ".pyo") or (path.name == "RECORD" and path.parent.name.endswith(".dist-info"))
        ):
            path.unlink()
    bin_dir = build / "bin"
    if bin_dir.is_dir():
        shutil.rmtree(bin_dir)


# msgspec's `__init__` imports its `inspect`, `toml` and `yaml` submodules, and `msgspec.json` its
# JSON Schema generator (which imports `inspect`, and with it `decimal`, `enum`, `textwrap`...), on
# every `import msgspec`, though a function decoding and encoding JSON uses none of them: 7.5M-8.5M
# instructions of every cold start (bench/README.md, "msgspec's eager submodules"), more than the
# rest of Lift's own import. The packaged copy imports them on first use instead (a module
# `__getattr__`, PEP 562): `msgspec.inspect`, `from msgspec import yaml`, `msgspec.json.schema(...)`
# work as before. Only the statements below, found by their AST, are rewritten; a msgspec whose
# files differ is packaged as installed.
_MSGSPEC_LAZY = {
    "__init__.py": ("", ("inspect", "toml", "yaml")),
    "json.py": ("_json_schema", ("schema", "schema_components")),
}
_LAZY_NOTE = "# (written by `lift package`: imported on first use, see lift.deploy.package._MSGSPEC_LAZY)"


def defer_msgspec_imports(deps: Path) -> str:
    """Rewrite the installed msgspec in `deps` so what a function does not use loads on first use
    (its submodules, see _MSGSPEC_LAZY; typing_extensions, see _defer_typing_extensions); returns a
    note for the package's result ("" when msgspec is not there or none of its files has the shape
    this knows). Each file whose statements are not the known ones is left as pip installed it."""
    notes = [note for note in (_defer_submodules(deps), _defer_typing_extensions(deps)) if note]
    lazy = "; " + " and ".join(notes) + " imported on first use" if notes else ""
    return lazy + ("; uuid imported without platform" if _uuid_without_platform(deps) else "")


def _imports(node: object, module: str, names: dict[str, str | None]) -> bool:
    """Whether `node` is exactly `from <module> import <name> [as <asname>], ...` (absolute)."""
    import ast

    return (
        isinstance(node, ast.ImportFrom)
        and node.level == 0
        and node.module == module
        and {alias.name: alias.asname for alias in node.names} == names
    )


# With typing_extensions installed (pydantic and many libraries bring it), msgspec's `_utils` imports
# it at `import msgspec` for `get_type_hints`, `Required` and `NotRequired`, and typing_extensions
# imports `inspect` (with `ast`, `dis`, ...): 27M instructions of a packaged app's 85M cold start on
# 3.11 (bench/README.md). On the Pythons Lambda runs (3.11+), typing_extensions' `Required` and
# `NotRequired` are `typing`'s own (PEP 655 put them in typing in 3.11; typing_extensions re-exports
# them there), so the packaged copy takes them from `typing`; and `get_type_hints` (which msgspec
# calls when it first reads a NamedTuple's or a function's hints, never to decode JSON into a Struct)
# imports typing_extensions on that first call, falling back to typing's as before.
_LAZY_HINTS = """def _get_type_hints(obj, **kwargs):  {note}
    global _get_type_hints
    try:
        from typing_extensions import get_type_hints as found
    except Exception:
        from typing import get_type_hints as found
    _get_type_hints = found
    return found(obj, **kwargs)
"""
_TYPING_REQUIRED = "from typing import NotRequired, Required  {note}\n"


def _defer_typing_extensions(deps: Path) -> str:
    import ast

    path = deps / "msgspec" / "_utils.py"
    if not path.is_file():
        return ""
    source = path.read_text(encoding="utf-8")
    hints = {"get_type_hints": "_get_type_hints"}
    required = {"NotRequired": None, "Required": None}
    found: dict[str, ast.Try] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Try) and len(node.body) == 1 and node.handlers and node.end_lineno):
            continue
        fallback = node.handlers[0].body[0]
        if _imports(node.body[0], "typing_extensions", hints) and _imports(fallback, "typing", hints):
            found.setdefault("hints", node)
        elif _imports(node.body[0], "typing_extensions", required) and (
            _imports(fallback, "typing", required)
            or (isinstance(fallback, ast.Try) and _imports(fallback.body[0], "typing", required))
        ):
            found.setdefault("required", node)
    if set(found) != {"hints", "required"}:
        return ""
    lines = source.splitlines(keepends=True)
    replacements = {"hints": _LAZY_HINTS, "required": _TYPING_REQUIRED}
    for key, node in sorted(found.items(), key=lambda item: -item[1].lineno):  # (bottom up: line numbers hold)
        text = replacements[key].format(note="# (written by `lift package`, see lift.deploy.package._LAZY_HINTS)")
        lines[node.lineno - 1 : node.end_lineno] = [text]
    new = "".join(lines)
    ast.parse(new)
    path.write_text(new, encoding="utf-8")
    return "typing_extensions"


# msgspec's `_core` imports `uuid` at `import msgspec`, and on Linux before Python 3.13 `uuid` imports
# all of `platform` (which compiles ten regular expressions at import) only to call
# `platform.system()` once, for its `_LINUX`/`_AIX` flags; it uses `platform` for nothing else. That
# is 6M-9M instructions of a cold start (bench/README.md), a seventh of a packaged app's init on 3.11
# and 3.12, for a module the Lambda runtime has not loaded. The packaged msgspec/__init__.py
# therefore starts by importing `uuid` with a one-function stand-in for `platform` in `sys.modules`
# (`system()` is `os.uname().sysname`, what `platform.system()` returns on Linux), taken out again as
# soon as `uuid` is loaded, so any later `import platform` loads the real module; `uuid` keeps no
# reference to it. Nothing is done when `uuid` or `platform` is already loaded, or on 3.13+, whose
# `uuid` does not import `platform` on Linux. (msgspec is imported at init, by the main thread.)
_UUID_PREAMBLE = """def _lift_import_uuid():  {note}
    import sys

    if sys.version_info >= (3, 13) or sys.platform != "linux" or "uuid" in sys.modules or "platform" in sys.modules:
        return
    import os
    import types

    stand_in = types.ModuleType("platform")
    stand_in.system = lambda: os.uname().sysname
    sys.modules["platform"] = stand_in
    try:
        import uuid
    finally:
        if sys.modules.get("platform") is stand_in:
            del sys.modules["platform"]
    if getattr(uuid, "platform", None) is stand_in:
        del uuid.platform


_lift_import_uuid()
del _lift_import_uuid


"""


def _uuid_without_platform(deps: Path) -> bool:
    import ast

    path = deps / "msgspec" / "__init__.py"
    if not path.is_file():
        return False
    source = path.read_text(encoding="utf-8")
    body = ast.parse(source).body
    if any(isinstance(node, ast.FunctionDef) and node.name == "_lift_import_uuid" for node in body):
        return False
    # (after a docstring and `from __future__` imports, which must stay first)
    start = 0
    for node in body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is body[0]
        if not (is_doc or (isinstance(node, ast.ImportFrom) and node.module == "__future__")) or not node.end_lineno:
            break
        start = node.end_lineno
    lines = source.splitlines(keepends=True)
    preamble = _UUID_PREAMBLE.format(note="# (written by `lift package`, see lift.deploy.package._UUID_PREAMBLE)")
    new = "".join(lines[:start]) + ("\n" if start else "") + preamble + "".join(lines[start:])
    ast.parse(new)
    path.write_text(new, encoding="utf-8")
    return True


def _defer_submodules(deps: Path) -> str:
    import ast

    package = deps / "msgspec"
    rewritten: dict[Path, str] = {}
    for name, (module, lazy) in _MSGSPEC_LAZY.items():
        path = package / name
        if not path.is_file():
            return ""
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        if any(isinstance(node, ast.FunctionDef) and node.name == "__getattr__" for node in tree.body):
            return ""
        found = [
            node
            for node in tree.body
            if isinstance(node, ast.ImportFrom)
            and node.level == 1
            and (node.module or "") == module
            and set(lazy) <= {alias.name for alias in node.names}
            and all(alias.asname is None for alias in node.names)
        ]
        if len(found) != 1 or found[0].end_lineno is None:
            return ""
        node = found[0]
        kept = [alias.name for alias in node.names if alias.name not in lazy]
        lines = source.splitlines(keepends=True)
        if module:  # names of a submodule: read from it on first use, then kept
            load = f"        from . import {module}\n\n        value = getattr({module}, name)\n"
        else:  # submodules of this package
            load = '        import importlib\n\n        value = importlib.import_module(f"{__name__}.{name}")\n'
        replacement = (
            (f"from .{module} import {', '.join(kept)}\n" if module and kept else "")
            + (f"from . import {', '.join(kept)}\n" if not module and kept else "")
            + f"\n\ndef __getattr__(name):  {_LAZY_NOTE}\n"
            + f"    if name in {lazy!r}:\n"
            + load
            + "        globals()[name] = value\n"
            + "        return value\n"
            + '    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")\n\n\n'
        )
        new = "".join(lines[: node.lineno - 1]) + replacement + "".join(lines[node.end_lineno :])
        ast.parse(new)  # (a rewrite that does not parse is a bug here: fail the package, not the function)
        rewritten[path] = new
    for path, text in rewritten.items():
        path.write_text(text, encoding="utf-8")
    return "msgspec's inspect, toml, yaml and JSON Schema modules"


def _compile(build: Path, runtime: str, prefix: str = "/var/task") -> tuple[bool, str]:
    version = runtime.removeprefix("python")
    interpreter = find_interpreter(version)
    if interpreter is None:
        return (
            False,
            f"no Python {version} interpreter here: bytecode not precompiled (install python{version} to precompile)",
        )
    bundle_note = write_core_bundle(build, interpreter, prefix) if (build / "lift" / "__init__.py").is_file() else ""
    proc = subprocess.run(
        [
            interpreter,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(build),
            "-p",
            prefix,  # where Lambda puts these files: /var/task, or /opt for a layer
            str(build),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode not in (0, 1):  # 1: some file did not compile (e.g. a py2 leftover in a dependency)
        return False, f"compileall failed: {proc.stderr.strip()[-500:]}"
    return True, f"bytecode compiled by Python {version} ({interpreter}), unchecked-hash{bundle_note}"


# The modules `import lift` loads besides `lift` itself (tests/deploy/test_core_bundle.py keeps this
# list equal to them): `write_core_bundle` puts their code in one file that the packaged
# lift/__init__.py reads, instead of finding and reading each module's .pyc (lift/_core_bundle.py).
CORE_MODULES = (
    "lift.app",
    "lift.binding",
    "lift.context",
    "lift.errors",
    "lift.routing",
    "lift.serialization",
    "lift.sources",
    "lift.sources.apigw_rest",
    "lift.sources.http",
    "lift.sources.registry",
    "lift.sources.triggers",
    "lift.validation",
)

_BUNDLE = r"""
import importlib.util, marshal, os, sys
root, prefix, version = sys.argv[1], sys.argv[2], sys.argv[3]
codes = {}
for name in sys.argv[4:]:
    rel = name.replace(".", "/")
    rel = rel + "/__init__.py" if os.path.isdir(os.path.join(root, rel)) else rel + ".py"
    with open(os.path.join(root, rel), "rb") as f:
        codes[name] = (rel.endswith("/__init__.py"), compile(f.read(), prefix + "/" + rel, "exec", dont_inherit=True))
with open(os.path.join(root, "lift", "_core." + sys.implementation.cache_tag + ".bundle"), "wb") as f:
    f.write(importlib.util.MAGIC_NUMBER + marshal.dumps((version, codes)))
"""


def write_core_bundle(build: Path, interpreter: str, prefix: str = "/var/task") -> str:
    """Write `lift/_core.<cache tag>.bundle` in `build` (the code of CORE_MODULES compiled by
    `interpreter`, the target Python) and make the packaged `lift/__init__.py` read it
    (`packaged_init`). Returns a note for the package's result; without a bundle (the step failed)
    the package works as before, each module read from its .pyc."""
    import lift

    init = build / "lift" / "__init__.py"
    proc = subprocess.run(
        [interpreter, "-I", "-S", "-c", _BUNDLE, str(build), prefix, lift.__version__, *CORE_MODULES],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        return f"; lift's core modules not bundled: {proc.stderr.strip()[-300:]}"
    text = init.read_text()
    if _PACKAGED_MARK not in text:  # (a second bundle, for another Python, needs no second loader)
        init.write_text(packaged_init(text, lift.__version__))
    return "; lift's core modules bundled"


_PACKAGED_MARK = "# Written by `lift package`"


def packaged_init(original: str, version: str) -> str:
    """`lift/__init__.py` as packaged: after its docstring, the bundle's loader (the source of
    lift/_core_bundle.py) and its finder put first in `sys.meta_path`; then the original module,
    whose imports the finder serves; last, the finder removed."""
    import ast

    tree = ast.parse(original)
    has_doc = bool(tree.body) and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant)
    split = tree.body[0].end_lineno or 0 if has_doc else 0
    lines = original.splitlines(keepends=True)
    loader = ast.parse(Path(__file__).parent.parent.joinpath("_core_bundle.py").read_text())
    loader.body = loader.body[1:]  # (its docstring)
    return (
        "".join(lines[:split])
        + f"\n{_PACKAGED_MARK}: the modules `import lift` loads come from one file (lift/_core_bundle.py)\n"
        + ast.unparse(loader)
        + f"\n_core_finder = _core_bundle(__path__[0], {version!r})\n"
        + "".join(lines[split:])
        + "\nif _core_finder is not None:\n    _core_finder.leave()\ndel _sys, _core_bundle, _core_finder\n"
    )


def write_zip(build: Path, dest: Path) -> tuple[int, int]:
    """A reproducible zip of `build`: sorted entries, fixed timestamps and modes. Returns (files, unzipped bytes)."""
    files = sorted((p for p in build.rglob("*") if p.is_file()), key=lambda p: p.relative_to(build).as_posix())
    total = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            rel = path.relative_to(build).as_posix()
            info = zipfile.ZipInfo(rel, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (
                0o100755 if os.access(path, os.X_OK) and path.suffix not in (".py", ".pyc") else 0o100644
            ) << 16
            info.create_system = 3  # unix, so the modes above are honoured
            data = path.read_bytes()
            total += len(data)
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(buffer.getvalue())
    return len(files), total


def _largest(build: Path, n: int = 8) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for path in build.rglob("*"):
        if path.is_file():
            top = path.relative_to(build).parts[0]
            if top.endswith(".dist-info"):
                top = re.sub(r"-[^-]+\.dist-info$", "", top) + " (metadata)"
            sizes[top] = sizes.get(top, 0) + path.stat().st_size
    return sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


# -- the package ---------------------------------------------------------------------------------
def build_package(
    root: Path,
    dest: Path,
    *,
    app_ref: str | None,
    runtime: str = "python3.12",
    architecture: str = "arm64",
    include: list[str] | None = None,
    requirements: list[str] | None = None,
    compile: bool = True,
    layer_dest: Path | None = None,
    max_zipped: int = MAX_ZIPPED,
    max_unzipped: int = MAX_UNZIPPED,
) -> PackageResult:
    """Build the zip for the project in `root` at `dest`; raises PackageError over Lambda's limits.

    With `layer_dest`, the dependencies go to a layer zip there instead (under `python/`, which
    Lambda puts on sys.path from /opt): the function's zip keeps only the app and lift."""
    from packaging.requirements import Requirement

    import lift

    root = Path(root).resolve()
    sources = app_paths(root, app_ref, include or [])  # a wrong path fails before pip runs
    wanted = project_requirements(root) if requirements is None else requirements
    if not any(_is_lift(Requirement(text).name) for text in wanted):
        # lift is always packaged, so its runtime dependencies (msgspec) are too: a project that does
        # not declare lift-lambda (no [project] table) got a zip whose `import lift` failed on Lambda
        wanted = ["lift-lambda", *wanted]
    reqs = resolve_requirements(wanted)
    layer_result = None
    with tempfile.TemporaryDirectory(prefix="lift-package-") as tmp:
        build = Path(tmp) / "task"
        build.mkdir()
        deps = Path(tmp) / "layer" / "python" if layer_dest is not None else build
        deps.mkdir(parents=True, exist_ok=True)
        _pip_install(reqs, deps, runtime, architecture)
        _prune(deps)
        deferred = defer_msgspec_imports(deps)
        lift_dir = Path(lift.__file__).parent
        _copy_tree(lift_dir, build / "lift", skip_top=_TOOLING)
        for path in sources:
            _copy_tree(path, build / path.relative_to(root if not path.is_relative_to(root / "src") else root / "src"))
        compiled, note = _compile(build, runtime) if compile else (False, "bytecode not precompiled (--no-compile)")
        note += deferred
        if layer_dest is not None:
            layer_root = deps.parent
            if compile and compiled:
                _compile(layer_root, runtime, prefix="/opt")
            layer_files, layer_unzipped = write_zip(layer_root, layer_dest)
            layer_result = _result(layer_dest, layer_files, layer_unzipped, compiled, note, _largest(deps), reqs)
        files, unzipped = write_zip(build, dest)
        largest = _largest(build)
    result = _result(dest, files, unzipped, compiled, note, largest, reqs)
    result.layer = layer_result
    total = unzipped + (layer_result.unzipped if layer_result else 0)
    parts = sorted(largest + (layer_result.largest if layer_result else []), key=lambda kv: -kv[1])
    if total > max_unzipped:
        raise PackageError(
            f"The package is {total / 2**20:.1f} MB unzipped (with its layer), over Lambda's "
            f"{max_unzipped / 2**20:.0f} MB limit. Largest: "
            + ", ".join(f"{name} {size / 2**20:.1f} MB" for name, size in parts[:5])
            + ". Use a container image, or drop the biggest dependencies."
        )
    for built in (result, layer_result):
        if built is not None and built.zipped > max_zipped:
            hint = (
                "Put the dependencies in a layer ([tool.lift] dependencies_layer = true): each zip has the 50 MB limit."
                if layer_result is None
                else "Split or trim the dependencies."
            )
            raise PackageError(
                f"{built.path.name} is {built.zipped / 2**20:.1f} MB zipped, over Lambda's {max_zipped / 2**20:.0f} MB "
                "direct-upload limit. Largest: "
                + ", ".join(f"{name} {size / 2**20:.1f} MB" for name, size in built.largest[:5])
                + ". "
                + hint
            )
    return result


def _result(
    dest: Path, files: int, unzipped: int, compiled: bool, note: str, largest: list[tuple[str, int]], reqs: list[str]
) -> PackageResult:
    data = dest.read_bytes()
    return PackageResult(
        dest, hashlib.sha256(data).hexdigest(), len(data), unzipped, files, compiled, note, largest, reqs
    )


_CHECK = r"""
import importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
if len(sys.argv) > 3:
    sys.path.append(sys.argv[3])  # the layer's python/ (Lambda: /opt/python, after /var/task)
start = time.perf_counter()
module, attr = sys.argv[2].rsplit(".", 1)
handler = getattr(importlib.import_module(module), attr)
elapsed = (time.perf_counter() - start) * 1000
tooling = sorted(m for m in sys.modules if m.split(".")[:2] in (["lift", "cli"], ["lift", "dev"], ["lift", "deploy"]))
outside = sorted(
    m.__name__ for m in list(sys.modules.values())
    if getattr(m, "__file__", None) and "site-packages" in m.__file__ and not m.__file__.startswith(sys.argv[1])
)
bundled = sorted(  # lift's modules read from its core bundle (lift/_core_bundle.py)
    name for name, m in list(sys.modules.items())
    if type(getattr(getattr(m, "__spec__", None), "loader", None)).__name__ == "CoreBundle"
)
print(json.dumps({
    "callable": callable(handler), "import_ms": round(elapsed, 1), "tooling": tooling, "outside": outside,
    "bundled": bundled,
}))
"""


def check_package(
    zip_path: Path, handler: str, runtime: str, architecture: str, layer_zip: Path | None = None
) -> dict[str, object]:
    """Import `handler` from the unpacked zip in a clean interpreter of the runtime's version
    (isolated: no site-packages, no PYTHONPATH). Raises PackageError with the import's error."""
    import json

    version = runtime.removeprefix("python")
    host = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    if host != architecture:
        raise PackageError(
            f"Cannot check a {architecture} package on this {host} machine (its compiled dependencies would not load)"
        )
    interpreter = find_interpreter(version)
    if interpreter is None:
        raise PackageError(f"Cannot check the package: no Python {version} interpreter on this machine")
    with tempfile.TemporaryDirectory(prefix="lift-check-") as base:
        tmp = str(Path(base) / "task")
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)
        extra = []
        if layer_zip is not None:
            with zipfile.ZipFile(layer_zip) as zf:
                zf.extractall(Path(base) / "opt")
            extra = [str(Path(base) / "opt" / "python")]
        env = {
            "PATH": os.environ.get("PATH", ""),
            "LIFT_NAME": "check",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        proc = subprocess.run(
            [interpreter, "-I", "-S", "-c", _CHECK, tmp, handler, *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp,
        )
    if proc.returncode != 0:
        raise PackageError(f"Importing {handler} from the package failed:\n{proc.stderr.strip()[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if not report["callable"]:
        raise PackageError(f"{handler} in the package is not callable")
    if report["tooling"]:
        raise PackageError(f"The handler imports lift tooling ({', '.join(report['tooling'])}), which is not packaged")
    return report
