"""`lift dev` puts API Gateway's Lambda authorizer step in front of guarded routes: the app's own
`@app.authorizer` decides, `ctx.principal` reads its context, public and health routes skip it,
and refusals are API Gateway's 401/403 (REST payload and HTTP API payload 2.0); the dashboard
and `lift send` fire sample events of the new triggers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dev.dev_server_process import ROOT, DevServerProcess, write_project

APP = """
from lift import App, Context
from lift.errors import Forbidden, Unauthorized
from lift.middleware.auth import gateway_auth

app = App(name="guarded")
app.use(gateway_auth(optional=True))
app.health.mount(app)
calls = []


@app.authorizer(response={response!r})
def authorize(body) -> dict:
    calls.append(body.type)
    token = body.bearer_token or body.token or ""
    if token.endswith("good"):
        return {{"sub": "user-1", "tenant_id": "acme", "roles": ["admin"]}}
    if token.endswith("banned"):
        raise Forbidden("banned")
    raise Unauthorized()


@app.get("/me")
def me(ctx: Context) -> dict:
    return {{"sub": ctx.user_id, "tenant": ctx.principal.tenant_id, "roles": sorted(ctx.principal.roles), "calls": len(calls)}}


@app.get("/docs/{{page}}")
def docs(ctx: Context, page: str) -> dict:
    return {{"page": page, "principal": ctx.principal is not None, "calls": len(calls)}}


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    calls.append("connect:" + str(ctx.user_id))


@app.websocket("whoami")
def whoami(ctx: Context) -> None:
    ctx.ws.send(ctx.connection_id, {{"calls": calls[-1]}})


@app.kafka("orders")
def on_order(body: dict) -> None:
    calls.append("kafka")
"""

PYPROJECT = """
[tool.lift]
app = "devdemo.app:app"
{extra}
[tool.lift.authorizer]
public_routes = ["GET /docs/{{page}}"]
"""


def serve(root: Path, *args: str, response: str = "auto", extra: str = "") -> DevServerProcess:
    write_project(root, APP.format(response=response))
    (root / "pyproject.toml").write_text(PYPROJECT.format(extra=extra))
    return DevServerProcess(root, "--no-reload", *args)


@pytest.mark.parametrize("payload", ["rest", "http"])
def test_guarded_routes_go_through_the_authorizer_like_api_gateway(tmp_path: Path, payload: str) -> None:
    server = serve(tmp_path, "--payload", payload)
    try:
        status, _, body = server.request("GET", "/me", headers={"Authorization": "Bearer good"})
        assert status == 200, body
        assert json.loads(body) == {
            "sub": "user-1",
            "tenant": "acme",
            "roles": ["admin"],
            "calls": 1,
        }  # the context reached ctx
        status, _, body = server.request("GET", "/me")  # no identity source: refused, authorizer not called
        assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
        status, _, body = server.request("GET", "/me", headers={"Authorization": "Bearer nope"})
        # Unauthorized: REST answers 401; an HTTP API's simple response can only say isAuthorized: false (403)
        assert (status, json.loads(body)) == (
            (401, {"message": "Unauthorized"}) if payload == "rest" else (403, {"message": "Forbidden"})
        )
        status, _, body = server.request("GET", "/me", headers={"Authorization": "Bearer banned"})
        expected = (
            {"Message": "User is not authorized to access this resource"}
            if payload == "rest"
            else {"message": "Forbidden"}
        )
        assert (status, json.loads(body)) == (403, expected)
        status, _, body = server.request("GET", "/docs/intro")  # public_routes: no authorizer
        assert status == 200 and json.loads(body) == {"page": "intro", "principal": False, "calls": 3}
        status, _, body = server.request("get", "/docs/intro")  # (in lower case: the same method)
        assert status == 200 and json.loads(body) == {"page": "intro", "principal": False, "calls": 3}
        assert server.request("GET", "/health/live")[0] == 200  # health routes stay public
        assert server.request("GET", "/nowhere")[0] == 401  # unknown paths are behind it too ($default)
        kinds = [i["kind"] for i in server.get("/_lift/api/state")["invocations"]]
        assert kinds.count("authorizer") == 3  # each authorizer call is on the dashboard
    finally:
        server.stop()


def test_a_policy_answer_is_evaluated_against_the_route(tmp_path: Path) -> None:
    server = serve(tmp_path, "--payload", "http", response="policy")
    try:
        status, _, body = server.request("GET", "/me", headers={"Authorization": "Bearer good"})
        assert status == 200 and json.loads(body)["sub"] == "user-1"
        status, _, body = server.request("GET", "/me", headers={"Authorization": "Bearer banned"})
        assert (status, json.loads(body)) == (403, {"message": "Forbidden"})  # a Deny policy
    finally:
        server.stop()


def test_websocket_connect_goes_through_the_authorizer(tmp_path: Path) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    server = serve(tmp_path)
    url = f"ws://127.0.0.1:{server.port}/"
    try:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer banned"}):
            with pytest.raises(InvalidStatus):
                connect(url, additional_headers=headers, open_timeout=10)
        with connect(url, additional_headers={"Authorization": "Bearer good"}, open_timeout=10) as ws:
            ws.send(json.dumps({"action": "whoami"}))
            assert json.loads(ws.recv(timeout=10)) == {"calls": "connect:user-1"}  # the context reached $connect
    finally:
        server.stop()


def test_the_dashboard_and_lift_send_fire_the_new_triggers(tmp_path: Path) -> None:
    server = serve(tmp_path)
    try:
        status, answer = server.post_json("/_lift/send", {"kind": "kafka", "name": "orders", "body": {"id": 7}})
        assert status == 200 and answer["error"] is None
        assert answer["result"] == {"batchItemFailures": []} and answer["event"]["eventSource"] == "aws:kafka"
        status, answer = server.post_json("/_lift/send", {"kind": "cognito", "name": "pre_sign_up"})
        assert status == 200 and answer["event"]["triggerSource"].startswith("PreSignUp")
        sent = subprocess.run(
            [sys.executable, "-m", "lift.cli", "send", "trigger", "authorizer", "http", "--url", server.base],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        assert json.loads(sent.stdout) == {"isAuthorized": False}  # the sample's token is refused, HTTP API style
        kinds = [i["kind"] for i in server.get("/_lift/api/state")["invocations"]]
        assert {"kafka", "cognito", "authorizer"} <= set(kinds)
    finally:
        server.stop()
