"""API Gateway Lambda authorizers: REST TOKEN and REQUEST, HTTP API payload 1.0 and 2.0, WebSocket.

The handler gets an `AuthorizerRequest` (`ctx.record`, and `body` when it asks for one) and
returns who the caller is: a `lift.auth.Principal`, a claims dict (what `JWTVerifier.verify`
returns) or a user id. Lift answers in the format the API expects:

- an IAM policy (`principalId`, `policyDocument` allowing `execute-api:Invoke` on the
  configured resource, `context`) for REST, WebSocket and HTTP APIs set to IAM responses;
- a simple response (`isAuthorized`, `context`) for HTTP APIs with payload 2.0 (the default).

`Unauthorized` (or `InvalidCredentials`) makes REST and WebSocket APIs answer 401 (the
function fails with the message `Unauthorized`, as API Gateway requires); HTTP APIs answer
403 with `isAuthorized: false` / a Deny policy. `Forbidden` answers 403 everywhere (a Deny
policy). Any other exception fails the invocation: API Gateway answers 500.
A request whose `methodArn`/`routeArn` is not an execute-api ARN (no AWS service sends one), or
with a field the handler reads of a type API Gateway never sends (`headers` not an object of text,
a `null` token, ...: `lift.sources.event_shape`), is denied without running the handler, with one WARNING line: a malformed event never gets an Allow.

The context holds the principal as flat claims (`sub`, `tenant_id`, `roles`, `scope`, then
the other claims; lists and objects as JSON text, as API Gateway allows only scalars), which
is exactly what `lift.auth.gateway` (`ctx.principal` behind an authorizer) reads back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lift import serialization
from lift.errors import find_lift_error, lift_logger
from lift.sources.record import Record
from lift.sources.triggers import first_handler, returned_wrong, run_handler

__all__ = ["AuthorizerRequest", "AuthorizerUnauthorized", "dispatch", "policy", "principal_context"]


class AuthorizerUnauthorized(Exception):
    """Raised out of the Lambda handler so API Gateway answers 401: its message must be `Unauthorized`."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class AuthorizerRequest(Record):
    """One authorizer request: `type`, `token`/`bearer_token`, `headers`, `query`, `method`, `path`,
    `method_arn`, `api_id`, `stage`, `version` ("1.0"/"2.0"; None for REST and WebSocket) ..."""

    kind = "authorizer"

    @property
    def record_id(self) -> str | None:
        return self.request_context.get("requestId")

    @property
    def type(self) -> str:
        """`TOKEN` or `REQUEST`."""
        return self.raw.get("type") or "REQUEST"

    @property
    def version(self) -> str | None:
        """The HTTP API payload format version ("1.0", "2.0"); None for REST and WebSocket APIs."""
        version = self.raw.get("version")
        if version in ("1.0", "2.0"):
            return version
        return "2.0" if "routeArn" in self.raw else None

    @property
    def method_arn(self) -> str:
        """`methodArn` (REST, WebSocket, HTTP 1.0) or `routeArn` (HTTP 2.0)."""
        return self.raw.get("methodArn") or self.raw.get("routeArn") or ""

    @property
    def request_context(self) -> dict[str, Any]:
        return self.raw.get("requestContext") or {}

    @property
    def headers(self) -> dict[str, str]:
        """The request headers, names lower-cased."""
        return {k.lower(): v for k, v in (self.raw.get("headers") or {}).items() if v is not None}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def query(self) -> dict[str, str]:
        return dict(self.raw.get("queryStringParameters") or {})

    @property
    def path_parameters(self) -> dict[str, str]:
        return dict(self.raw.get("pathParameters") or {})

    @property
    def stage_variables(self) -> dict[str, str]:
        return dict(self.raw.get("stageVariables") or {})

    @property
    def identity_source(self) -> list[str]:
        value = self.raw.get("identitySource")
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)

    @property
    def token(self) -> str | None:
        """The TOKEN authorizer's `authorizationToken` (else the `Authorization` header), as sent."""
        return self.raw.get("authorizationToken") or self.header("authorization")

    @property
    def bearer_token(self) -> str | None:
        """`token` without its `Bearer ` scheme."""
        token = self.token
        if token and token[:7].lower() == "bearer ":
            return token[7:].strip()
        return token

    @property
    def method(self) -> str | None:
        return self.raw.get("httpMethod") or (self.request_context.get("http") or {}).get("method")

    @property
    def path(self) -> str | None:
        return self.raw.get("path") or self.raw.get("rawPath")

    @property
    def route_key(self) -> str | None:
        return self.raw.get("routeKey") or self.request_context.get("routeKey")

    @property
    def connection_id(self) -> str | None:
        """The WebSocket connection being authorized (`$connect`), else None."""
        return self.request_context.get("connectionId")

    @property
    def cookies(self) -> list[str]:
        return list(self.raw.get("cookies") or [])

    @property
    def source_ip(self) -> str | None:
        ctx = self.request_context
        return (ctx.get("http") or {}).get("sourceIp") or (ctx.get("identity") or {}).get("sourceIp")

    @property
    def api_id(self) -> str:
        return _arn_parts(self.method_arn)[0] or self.request_context.get("apiId") or ""

    @property
    def stage(self) -> str:
        return _arn_parts(self.method_arn)[1] or self.request_context.get("stage") or ""

    def payload(self) -> Any:
        return self  # an authorizer has no payload: an untyped `body` is the request itself


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """`arn:aws:execute-api:region:account:api/stage/VERB/path` -> (api, stage, the ARN up to the stage/)."""
    head, _, rest = arn.rpartition(":")
    parts = rest.split("/", 2)
    if len(parts) < 2 or not head:
        return "", "", arn
    return parts[0], parts[1], f"{head}:{parts[0]}/{parts[1]}/"


def resource_for(arn: str, resource: str) -> str:
    """The policy's Resource: the called ARN ("method") or the stage's ARN followed by `resource`."""
    if resource == "method":
        return arn
    prefix = _arn_parts(arn)[2]
    return prefix + resource if prefix.endswith("/") else arn


def policy(principal_id: str, effect: str, resource: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """An authorizer's IAM policy answer."""
    answer: dict[str, Any] = {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if context:
        answer["context"] = context
    return answer


# claims that list names: space separated in the context, as lift.auth's claim reader splits them
_NAME_LISTS = frozenset({"roles", "scope", "scp", "scopes", "groups", "cognito:groups"})


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, set | frozenset):
        value = sorted(value)
    return serialization.encode_json(value).decode()


def principal_context(result: Any) -> tuple[str, dict[str, Any]]:
    """(principalId, context) for what an authorizer handler returned."""
    from lift.auth.principal import Principal

    if isinstance(result, Principal):
        context: dict[str, Any] = {}
        if result.user_id is not None:
            context["sub"] = result.user_id
        if result.tenant_id is not None:
            context["tenant_id"] = result.tenant_id
        if result.roles:
            context["roles"] = " ".join(sorted(result.roles))
        if result.scopes:
            context["scope"] = " ".join(sorted(result.scopes))
        for name, value in result.claims.items():
            if name not in context and name not in ("roles", "scope", "scp", "scopes", "cognito:groups", "groups"):
                context[name] = _scalar(value)
        return result.user_id or "user", {k: v for k, v in context.items() if v is not None}
    if isinstance(result, Mapping):
        context = {
            str(k): " ".join(sorted(map(str, v)))
            if k in _NAME_LISTS and isinstance(v, list | tuple | set | frozenset)
            else _scalar(v)
            for k, v in result.items()
            if v is not None
        }
        user = result.get("sub") or result.get("principalId") or result.get("username") or "user"
        return str(user), context
    if isinstance(result, str):
        return result, {"sub": result}
    raise TypeError(
        f"an authorizer returns a Principal, a claims dict or a user id, not {type(result).__name__} "
        "(raise Unauthorized or Forbidden to refuse)"
    )


def _refusal_status(exc: BaseException) -> int | None:
    """401 or 403 for a refusal (Unauthorized, InvalidCredentials, Forbidden); None for a failure."""
    from lift.auth.credentials import InvalidCredentials

    if isinstance(exc, InvalidCredentials):
        return 401
    err = find_lift_error(exc)
    if err is not None and err.status in (401, 403):
        return err.status
    return None


def malformed(event: dict[str, Any]) -> str | None:
    """What makes `event` an authorizer request API Gateway never sends (its `methodArn`/`routeArn`
    not an execute-api ARN with an API id and a stage, its `requestContext` not an object), else None."""
    key = "methodArn" if "methodArn" in event else "routeArn"
    arn = event.get(key)
    if arn.__class__ is not str:
        return f"$.{key}: expected an execute-api ARN, got {type(arn).__name__}"
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "execute-api" or not all(_arn_parts(arn)[:2]):
        return f"$.{key}: not an execute-api ARN (arn:...:execute-api:region:account:api/stage/...): {arn[:200]!r}"
    request_context = event.get("requestContext")
    if request_context is not None and request_context.__class__ is not dict:
        return f"$.requestContext: expected an object, got {type(request_context).__name__}"
    from lift.sources.event_shape import problems

    found = problems(event, "authorizer")  # a field the handler reads, of a type API Gateway never sends
    if found:
        return f"{found[0]['path']}: {found[0]['message']}"
    return None


def _deny_malformed(handlers: list[Any], event: dict[str, Any], context: Any, problem: str) -> dict[str, Any]:
    """The answer to a malformed authorizer request: a denial in the format the API expects (never an
    Allow, and no handler runs), and one WARNING line with the request id."""
    request_id = getattr(context, "aws_request_id", None)
    lift_logger().warning(
        "Malformed authorizer event (request_id=%s): %s: denied",
        request_id,
        problem,
        extra={"source": "authorizer", "request_id": request_id},
    )
    mode = handlers[0].options["response"] if handlers else "auto"
    if mode == "simple" or (mode == "auto" and AuthorizerRequest(event).version == "2.0"):
        return {"isAuthorized": False}
    return policy("anonymous", "Deny", "*")


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, Any]:
    problem = malformed(event)
    if problem is not None:
        return _deny_malformed(handlers, event, context, problem)
    record = AuthorizerRequest(event)
    handler = first_handler(handlers, record.api_id)
    if handler is None:
        raise app._unmatched_event("authorizer", f"API {record.api_id!r}", context)
    mode = handler.options["response"]
    simple = mode == "simple" or (mode == "auto" and record.version == "2.0")
    arn = record.method_arn
    resource = resource_for(arn, handler.options["resource"])
    try:
        result = run_handler(app, handler, event, context, "authorizer", record)
        if result is None or result is False:
            from lift.errors import Unauthorized

            raise Unauthorized("the authorizer returned no principal")
    except Exception as exc:
        status = _refusal_status(exc)
        if status is None:
            raise
        if status == 401 and record.version is None:
            raise AuthorizerUnauthorized() from None  # REST/WebSocket: API Gateway answers 401
        if simple:
            return {"isAuthorized": False}
        return policy("anonymous", "Deny", resource)
    if isinstance(result, Mapping) and ("policyDocument" in result or "isAuthorized" in result):
        return dict(result)  # the handler built the answer itself
    try:
        principal_id, ctx = principal_context(result)
    except TypeError as exc:  # not a caller: the handler's mistake, not the event's
        raise returned_wrong(app, event, context, "authorizer", record, exc) from None
    if simple:
        return {"isAuthorized": True, "context": ctx}
    return policy(principal_id, "Allow", resource, ctx)
