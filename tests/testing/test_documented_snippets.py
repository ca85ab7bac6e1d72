"""The code blocks of README.md, docs/ and examples/ match the code: the testing snippets run as
written against an app that has what they name, every python block names what Lift has and runs
when it is self-contained, every `lift`/`make` command exists with its options. Each block is read
from the document (not copied here)."""

from __future__ import annotations

import ast
import asyncio
import builtins
import functools
import importlib
import importlib.util
import inspect
import json
import logging
import os
import re
import shlex
import sys
import tomllib
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lift import Context

ROOT = Path(__file__).resolve().parents[2]


def _blocks(doc: str, section: str, lang: str) -> list[str]:
    """The ```lang code blocks of `section` (a markdown heading) in `doc`."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    start = text.index(section)
    end = text.find("\n## ", start + len(section))
    return re.findall(rf"```{lang}\n(.*?)```", text[start : end if end != -1 else None], re.S)


README_APP = """
import msgspec
from lift import App

class NewUser(msgspec.Struct):
    name: str
    email: str

app = App("users")
seen = []

@app.post("/users", status=201)
def create_user(body: NewUser) -> dict:
    return {"id": 1, "name": body.name}

@app.sqs("orders")
def on_order(body: dict) -> None:
    seen.append(body)
"""


def test_the_readme_testing_snippet_runs_as_written() -> None:
    namespace: dict = {}
    exec(README_APP, namespace)
    (snippet,) = _blocks("README.md", "## Testing your app", "python")
    scope = {"app": namespace["app"]}
    exec(snippet, scope)
    assert scope["result"] == {"batchItemFailures": []}
    assert namespace["seen"] == [{"id": 1}, {"id": 2}]


WORKED_APP = """
import msgspec
from lift import App, Context

class Order(msgspec.Struct):
    sku: str
    quantity: int

app = App("orders")

@app.post("/orders", status=201)
def create_order(ctx: Context, body: Order) -> dict:
    ctx.logger.info("creating order", sku=body.sku)
    ctx.metrics.add("OrdersCreated", 1, unit="Count")
    return {"sku": body.sku}

@app.sqs("orders")
def on_order(body: Order) -> None:
    pass
"""


def test_the_worked_example_of_docs_testing_runs_as_written(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str
) -> None:
    (toml,) = _blocks("docs/testing.md", "## A worked example", "toml")
    (tests,) = _blocks("docs/testing.md", "## A worked example", "python")
    assert tests.startswith("# tests/test_orders.py\n")
    monkeypatch.setenv("LIFT_TEST_DYNAMODB_ENDPOINT", dynamodb_endpoint)  # the suite's DynamoDB Local
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    pytester.makepyprojecttoml(toml)
    pytester.makepyfile(app=WORKED_APP)
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_orders.py").write_text(tests, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "tests")
    result.assert_outcomes(passed=3)


# Every fenced block of README.md, docs/*.md and examples/**/*.md, checked against the code:
# - each ```python block parses, its `lift` imports exist, its calls of Lift's functions and of
#   `app.<method>` bind to their signatures, and the `ctx.<name>` it reads exist;
# - each block not in FRAGMENTS runs as written (in-process; the blocks of a document share one
#   namespace, in order, that starts with `app = App("docs")`, the app the prose is about);
# - a block uses no Lift or standard-library name it (or an earlier block of the page) does not import;
# - each `lift ...` command of a ```bash block parses with the real CLI (commands and options),
#   the prose's inline `lift ...` names real commands and options, each `make TARGET` is a target;
# - each ```toml block's [tool.lift] passes the strict configuration check;
# - each LIFT_* variable and each lift-lambda[extra] the pages name exists.

DOCS = [
    "README.md",
    *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")),
    *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "examples").rglob("*.md")),
]

# Blocks that do not run on their own, keyed by (document, a text only that block contains).
FRAGMENTS: dict[tuple[str, str], str] = {
    ("README.md", "jwt_auth(jwks_url=JWKS_URL"): "needs an identity provider (JWKS_URL, ISSUER)",
    ("README.md", 'users = app.service("users"'): "calls a running users service",
    ("docs/caching.md", 'RedisStore("redis://cache.internal'): "placeholders (jwt_auth(...)) and a Redis host",
    ("docs/cli.md", "RuntimeEmulator("): "needs a project at path/to/project",
    ("docs/deploy.md", "import pulumi"): "a Pulumi program: runs under the Pulumi engine",
    ("docs/deploy.md", "import aws_cdk as cdk"): "a CDK app: needs your project (orders) and Node.js",
    ("docs/event-sources.md", "Chat"): "fragment: the models (Chat...) are the reader's",
    ("docs/event-sources.md", "client = TestClient(app)"): "needs the $connect handler of the fragment above",
    ("docs/observability.md", "NewOrder"): "fragment: the reader's models and handlers",
    ("docs/observability.md", 'ctx.metrics.add("Latency"'): "fragment: the body of a handler (ctx)",
    ("docs/observability.md", "from lift.health import"): "checks a real table, Redis and billing service",
    ("docs/observability.md", "psycopg.connect(DSN)"): "connects to a database",
    ("docs/security-and-reliability.md", "store_from_url"): "connects to Redis and DynamoDB",
    ("docs/security-and-reliability.md", 'rate_limit("100/minute"'): "fragment: a store and placeholders",
    ("docs/security-and-reliability.md", "import idempotency, idempotent"): "fragment: stores and models",
    ("docs/security-and-reliability.md", "JWTVerifier.cognito"): "needs keys, an identity provider and API keys",
    ("docs/security-and-reliability.md", 'api_key_auth({"sha256:9f86'): "fragment: an elided hash",
    ("docs/security-and-reliability.md", "ACTIVE_TENANTS"): "fragment: placeholders (jwt_auth(...))",
    ("docs/services.md", "from users.app import app"): "needs the reader's users service",
    ("docs/websockets-and-jobs.md", "ctx.ws.send_to_user"): "fragment: the body of a handler (ctx)",
}

# Modules whose import starts Node.js or loads hundreds of MB: their names are read from the source.
_READ_NOT_IMPORTED = {"lift.deploy.cdk", "lift.deploy.pulumi"}


def _fenced(doc: str, langs: str) -> list[tuple[int, str]]:
    """(line, text) of the ```lang blocks of `doc`, `langs` a regex alternation of languages."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(1))
        for m in re.finditer(rf"^```(?:{langs})\n(.*?)^```", text, re.S | re.M)
    ]


def _is_fragment(doc: str, block: str) -> bool:
    return any(d == doc and marker in block for d, marker in FRAGMENTS)


def test_each_fragment_entry_names_one_python_block() -> None:
    for doc, marker in FRAGMENTS:
        found = [line for line, block in _fenced(doc, "python") if marker in block]
        assert len(found) == 1, f"{doc}: {marker!r} is in the python blocks at lines {found}, not one"


def _module_names(module: str) -> tuple[object, set[str] | None]:
    """The module (or None when it is only read) and, when only read, its top-level names."""
    if module in _READ_NOT_IMPORTED:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None, module
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)} | {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        return None, names
    return importlib.import_module(module), None


@functools.cache
def _dynamic_context_names() -> frozenset[str]:
    """Attributes Lift's own code sets on a context (`ctx.connection_attributes = {}`)."""
    found: set[str] = set()
    for path in (ROOT / "src" / "lift").rglob("*.py"):
        found.update(re.findall(r"\bctx\.(\w+) = ", path.read_text(encoding="utf-8")))
    return frozenset(found)


def _a_request_context() -> object:
    """The context a handler of a plain HTTP route gets (ctx.metrics, ctx.logger, ... are real)."""
    from lift import App
    from lift.testing import TestClient

    app, seen = App("docs"), []

    @app.get("/")
    def handler(ctx: Context) -> dict:
        seen.append(ctx)
        return {}

    TestClient(app).get("/")
    return seen[0]


class _InstanceOf:
    """A name the block bound to what a Lift call returns: its methods are checked on the class."""

    def __init__(self, cls: type) -> None:
        self.cls = cls


def _made_by(function: object) -> type | None:
    """The Lift class a call of `function` returns (the class itself, or its return annotation)."""
    if isinstance(function, type):
        made: object = function
    elif callable(function):
        try:
            made = typing.get_type_hints(function).get("return")
        except Exception:  # an annotation naming what only a type checker imports
            return None
    else:
        return None
    return made if isinstance(made, type) and made.__module__.startswith("lift.") else None


def _problems(block: str, app: object, ctx: object, context_names: frozenset[str]) -> list[str]:
    """What in `block` does not match the code: imports, call signatures, context attributes."""
    try:
        tree = compile(block, "<block>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as exc:
        return [f"line {exc.lineno}: {exc.msg}"]
    found: list[str] = []
    names: dict[str, object] = {"app": app}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "lift":
            assert node.module is not None
            try:
                module, only_read = _module_names(node.module)
            except ImportError as exc:
                found.append(f"line {node.lineno}: {exc}")
                continue
            for alias in node.names:
                if only_read is not None:
                    if alias.name not in only_read:
                        found.append(f"line {node.lineno}: {node.module} has no {alias.name}")
                elif hasattr(module, alias.name):
                    names[alias.asname or alias.name] = getattr(module, alias.name)
                elif importlib.util.find_spec(f"{node.module}.{alias.name}") is None:
                    found.append(f"line {node.lineno}: {node.module} has no {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "lift" and importlib.util.find_spec(alias.name) is None:
                    found.append(f"line {node.lineno}: no module {alias.name}")

    def resolve(expr: ast.expr) -> object:
        if isinstance(expr, ast.Name):
            return ctx if expr.id == "ctx" else names.get(expr.id)
        if not isinstance(expr, ast.Attribute):
            return None
        base = resolve(expr.value)
        if base is None:
            return None
        if isinstance(base, _InstanceOf):  # `store = DynamoDBStore(...)`, then `store.put(...)`
            static = inspect.getattr_static(base.cls, expr.attr, None)
            if isinstance(static, staticmethod | classmethod):
                return getattr(base.cls, expr.attr)
            return functools.partial(static, None) if inspect.isfunction(static) else None
        if base is ctx:  # ctx.<name> is checked below; some need what this app lacks (ws, jobs)
            try:
                return getattr(ctx, expr.attr)
            except Exception:
                return None
        try:
            return getattr(base, expr.attr)
        except AttributeError:
            found.append(f"line {expr.lineno}: {ast.unparse(expr.value)} has no attribute {expr.attr}")
            return None

    bindings = [(n.value, n.targets) for n in ast.walk(tree) if isinstance(n, ast.Assign)]
    bindings += [  # with RuntimeEmulator(...) as rt: what __enter__ returns
        (ast.Attribute(item.context_expr, "__enter__", lineno=item.context_expr.lineno), [item.optional_vars])
        for n in ast.walk(tree)
        if isinstance(n, ast.With)
        for item in n.items
        if item.optional_vars is not None
    ]
    for value, targets in sorted(bindings, key=lambda b: b[0].lineno):
        made = None
        if isinstance(value, ast.Call):
            made = _made_by(resolve(value.func))
        elif isinstance(value, ast.Attribute) and isinstance(value.value, ast.Call):
            cls = _made_by(resolve(value.value.func))
            made = _made_by(getattr(cls, "__enter__", None)) if cls is not None else None
        for target in targets:
            if isinstance(target, ast.Name):
                if made is None:
                    names.pop(target.id, None)
                else:
                    names[target.id] = _InstanceOf(made)

    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "ctx"
            and not hasattr(Context, node.attr)
            and node.attr not in context_names
        ):
            found.append(f"line {node.lineno}: Context has no attribute {node.attr}")
        if not isinstance(node, ast.Call):
            continue
        function = resolve(node.func)
        if not callable(function):
            continue
        if any(isinstance(a, ast.Starred) or (isinstance(a, ast.Constant) and a.value is Ellipsis) for a in node.args):
            continue  # f(*args) or the prose's f(...): nothing to bind
        if any(k.arg is None for k in node.keywords):
            continue
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            continue
        try:
            signature.bind(*node.args, **{k.arg: k.value for k in node.keywords if k.arg})
        except TypeError as exc:
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}(...): {exc}")
    return found


@pytest.fixture
def _root_logging_restored() -> Iterator[None]:
    """ctx.logger sets up Lift's JSON lines on the root logger the first time it is read."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.usefixtures("_root_logging_restored")
def test_python_blocks_name_what_lift_has(doc: str) -> None:
    from lift import App

    context_names, ctx = _dynamic_context_names(), _a_request_context()
    problems = [
        f"{doc}:{line}: {problem}"
        for line, block in _fenced(doc, "python")
        for problem in _problems(block, App("docs"), ctx, context_names)
    ]
    assert problems == []


@pytest.mark.parametrize("doc", DOCS)
def test_self_contained_python_blocks_run_as_written(doc: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)  # a block that reaches AWS fails here, never calls it
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    module = types.ModuleType("docs_snippet")  # a real module, as the reader's file is: type hints resolve
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    exec("from lift import App, Context\napp = App('docs')", namespace)
    for line, block in _fenced(doc, "python"):
        if _is_fragment(doc, block):
            continue
        code = compile(block, f"{doc}:{line}", "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)
        if inspect.iscoroutine(result):
            asyncio.run(result)


@pytest.mark.usefixtures("_root_logging_restored")
def test_the_readme_first_app_answers_as_its_comments_say() -> None:
    from lift.testing import TestClient, events

    (block,) = [b for _, b in _fenced("README.md", "python") if 'app = App(name="users")' in b]
    namespace: dict = {"__name__": "docs_snippet"}
    exec(block, namespace)
    client = TestClient(namespace["app"])
    assert client.get("/users/1").json() == {"id": 1}
    missing = client.get("/users/2")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert "User 2 not found" in missing.text
    bad_id = client.get("/users/abc")
    assert bad_id.status_code == 422 and "$.user_id" in bad_id.text
    bad_body = client.post("/users", json={"name": 3})
    assert bad_body.status_code == 422
    assert client.post("/users", json={"name": "Ada", "email": "a@x"}).status_code == 201
    sent = events.sqs("orders", [{"name": "Ada", "email": "a@x"}, {"name": 3}])
    bad_record = sent["Records"][1]["messageId"]
    assert client.invoke(sent) == {"batchItemFailures": [{"itemIdentifier": bad_record}]}


def _commands(doc: str, program: str) -> list[tuple[int, list[str]]]:
    """The `program ...` commands of the shell blocks of `doc`, split like a shell would."""
    found = []
    for line, block in _fenced(doc, "bash|sh|shell|console"):
        for offset, text in enumerate(block.splitlines()):
            for part in re.split(r"\|\||&&|[|;]", text.removeprefix("$ ")):
                try:
                    words = shlex.split(part, comments=True)
                except ValueError:  # a line continued with `\`: not a command of ours
                    continue
                while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                    words = words[1:]  # AWS_PROFILE=sandbox lift deploy dev
                if words[:1] == [program]:
                    cut = next((i for i, w in enumerate(words) if w in ("<", ">", "2>", ">>")), len(words))
                    found.append((line + 1 + offset, words[1:cut]))
    return found


def _command_problem(root: Any, words: list[str], prose: bool) -> str | None:
    """Why `lift <words>` does not parse, or None. In the prose (`prose=True`), placeholders
    (STAGE, [-o DIR]) and left-out arguments are allowed: only a command or an option that does
    not exist counts."""
    cmd, name, rest = root, "lift", words
    while hasattr(cmd, "commands") and rest and rest[0] in cmd.commands:
        name, cmd, rest = rest[0], cmd.commands[rest[0]], rest[1:]
    if hasattr(cmd, "commands") and rest and re.fullmatch(r"[a-z][a-z-]*" if prose else r"[^-].*", rest[0]):
        return f"{name} has no command {rest[0]}"
    try:
        cmd.make_context(name, list(rest))
    except Exception as exc:  # click's UsageError family (NoSuchOption, BadParameter...)
        if not prose or type(exc).__name__ == "NoSuchOption":
            return str(exc)
    return None


@pytest.mark.parametrize("doc", DOCS)
def test_documented_commands_exist_with_their_options(doc: str) -> None:
    from lift.cli.root import command

    root = command()
    problems = [
        f"{doc}:{line}: lift {' '.join(argv)}: {problem}"
        for line, argv in _commands(doc, "lift")
        if (problem := _command_problem(root, argv, prose=False))
    ]
    text = (ROOT / doc).read_text(encoding="utf-8")
    for match in re.finditer(r"`lift ([^`\n]+)`", text):  # the prose's inline code
        try:
            words = shlex.split(match.group(1))
        except ValueError:
            continue
        if problem := _command_problem(root, words, prose=True):
            problems.append(f"{doc}:{text.count(chr(10), 0, match.start()) + 1}: `lift {match.group(1)}`: {problem}")
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))
    for line, argv in _commands(doc, "make"):
        problems += [f"{doc}:{line}: make {target}: no such target" for target in argv if target not in targets]
    assert problems == []


def test_the_command_check_sees_a_wrong_option() -> None:
    from lift.cli.root import command

    with pytest.raises(Exception, match="No such option"):
        command().commands["dev"].make_context("dev", ["--bogus"])


@pytest.mark.parametrize("doc", DOCS)
def test_documented_lift_tables_are_ones_lift_reads(doc: str) -> None:
    """Each ```toml block's [tool.lift] tables pass the strict configuration check (an unknown or
    misspelt key, a wrong type, is a ConfigError)."""
    from lift.deploy.config import config_from_dict

    for line, block in _fenced(doc, "toml"):
        data = tomllib.loads(block).get("tool", {}).get("lift")
        if data is not None:
            config_from_dict(data, f"{doc}:{line}")


def test_the_schema_example_answers_the_documented_422() -> None:
    from lift.testing import TestClient

    (block,) = [b for _, b in _fenced("docs/validation.md", "python") if "request_schema=ORDER" in b]
    module = types.ModuleType("docs_validation")  # the models' type hints resolve in a real module
    sys.modules[module.__name__] = module
    try:
        exec(block, module.__dict__)
        answer = TestClient(module.app).post("/orders", json={"customer": "", "items": [{"sku": "ABC-1", "qty": 0}]})
        created = TestClient(module.app).post(
            "/orders", json={"customer": "Ada", "items": [{"sku": "ABC-1", "qty": 2}]}
        )
    finally:
        del sys.modules[module.__name__]
    ((shown,),) = [[json.loads(b)] for _, b in _fenced("docs/validation.md", "json") if "validation_failed" in b]
    got = answer.json()
    assert answer.status_code == 422 and got["error"]["request_id"]
    got["error"]["request_id"] = shown["error"]["request_id"]
    assert got == shown
    assert (created.status_code, created.json()) == (201, {"order_id": "o-1"})


@functools.cache
def _public_names() -> frozenset[str]:
    """Every name in an `__all__` of Lift's modules (read, not imported)."""
    names: set[str] = set()
    for path in (ROOT / "src" / "lift").rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
                names.update(ast.literal_eval(node.value))
    return frozenset(names)


def _bound_names(tree: ast.AST) -> set[str]:
    """The names a block binds: imports, definitions, parameters, assignment targets."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    return bound


@pytest.mark.parametrize("doc", DOCS)
def test_blocks_import_the_lift_and_stdlib_names_they_use(doc: str) -> None:
    """A fragment may lean on the reader's own names (models, handlers, URLs), never on a Lift or
    standard-library name it does not import (here or in an earlier block of the same page)."""
    public, stdlib = _public_names(), set(sys.stdlib_module_names)
    known = {"app", "Context"}  # the page's app, as for the blocks that run
    problems = []
    for line, block in _fenced(doc, "python"):
        try:
            tree = compile(block, "<block>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except SyntaxError:
            continue  # test_python_blocks_name_what_lift_has reports it
        bound = _bound_names(tree)
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        missing = sorted(n for n in used - bound - known - set(dir(builtins)) if n in public or n in stdlib)
        problems += [f"{doc}:{line}: {name} is used but not imported" for name in missing]
        known |= bound
    assert problems == []


# LIFT_* names the docs show that no code reads by that exact name, and why.
_ENV_BY_PATTERN = {
    "LIFT_STORE_URL": "the reader's own variable, passed to store_from_url",
    "LIFT_SERVICE_PAYMENTS_URL": "LIFT_SERVICE_<NAME>_URL for a service named payments",
}


def test_documented_lift_variables_are_read_by_the_code() -> None:
    code = "\n".join(
        path.read_text(encoding="utf-8") for folder in ("src", "tests") for path in (ROOT / folder).rglob("*.py")
    )
    documented = {
        (doc, name)
        for doc in DOCS
        for name in re.findall(r"\bLIFT_[A-Z0-9_]*[A-Z0-9]\b", (ROOT / doc).read_text("utf-8"))
    }
    unread = sorted(f"{doc}: {name}" for doc, name in documented if name not in code and name not in _ENV_BY_PATTERN)
    assert unread == []


def test_documented_extras_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["optional-dependencies"]
    shown = {
        (doc, extra)
        for doc in DOCS
        for group in re.findall(r"lift-lambda\[([\w,-]+)\]", (ROOT / doc).read_text("utf-8"))
        for extra in group.split(",")
    }
    assert shown and sorted(f"{doc}: lift-lambda[{extra}]" for doc, extra in shown if extra not in extras) == []
