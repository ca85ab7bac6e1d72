"""The dev server plays API Gateway's WebSocket API; ctx.ws.send reaches the connected client."""

from __future__ import annotations

import asyncio
import json

import pytest

from dev.dev_server_process import DevServerProcess, write_project


def _ws_url(dev_server: DevServerProcess, query: str = "") -> str:
    return f"ws://127.0.0.1:{dev_server.port}/{query}"


def test_connect_is_refused_when_the_connect_route_raises_forbidden(dev_server: DevServerProcess) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus) as info:
        connect(_ws_url(dev_server, "?token=wrong"), open_timeout=10)
    assert info.value.response.status_code == 403


def test_messages_route_by_action_and_ctx_ws_send_delivers(dev_server: DevServerProcess) -> None:
    from websockets.sync.client import connect

    with connect(_ws_url(dev_server, "?token=letmein"), open_timeout=10) as ws:
        ws.send(json.dumps({"action": "echo", "text": "hi"}))
        assert json.loads(ws.recv(timeout=10)) == {"echo": "hi", "route": "echo"}
        ws.send("not json at all")
        assert json.loads(ws.recv(timeout=10)) == {"default": True}
        ws.send(json.dumps({"action": "no-such-route"}))
        assert json.loads(ws.recv(timeout=10)) == {"default": True}
        state = dev_server.get("/_lift/api/state")
        assert len(state["websockets"]) == 1
        connection_id = state["websockets"][0]["connection_id"]
        # the local Management API, as AWS's: GET the connection, POST to it
        status, _, body = dev_server.request("GET", f"/@connections/{connection_id}")
        assert status == 200 and json.loads(body)["Identity"]["SourceIp"] == "127.0.0.1"
        status, _, _ = dev_server.request("POST", f"/local/@connections/{connection_id}", b"pushed")
        assert status == 200
        assert ws.recv(timeout=10) == "pushed"
    dev_server.wait_for(
        lambda: any(
            "disconnected " + connection_id in log["message"] for log in dev_server.get("/_lift/api/state")["logs"]
        )
    )
    routes = [i["target"] for i in dev_server.get("/_lift/api/state")["invocations"] if i["kind"] == "websocket"]
    assert {"$connect", "echo", "$default", "$disconnect"} <= set(routes)


def test_a_post_over_the_128_kb_message_quota_is_413_and_sends_nothing(dev_server: DevServerProcess) -> None:
    from websockets.sync.client import connect

    with connect(_ws_url(dev_server, "?token=letmein"), open_timeout=10) as ws:
        (connection,) = dev_server.get("/_lift/api/state")["websockets"]
        url = f"/@connections/{connection['connection_id']}"
        status, _, body = dev_server.request("POST", url, b"x" * (200 * 1024))
        assert status == 413 and json.loads(body) == {"message": "PayloadTooLargeException"}  # (was 200)
        status, _, _ = dev_server.request("POST", url, b"y" * (128 * 1024))  # the quota itself is fine
        assert status == 200
        assert ws.recv(timeout=10) == "y" * (128 * 1024)  # the first message, never an empty one


def test_posting_to_a_gone_connection_is_410(dev_server: DevServerProcess) -> None:
    status, _headers, body = dev_server.request("POST", "/@connections/AbCdEfGhIjKl=", b"x")
    assert status == 410
    assert json.loads(body) == {"message": "GoneException"}


def test_async_client_receives_pushes(dev_server: DevServerProcess) -> None:
    import websockets

    async def run() -> dict:
        async with websockets.connect(_ws_url(dev_server, "?token=letmein")) as ws:
            await ws.send(json.dumps({"action": "echo", "text": "async"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    assert asyncio.run(run()) == {"echo": "async", "route": "echo"}


def test_ctx_ws_send_needs_no_aws_credentials(tmp_path) -> None:
    from websockets.sync.client import connect

    write_project(tmp_path)
    no_credentials = {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    server = DevServerProcess(
        tmp_path,
        "--no-reload",
        env=no_credentials,
        drop_env=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"),
    )
    try:
        with connect(f"ws://127.0.0.1:{server.port}/?token=letmein", open_timeout=10) as ws:
            ws.send(json.dumps({"action": "echo", "text": "no creds"}))
            assert json.loads(ws.recv(timeout=10)) == {"echo": "no creds", "route": "echo"}
    finally:
        server.stop()
