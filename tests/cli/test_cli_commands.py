"""`lift` commands run as a user runs them: a subprocess, its output and its exit code."""

from __future__ import annotations

import json
import textwrap

import pytest

from lift.cli.trigger_samples import TRIGGER_SAMPLES
from lift.sources import source_of

COMMANDS = [
    ["new"],
    ["dev"],
    ["send"],
    ["send", "sqs"],
    ["send", "s3"],
    ["send", "event"],
    ["send", "schedule"],
    ["invoke"],
    ["events"],
    ["events", "generate"],
    ["routes"],
    ["openapi"],
    ["bench"],
    ["version"],
]


def test_version(cli):
    result = cli("version")
    assert result.code == 0, result
    assert result.stdout.startswith("lift-lambda 0.1.0 (python 3.")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(cli, command):
    result = cli(*command, "--help")
    assert result.code == 0, result
    assert "Usage:" in result.stdout


def test_unknown_command_and_bad_option_are_usage_errors(cli):
    assert cli("frobnicate").code == 2
    assert cli("routes", "--no-such-option").code == 2


# -- finding the app ---------------------------------------------------------------------------
def test_missing_app_is_a_clear_usage_error(cli, tmp_path):
    result = cli("routes", cwd=tmp_path)
    assert result.code == 2, result
    assert "No app found" in result.stderr
    missing = cli("routes", "nosuchmodule:app", cwd=tmp_path)
    assert missing.code == 2 and "Cannot find module 'nosuchmodule'" in missing.stderr
    (tmp_path / "svc.py").write_text("x = 1\n")
    no_attr = cli("routes", "svc:app", cwd=tmp_path)
    assert no_attr.code == 2 and "has no attribute 'app'" in no_attr.stderr
    not_app = cli("routes", "svc:x", cwd=tmp_path)
    assert not_app.code == 2 and "not a lift.App" in not_app.stderr


def test_app_that_fails_to_import_is_a_runtime_failure_with_its_traceback(cli, tmp_path):
    (tmp_path / "app.py").write_text("import json\nraise RuntimeError('config missing: DB_URL')\n")
    result = cli("routes", cwd=tmp_path)
    assert result.code == 1, result
    assert "RuntimeError: config missing: DB_URL" in result.stderr
    assert 'app.py", line 2' in result.stderr


def test_app_discovered_from_pyproject_tool_lift(cli, tmp_path, events_project):
    (events_project / "service.py").write_text((events_project / "app.py").read_text())
    (events_project / "app.py").unlink()
    (events_project / "pyproject.toml").write_text('[tool.lift]\napp = "service:app"\n')
    result = cli("routes", "--json", cwd=events_project)
    assert result.code == 0, result
    assert any(row["path"] == "/health" for row in result.json())


# -- routes ---------------------------------------------------------------------------------------
def test_routes_table_and_json(cli):
    table = cli("routes", "examples.users_api.app:app")
    assert table.code == 0, table
    assert "/users/{user_id}" in table.stdout and "request_id, recover, cors, security_headers" in table.stdout
    rows = cli("routes", "examples.users_api.app:app", "--json").json()
    by_route = {(tuple(r["methods"]), r["path"]): r for r in rows}
    assert by_route[(("POST",), "/users")]["handler"] == "examples.users_api.app.create_user"
    assert by_route[(("POST",), "/users")]["status"] == 201
    assert by_route[(("DELETE",), "/users/{user_id}")]["middleware"] == [
        "request_id",
        "recover",
        "cors",
        "security_headers",
    ]


def test_routes_lists_event_sources(cli, events_project):
    rows = cli("routes", "--json", cwd=events_project).json()
    kinds = {(r["kind"], r["path"].split(" ")[0]) for r in rows}
    assert {("http", "/health"), ("sqs", "orders"), ("s3", "uploads"), ("schedule", "nightly-report")} <= kinds
    sqs = next(r for r in rows if r["kind"] == "sqs")
    assert sqs["handler"] == "app.process_order" and sqs["middleware"] == ["request_id"]


# -- events generate -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source",
    ["rest", "http", "alb", "url", "sqs", "sns", "s3", "eventbridge", "schedule", "dynamodb", "kinesis", "websocket"],
)
def test_generated_events_are_recognised_as_their_source(cli, source):
    result = cli("events", "generate", source)
    assert result.code == 0, result
    assert source_of(result.json()) == source


def test_generated_event_options(cli):
    sqs = cli("events", "generate", "sqs", "--queue", "orders.fifo", "--body", '{"id": 7}', "-n", "3").json()
    assert len(sqs["Records"]) == 3
    record = sqs["Records"][0]
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:orders.fifo"
    assert json.loads(record["body"]) == {"id": 7} and record["attributes"]["MessageGroupId"]
    rest = cli("events", "generate", "rest", "-X", "POST", "--path", "/users?x=1", "--body", '{"a": 1}').json()
    assert rest["httpMethod"] == "POST" and rest["path"] == "/users"
    assert rest["queryStringParameters"] == {"x": "1"} and json.loads(rest["body"]) == {"a": 1}
    authed = cli("events", "generate", "http", "-H", "Authorization: Bearer t0k", "-H", "X-Tenant-Id: acme").json()
    assert authed["headers"]["authorization"] == "Bearer t0k" and authed["headers"]["x-tenant-id"] == "acme"
    assert cli("events", "generate", "http", "-H", "no-colon").code == 2
    s3 = cli("events", "generate", "s3", "--bucket", "b", "--key", "in/a b.txt").json()
    assert s3["Records"][0]["s3"]["object"]["key"] == "in/a+b.txt"


def test_envelopes_reach_the_inner_handler(cli, events_project):
    via_sns = cli(
        "events", "generate", "sqs", "--queue", "orders", "--via", "sns", "--body", '{"order_id": "e1", "amount": -1}'
    )
    assert via_sns.code == 0, via_sns
    assert json.loads(via_sns.json()["Records"][0]["body"])["Type"] == "Notification"
    result = cli(
        "invoke",
        "-t",
        "sqs",
        "--queue",
        "orders",
        "--via",
        "sns",
        "--body",
        '{"order_id": "e1", "amount": -1}',
        cwd=events_project,
    )
    assert result.code == 0, result
    assert len(result.json()["batchItemFailures"]) == 1  # the SNS envelope was unwrapped to the typed Order
    for via in ("sns", "eventbridge", "sqs"):
        s3 = cli(
            "invoke", "-t", "s3", "--bucket", "uploads", "--key", f"via-{via}.txt", "--via", via, cwd=events_project
        )
        assert s3.code == 0, s3
    assert s3.json() == {"batchItemFailures": []}  # via SQS: the queue's batch response
    assert (events_project / "triggers.log").read_text().splitlines() == [
        "s3 via-sns.txt",
        "s3 via-eventbridge.txt",
        "s3 via-sqs.txt",
    ]
    bad = cli("events", "generate", "kinesis", "--via", "sns")
    assert bad.code == 2 and "not an envelope" in bad.stderr


def test_events_sources_lists_every_source(cli):
    result = cli("events", "sources")
    assert result.code == 0
    assert result.stdout.split() == [
        "rest",
        "http",
        "alb",
        "url",
        "sqs",
        "sns",
        "s3",
        "eventbridge",
        "schedule",
        "dynamodb",
        "kinesis",
        "websocket",
        "invoke",
        *TRIGGER_SAMPLES,  # authorizer, cognito, firehose, ... (tests/sources/test_trigger_samples.py)
    ]


def test_unknown_source_is_a_usage_error(cli):
    result = cli("events", "generate", "carrier-pigeon")
    assert result.code == 2 and "Unknown event source" in result.stderr


# -- invoke (in-process) ---------------------------------------------------------------------------
def test_invoke_event_file_through_the_app(cli, tmp_path):
    event = cli(
        "events",
        "generate",
        "http",
        "-X",
        "POST",
        "--path",
        "/users",
        "--body",
        '{"name": "Ada", "email": "ada@example.com"}',
    ).stdout
    (tmp_path / "create.json").write_text(event)
    result = cli("invoke", "examples.users_api.app:app", str(tmp_path / "create.json"))
    assert result.code == 0, result
    response = result.json()
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["name"] == "Ada"


def test_invoke_reads_stdin_and_discovers_the_app(cli, events_project):
    event = cli("events", "generate", "rest", "--path", "/health").stdout
    result = cli("invoke", "-", cwd=events_project, stdin=event)
    assert result.code == 0, result
    assert json.loads(result.json()["body"]) == {"status": "ok"}


def test_invoke_event_type_sqs_reports_batch_failures(cli, events_project):
    ok = cli(
        "invoke",
        "--event-type",
        "sqs",
        "--queue",
        "orders",
        "--body",
        '{"order_id": "a", "amount": 1}',
        cwd=events_project,
    )
    assert ok.code == 0, ok
    assert ok.json() == {"batchItemFailures": []}
    bad = cli(
        "invoke", "-t", "sqs", "--queue", "orders", "--body", '{"order_id": "a", "amount": -1}', cwd=events_project
    )
    assert bad.code == 0, bad
    assert len(bad.json()["batchItemFailures"]) == 1


def test_invoke_schedule_and_eventbridge(cli, events_project):
    assert cli("invoke", "-t", "schedule", "--rule", "nightly-report", cwd=events_project).code == 0
    result = cli(
        "invoke",
        "-t",
        "eventbridge",
        "--source",
        "payments",
        "--detail-type",
        "PaymentSettled",
        "--detail",
        '{"id": 3}',
        cwd=events_project,
    )
    assert result.code == 0, result


def test_invoke_unmatched_event_is_a_failure_with_lambdas_error_shape(cli, events_project):
    result = cli("invoke", "-t", "sqs", "--queue", "unknown-queue", cwd=events_project)
    assert result.code == 1, result
    error = result.json()
    assert error["errorType"] == "UnmatchedEvent" and "unknown-queue" in error["errorMessage"]
    assert error["stackTrace"]


def test_invoke_bad_event_files(cli, tmp_path, events_project):
    (tmp_path / "bad.json").write_text('{"Records": [1, 2,]}')
    bad = cli("invoke", "app:app", str(tmp_path / "bad.json"), cwd=events_project)
    assert bad.code == 2, bad
    assert "is not valid JSON" in bad.stderr and "line 1" in bad.stderr
    missing = cli("invoke", "app:app", str(tmp_path / "nope.json"), cwd=events_project)
    assert missing.code == 2 and "does not exist" in missing.stderr
    neither = cli("invoke", "app:app", cwd=events_project)
    assert neither.code == 2 and "EVENT_FILE or --event-type" in neither.stderr


# -- invoke --runtime (awslambdaric) -------------------------------------------------------------
def test_invoke_runtime_runs_under_awslambdaric(cli):
    pytest.importorskip("awslambdaric")
    result = cli("invoke", "examples.users_api.app:app", "--runtime", "-t", "http", "--path", "/users")
    assert result.code == 0, result
    assert result.json()["statusCode"] == 200
    assert json.loads(result.json()["body"]) == []


def test_invoke_runtime_repeat_reuses_the_warm_runtime(cli):
    pytest.importorskip("awslambdaric")
    result = cli(
        "invoke",
        "examples.users_api.app:app",
        "--runtime",
        "--repeat",
        "2",
        "-t",
        "rest",
        "-X",
        "POST",
        "--path",
        "/users",
        "--body",
        '{"name": "Ada", "email": "ada@example.com"}',
    )
    assert result.code == 0, result
    first, second = result.json()
    assert first["statusCode"] == 201
    assert second["statusCode"] == 409  # same process: the first user is still in memory
    assert json.loads(second["body"])["error"]["code"] == "email_taken"


def test_invoke_runtime_reports_an_import_error_as_lambda_does(cli, tmp_path):
    pytest.importorskip("awslambdaric")
    (tmp_path / "app.py").write_text("import not_installed_dependency\n")
    (tmp_path / "event.json").write_text("{}")
    result = cli("invoke", "--runtime", "event.json", cwd=tmp_path)
    assert result.code == 1, result
    assert result.json()["errorType"] == "Runtime.ImportModuleError"
    assert "Init error" in result.stderr


def test_invoke_runtime_timeout(cli, tmp_path):
    pytest.importorskip("awslambdaric")
    (tmp_path / "app.py").write_text(
        textwrap.dedent("""
        import time
        from lift import App

        app = App(name="slow")

        @app.get("/slow")
        def slow() -> dict:
            time.sleep(30)
            return {}
    """)
    )
    result = cli("invoke", "--runtime", "--timeout", "1", "-t", "rest", "--path", "/slow", cwd=tmp_path)
    assert result.code == 1, result
    assert result.json()["errorType"] == "Sandbox.Timedout"


# -- new ------------------------------------------------------------------------------------------
def test_new_refuses_bad_names_templates_and_existing_dirs(cli, tmp_path):
    assert cli("new", "9lives", cwd=tmp_path).code == 2
    assert cli("new", "demo", "--template", "graphql", cwd=tmp_path).code == 2
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    taken = cli("new", "taken", cwd=tmp_path)
    assert taken.code == 1 and "already exists" in taken.stderr


def test_app_given_as_a_file_path(cli, tmp_path, events_project):
    service = events_project / "src"
    service.mkdir()
    (service / "service.py").write_text((events_project / "app.py").read_text())
    (events_project / "app.py").unlink()
    result = cli("routes", "src/service.py:app", "--json", cwd=events_project)
    assert result.code == 0, result
    assert any(row["handler"] == "service.process_order" for row in result.json())
    missing = cli("routes", "src/nope.py", cwd=events_project)
    assert missing.code == 2 and "does not exist" in missing.stderr


def test_lift_console_script(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "lift"
    if not script.exists():
        pytest.skip("the lift console script is not installed in this environment")
    result = subprocess.run([str(script), "version"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("lift-lambda ")
