"""The bench apps answer the measured requests correctly (no timing here: see bench/run.py).

Only the bare handler and the Lift app run here; the other frameworks live in .bench-venv.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench_modules():
    """bench/events.py and the bare and Lift apps, imported as bench/run.py imports them."""
    added = [str(BENCH / "apps"), str(BENCH)]
    sys.path[:0] = added
    try:
        events = importlib.import_module("events")
        apps = {name: importlib.import_module(name) for name in ("bare", "bare_msgspec", "lift_app")}
    finally:
        for path in added:
            sys.path.remove(path)
    return events, apps


def answer(app, event, events_module):
    response = app.handler(event, events_module.LambdaContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("app_name", ["bare", "lift_app"])
def test_each_measured_request_gets_the_expected_answer(bench_modules, app_name):
    events, apps = bench_modules
    requests = events.measured_events()
    app = apps[app_name]

    assert answer(app, requests["GET /users/{id}"], events) == (
        200,
        {"id": 42, "type": "user", "name": "user 42", "active": True},
    )
    assert answer(app, requests["POST /users (valid)"], events) == (
        201,
        {"id": 101, "name": "Ada Lovelace", "email": "ada@example.com", "age": 36},
    )

    status, body = answer(app, requests["POST /users (invalid)"], events)
    assert status == 422
    assert body["error"]["code"] == "validation_failed"
    assert len(body["error"]["details"]) == 2  # the missing email and the non-integer age

    status, body = answer(app, requests["GET unknown -> 404"], events)
    assert status == 404 and body["error"]["code"] == "not_found"


def test_the_events_are_full_rest_proxy_events(bench_modules):
    events, _ = bench_modules
    event = events.measured_events()["GET /users/{id}"]
    assert event["resource"] == "/users/{id}" and event["pathParameters"] == {"id": "42"}
    assert event["requestContext"]["resourcePath"] == "/users/{id}"
    assert event["requestContext"]["identity"]["sourceIp"]
    assert event["multiValueHeaders"]["Host"] == [event["headers"]["Host"]]


def test_every_app_registers_the_same_52_routes(bench_modules):
    _, apps = bench_modules
    bare, lift_app = apps["bare"], apps["lift_app"]
    assert len(bare.STATIC_ROUTES) + len(bare.ITEM_ROUTES) == 52
    assert len(lift_app.app.endpoints) == 52


def test_batch_bench_variants_agree_and_report_the_target() -> None:
    """bench/bench_batch.py checks every variant's batch response before timing; a tiny run."""
    import subprocess

    run = subprocess.run(
        [sys.executable, str(BENCH / "bench_batch.py"), "--rounds", "1", "--calls", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    rows = {line.split("  ")[0]: line for line in run.stdout.splitlines()}
    assert {"bare loop", "lift (body)", "lift (ctx, body)", "lift (ctx, body) + middleware"} <= set(rows)
    assert "target: lift (ctx, body) within 2x the bare loop" in run.stdout


def test_the_limit_answers_like_lift_on_every_kind_and_http_format(bench_modules):
    """The msgspec hand-written handler is only a fair limit if it does the same work: the same
    status on every measured request, the same body for every success, in every HTTP format."""
    events, apps = bench_modules
    limit, lift_app = apps["bare_msgspec"], apps["lift_app"]
    kinds = {kind: (event, "handler") for kind, event in events.measured_events().items()}
    kinds.update(events.format_events())
    assert len(kinds) == 7
    for kind, (event, handler_name) in kinds.items():
        mine = getattr(limit, handler_name)(event, events.LambdaContext())
        theirs = lift_app.handler(event, events.LambdaContext())
        assert mine["statusCode"] == theirs["statusCode"], kind
        if mine["statusCode"] < 300:
            assert json.loads(mine["body"]) == json.loads(theirs["body"]), kind
        else:
            assert "error" in json.loads(mine["body"]), kind
