"""WebSocket: routes, `$connect` rejection, replies, and the Management API client (boto3 against
a Management-API-compatible server on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import unquote

import msgspec
import pytest

from lift import App, Context
from lift.errors import Forbidden, Unauthorized, UnmatchedEvent
from lift.sources import source_of
from lift.testing import TestClient, events
from lift.websocket import ConnectionGone, WebSocketClient


class Chat(msgspec.Struct):
    action: str
    message: str


def test_detection_of_every_websocket_event(aws_event) -> None:
    for event in (
        aws_event("websocket_connect"),
        aws_event("websocket_message"),
        events.websocket_connect(),
        events.websocket_message("x"),
        events.websocket_disconnect(),
    ):
        assert source_of(event) == "websocket"
    assert source_of(events.apigw_rest("GET", "/")) == "rest"


def test_connect_reads_handshake_and_can_reject(aws_event) -> None:
    app = App()
    seen = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        rec = ctx.record
        seen.append((ctx.source, ctx.connection_id, rec.event_type, rec.domain, rec.stage, rec.source_ip))
        token = rec.query.get("token")
        if token is None:
            raise Unauthorized("token required")
        if token != "abc123":
            raise Forbidden("bad token")

    client = TestClient(app)
    assert client.invoke(aws_event("websocket_connect")) == {"statusCode": 200}
    assert seen[0] == (
        "websocket",
        "eb5Q8clHoAMCIxw=",
        "CONNECT",
        "abcdef123.execute-api.us-east-1.amazonaws.com",
        "default",
        "203.0.113.7",
    )
    refused = client.websocket_connect()
    assert refused["statusCode"] == 401
    assert json.loads(refused["body"])["error"]["code"] == "unauthorized"
    assert client.websocket_connect(query={"token": "nope"})["statusCode"] == 403


def test_connect_headers_are_case_insensitive() -> None:
    app = App()
    seen = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        seen.append(ctx.record.headers.get("sec-websocket-protocol"))

    TestClient(app).websocket_connect(headers={"Sec-WebSocket-Protocol": "chat"})
    assert seen == ["chat"]


def test_custom_route_typed_body_and_reply(aws_event) -> None:
    app = App()

    @app.websocket("sendmessage")
    def send(ctx: Context, body: Chat) -> dict:
        return {"echo": body.message, "route": ctx.record.route_key, "message_id": ctx.record.message_id}

    result = TestClient(app).invoke(aws_event("websocket_message"))
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"echo": "hello", "route": "sendmessage", "message_id": "eb5RLdQCoAMCIxw="}


def test_unknown_route_falls_back_to_default_and_invalid_body_is_422() -> None:
    app = App()

    @app.websocket("$default")
    def default(ctx: Context, body: Chat) -> None:
        pass

    client = TestClient(app)
    assert client.websocket_message({"action": "x", "message": "m"}, route_key="sendmessage") == {"statusCode": 200}
    bad = client.websocket_message({"action": "x"}, route_key="$default")
    assert bad["statusCode"] == 422
    assert "message" in json.loads(bad["body"])["error"]["details"][0]["path"]


def test_base64_message_and_disconnect_fields() -> None:
    app = App()
    seen = []

    @app.websocket("$default")
    def default(body: str) -> None:
        seen.append(body)

    @app.websocket("$disconnect")
    def gone(ctx: Context) -> None:
        seen.append((ctx.record.event_type, ctx.record.disconnect_status_code, ctx.record.disconnect_reason))

    client = TestClient(app)
    client.websocket_message("héllo", is_base64=True)
    assert client.websocket_disconnect(status_code=1000, reason="bye") == {"statusCode": 200}
    assert seen == ["héllo", ("DISCONNECT", 1000, "bye")]


def test_unmatched_route_raises() -> None:
    app = App()

    @app.websocket("$connect")
    def connect() -> None:
        pass

    with pytest.raises(UnmatchedEvent, match="disconnect"):
        TestClient(app).websocket_disconnect()


def test_handler_error_is_a_500_without_details() -> None:
    app = App()

    @app.websocket("$default")
    def default() -> None:
        raise RuntimeError("secret internals")

    result = TestClient(app).websocket_message("x")
    assert result["statusCode"] == 500
    assert "secret" not in result["body"]


# -- Management API -----------------------------------------------------------------------
class ManagementAPI(BaseHTTPRequestHandler):
    """Speaks the API Gateway Management API: POST/GET/DELETE /{stage}/@connections/{id}."""

    live: ClassVar[set[str]] = set()
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def _connection(self) -> str:
        return unquote(self.path.rsplit("/@connections/", 1)[1])

    def _error(self, status: int, error_type: str, message: str | None) -> None:
        body = json.dumps({"message": message}).encode()
        self.send_response(status)
        self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _gone(self) -> None:
        self._error(410, "GoneException", None)

    def _ok(self, body: bytes = b"") -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        cid = self._connection()
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if cid not in self.live:
            return self._gone()
        self.received.append(("POST", cid, data))
        return self._ok()

    def do_DELETE(self) -> None:
        cid = self._connection()
        if cid not in self.live:
            return self._gone()
        self.live.discard(cid)
        self.received.append(("DELETE", cid, b""))
        return self._ok()

    def do_GET(self) -> None:
        cid = self._connection()
        if cid not in self.live:
            return self._gone()
        return self._ok(
            json.dumps(
                {
                    "connectedAt": "2026-11-22T00:00:00Z",
                    "identity": {"sourceIp": "203.0.113.7", "userAgent": "test"},
                    "lastActiveAt": "2026-11-22T00:01:00Z",
                }
            ).encode()
        )

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def management_api():
    ManagementAPI.live = {"conn-1=", "conn-2="}
    ManagementAPI.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ManagementAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/prod"
    server.shutdown()
    server.server_close()


def test_client_send_close_broadcast_and_gone(management_api: str) -> None:
    ws = WebSocketClient(endpoint=management_api, region="us-east-1")
    ws.send("conn-1=", {"hello": 1})
    with pytest.raises(ConnectionGone) as info:
        ws.send("stale=", "x")
    assert info.value.connection_id == "stale="
    result = ws.broadcast(["conn-1=", "stale=", "conn-2="], "news")
    assert (result.sent, result.gone, result.failed) == (["conn-1=", "conn-2="], ["stale="], {})
    assert ws.info("conn-2=")["Identity"]["SourceIp"] == "203.0.113.7"
    assert ws.close("conn-2=") is True
    assert ws.close("conn-2=") is False  # already gone
    received = ManagementAPI.received
    assert received[0] == ("POST", "conn-1=", b'{"hello":1}')
    # broadcast sends `concurrency` (16) at a time: its two posts arrive in either order
    assert sorted(received[1:3]) == [("POST", "conn-1=", b"news"), ("POST", "conn-2=", b"news")]
    assert received[3:] == [("DELETE", "conn-2=", b"")]


def test_ctx_ws_replies_to_the_connection(management_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFT_WEBSOCKET_ENDPOINT", management_api)
    app = App()

    @app.websocket("$default")
    def default(ctx: Context, body: str) -> None:
        ctx.ws.send(ctx.connection_id, {"you_said": body})

    TestClient(app).websocket_message("hi", connection_id="conn-1=")
    assert ManagementAPI.received == [("POST", "conn-1=", b'{"you_said":"hi"}')]


def test_app_websocket_client_from_a_queue_handler(management_api: str) -> None:
    app = App()
    app.websocket_client = WebSocketClient(endpoint=management_api, region="us-east-1")
    gone = []

    @app.sqs("notifications")
    def notify(ctx: Context, body: dict) -> None:
        result = ctx.ws.broadcast(body["to"], body["text"])
        gone.extend(result.gone)

    TestClient(app).sqs("notifications", [{"to": ["conn-1=", "old="], "text": "ping"}])
    assert gone == ["old="]
    assert ManagementAPI.received == [("POST", "conn-1=", b"ping")]


def test_endpoint_comes_from_the_event_domain_and_stage() -> None:
    app = App()
    endpoints = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        endpoints.append(ctx.ws.endpoint)

    TestClient(app).websocket_connect(stage="live")
    assert endpoints == ["https://abcdef123.execute-api.us-east-1.amazonaws.com/live"]


def test_an_assigned_client_serves_websocket_events_too(management_api: str) -> None:
    app = App()
    app.websocket_client = WebSocketClient(endpoint=management_api, region="us-east-1")

    @app.websocket("$default")
    def default(ctx: Context, body: str) -> None:
        ctx.ws.send(ctx.connection_id, body.upper())

    TestClient(app).websocket_message("hey", connection_id="conn-2=")
    assert ManagementAPI.received == [("POST", "conn-2=", b"HEY")]


# -- hostile WebSocket events: the client's (or a hand-made event's) fault is a 4xx, never a 500 ------
def _hostile_app() -> App:
    app = App()

    @app.websocket("$connect")
    def connect(ctx: Context) -> dict:
        return {"tag": ctx.record.headers.get("x-tag"), "q": ctx.record.query.to_dict()}

    @app.websocket("$default")
    def default(ctx: Context, body: Chat) -> dict:
        return {"heard": body.message}

    return app


def test_a_binary_frame_that_is_not_base64_is_a_400(caplog) -> None:
    event = events.websocket_message(b"\x00\x01", is_base64=True)
    event["body"] = "!!not base64"
    out = _hostile_app().handler(event, None)
    assert out["statusCode"] == 400
    assert json.loads(out["body"])["error"]["code"] == "invalid_base64"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", '{"action": "say", "message": "\udcff"}'),
        ("multiValueHeaders", 5),
        ("multiValueQueryStringParameters", "x"),
    ],
)
def test_a_field_api_gateway_never_sends_is_a_400_malformed_event(field, value, caplog) -> None:
    caplog.set_level("WARNING", logger="lift")
    if field == "body":
        event = events.websocket_message({"action": "say", "message": "x"})
    else:
        event = events.websocket_connect(headers={"X-Tag": "a"}, query={"token": "t"})
    event[field] = value
    out = _hostile_app().handler(event, None)
    assert out["statusCode"] == 400, out
    error = json.loads(out["body"])["error"]
    assert error["code"] == "malformed_event" and error["details"][0]["path"].startswith(f"$.{field}")
    assert [r.getMessage().split(" (")[0] for r in caplog.records if r.levelname == "WARNING"] == [
        "Malformed websocket event"
    ]


def test_a_connect_query_parameter_without_values_is_absent() -> None:
    event = events.websocket_connect(query={"token": "t", "room": "r"})
    event["multiValueQueryStringParameters"] = {"token": None, "room": ["r"]}
    out = _hostile_app().handler(event, None)
    assert out["statusCode"] == 200 and json.loads(out["body"])["q"] == {"room": ["r"]}
