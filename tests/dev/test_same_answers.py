"""The same request answers the same status, content type and body over `lift dev`, `app.asgi` under
uvicorn and every Lambda HTTP source (REST, HTTP API, ALB, function URL, VPC Lattice): successes,
each client mistake's 4xx, the 500, HEAD and OPTIONS, binary and text bodies."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from dev.dev_server_process import APP_SOURCE, DevServerProcess
from lift.testing import lambda_context
from tests.core.http_events import BUILDERS
from tests.servers import Served

REQUESTS = [
    ("GET", "/async/5", None, {}),
    ("get", "/async/7", None, {}),
    ("GET", "/async/abc", None, {}),  # 422: not an int
    ("GET", "/async/caf%C3%A9", None, {}),
    ("GET", "/boom", None, {}),  # 500, the exception's text kept out
    ("GET", "/switch", None, {}),  # 500: a 101 without an upgrade
    ("GET", "/nowhere/x", None, {}),
    ("get", "/nowhere/x", None, {}),  # (the 404 names the method as sent)
    ("GET", "/hello/%2e%2e", None, {}),  # 400: a dot segment
    ("DELETE", "/async/5", None, {}),  # 405
    ("HEAD", "/async/5", None, {}),
    ("OPTIONS", "/async/5", None, {}),
    ("POST", "/echo", b"\x00\xff\xfebinary", {"Content-Type": "image/png"}),
    ("POST", "/echo", "h\u00e9llo \u20ac".encode(), {"Content-Type": "text/plain; charset=utf-8"}),
]


def comparable(status: int, content_type: str | None, body: bytes) -> tuple[int, str | None, Any]:
    """An answer with its error's request id left out (each request has its own)."""
    if content_type == "application/json" and body:
        data = json.loads(body)
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            data["error"].pop("request_id")
        return status, content_type, data
    return status, content_type, body


def over_http(base: str, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple:
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            status, got, data = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, got, data = err.code, err.headers, err.read()
    return comparable(status, got.get("content-type"), data)


def on_lambda(app: Any, source: str, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple:
    event = BUILDERS[source](method.upper(), path, body=body, headers=headers)
    if method != method.upper():  # (the builders write the method in upper case)
        if source in ("http", "url"):
            event["requestContext"]["http"]["method"] = method
        else:
            event["method" if source == "lattice" else "httpMethod"] = method
    out = app.handler(event, lambda_context())
    headers_out = out.get("headers") or {k: v[0] for k, v in (out.get("multiValueHeaders") or {}).items()}
    data = base64.b64decode(out["body"]) if out["isBase64Encoded"] else out["body"].encode()
    return comparable(out["statusCode"], headers_out.get("Content-Type"), data)


@pytest.fixture(scope="module")
def in_process() -> tuple[Any, Served]:
    namespace: dict[str, Any] = {"__name__": "devdemo_in_process"}
    exec(compile(APP_SOURCE, "devdemo_in_process", "exec"), namespace)  # the dev server's own app, in this process
    app = namespace["app"]
    served = Served(app.asgi)
    yield app, served
    served.stop()


@pytest.mark.parametrize(("method", "path", "body", "headers"), REQUESTS)
def test_the_same_request_answers_alike_over_lift_dev_asgi_and_every_lambda_source(
    dev_server: DevServerProcess, in_process: tuple[Any, Served], method: str, path: str, body: Any, headers: dict
) -> None:
    app, served = in_process
    answer = over_http(dev_server.base, method, path, body, headers)
    assert answer[0] < 500 or path in ("/boom", "/switch")
    if answer[0] == 500:
        assert answer[2]["error"] == {"code": "internal_error", "message": "Internal server error", "details": None}
    assert over_http(served.url, method, path, body, headers) == answer, "app.asgi"
    for source in BUILDERS:
        assert on_lambda(app, source, method, path, body, headers) == answer, source
