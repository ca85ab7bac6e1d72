"""What a user sees when they get something wrong: one clear line and an exit code, their own
traceback when their code fails, never Lift's internals."""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lift.cli.root import cli as lift_cli

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "events"
if not CORPUS.is_dir():  # a worktree: the corpus sits next to the repositories' parent
    CORPUS = Path("/work/shared/corpus/events")


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error:")]


def test_a_long_error_is_one_line_when_stderr_is_not_a_terminal(cli, tmp_path):
    missing = tmp_path / ("a-rather-long-directory-name-" * 3) / "event.json"  # well past 80 columns
    result = cli("invoke", str(missing), cwd=tmp_path, columns=None)
    assert result.code == 2, result
    assert _error_lines(result.stderr) == [f"Error: Event file {missing} does not exist"]
    assert len(result.stderr.splitlines()) == 1


IMPORT_RAISES = {
    "app.py": "from lift import App\nimport settings\napp = App(name='x')\n",
    "settings.py": "TABLE = {}['TABLE_NAME']\n",
}


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("command", [["invoke", "-t", "sqs"], ["dev", "--port", "0", "--no-reload"]])
def test_an_import_error_shows_the_users_traceback_not_lifts(cli, tmp_path, command):
    project = _project(tmp_path, IMPORT_RAISES)
    result = cli(*command, cwd=project, columns=None, timeout=60)
    assert result.code == 1, result
    traceback_lines = result.stderr[result.stderr.index("Traceback") :].splitlines()
    files = [line.split('"')[1] for line in traceback_lines if line.startswith('  File "')]
    assert files == [str(project / "app.py"), str(project / "settings.py")]  # no lift/, importlib, <frozen>
    assert "KeyError: 'TABLE_NAME'" in result.stderr


def test_a_syntax_error_in_the_app_shows_the_file_and_line_alone(cli, tmp_path):
    project = _project(tmp_path, {"app.py": "from lift import App\napp = App(\n"})
    result = cli("routes", cwd=project, columns=None)
    assert result.code == 1, result
    assert f'  File "{project / "app.py"}", line 2' in result.stderr
    assert "Traceback" not in result.stderr and "lift/" not in result.stderr


def test_an_event_no_handler_takes_is_one_error_line_without_a_traceback(cli, tmp_path):
    project = _project(tmp_path, {"app.py": "from lift import App\napp = App(name='x')\n"})
    result = cli("invoke", "-t", "sqs", "--queue", "orders", cwd=project, columns=None)
    assert result.code == 1, result
    assert result.json()["errorType"] == "UnmatchedEvent"  # stdout: what Lambda would report
    assert "Traceback" not in result.stderr
    assert _error_lines(result.stderr) == [
        "Error: No handler matches this sqs event: queue 'orders' (arn:aws:sqs:us-east-1:123456789012:orders)"
    ]


def _bom_samples() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = sorted(p for p in CORPUS.rglob("*.json") if p.read_bytes().startswith(b"\xef\xbb\xbf"))
    return found[:: max(1, len(found) // 12)]  # a dozen of the 106, across the sources they cover


@pytest.mark.skipif(not _bom_samples(), reason="no event corpus here")
def test_event_files_with_a_byte_order_mark_are_read(tmp_path, monkeypatch):
    """The AWS .NET samples (and files saved by Windows editors) start with a UTF-8 BOM: each reaches
    the app (an app with no handlers: the result, or UnmatchedEvent), never "not valid JSON"."""
    (tmp_path / "bom_samples_app.py").write_text("from lift import App\napp = App(name='empty')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    runner = CliRunner()
    outcomes = {}
    try:
        for sample in _bom_samples():
            result = runner.invoke(lift_cli, ["invoke", "bom_samples_app:app", str(sample)])
            error = json.loads(result.stdout).get("errorType") if result.exit_code == 1 else None
            outcomes[sample.name] = (result.exit_code, error)
    finally:
        sys.modules.pop("bom_samples_app", None)  # (imported in this process: no later test may find it)
    assert len(outcomes) >= 10
    assert {outcome for outcome in outcomes.values()} <= {(0, None), (1, "UnmatchedEvent")}, outcomes


def test_new_refuses_a_name_pip_would_refuse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ["orders-", "orders_", "1orders", "my orders", "café"]:
        result = CliRunner().invoke(lift_cli, ["new", name])
        assert result.exit_code == 2, (name, result.output)
        assert result.output.startswith(f"Error: Invalid project name {name!r}"), result.output
    assert list(tmp_path.iterdir()) == []
    assert CliRunner().invoke(lift_cli, ["new", "orders-2"]).exit_code == 0


def test_new_refuses_the_name_of_a_package_the_project_installs(tmp_path, monkeypatch):
    """`lift new msgspec` made a project pip cannot install (it needs msgspec>=0.18 and is msgspec
    0.1.0); `lift new lift-lambda` one that installs in Lift's place, so its tests fail on `import lift`."""
    monkeypatch.chdir(tmp_path)
    for name in ["lift-lambda", "Lift_Lambda", "msgspec", "pytest", "click"]:  # (click: typer, of lift-lambda[dev])
        result = CliRunner().invoke(lift_cli, ["new", name])
        assert result.exit_code == 2, (name, result.output)
        assert result.output.startswith(f"Error: Project name {name!r} is the name of a package the project installs")
        assert result.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_new_into_a_file_or_an_uncreatable_directory_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("keep me")
    into_file = CliRunner().invoke(lift_cli, ["new", "demo", "--dir", "notes.txt"])
    assert into_file.exit_code == 1, into_file.output
    assert into_file.output == "Error: notes.txt already exists and is not a directory\n"
    under_file = CliRunner().invoke(lift_cli, ["new", "demo", "--dir", "notes.txt/demo"])
    assert under_file.exit_code == 1, under_file.output
    assert under_file.output.startswith("Error: Cannot create the project in notes.txt/demo: Not a directory")
    assert under_file.output.count("\n") == 1
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_new_prints_next_steps_a_shell_can_run_for_a_directory_with_spaces(cli, tmp_path):
    result = cli("new", "demo", "--dir", "my projects/demo one", cwd=tmp_path)
    assert result.code == 0, result
    cd_line = next(line.strip() for line in result.stderr.splitlines() if line.strip().startswith("cd "))
    assert shlex.split(cd_line) == ["cd", "my projects/demo one"]
    assert (tmp_path / "my projects" / "demo one" / "app.py").is_file()


def test_a_handler_that_exits_the_process_is_reported_as_lambda_reports_it(cli, tmp_path):
    """sys.exit(0) in a handler ended `lift invoke` with exit 0 and nothing on stdout, as if it had
    succeeded; Lambda reports Runtime.ExitError (as `lift invoke --runtime` does)."""
    project = _project(
        tmp_path,
        {
            "app.py": "import sys\nfrom lift import App\napp = App(name='x')\n\n"
            "@app.invoke\ndef go(body: dict) -> None:\n    sys.exit(body['code'])\n"
        },
    )
    for code in (0, 3):
        (project / "event.json").write_text(json.dumps({"code": code}))
        result = cli("invoke", "event.json", cwd=project, columns=None)
        assert result.code == 1, result
        error = result.json()
        assert error["errorType"] == "Runtime.ExitError"
        assert error["errorMessage"].endswith(f"Error: Runtime exited with error: exit status {code}")
        assert _error_lines(result.stderr) == [
            f"Error: The handler exited the process (sys.exit({code})): Lambda reports Runtime.ExitError"
        ]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("localhost:8000", "must be an http:// address"),  # (no scheme: was "No dev server", exit 1)
        ("http://[bad", "is not a valid URL (Invalid IPv6 URL)"),  # (was a ValueError traceback)
        ("http://127.0.0.1:abc", "is not a valid URL"),
    ],
)
def test_send_with_a_url_that_is_no_address_is_a_usage_error(url, reason):
    result = CliRunner().invoke(lift_cli, ["send", "schedule", "nightly", "--url", url])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: --url {url!r} {reason}"), result.output
    assert result.output.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        ["events", "generate", "cognito", "--name", "pre_signup"],
        ["invoke", "app:app", "-t", "cognito", "--name", "pre_signup"],
        ["send", "trigger", "cognito", "pre_signup"],
    ],
)
def test_an_unknown_cognito_trigger_is_a_usage_error_naming_the_known_ones(args, tmp_path, monkeypatch):
    (tmp_path / "app.py").write_text("from lift import App\napp = App(name='x')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(lift_cli, args)  # (was a KeyError traceback)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: Unknown Cognito trigger 'pre_signup'; one of: pre_sign_up,")


def test_invoke_runtime_with_an_app_nested_in_an_attribute_says_how_to_name_it(tmp_path, monkeypatch):
    """awslambdaric reads a handler setting as module.function: svc:box.app became 'svc.box.app', an
    init error about a module 'svc.box' that the user never named."""
    (tmp_path / "svc.py").write_text("from lift import App\nclass Box:\n    app = App(name='n')\nbox = Box()\n")
    (tmp_path / "event.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(lift_cli, ["invoke", "--runtime", "svc:box.app", "event.json"])
    assert result.exit_code == 2, result.output
    assert "Name it in the module (handler = box.app) and pass svc:handler" in result.output


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LIFT_DEV_TIMEOUT", "30s", "LIFT_DEV_TIMEOUT='30s' must be a number above 0 (unset: 29)"),  # (a traceback)
        ("LIFT_DEV_TIMEOUT", "0", "LIFT_DEV_TIMEOUT='0' must be a number above 0 (unset: 29)"),  # (every request 504)
        ("LIFT_DEV_MAX_RECEIVE_COUNT", "2.5", "LIFT_DEV_MAX_RECEIVE_COUNT='2.5' must be a whole number above 0"),
    ],
)
def test_a_dev_setting_that_is_no_usable_number_is_one_error_line(cli, tmp_path, monkeypatch, name, value, message):
    project = _project(tmp_path, {"app.py": "from lift import App\napp = App(name='x')\n"})
    monkeypatch.setenv(name, value)
    result = cli("dev", "--port", "0", "--no-reload", cwd=project, columns=None, timeout=60)
    assert result.code == 1, result
    assert "Traceback" not in result.stderr
    assert _error_lines(result.stderr)[0].startswith(f"Error: {message}")


@pytest.mark.parametrize("command", [["routes", "queue:app"], ["dev", "queue.py", "--port", "0", "--no-reload"]])
def test_an_app_module_named_like_the_standard_library_is_refused_with_the_reason(cli, tmp_path, command):
    """queue.py (a queue consumer's natural name) took the standard library's place in `lift dev`: its
    startup died in concurrent.futures with "module 'queue' has no attribute 'SimpleQueue'"."""
    project = _project(tmp_path, {"queue.py": "from lift import App\napp = App(name='q')\n"})
    result = cli(*command, cwd=project, columns=None, timeout=60)
    assert result.code == 2, result
    assert _error_lines(result.stderr) == [
        "Error: The app module 'queue' has the name of a standard library module: one would be imported in "
        f"place of the other (here and on Lambda). Rename queue.py (or the queue/ package) in {project}"
    ]


def test_header_options_are_sent_as_given_repeated_and_never_overridden():
    """`-H 'content-type: application/vnd.api+json'` with a JSON --body was replaced by the default
    `Content-Type: application/json` (a name in another case was a second header, the later one
    won), and `-H 'Cookie: a=1' -H 'Cookie: b=2'` sent only the last (curl sends both)."""
    args = [
        "events",
        "generate",
        "rest",
        "-X",
        "POST",
        "--body",
        '{"a": 1}',
        "-H",
        "content-type: application/vnd.api+json",
    ]
    event = json.loads(CliRunner().invoke(lift_cli, [*args, "-H", "Cookie: a=1", "-H", "cookie: b=2"]).stdout)
    assert {k.lower(): v for k, v in event["multiValueHeaders"].items()}["content-type"] == ["application/vnd.api+json"]
    assert {k.lower(): v for k, v in event["multiValueHeaders"].items()}["cookie"] == ["a=1", "b=2"]
    http = json.loads(
        CliRunner().invoke(lift_cli, ["events", "generate", "http", "-H", "Cookie: a=1", "-H", "Cookie: b=2"]).stdout
    )
    assert http["cookies"] == ["a=1", "b=2"]
    ws = CliRunner().invoke(
        lift_cli, ["events", "generate", "websocket", "--route", "$connect", "-H", "host: x.example"]
    )
    assert [v for k, v in json.loads(ws.stdout)["multiValueHeaders"].items() if k.lower() == "host"] == [["x.example"]]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('{"amount": NaN}', "Error: Event file event.json is not valid JSON: NaN is not a JSON value"),
        ('{"amount": -Infinity}', "Error: Event file event.json is not valid JSON: -Infinity is not a JSON value"),
        ('{"amount": 1e999}', "Error: Event file event.json is not valid JSON: 1e999 is beyond the range of a number"),
        ("[" * 100_000 + "]" * 100_000, "Error: Event file event.json is nested too deeply to read"),
    ],
    ids=["nan", "infinity", "overflow", "deep"],
)
def test_an_event_file_that_is_not_json_is_a_usage_error_not_a_traceback(tmp_path, monkeypatch, content, error):
    """Python's json module reads NaN/Infinity (the app then got a float JSON has not, and stdout held
    `NaN`, which no JSON tool reads), and a deeply nested file ended in a RecursionError traceback."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(
        "from lift import App\napp = App()\n\n@app.invoke\ndef handle(ctx):\n    return 1\n"
    )
    (tmp_path / "event.json").write_text(content)
    result = CliRunner().invoke(lift_cli, ["invoke", "app:app", "event.json"])
    assert (result.exit_code, result.stdout, _error_lines(result.stderr)) == (2, "", [error]), result.output
    assert "Traceback" not in result.stderr
    assert _error_lines(CliRunner().invoke(lift_cli, ["invoke", "app:app", str(tmp_path)]).stderr) == [
        f"Error: Event file {tmp_path} is a directory"
    ]


def test_routes_json_names_each_source_apart_from_its_options(tmp_path, monkeypatch):
    """`lift routes --json` put a source's options into its path ("nightly (expression=rate(1 day))",
    "orders (concurrency=4)"), so a script comparing `path` with the queue or rule name never matched."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "routes_json_app.py").write_text(
        "from lift import App\napp = App()\n\n"
        "@app.schedule('nightly', rate='1 day')\nasync def nightly(ctx):\n    pass\n\n"
        "@app.sqs('orders', concurrency=4)\nasync def orders(ctx, body: dict):\n    pass\n\n"
        "@app.get('/health')\ndef health():\n    return {}\n"
    )
    try:
        result = CliRunner().invoke(lift_cli, ["routes", "routes_json_app:app", "--json"])
        table = CliRunner().invoke(lift_cli, ["routes", "routes_json_app:app"])
    finally:
        sys.modules.pop("routes_json_app", None)  # (imported in this process: no later test may find it)
    rows = {row["kind"]: row for row in json.loads(result.stdout)}
    assert (rows["schedule"]["path"], rows["schedule"]["options"]) == ("nightly", {"expression": "rate(1 day)"})
    assert (rows["sqs"]["path"], rows["sqs"]["options"]) == ("orders", {"concurrency": 4})
    assert (rows["http"]["path"], rows["http"]["options"]) == ("/health", {})
    assert "orders (concurrency=4)" in table.stdout  # (the table still shows them together)


def test_a_body_or_detail_with_nan_is_never_rewritten():
    """`--body '{"a": NaN}'` was read as JSON by Python's json module and re-encoded, so the event
    carried `{"a":null}`, a body the user never wrote; `lift send event ... '{"a": NaN}'` was sent."""
    event = json.loads(
        CliRunner().invoke(lift_cli, ["events", "generate", "rest", "-X", "POST", "--body", '{"a": NaN}']).stdout
    )
    assert event["body"] == '{"a": NaN}'  # (not JSON: sent as the text it is)
    sent = CliRunner().invoke(
        lift_cli, ["send", "event", "payments", "Settled", '{"a": NaN}', "--url", "http://127.0.0.1:9"]
    )
    assert (sent.exit_code, _error_lines(sent.stderr)) == (2, ["Error: DETAIL must be JSON: NaN is not a JSON value"])


@pytest.mark.skipif(importlib.util.find_spec("pytest_cov") is not None, reason="pytest-cov is installed here")
def test_lift_test_options_it_cannot_honour_are_one_usage_line(tmp_path, monkeypatch):
    """`lift test --cov app` without pytest-cov ran pytest, which failed with its own usage text
    ("unrecognized arguments: --cov=app --cov-report=term-missing", exit 4); `--slowest -1` was taken."""
    monkeypatch.chdir(tmp_path)
    cov = CliRunner().invoke(lift_cli, ["test", "--cov", "app"])
    assert (cov.exit_code, _error_lines(cov.stderr)) == (2, ["Error: --cov needs pytest-cov: pip install pytest-cov"])
    assert CliRunner().invoke(lift_cli, ["test", "--slowest", "-1"]).exit_code == 2


def test_an_app_named_in_pyproject_is_found_in_a_src_layout(tmp_path, monkeypatch):
    """`[tool.lift] app = "srcsvc.app:app"` with the package in src/ was "Cannot find module" (exit 2),
    though app.py and main.py are looked for under src/ too."""
    monkeypatch.chdir(tmp_path)
    package = tmp_path / "src" / "srcsvc"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text("from lift import App\napp = App()\napp.get('/x')(lambda: {'x': 1})\n")
    (tmp_path / "pyproject.toml").write_text('[tool.lift]\napp = "srcsvc.app:app"\n')
    try:
        result = CliRunner().invoke(lift_cli, ["invoke", "-t", "http", "--path", "/x"])
    finally:
        for name in ("srcsvc", "srcsvc.app"):
            sys.modules.pop(name, None)  # (imported in this process: no later test may find it)
        sys.path[:] = [p for p in sys.path if p != str(tmp_path / "src")]
    assert result.exit_code == 0, result.output
    assert json.loads(json.loads(result.stdout)["body"]) == {"x": 1}


def test_the_name_given_to_a_sample_is_the_one_its_handler_matches():
    """`lift events generate s3_object_lambda --name my-ap` (and `lift send trigger s3_object_lambda
    my-ap`, whose help names the access point) built an event for the access point my-olap, and
    `bedrock_agent --name get_claim` one for the OpenAPI path /claims: neither reached the handler
    registered for that name."""
    from lift import App

    app = App()
    app.bedrock_agent("get_claim")(lambda ctx: {"ok": True})
    olap = json.loads(
        CliRunner().invoke(lift_cli, ["events", "generate", "s3_object_lambda", "--name", "my-ap"]).stdout
    )
    assert olap["configuration"]["accessPointArn"].endswith(":accesspoint/my-ap")
    agent = json.loads(
        CliRunner().invoke(lift_cli, ["events", "generate", "bedrock_agent", "--name", "get_claim"]).stdout
    )
    assert agent["function"] == "get_claim"
    assert app.handler(agent, None)["response"]["function"] == "get_claim"
