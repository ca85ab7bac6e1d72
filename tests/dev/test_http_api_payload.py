"""`--payload http`: requests become API Gateway HTTP API (payload 2.0) events."""

from __future__ import annotations

import json
from pathlib import Path

from dev.dev_server_process import DevServerProcess, write_project


def test_http_api_payload_with_cookies_list_and_multi_value_query(tmp_path: Path) -> None:
    write_project(tmp_path)
    server = DevServerProcess(tmp_path, "--no-reload", "--payload", "http")
    try:
        status, _, body = server.request("GET", "/hello/eve?tag=x&tag=y")
        assert status == 200
        assert json.loads(body) == {"hello": "eve", "version": "v1", "source": "http", "query": ["x", "y"]}
        status, _, body = server.request("GET", "/hello/eve?tag=caf%C3%A9&tag=a%2Bb")  # the query string as sent
        assert json.loads(body)["query"] == ["café", "a+b"]
        status, _, body = server.request("GET", "/hello/eve?tag=%FF")
        assert (status, json.loads(body)["error"]["code"]) == (400, "invalid_query_encoding")
        status, _, body = server.request("GET", "/whoami", headers={"Cookie": "a=1; b=2"})
        assert json.loads(body)["cookies"] == {"a": "1", "b": "2"}
        assert json.loads(body)["event_source"] == "http"
        status, headers, body = server.request("POST", "/echo", b"\x00\xffbinary", {"Content-Type": "image/png"})
        assert status == 201 and body == b"\x00\xffbinary"
        assert [c.split(";")[0] for c in headers.get_all("set-cookie")] == ["session=abc", "theme=dark"]
    finally:
        server.stop()
