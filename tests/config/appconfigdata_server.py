"""A real HTTP server of the AWS AppConfig Data API (StartConfigurationSession, GetLatestConfiguration).

Why it exists: moto (5.2.5, the newest release) mocks AppConfig's control plane but not its
data plane, so without this server lift.config's boto3 AppConfig path could not run at all.
It is a test server of the AWS API, like the Runtime API emulator, never a stub of boto3:
boto3 signs, serializes and parses for real, and this server answers what the API reference
(AppConfigData 2021-11-11, rest-json, signing name `appconfig`) specifies:

- `POST /configurationsessions` with the JSON body `ApplicationIdentifier`,
  `EnvironmentIdentifier`, `ConfigurationProfileIdentifier` (names or IDs, 1-128 characters)
  and an optional `RequiredMinimumPollIntervalInSeconds` (15-86400) answers 201 with
  `{"InitialConfigurationToken": ...}`, or 404 `ResourceNotFoundException`.
- `GET /configuration?configuration_token=T` answers 200 with the configuration as the body
  (empty when this session already received the deployed version) and the headers
  `Next-Poll-Configuration-Token`, `Next-Poll-Interval-In-Seconds`, `Content-Type` and
  `Version-Label`. Each token is good for one call and for 24 hours; a token used again or
  unknown is `Corrupted`, an old one `Expired`, one presented before the poll interval has
  passed `PollIntervalNotSatisfied` (not consumed): each a 400 `BadRequestException` with
  `Reason: InvalidParameters` and `Details.InvalidParameters.ConfigurationToken.Problem`.
- Every request must carry a valid SigV4 signature for the configured credentials
  (checked with botocore's signer, as moto checks its own); otherwise 403.

Time on the server side comes from `clock` so a test can move it (poll intervals are at
least 15 seconds and tokens live a day); the client under test is given the same clock.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TOKEN_LIFETIME = 24 * 3600.0
DEFAULT_POLL_INTERVAL = 60


class Clock:
    """Monotonic seconds that a test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class _Deployed:
    def __init__(self, content: bytes, content_type: str, version_label: str | None, number: int) -> None:
        self.content, self.content_type, self.version_label, self.number = content, content_type, version_label, number


class AppConfigDataServer:
    def __init__(self, access_key: str, secret_key: str, clock: Clock) -> None:
        self.credentials = Credentials(access_key, secret_key)
        self.clock = clock
        self.lock = threading.Lock()
        self.deployed: dict[tuple[str, str, str], _Deployed] = {}
        self.sessions: dict[str, dict] = {}  # session id -> {"key", "interval", "seen"}
        self.tokens: dict[str, dict] = {}  # token -> {"session", "issued", "not_before", "used"}
        self.calls: list[tuple[str, str]] = []  # (operation, outcome) in order
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = server.handle(method, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amzn-RequestId", secrets.token_hex(16))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    # -- what a test does: deploy a configuration version (the control plane's job) ------------
    def deploy(
        self,
        application: str,
        environment: str,
        profile: str,
        content: bytes,
        content_type: str = "application/json",
        version_label: str | None = None,
    ) -> None:
        with self.lock:
            key = (application, environment, profile)
            number = self.deployed[key].number + 1 if key in self.deployed else 1
            self.deployed[key] = _Deployed(content, content_type, version_label, number)

    def operations(self) -> list[str]:
        return [f"{op}:{outcome}" for op, outcome in self.calls]

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    # -- the API -----------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        url = urlsplit(raw_path)
        lower = {k.lower(): v for k, v in headers.items()}
        refused = self._check_signature(method, raw_path, lower, body)
        if refused:
            return _error(403, refused[0], refused[1])
        with self.lock:
            if method == "POST" and url.path == "/configurationsessions":
                return self._start(body)
            if method == "GET" and url.path == "/configuration":
                query = parse_qs(url.query, keep_blank_values=True)
                return self._latest((query.get("configuration_token") or [""])[-1])
        return _error(404, "UnknownOperationException", f"no operation {method} {url.path}")

    def _start(self, body: bytes) -> tuple[int, dict, bytes]:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "BadRequestException", "the request body is not JSON")
        names = ("ApplicationIdentifier", "EnvironmentIdentifier", "ConfigurationProfileIdentifier")
        invalid = {n: {"Problem": "Corrupted"} for n in names if not 1 <= len(str(request.get(n) or "")) <= 128}
        interval = request.get("RequiredMinimumPollIntervalInSeconds")
        if interval is not None and not (isinstance(interval, int) and 15 <= interval <= 86400):
            invalid["RequiredMinimumPollIntervalInSeconds"] = {"Problem": "Corrupted"}
        if invalid:
            self.calls.append(("StartConfigurationSession", "BadRequest"))
            return _bad_request(invalid)
        key = tuple(request[n] for n in names)
        if key not in self.deployed:
            self.calls.append(("StartConfigurationSession", "NotFound"))
            return _error(
                404,
                "ResourceNotFoundException",
                "Requested configuration could not be found",
                ResourceType="Configuration",
            )
        session = secrets.token_hex(8)
        self.sessions[session] = {"key": key, "interval": interval or DEFAULT_POLL_INTERVAL, "seen": None}
        token = self._issue(session, not_before=0.0)
        self.calls.append(("StartConfigurationSession", "ok"))
        return 201, {"Content-Type": "application/json"}, json.dumps({"InitialConfigurationToken": token}).encode()

    def _latest(self, token: str) -> tuple[int, dict, bytes]:
        now = self.clock()
        entry = self.tokens.get(token)
        if entry is None or entry["used"]:
            self.calls.append(("GetLatestConfiguration", "Corrupted"))
            return _bad_request({"ConfigurationToken": {"Problem": "Corrupted"}})
        if now - entry["issued"] > TOKEN_LIFETIME:
            self.calls.append(("GetLatestConfiguration", "Expired"))
            return _bad_request({"ConfigurationToken": {"Problem": "Expired"}})
        if now < entry["not_before"]:
            self.calls.append(("GetLatestConfiguration", "PollIntervalNotSatisfied"))
            return _bad_request({"ConfigurationToken": {"Problem": "PollIntervalNotSatisfied"}})
        entry["used"] = True
        session = self.sessions[entry["session"]]
        deployed = self.deployed[session["key"]]
        headers = {
            "Next-Poll-Configuration-Token": self._issue(entry["session"], not_before=now + session["interval"]),
            "Next-Poll-Interval-In-Seconds": str(session["interval"]),
        }
        if session["seen"] == deployed.number:
            self.calls.append(("GetLatestConfiguration", "unchanged"))
            return 200, headers, b""
        session["seen"] = deployed.number
        headers["Content-Type"] = deployed.content_type
        if deployed.version_label:
            headers["Version-Label"] = deployed.version_label
        self.calls.append(("GetLatestConfiguration", "content"))
        return 200, headers, deployed.content

    def _issue(self, session: str, not_before: float) -> str:
        token = secrets.token_urlsafe(48)
        self.tokens[token] = {"session": session, "issued": self.clock(), "not_before": not_before, "used": False}
        return token

    def _check_signature(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, str] | None:
        found = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
            r"SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})",
            headers.get("authorization", ""),
        )
        if not found or "x-amz-date" not in headers:
            return "MissingAuthenticationTokenException", "Missing Authentication Token"
        access_key, _, region, service, signed, signature = found.groups()
        if access_key != self.credentials.access_key:
            return "UnrecognizedClientException", "The security token included in the request is invalid."
        if service != "appconfig":
            return (
                "InvalidSignatureException",
                f"Credential should be scoped to correct service: 'appconfig', not {service!r}",
            )
        request = AWSRequest(
            method=method,
            url=f"http://{headers['host']}{raw_path}",
            data=body,
            headers={name: headers[name] for name in signed.split(";")},
        )
        request.context["timestamp"] = headers["x-amz-date"]
        signer = SigV4Auth(self.credentials, service, region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if expected != signature:
            return (
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            )
        return None


def _error(status: int, code: str, message: str, **fields) -> tuple[int, dict, bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"Message": message, **fields}).encode()


def _bad_request(invalid: dict) -> tuple[int, dict, bytes]:
    return _error(
        400,
        "BadRequestException",
        "Request parameters are not valid",
        Reason="InvalidParameters",
        Details={"InvalidParameters": invalid},
    )
