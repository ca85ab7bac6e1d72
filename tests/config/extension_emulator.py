"""A real HTTP server speaking the AWS Parameters and Secrets Lambda Extension's documented API.

GET /systemsmanager/parameters/get?name=N&withDecryption=true and GET /secretsmanager/get?secretId=S
with the `X-Aws-Parameters-Secrets-Token` header (the function's AWS_SESSION_TOKEN); the answer
is the JSON of GetParameter / GetSecretValue. Like the extension, it makes those calls itself
(with boto3, against the moto server) and caches answers for `ttl` seconds. Requests without
the right token are refused (401 here; the extension documents only that it refuses them). It also serves AppConfig's agent
path (`/applications/A/environments/E/configurations/P`) from moto's hosted configuration
versions (moto has no AppConfig environments or deployments: `hosted` says which version is live).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.exceptions import ClientError

SESSION_TOKEN = "lift-test-session-token"


class ExtensionEmulator:
    def __init__(self, endpoint_url: str, token: str, ttl: float = 300.0, session=None) -> None:
        self.token = token
        self.ttl = ttl
        self.calls: list[str] = []
        # (application, environment, profile) names -> moto's ids and the deployed version
        self.hosted: dict[tuple[str, str, str], tuple[str, str, int]] = {}
        self.cache: dict[str, tuple[float, int, bytes, str]] = {}
        session = session or boto3.session.Session()  # the function's role, as the extension uses it
        self.ssm = session.client("ssm", endpoint_url=endpoint_url)
        self.secrets = session.client("secretsmanager", endpoint_url=endpoint_url)
        self.appconfig = session.client("appconfig", endpoint_url=endpoint_url)
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                status, body, ctype = emulator.answer(self.path, self.headers)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, raw_path: str, headers) -> tuple[int, bytes, str]:
        url = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path.startswith("/applications/"):
            return self._appconfig(url.path)
        if headers.get("X-Aws-Parameters-Secrets-Token") != self.token:
            return 401, b"missing or invalid X-Aws-Parameters-Secrets-Token", "text/plain"
        key = raw_path
        hit = self.cache.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1], hit[2], hit[3]
        self.calls.append(raw_path)
        try:
            if url.path == "/systemsmanager/parameters/get":
                resp = self.ssm.get_parameter(
                    Name=query["name"], WithDecryption=query.get("withDecryption", "false") == "true"
                )
            elif url.path == "/secretsmanager/get":
                kwargs = {"SecretId": query["secretId"]}
                if "versionStage" in query:
                    kwargs["VersionStage"] = query["versionStage"]
                resp = self.secrets.get_secret_value(**kwargs)
            else:
                return 404, b"not found", "text/plain"
        except ClientError as exc:
            err = exc.response["Error"]
            status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
            return status, f"{err['Code']}: {err.get('Message', '')}".encode(), "text/plain"
        resp.pop("ResponseMetadata", None)
        body = json.dumps(resp, default=_wire_json).encode()
        self.cache[key] = (time.monotonic(), 200, body, "application/json")
        return 200, body, "application/json"

    def _appconfig(self, path: str) -> tuple[int, bytes, str]:
        parts = path.strip("/").split("/")  # applications/A/environments/E/configurations/P
        if len(parts) != 6:
            return 400, b"bad path", "text/plain"
        self.calls.append(path)
        hosted = self.hosted.get((parts[1], parts[3], parts[5]))
        if hosted is None:
            return 404, b"ResourceNotFoundException: no such configuration", "text/plain"
        app_id, profile_id, version_number = hosted
        version = self.appconfig.get_hosted_configuration_version(
            ApplicationId=app_id, ConfigurationProfileId=profile_id, VersionNumber=version_number
        )
        return 200, version["Content"].read(), version["ContentType"]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wire_json(value: object) -> str:
    """A value as AWS's JSON protocol writes it: blobs (SecretBinary) in base64, dates as text."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)
