"""Requests through an App's ASGI adapter, as uvicorn hands them over (shared by the core tests)."""

from __future__ import annotations

import json
from urllib.parse import unquote

from lift import App


async def asgi_request(
    app: App,
    raw_path: bytes,
    method: str = "GET",
    *,
    query_string: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    root_path: str = "",
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request as uvicorn hands it over (`path` percent-decoded, `raw_path` as sent): the status,
    headers and body sent back."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode()),
        "raw_path": raw_path,
        "root_path": root_path,
        "query_string": query_string,
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app.asgi(scope, receive, send)
    return sent[0]["status"], sent[0]["headers"], sent[1]["body"]


async def asgi_get(app: App, raw_path: bytes, method: str = "GET", root_path: str = "") -> tuple[int, dict]:
    """One request's status and JSON body."""
    status, _, body = await asgi_request(app, raw_path, method, root_path=root_path)
    return status, json.loads(body)
