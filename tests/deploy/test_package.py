"""`lift package`: a reproducible zip for the Lambda platform, checked by importing the handler from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from lift.deploy.package import CORE_MODULES, PackageError, build_package, check_package, resolve_requirements

APP = """
import msgspec
from lift import App

app = App(name="tiny")


class Note(msgspec.Struct):
    text: str


@app.post("/notes", status=201)
def create(body: Note) -> Note:
    return body
"""
PYPROJECT = """
[project]
name = "tiny"
version = "0.1.0"
dependencies = ["lift-lambda", "boto3>=1.28"]

[tool.lift]
app = "tiny:app"
architecture = "x86_64"
"""


def lift(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lift.cli", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    (root / "tiny.py").write_text(APP)
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (root / "tests").mkdir()
    (root / "tests" / "test_tiny.py").write_text("def test_x(): pass\n")
    return root


@pytest.fixture(scope="module")
def packaged(project: Path) -> dict:
    """`lift package --check --json`, run once for the module (pip's cache keeps reruns fast)."""
    result = lift("package", "--check", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_package_holds_the_app_lift_runtime_and_platform_wheels(project: Path, packaged: dict) -> None:
    names = zipfile.ZipFile(
        packaged["path"] if Path(packaged["path"]).is_absolute() else project / packaged["path"]
    ).namelist()
    assert "tiny.py" in names and "lift/app.py" in names
    assert not [
        n
        for n in names
        if n.startswith(("lift/cli/", "lift/dev/", "lift/deploy/", "lift/testing/", "tests/", "boto3/", "botocore/"))
    ]
    assert any(n.startswith("msgspec/_core.cpython-312-x86_64-linux-gnu") for n in names)
    assert "tiny.cpython-312.pyc" in {Path(n).name for n in names if "__pycache__" in n}
    assert not [n for n in names if "cpython-311" in n]  # nothing compiled by the build machine's own Python
    assert packaged["requirements"] == ["msgspec>=0.18"]  # lift vendored, boto3 left to the runtime
    assert packaged["compiled"] is True


def test_bytecode_is_unchecked_hash_so_the_read_only_task_dir_never_recompiles(project: Path, packaged: dict) -> None:
    with zipfile.ZipFile(project / packaged["path"]) as zf:
        pyc = zf.read("__pycache__/tiny.cpython-312.pyc")
    flags = int.from_bytes(pyc[4:8], "little")
    assert flags == 0b01  # hash-based, check_source off (PEP 552)


def test_the_check_imports_the_handler_from_the_unpacked_zip(packaged: dict) -> None:
    assert packaged["check"]["callable"] is True and packaged["check"]["tooling"] == []


def test_the_packaged_lift_reads_the_modules_import_lift_loads_from_its_core_bundle(
    project: Path, packaged: dict
) -> None:
    """Written by the target Python (3.12 here), read by it from the unpacked zip: no .pyc of those
    modules is found and read one by one at cold start (lift/_core_bundle.py)."""
    assert packaged["check"]["bundled"] == sorted(CORE_MODULES)
    assert "lift's core modules bundled" in packaged["compile_note"]
    with zipfile.ZipFile(project / packaged["path"]) as zf:
        assert "lift/_core.cpython-312.bundle" in zf.namelist()


def test_the_same_inputs_give_the_same_zip(project: Path, packaged: dict) -> None:
    again = lift("package", "-o", "again.zip", "--json", cwd=project)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["sha256"] == packaged["sha256"]
    with zipfile.ZipFile(project / "again.zip") as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_a_handler_that_needs_tooling_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("from lift import App\nimport lift.deploy\napp = App(name='bad')\n")
    zip_path = tmp_path / "bad.zip"
    build_package(
        tmp_path,
        zip_path,
        app_ref="bad:app",
        runtime="python3.12",
        architecture="x86_64",
        requirements=["lift-lambda"],
    )
    with pytest.raises(
        PackageError, match=r"(?s)Importing bad.app from the package failed:.*No module named 'lift.deploy'"
    ):
        check_package(zip_path, "bad.app", "python3.12", "x86_64")


def test_over_the_size_limit_is_refused_naming_the_largest_parts(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text("from lift import App\napp = App(name='big')\n")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "blob.bin").write_bytes(os.urandom(300_000))
    with pytest.raises(PackageError, match=r"over Lambda's 0 MB direct-upload limit. Largest: .*assets 0.3 MB.*layer"):
        build_package(
            tmp_path,
            tmp_path / "big.zip",
            app_ref="big:app",
            include=["assets"],
            requirements=[],
            compile=False,
            max_zipped=200_000,
        )


def test_requirements_drop_lift_and_the_runtime_sdk_unless_pinned() -> None:
    assert resolve_requirements(["lift-lambda[jwt]", "boto3>=1.28", "httpx"]) == [
        "msgspec>=0.18",
        "PyJWT[crypto]>=2.8",
        "httpx",
    ]
    assert resolve_requirements(["boto3==1.35.0"]) == ["boto3==1.35.0"]


def test_bytecode_names_the_files_where_lambda_puts_them(project: Path, tmp_path: Path) -> None:
    """The function's code under /var/task, a dependencies layer's under /opt (Lambda mounts a layer's
    python/ at /opt/python): tracebacks name the real files without the import system rewriting every
    code object's filename at cold start."""
    build_package(
        project, tmp_path / "code.zip", app_ref="tiny:app", architecture="x86_64", layer_dest=tmp_path / "layer.zip"
    )
    with zipfile.ZipFile(tmp_path / "layer.zip") as zf:
        name = next(n for n in zf.namelist() if n.startswith("python/msgspec/__pycache__/__init__.cpython-312"))
        layer_pyc = zf.read(name)
    with zipfile.ZipFile(tmp_path / "code.zip") as zf:
        code_pyc = zf.read("__pycache__/tiny.cpython-312.pyc")
    assert b"/opt/python/msgspec/__init__.py" in layer_pyc and b"/var/task" not in layer_pyc
    assert b"/var/task/tiny.py" in code_pyc


EVERY_TRIGGER_APP = """
import sys

from typing import NamedTuple, NotRequired, TypedDict

import msgspec
import lift
from lift import App, Context

app = App(name="every")
seen = []
# what `import msgspec` and `import lift` loaded: the submodules no request uses are not among them,
# nor typing_extensions (in the zip, as pydantic or another dependency brings it)
loaded_at_init = sorted(name for name in sys.modules if name.startswith(("msgspec.", "typing_extensions")))
# nor `platform`, which `uuid` (imported by msgspec) imports on Linux before 3.13 for one call
platform_at_init = "platform" in sys.modules


class Order(msgspec.Struct):
    id: str
    qty: int


class Refund(TypedDict):
    id: str
    reason: NotRequired[str]


class Point(NamedTuple):
    x: int
    y: "int"


@app.get("/café/{name}")
def cafe(name: str) -> dict:
    return {"name": name}


@app.sqs("orders")
def on_order(body: Order) -> None:
    if body.qty < 0:
        raise ValueError("negative quantity")
    seen.append(("sqs", body.id))


@app.sns("alerts")
def on_alert(body: str) -> None:
    seen.append(("sns", body))


@app.eventbridge(source="payments", detail_type="PaymentSettled")
def on_settled(body: dict) -> None:
    seen.append(("eventbridge", body["id"]))


@app.schedule("nightly", cron="0 3 * * ? *")
def nightly(ctx: Context) -> None:
    seen.append(("schedule", "nightly"))


@app.kinesis("clicks")
def on_click(body: dict) -> None:
    seen.append(("kinesis", body["n"]))


@app.websocket("chat")
def chat(ctx: Context, body: dict) -> None:
    seen.append(("websocket", body["text"]))


@app.invoke
def direct(body: dict) -> dict:
    if body.get("msgspec"):  # its deferred submodules, used as msgspec's docs show
        from msgspec import toml, yaml

        return {
            "loaded_at_init": loaded_at_init,
            "type_info": type(msgspec.inspect.type_info(Order)).__name__,
            "schema": msgspec.json.schema(Order)["$defs"]["Order"]["required"],
            "components": sorted(msgspec.json.schema_components([Order])[1]),
            "toml": toml.decode(b"a = 1"),
            "yaml": yaml.__name__,
            # msgspec reads a TypedDict's Required/NotRequired keys, and its get_type_hints (which
            # msgspec 0.23 keeps for other callers) imports typing_extensions' on its first call
            "refunds": msgspec.json.decode(b'[{"id": "r1"}, {"id": "r2", "reason": "dup"}]', type=list[Refund]),
            "missing": _error(lambda: msgspec.json.decode(b'{"reason": "x"}', type=Refund)),
            "point": msgspec.json.decode(b"[1, 2]", type=Point),
            "hints": str(msgspec._utils.get_type_hints(Refund)),
            "typing_extensions": sys.modules["typing_extensions"].__file__,
            "platform_at_init": platform_at_init,
            "uuid": _uuid_works(),
        }
    return {"seen": seen, "lift": lift.__file__, "msgspec": msgspec.__file__}


def _uuid_works():
    import platform
    import uuid

    node = uuid.getnode()
    made = [uuid.uuid1(), uuid.uuid4(), uuid.uuid5(uuid.NAMESPACE_DNS, "lift")]
    decoded = msgspec.json.decode(msgspec.json.encode(made), type=list[uuid.UUID])
    return {
        "round_trip": decoded == made,
        "node": made[0].node == node,
        "linux": uuid._LINUX,
        "platform": [platform.system(), platform.python_version() == "%d.%d.%d" % sys.version_info[:3]],
        "platform_is_real": hasattr(platform, "machine") and not hasattr(uuid, "platform"),
    }


def _error(call):
    try:
        call()
    except msgspec.ValidationError as exc:
        return str(exc)
"""


def test_the_packaged_zip_of_an_app_with_every_trigger_runs_under_the_runtime_client(tmp_path: Path) -> None:
    """The zip itself, unpacked as Lambda does, under awslambdaric with nothing else on the path: lift
    and msgspec come from the zip, and every trigger is served by the packaged code."""
    pytest.importorskip("awslambdaric")
    from lift.deploy.model import handler_from_app_ref
    from lift.dev.runtime_api import RuntimeEmulator
    from lift.testing import events

    root = tmp_path / "project"
    root.mkdir()
    (root / "every.py").write_text(EVERY_TRIGGER_APP)
    (root / "requirements.txt").write_text("lift-lambda\ntyping_extensions\n")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"  # the runtime client's Python
    built = build_package(root, tmp_path / "package.zip", app_ref="every:app", runtime=version, architecture="x86_64")
    task = tmp_path / "task"
    zipfile.ZipFile(built.path).extractall(task)
    handler = handler_from_app_ref("every:app")  # the handler lift deploy gives the function
    with RuntimeEmulator(handler, cwd=task, timeout=10, env={"PYTHONPATH": str(task)}) as rt:
        page = rt.invoke(events.apigw_rest("GET", "/café/crème"))
        assert page.ok and page.payload["statusCode"] == 200, page.logs
        assert json.loads(page.payload["body"]) == {"name": "crème"}
        batch = events.sqs("orders", [{"id": "a", "qty": 1}, {"id": "b", "qty": -1}, "not json"])
        ids = [r["messageId"] for r in batch["Records"]]
        partial = rt.invoke(batch)
        assert partial.payload == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]}
        for event in (
            events.sns("alerts", "disk full"),
            events.eventbridge("payments", "PaymentSettled", {"id": "p1"}),
            events.schedule("nightly"),
            events.kinesis("clicks", [{"n": 1}]),
            events.websocket_message(json.dumps({"text": "hi"}), route_key="chat"),
        ):
            answer = rt.invoke(event)
            assert answer.ok, answer.logs
        report = rt.invoke({"report": True})
        deferred = rt.invoke({"msgspec": True})
        assert report.ok and deferred.ok and rt.starts == 1, deferred.logs
    assert deferred.payload == {
        "loaded_at_init": [
            "msgspec._core",
            "msgspec._utils",
            "msgspec._version",
            "msgspec.json",
            "msgspec.msgpack",
            "msgspec.structs",
        ],
        "type_info": "StructType",
        "schema": ["id", "qty"],
        "components": ["Order"],
        "toml": {"a": 1},
        "yaml": "msgspec.yaml",
        "refunds": [{"id": "r1"}, {"id": "r2", "reason": "dup"}],
        "missing": "Object missing required field `id`",
        "point": [1, 2],
        "hints": "{'id': <class 'str'>, 'reason': typing.NotRequired[str]}",
        "typing_extensions": str(task / "typing_extensions.py"),
        "platform_at_init": False,
        "uuid": {
            "round_trip": True,
            "node": True,
            "linux": True,
            "platform": ["Linux", True],
            "platform_is_real": True,
        },
    }
    note = (
        "msgspec's inspect, toml, yaml and JSON Schema modules and typing_extensions imported on first use"
        "; uuid imported without platform"
    )
    assert note in built.compile_note
    assert report.payload["seen"] == [
        ["sqs", "a"],
        ["sns", "disk full"],
        ["eventbridge", "p1"],
        ["schedule", "nightly"],
        ["kinesis", 1],
        ["websocket", "hi"],
    ]
    assert report.payload["lift"].startswith(str(task)) and report.payload["msgspec"].startswith(str(task))


@pytest.mark.parametrize("outside", ["../shared", "/etc/hostname"], ids=["parent", "absolute"])
def test_an_include_outside_the_project_is_refused_before_pip_runs(tmp_path: Path, outside: str) -> None:
    """`include = ["../shared"]` was copied outside the build directory, so the zip silently lacked
    it; an absolute path was a ValueError traceback."""
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "rules.py").write_text("RULES = 1\n")
    (root / "tiny.py").write_text(APP)
    (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT) + f'include = ["{outside}"]\n')
    result = lift("package", "-o", "out.zip", cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"include: {outside} is outside the project" in " ".join(result.stderr.split())
    assert not (root / "out.zip").exists()


def test_a_msgspec_of_another_shape_is_packaged_as_installed(tmp_path: Path) -> None:
    """Only the statements `lift package` knows are rewritten: a msgspec file that already imports
    lazily (or in another way) is left byte for byte as pip installed it, and the other rewrite is
    still made."""
    import shutil

    import msgspec

    from lift.deploy.package import defer_msgspec_imports

    installed = Path(msgspec.__file__).parent

    def copy(name: str) -> Path:
        shutil.copytree(installed, tmp_path / name / "msgspec", ignore=shutil.ignore_patterns("__pycache__"))
        return tmp_path / name / "msgspec"

    known = copy("known")
    assert defer_msgspec_imports(known.parent) == (
        "; msgspec's inspect, toml, yaml and JSON Schema modules and typing_extensions imported on first use"
        "; uuid imported without platform"
    )
    assert "def __getattr__(name):" in (known / "__init__.py").read_text()
    utils = (known / "_utils.py").read_text()
    assert "from typing_extensions import NotRequired" not in utils and "as _get_type_hints" not in utils

    def reshape(package: Path, file: str, statement: str, other: str) -> dict[str, bytes]:
        path = package / file
        assert path.read_text().count(statement) == 1
        path.write_text(path.read_text().replace(statement, other))
        return {p.name: p.read_bytes() for p in package.glob("*.py")}

    package = copy("init")
    split = "from . import json, msgpack, structs, toml, yaml\nfrom . import inspect"
    before = reshape(package, "__init__.py", "from . import inspect, json, msgpack, structs, toml, yaml", split)
    assert defer_msgspec_imports(package.parent) == (
        "; typing_extensions imported on first use; uuid imported without platform"
    )
    after = {p.name: p.read_bytes() for p in package.glob("*.py")}
    assert sorted(name for name in before if before[name] != after[name]) == ["__init__.py", "_utils.py"]
    assert split in after["__init__.py"].decode()  # (its imports as they were, after the uuid preamble)

    package = copy("utils")
    hints = "from typing_extensions import get_type_hints as _get_type_hints\n"
    before = reshape(
        package, "_utils.py", hints, hints.replace("_get_type_hints", "_hints") + "    _get_type_hints = _hints\n"
    )
    assert (
        defer_msgspec_imports(package.parent)
        == "; msgspec's inspect, toml, yaml and JSON Schema modules imported on first use"
        "; uuid imported without platform"
    )
    after = {p.name: p.read_bytes() for p in package.glob("*.py")}
    assert sorted(name for name in before if before[name] != after[name]) == ["__init__.py", "json.py"]


def test_the_uuid_preamble_keeps_a_docstring_and_future_imports_first_and_leaves_platform_unloaded(
    tmp_path: Path,
) -> None:
    """The preamble goes after a module's docstring and `from __future__` imports (which must stay
    first), once however often the package is rewritten; the module then imports `uuid` without
    `platform` on Linux before 3.13, and an app that imports `platform` itself gets the real one."""
    import subprocess

    from lift.deploy.package import defer_msgspec_imports

    package = tmp_path / "msgspec"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""A msgspec-like package."""\n\nfrom __future__ import annotations\n\nX = 1\n'
    )
    assert defer_msgspec_imports(tmp_path) == "; uuid imported without platform"
    assert defer_msgspec_imports(tmp_path) == ""  # (already written: not a second time)
    text = (package / "__init__.py").read_text()
    assert text.count("def _lift_import_uuid") == 1
    assert text.index("from __future__") < text.index("def _lift_import_uuid") < text.index("X = 1")
    probe = (
        "import sys, msgspec; print(msgspec.__doc__, msgspec.X, 'uuid' in sys.modules, 'platform' in sys.modules);"
        "import platform; print(platform.system(), hasattr(platform, 'machine'), hasattr(sys.modules['uuid'], 'platform'))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {probe}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert out[0] == "A msgspec-like package. 1 True False"
    assert out[1] == "Linux True False"
