"""API Gateway's Lambda authorizer step, in `lift dev`.

When the app registers `@app.authorizer`, a request to a guarded route goes first to the
authorizer, in the request format the deployed API sends (REST TOKEN or REQUEST with the REST
payload, HTTP API payload 2.0 with `--payload http`), exactly as `lift deploy` wires it: the
routes of `[tool.lift.authorizer] public_routes` and the health routes (unless `public_health =
false`) skip it, and a request without the identity source (the Authorization header by default)
is refused without calling it. The answer is read as API Gateway reads it: `Unauthorized` -> 401,
`isAuthorized: false` or a policy that does not allow the method -> 403, another failure -> 500;
an allowed request carries the authorizer's context in `requestContext.authorizer` (REST:
`principalId` and the context; HTTP API: `lambda`), where `ctx.principal` reads it. A WebSocket
`$connect` goes through it too (identity source `route.request.header.Authorization` by
default); a refused connection is closed as API Gateway refuses it. Results are
not cached (each request calls the authorizer), so a change to the authorizer shows at once.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from typing import Any

from lift.context import Response
from lift.sources.apigw_rest import EVENT_KEYS

__all__ = ["LocalAuthorizer"]

_log = logging.getLogger("lift.dev")
_REST_REQUEST_KEYS = tuple(k for k in EVENT_KEYS if k not in ("body", "isBase64Encoded"))  # REQUEST authorizers


class LocalAuthorizer:
    """Applies the app's `@app.authorizer` to HTTP events before they reach their route."""

    def __init__(self, config: Any = None, payload: str = "rest") -> None:
        from lift.deploy.config import AuthorizerConfig

        self.config = config or AuthorizerConfig()
        self.payload = payload

    # -- which requests -----------------------------------------------------------------------
    @staticmethod
    def registered(app: Any) -> bool:
        """An `@app.authorizer` for the app's own API (one with `api=` names another API, as deployed)."""
        return any(h.source == "authorizer" and h.name in (None, "*") for h in getattr(app, "event_handlers", ()))

    def is_public(self, app: Any, method: str, path: str) -> bool:
        try:
            entry, _ = app.router.lookup(path)
        except Exception:
            entry = None
        if entry is None:  # no route: the app's 404, behind the authorizer like $default / {proxy+}
            return False
        template = entry.template or "/"
        for spec in self.config.public_routes:
            verb, _, route = spec.strip().rpartition(" ")
            if (route.strip() or "/") == template and (
                not verb.strip() or verb.strip().upper() in ("ANY", method.upper())
            ):
                return True
        if self.config.public_health:
            endpoint = entry.methods.get(method)
            if endpoint is not None and getattr(endpoint.fn, "__module__", "") == "lift.health":
                return True
        return False

    # -- the authorizer's request -----------------------------------------------------------------
    def _identity(self, event: dict[str, Any], sources: list[str] | None = None) -> list[str] | None:
        """The identity source values, or None when one is missing (API Gateway answers 401)."""
        sources = sources or self.config.identity_source or ["Authorization"]
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        query = event.get("queryStringParameters") or {}
        values = []
        for source in sources:
            name = source.rsplit(".", 1)[-1]
            if ".querystring." in source:
                value = query.get(name)
            else:
                value = headers.get(name.lower())
            if not value:
                return None
            values.append(value)
        return values

    @staticmethod
    def _arn(event: dict[str, Any], method: str, path: str) -> str:
        ctx = event.get("requestContext") or {}
        region = (ctx.get("domainName") or "").split(".execute-api.")[-1].split(".")[0] or "us-east-1"
        return (
            f"arn:aws:execute-api:{region}:{ctx.get('accountId') or '123456789012'}:"
            f"{ctx.get('apiId') or 'local'}/{ctx.get('stage') or '$default'}/{method}/{path.lstrip('/')}"
        )

    def request_for(self, event: dict[str, Any], identity: list[str]) -> dict[str, Any]:
        if "httpMethod" in event:  # REST payload
            method, path = event["httpMethod"], event.get("path") or "/"
            arn = self._arn(event, method, path)
            if self.config.type == "TOKEN":
                return {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": arn}
            return {"type": "REQUEST", "methodArn": arn, **{k: event.get(k) for k in _REST_REQUEST_KEYS}}
        http = event["requestContext"]["http"]
        method, path = http["method"], http["path"]
        request = {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}
        request.update(
            version="2.0",
            type="REQUEST",
            routeArn=self._arn(event, method, path),
            identitySource=identity,
            routeKey=f"{method} {path}",
        )
        return request

    # -- the answer --------------------------------------------------------------------------------
    def check(
        self, app: Any, event: dict[str, Any], invoke: Callable[[Any], tuple[Any, str | None]]
    ) -> Response | None:
        """None when `event` may reach its route (with the authorizer's context put in it), else
        API Gateway's answer."""
        rest = "httpMethod" in event
        if rest:
            method, path = event["httpMethod"], event.get("path") or "/"
        else:
            method, path = event["requestContext"]["http"]["method"], event["requestContext"]["http"]["path"]
        if not self.registered(app) or self.is_public(app, method, path):
            return None
        identity = self._identity(event)
        if identity is None:
            return Response.json({"message": "Unauthorized"}, status=401)
        request = self.request_for(event, identity)
        status, principal_id, context = _decide(invoke(request), request.get("methodArn") or request["routeArn"])
        if status == 401:
            return Response.json({"message": "Unauthorized"}, status=401)
        if status == 403:
            if rest:
                return Response.json({"Message": "User is not authorized to access this resource"}, status=403)
            return Response.json({"message": "Forbidden"}, status=403)
        if status is not None:
            return Response.json({"message": None}, status=status)
        if rest:
            event["requestContext"]["authorizer"] = {"principalId": principal_id, **context}
        else:
            event["requestContext"]["authorizer"] = {"lambda": context}
        return None

    def check_connect(
        self, app: Any, event: dict[str, Any], invoke: Callable[[Any], tuple[Any, str | None]]
    ) -> int | None:
        """A WebSocket `$connect`: None when it may reach the route (the context put in it), else
        the status API Gateway refuses the connection with."""
        if not self.registered(app):
            return None
        sources = self.config.websocket_identity_source or ["route.request.header.Authorization"]
        if self._identity(event, sources) is None:
            return 401
        ctx = event.get("requestContext") or {}
        arn = f"arn:aws:execute-api:us-east-1:{ctx.get('accountId') or '123456789012'}:{ctx.get('apiId') or 'local'}/{ctx.get('stage') or 'local'}/$connect"
        keep = (
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "requestContext",
        )
        request = {"type": "REQUEST", "methodArn": arn, "stageVariables": {}, **{k: event.get(k) for k in keep}}
        status, principal_id, context = _decide(invoke(request), arn)
        if status is None:
            event.setdefault("requestContext", {})["authorizer"] = {"principalId": principal_id, **context}
        return status


def _decide(answer: tuple[Any, str | None], arn: str) -> tuple[int | None, Any, dict[str, Any]]:
    """(None, principalId, context) when the authorizer allows `arn`, else (401|403|500, None, {})."""
    result, error = answer
    if error is not None:
        if error.rstrip().endswith("Unauthorized"):
            return 401, None, {}
        _log.error("the authorizer failed: %s", error)
        return 500, None, {}
    if not isinstance(result, dict):
        _log.error("the authorizer answered %r, neither a policy nor a simple response", result)
        return 500, None, {}
    if "isAuthorized" in result:
        allowed = result["isAuthorized"] is True
    else:
        allowed = _policy_allows(result.get("policyDocument") or {}, arn)
    if not allowed:
        return 403, None, {}
    return None, result.get("principalId"), dict(result.get("context") or {})


def _policy_allows(document: dict[str, Any], arn: str) -> bool:
    """IAM's evaluation of an authorizer policy for `execute-api:Invoke` on `arn`: an explicit
    Deny wins, else an Allow must match (wildcards `*` and `?` in the resources)."""
    statements = document.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        actions = statement.get("Action") or []
        resources = statement.get("Resource") or []
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
