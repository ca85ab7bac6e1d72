"""Typed clients generated from another Lift app (monorepo) or from its OpenAPI document.

    from users.app import app as users_app
    users = client_for(users_app, base_url="http://users.internal")
    user = users.get_user(42)                         # -> User (the route's return type)
    created = users.create_user(body=NewUser(...))    # the route's body type
    user = await users.aio.get_user(42)

One method per route, named after the handler function (`<name>_<method>` when a handler serves
several methods), taking the route's path parameters (positionally or by name), `body=` and
`query=` when the route has them, plus the call options of `ServiceClient.request` (`ctx`,
`headers`, `timeout`, `idempotency_key`). Each method carries an `inspect.Signature` with the
route's types, so `help()` and editors show them. From an OpenAPI document the methods are named
by `operationId` and answer plain JSON.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from lift.services.client import ServiceClient

__all__ = ["client_for", "TypedClient", "Operation"]

_CALL_OPTIONS = ("ctx", "headers", "timeout", "idempotency_key")


class Operation:
    """One route as the client sees it."""

    __slots__ = ("name", "method", "template", "path_params", "body", "query", "response", "signature", "has_body")

    def __init__(
        self,
        name: str,
        method: str,
        template: str,
        path_params: list[tuple[str, Any]],
        body: Any = None,
        has_body: bool = False,
        query: Any = None,
        response: Any = None,
    ) -> None:
        self.name = name
        self.method = method
        self.template = template
        self.path_params = path_params
        self.body = body
        self.has_body = has_body
        self.query = query
        self.response = response
        P = inspect.Parameter
        params = [P(n, P.POSITIONAL_OR_KEYWORD, annotation=t) for n, t in path_params]
        if has_body:
            params.append(P("body", P.KEYWORD_ONLY, annotation=body))
        if query is not None:
            params.append(P("query", P.KEYWORD_ONLY, default=None, annotation=query))
        params += [P(opt, P.KEYWORD_ONLY, default=None) for opt in _CALL_OPTIONS]
        self.signature = inspect.Signature(params, return_annotation=response)

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of `ServiceClient.request` for one call of this operation."""
        bound = self.signature.bind(*args, **kwargs)
        values = bound.arguments
        out: dict[str, Any] = {
            "path_params": {n: values[n] for n, _ in self.path_params},
            "response": self.response,
        }
        for key in ("body", "query", *_CALL_OPTIONS):
            if values.get(key) is not None:
                out[key] = values[key]
        return out


def _response_type(hint: Any) -> Any:
    """The type to decode the answer into: models and containers of them; None for plain JSON."""
    if hint is None or hint is type(None) or hint is Any or hint is inspect.Parameter.empty:
        return None
    if hint in (dict, list):
        return None
    name = getattr(hint, "__name__", "")
    if name == "Response" and getattr(hint, "__module__", "") == "lift.context":
        return None
    return hint


def operations_of_app(app: Any) -> list[Operation]:
    from lift.openapi import _http_endpoints
    from lift.routing import parse_template

    ops: list[Operation] = []
    used: set[str] = set()
    for endpoint in _http_endpoints(app):
        fn = endpoint.fn
        try:
            hints = typing.get_type_hints(fn)
        except Exception:
            hints = {}
        names = [value.rstrip("+") for kind, value in parse_template(endpoint.template) if kind != "static"]
        signature = inspect.signature(fn)
        path_params = [(n, hints.get(n, str)) for n in names]
        body_param = signature.parameters.get("body")
        query_param = signature.parameters.get("query")
        for method in endpoint.methods:
            name = fn.__name__
            if name in used:
                name = f"{name}_{method.lower()}"
            used.add(name)
            ops.append(
                Operation(
                    name,
                    method,
                    endpoint.template,
                    path_params,
                    body=hints.get("body", Any) if body_param is not None else None,
                    has_body=body_param is not None,
                    query=hints.get("query", Any) if query_param is not None else None,
                    response=_response_type(hints.get("return")),
                )
            )
    return ops


def operations_of_openapi(spec: dict[str, Any]) -> list[Operation]:
    ops: list[Operation] = []
    for path, item in (spec.get("paths") or {}).items():
        shared = item.get("parameters") or []
        for method, op in item.items():
            if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
                continue
            name = (
                op.get("operationId")
                or f"{method}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}"
            )
            params = [p for p in shared + (op.get("parameters") or []) if p.get("in") == "path"]
            has_query = any(p.get("in") == "query" for p in shared + (op.get("parameters") or []))
            ops.append(
                Operation(
                    name,
                    method.upper(),
                    path,
                    [(p["name"], str) for p in params],
                    body=Any if "requestBody" in op else None,
                    has_body="requestBody" in op,
                    query=dict if has_query else None,
                )
            )
    return ops


class TypedClient:
    """Methods per route over a `ServiceClient` (`.client`); `.aio` has the async ones."""

    def __init__(self, client: ServiceClient, operations: list[Operation]) -> None:
        self.client = client
        self.operations = {op.name: op for op in operations}
        self.aio = _AsyncMethods(self)
        for op in operations:
            if op.name.startswith("_") or hasattr(type(self), op.name):
                raise ValueError(f"route method name {op.name!r} clashes with the client's own attributes")
            setattr(self, op.name, self._method(op))

    def _method(self, op: Operation) -> Callable[..., Any]:
        request = self.client.request

        def call(*args: Any, **kwargs: Any) -> Any:
            return request(op.method, op.template, **op.arguments(args, kwargs))

        call.__name__ = call.__qualname__ = op.name
        call.__signature__ = op.signature  # type: ignore[attr-defined]
        call.__doc__ = f"{op.method} {op.template} on service {self.client.name}"
        return call

    def __repr__(self) -> str:
        return f"<TypedClient {self.client.name}: {', '.join(self.operations)}>"


class _AsyncMethods:
    def __init__(self, typed: TypedClient) -> None:
        request = typed.client.aio.request
        for op in typed.operations.values():
            setattr(self, op.name, _async_method(request, op))


def _async_method(request: Callable[..., Any], op: Operation) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return await request(op.method, op.template, **op.arguments(args, kwargs))

    call.__name__ = call.__qualname__ = op.name
    call.__signature__ = op.signature  # type: ignore[attr-defined]
    return call


def client_for(
    target: Any, *, name: str | None = None, client: ServiceClient | None = None, app: Any = None, **options: Any
) -> TypedClient:
    """A typed client for `target` (a Lift App, or an OpenAPI document as a dict).

    Give either a ready `client` (e.g. from `app.service(...)`) or the `ServiceClient` options
    (`base_url=`, `discovery=`, `timeout=`, ...); `app` registers the pool on the calling app.
    """
    if isinstance(target, dict):
        ops = operations_of_openapi(target)
        default_name = (target.get("info") or {}).get("title") or "service"
    else:
        ops = operations_of_app(target)
        default_name = target.name
    if client is None:
        service_name = name or default_name
        if app is not None:
            from lift.services import service

            client = service(app, service_name, **options)
        else:
            client = ServiceClient(service_name, **options)
    elif options:
        raise ValueError("give a client or client options, not both")
    return TypedClient(client, ops)
