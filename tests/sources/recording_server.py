"""A real HTTP server on 127.0.0.1 that records each request and answers 200 (`answer` body):
CloudFormation's presigned ResponseURL, an S3 presigned GET, and the AWS endpoints moto does
not serve (CodePipeline job results, S3 WriteGetObjectResponse) as boto3 calls them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RecordingServer:
    def __init__(
        self,
        answer: bytes = b"{}",
        content_type: str = "application/json",
        refuse: Callable[[dict[str, Any]], tuple[int, bytes] | None] | None = None,
    ) -> None:
        """`refuse(request)`: a (status, body) to answer that request with instead (an AWS error), or None."""
        self.requests: list[dict[str, Any]] = []
        self.answer = answer
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                server.requests.append(request)
                status, answer = (refuse and refuse(request)) or (200, server.answer)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_PUT = do_POST = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
