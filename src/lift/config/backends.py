"""How values are fetched: the AWS Parameters and Secrets Lambda Extension when it runs, else boto3.

The extension (a Lambda layer) answers on `localhost:$PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`
(2773) with the same JSON as GetParameter/GetSecretValue, authenticated by the function's
session token in `X-Aws-Parameters-Secrets-Token`, and caches values itself. AppConfig's own
agent extension answers on `localhost:$AWS_APPCONFIG_EXTENSION_HTTP_PORT` (2772). The stdlib
`http.client` talks to both: no dependency, and nothing for a function that does not use it.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

__all__ = [
    "Fetched",
    "FetchError",
    "NotFoundError",
    "AccessDeniedError",
    "ExtensionBackend",
    "Boto3Backend",
    "default_backend",
    "extension_present",
]

EXTENSION_PORT_ENV = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
APPCONFIG_PORT_ENV = "AWS_APPCONFIG_EXTENSION_HTTP_PORT"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
# The version a secret is read at unless a source names another: what AWS returns by default, asked
# for by name so that every server answers the same (moto's default stayed on the first version
# after a rotation moved AWSCURRENT with UpdateSecretVersionStage).
CURRENT_STAGE = "AWSCURRENT"
_ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "KMSAccessDeniedException")
# The caller's credentials themselves were refused: no grant would help.
_BAD_CREDENTIALS = (
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
)
_NOT_FOUND = ("ParameterNotFound", "ResourceNotFoundException", "ParameterVersionNotFound")


class Fetched(msgspec.Struct, frozen=True):
    """One value as a service returned it. `secure`: a SecureString or a secret."""

    value: str | bytes
    secure: bool = False
    version: str | None = None
    content_type: str | None = None
    string_list: bool = False  # an SSM StringList: comma-separated items

    def __repr__(self) -> str:  # a secret's value never shows (a traceback's locals, a debug line)
        value = "**********" if self.secure else repr(self.value)
        return f"Fetched(value={value}, secure={self.secure}, version={self.version!r})"

    def __rich_repr__(self) -> Any:
        yield "value", "**********" if self.secure else self.value
        yield "secure", self.secure
        yield "version", self.version


def _parameter(param: dict[str, Any]) -> Fetched:
    """A Parameter of GetParameter(s) (or of the extension, which answers the same JSON)."""
    kind = param.get("Type")
    return Fetched(param["Value"], kind == "SecureString", str(param.get("Version")), string_list=kind == "StringList")


class FetchError(Exception):
    """A value could not be read (the message never contains a value)."""


class NotFoundError(FetchError):
    pass


class AccessDeniedError(FetchError):
    """The caller may not read the value. `action`: the IAM action that was refused, when known."""

    def __init__(self, message: str, action: str | None = None) -> None:
        super().__init__(message)
        self.action = action


def _classify(code: str, message: str, action: str | None = None) -> FetchError:
    text = f"{code}: {message}" if message else code
    refused = next((c for c in _BAD_CREDENTIALS if c == code or (code == "403" and f"<Code>{c}<" in message)), None)
    if refused:
        return FetchError(
            f"AWS rejected the caller's credentials ({refused}): check the function's role and session, not its grants"
        )
    # A bare "403" is an error body botocore could not parse (moto answers JSON-protocol
    # services with an XML error); its text still says AccessDenied.
    if code in _ACCESS_DENIED or "AccessDenied" in code or (code == "403" and "AccessDenied" in message):
        lower = message.lower()
        if code.startswith("KMS") or "access to kms" in lower or "perform: kms:" in lower:
            action = "kms:Decrypt"  # the value's key was refused, not the read itself
        return AccessDeniedError(text, action)
    if code in _NOT_FOUND or "NotFound" in code:
        return NotFoundError(text)
    return FetchError(text)


def extension_present() -> bool:
    """True when the Parameters and Secrets extension runs next to this function.

    `LIFT_CONFIG_EXTENSION=0/1` decides outright; otherwise the extension is assumed when its
    port variable is set or its layer is in /opt/extensions."""
    forced = os.environ.get("LIFT_CONFIG_EXTENSION")
    if forced is not None:
        return forced.lower() in ("1", "true", "yes", "on")
    if os.environ.get(EXTENSION_PORT_ENV):
        return True
    try:
        return any("parameters" in name.lower() and "secrets" in name.lower() for name in os.listdir("/opt/extensions"))
    except OSError:
        return False


class ExtensionBackend:
    """Reads through the Parameters and Secrets extension (and AppConfig's agent) on localhost."""

    name = "extension"

    def __init__(
        self,
        port: int | None = None,
        *,
        appconfig_port: int | None = None,
        host: str = "127.0.0.1",
        timeout: float = 5.0,
    ) -> None:
        self.port = port or int(os.environ.get(EXTENSION_PORT_ENV) or 2773)
        self.appconfig_port = appconfig_port or int(os.environ.get(APPCONFIG_PORT_ENV) or 2772)
        self.host = host
        self.timeout = timeout

    def _get(self, port: int, path: str, token: bool = True) -> tuple[int, bytes, str | None]:
        import http.client

        conn = http.client.HTTPConnection(self.host, port, timeout=self.timeout)
        try:
            headers = {TOKEN_HEADER: os.environ.get("AWS_SESSION_TOKEN", "")} if token else {}
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheader("Content-Type")
        except OSError as exc:
            raise FetchError(f"the extension on {self.host}:{port} does not answer ({exc})") from None
        finally:
            conn.close()

    def _json(self, path: str, action: str) -> dict[str, Any]:
        status, body, _ = self._get(self.port, path)
        if status == 200:
            return msgspec.json.decode(body)
        text = body.decode("utf-8", "replace")[:300]
        if "AccessDenied" in text:
            raise AccessDeniedError(f"AccessDenied (extension HTTP {status}): {text}", action)
        if status in (401, 403):
            raise FetchError(
                f"the extension refused the request (HTTP {status}): {TOKEN_HEADER} must carry the function's"
                " AWS_SESSION_TOKEN"
            )
        if status == 404 or "NotFound" in text:
            raise NotFoundError(f"not found (extension HTTP {status}): {text}")
        raise FetchError(f"extension HTTP {status}: {text}")

    def parameters(self, names: Iterable[str], decrypt: bool = True) -> dict[str, Fetched | FetchError]:
        out: dict[str, Fetched | FetchError] = {}
        for name in names:
            query = urlencode({"name": name, "withDecryption": "true" if decrypt else "false"})
            try:
                param = self._json(f"/systemsmanager/parameters/get?{query}", "ssm:GetParameter")["Parameter"]
            except FetchError as exc:
                out[name] = exc
                continue
            out[name] = _parameter(param)
        return out

    def secret(self, secret_id: str, version_stage: str | None = None) -> Fetched:
        params = {"secretId": secret_id, "versionStage": version_stage or CURRENT_STAGE}
        data = self._json(f"/secretsmanager/get?{urlencode(params)}", "secretsmanager:GetSecretValue")
        return _secret_value(data)

    def appconfig(self, application: str, environment: str, profile: str) -> Fetched:
        path = "/applications/{}/environments/{}/configurations/{}".format(
            *(quote(p, safe="") for p in (application, environment, profile))
        )
        status, body, ctype = self._get(self.appconfig_port, path, token=False)
        if status == 200:
            return Fetched(body, False, None, ctype)
        text = body.decode("utf-8", "replace")[:300]
        if status == 404:
            raise NotFoundError(f"not found (AppConfig agent HTTP 404): {text}")
        if status in (401, 403):
            raise AccessDeniedError(
                f"AccessDenied (AppConfig agent HTTP {status}): {text}", "appconfig:StartConfigurationSession"
            )
        raise FetchError(f"AppConfig agent HTTP {status}: {text}")


def _selector(name: str) -> bool:
    """True for a parameter name with a version or label selector (`/prod/url:3`; names hold no `:`)."""
    return ":" in (name.partition(":parameter/")[2] if name.startswith("arn:") else name)


def _secret_value(data: dict[str, Any]) -> Fetched:
    if data.get("SecretString") is not None:
        value: str | bytes = data["SecretString"]
    else:
        raw = data.get("SecretBinary") or b""
        try:  # AWS's JSON (the extension's answer) carries the blob in base64; boto3 gives bytes
            value = base64.b64decode(raw, validate=True) if isinstance(raw, str) else raw
        except ValueError:
            raise FetchError("the SecretBinary in the answer is not base64") from None
    return Fetched(value, True, data.get("VersionId"))


class Boto3Backend:
    """Reads with boto3 (SSM GetParameters in batches of ten, GetSecretValue, AppConfig Data)."""

    name = "boto3"

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        session: Any = None,
        appconfig_poll_interval: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._session = session
        self._clients: dict[str, Any] = {}
        self.appconfig_poll_interval = appconfig_poll_interval  # RequiredMinimumPollIntervalInSeconds (15-86400)
        self._clock = clock
        self._appconfig: dict[tuple[str, str, str], _AppConfigSession] = {}
        self._appconfig_lock = threading.Lock()

    def client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            try:
                import boto3
            except ImportError:
                raise ImportError(
                    'lift.config needs boto3 without the extension: pip install "lift-lambda[aws]"'
                ) from None
            session = self._session or boto3.session.Session()
            client = self._clients[service] = session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url
            )
        return client

    @property
    def region_name(self) -> str:
        return self.region or self.client("ssm").meta.region_name

    def _call(self, fn: Any, action: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise _classify(str(err.get("Code", "")), str(err.get("Message", "")), action) from None
        except BotoCoreError as exc:
            raise FetchError(str(exc)) from None

    def parameters(self, names: Iterable[str], decrypt: bool = True) -> dict[str, Fetched | FetchError]:
        names = list(dict.fromkeys(names))
        out: dict[str, Fetched | FetchError] = {}
        ssm = self.client("ssm")
        # A version or label selector (`/prod/url:3`, `/prod/url:live`): GetParameters answers with the
        # bare name, which a batch could not tell from another version of it, so each is read alone.
        for name in [n for n in names if _selector(n)]:
            try:
                param = self._call(ssm.get_parameter, "ssm:GetParameter", Name=name, WithDecryption=decrypt)
            except FetchError as exc:
                out[name] = exc
                continue
            param = param["Parameter"]
            out[name] = _parameter(param)
        names = [n for n in names if not _selector(n)]
        for i in range(0, len(names), 10):
            batch = names[i : i + 10]
            try:
                resp = self._call(ssm.get_parameters, "ssm:GetParameters", Names=batch, WithDecryption=decrypt)
            except FetchError as exc:
                for name in batch:
                    out[name] = exc
                continue
            for param in resp.get("Parameters", []):
                fetched = _parameter(param)
                out[param["Name"]] = fetched
                if param.get("ARN"):
                    out.setdefault(param["ARN"], fetched)
            for name in resp.get("InvalidParameters", []):
                out[name] = NotFoundError("ParameterNotFound")
            for name in batch:  # a name given as ARN or without its leading slash
                out.setdefault(name, NotFoundError("ParameterNotFound"))
        return out

    def secret(self, secret_id: str, version_stage: str | None = None) -> Fetched:
        kwargs = {"SecretId": secret_id, "VersionStage": version_stage or CURRENT_STAGE}
        return _secret_value(
            self._call(self.client("secretsmanager").get_secret_value, "secretsmanager:GetSecretValue", **kwargs)
        )

    def appconfig(self, application: str, environment: str, profile: str) -> Fetched:
        """The profile's deployed configuration through an AppConfig Data session.

        One session per profile lives as long as this backend: each `GetLatestConfiguration`
        uses the token the previous answer gave, an empty answer means "unchanged" (the cached
        value is returned), and no call is made before the `NextPollIntervalInSeconds` the
        service asked for has passed. An expired or refused token starts a new session once."""
        from botocore.exceptions import BotoCoreError, ClientError

        key = (application, environment, profile)
        with self._appconfig_lock:
            state = self._appconfig.get(key)
            if state is None:
                state = self._appconfig[key] = _AppConfigSession()
            now = self._clock()
            if state.fetched is not None and now < state.next_poll:
                return state.fetched
            data = self.client("appconfigdata")
            for attempt in (1, 2):
                if state.token is None:
                    start: dict[str, Any] = {
                        "ApplicationIdentifier": application,
                        "EnvironmentIdentifier": environment,
                        "ConfigurationProfileIdentifier": profile,
                    }
                    if self.appconfig_poll_interval is not None:
                        start["RequiredMinimumPollIntervalInSeconds"] = self.appconfig_poll_interval
                    resp = self._call(data.start_configuration_session, "appconfig:StartConfigurationSession", **start)
                    state.token = resp["InitialConfigurationToken"]
                    state.fresh = True
                try:
                    resp = data.get_latest_configuration(ConfigurationToken=state.token)
                except ClientError as exc:
                    problem = _token_problem(exc)
                    if problem == "PollIntervalNotSatisfied" and state.fetched is not None:
                        state.next_poll = now + _MIN_POLL_SECONDS  # the token was not used: keep it
                        return state.fetched
                    if problem in ("Expired", "Corrupted") and attempt == 1:
                        state.token = None  # tokens live 24 hours: start a new session
                        continue
                    err = exc.response.get("Error", {})
                    raise _classify(
                        str(err.get("Code", "")), str(err.get("Message", "")), "appconfig:GetLatestConfiguration"
                    ) from None
                except BotoCoreError as exc:
                    raise FetchError(str(exc)) from None
                break
            state.token = resp.get("NextPollConfigurationToken")
            state.next_poll = now + float(resp.get("NextPollIntervalInSeconds") or _DEFAULT_POLL_SECONDS)
            body = resp["Configuration"].read()
            if body or state.fresh or state.fetched is None:
                # A session's first answer is the whole configuration (possibly empty); later
                # answers are empty when nothing changed.
                state.fetched = Fetched(body, False, resp.get("VersionLabel") or None, resp.get("ContentType"))
            state.fresh = False
            return state.fetched


class _AppConfigSession:
    __slots__ = ("token", "next_poll", "fetched", "fresh")

    def __init__(self) -> None:
        self.token: str | None = None
        self.next_poll = 0.0
        self.fetched: Fetched | None = None
        self.fresh = False


_DEFAULT_POLL_SECONDS = 60.0  # AppConfig Data's default poll interval
_MIN_POLL_SECONDS = 15.0  # the smallest RequiredMinimumPollIntervalInSeconds the API accepts


def _token_problem(exc: Any) -> str | None:
    """`Expired`, `Corrupted` or `PollIntervalNotSatisfied` from a BadRequestException about the token."""
    response = exc.response
    if response.get("Error", {}).get("Code") != "BadRequestException":
        return None
    details = response.get("Details") or {}
    problem = (details.get("InvalidParameters") or {}).get("ConfigurationToken") or {}
    return problem.get("Problem") if isinstance(problem, dict) else None


def default_backend() -> ExtensionBackend | Boto3Backend:
    """The extension when it is present, else boto3 (endpoint from `AWS_ENDPOINT_URL` as boto3 reads it)."""
    return ExtensionBackend() if extension_present() else Boto3Backend()
