"""OpenAPI 3.1 documents generated from the app's typed handlers.

Runs offline (the CLI, the dev server's docs page), so it re-reads handler signatures with
`inspect` instead of adding anything to the request path. Schemas come from msgspec
(Structs, dataclasses, TypedDicts, plain types) or pydantic for pydantic models.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from lift import binding
from lift.binding import Header, unwrap_header
from lift.context import Context, Request, Response
from lift.routing import parse_template

__all__ = ["openapi_spec", "openapi_path", "ERROR_SCHEMA"]

_REF = "#/components/schemas/{name}"
_COMPONENT_PREFIX = "#/components/schemas/"
_EMPTY = inspect.Parameter.empty
_HTTP = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "Every error response: a stable code, a safe message, the request id and details.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "examples": ["validation_failed"]},
                "message": {"type": "string"},
                "request_id": {"type": ["string", "null"]},
                "details": {
                    "description": "For validation errors, one entry per problem.",
                    "anyOf": [{"type": "array", "items": {"$ref": _REF.format(name="Problem")}}, {}],
                },
            },
            "required": ["code", "message"],
        },
    },
    "required": ["error"],
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "properties": {
        "location": {"type": "string", "enum": ["path", "query", "header", "body"]},
        "path": {"type": "string", "examples": ["$.items[2].qty"]},
        "pointer": {
            "type": "string",
            "description": "The JSON Pointer (request_schema= problems)",
            "examples": ["/items/2/qty"],
        },
        "message": {"type": "string"},
    },
}

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad request",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    500: "Internal server error",
}


class _Schemas:
    """Turns Python types into JSON Schemas, collecting named models into components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": ERROR_SCHEMA, "Problem": PROBLEM_SCHEMA}

    def of(self, tp: Any) -> dict[str, Any]:
        if tp in (_EMPTY, Any, object):
            return {}
        if _needs_pydantic(tp):
            return self._pydantic(tp)
        try:
            (schema,), components = msgspec.json.schema_components([tp], ref_template=_REF)
        except (TypeError, ValueError):
            return self._pydantic(tp) if "pydantic" in sys.modules else {}
        return self.merge(components, _COMPONENT_PREFIX)(schema)

    def merge(self, defs: dict[str, Any], prefix: str) -> Callable[[Any], Any]:
        """Add `defs` (named schemas whose `$ref`s start with `prefix`) to the components, and
        return what rewrites a schema's `$ref`s to them. A name already taken by a different
        schema (two models called `Item` in two modules, a model called `Error`) gets the first
        free `<name>2`, `<name>3`...: one model never replaces another's schema."""
        renamed: dict[str, str] = {}

        def rewrite(node: Any) -> Any:
            if isinstance(node, dict):
                out = {k: rewrite(v) for k, v in node.items()}
                ref = out.get("$ref")
                if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix) :] in defs:
                    name = ref[len(prefix) :]
                    out["$ref"] = _REF.format(name=renamed.get(name, name))
                return out
            if isinstance(node, list):
                return [rewrite(v) for v in node]
            return node

        changed = True
        while changed:  # a rename changes the refs of the schemas that point to it: until stable
            changed = False
            for name, sub in defs.items():
                taken = self.components.get(name)
                if name not in renamed and taken is not None and taken != rewrite(sub):
                    renamed[name] = self._free_name(name, sub, defs, renamed, rewrite)
                    changed = True
        for name, sub in defs.items():
            self.components[renamed.get(name, name)] = rewrite(sub)
        return rewrite

    def _free_name(
        self, name: str, sub: Any, defs: dict[str, Any], renamed: dict[str, str], rewrite: Callable[[Any], Any]
    ) -> str:
        """`<name>2`, `<name>3`...: the one this same schema already has (a model used by two
        routes), else the first name nobody has."""
        n = 2
        while True:
            candidate = renamed[name] = f"{name}{n}"
            taken = self.components.get(candidate)
            if taken is None and candidate not in defs and list(renamed.values()).count(candidate) == 1:
                return candidate
            if taken is not None and taken == rewrite(sub):
                return candidate
            n += 1

    def embed(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A route's own JSON Schema (request_schema=/response_schema=) as OpenAPI 3.1 embeds it:
        `$schema` dropped (the document's dialect is 2020-12), `$defs`/`definitions` moved into
        components with their local `$ref`s rewritten to point there."""
        body = {k: v for k, v in schema.items() if k not in ("$schema", "$defs", "definitions")}
        if schema.get("definitions"):
            body = self.merge(schema["definitions"], "#/definitions/")(body)
        if schema.get("$defs"):
            body = self.merge(schema["$defs"], "#/$defs/")(body)
        return body

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The component a `$ref` schema points to (or the schema itself)."""
        ref = schema.get("$ref", "")
        return self.components.get(ref.rsplit("/", 1)[-1], {}) if ref else schema

    def _pydantic(self, tp: Any) -> dict[str, Any]:
        try:
            from pydantic import TypeAdapter

            schema = TypeAdapter(tp).json_schema(ref_template=_REF.replace("{name}", "{model}"))
        except Exception:
            return {}
        schema = self.merge(schema.pop("$defs", {}), _COMPONENT_PREFIX)(schema)
        title = getattr(tp, "__name__", None)
        if isinstance(tp, type) and schema.get("type") == "object" and title:
            return self.merge({title: schema}, _COMPONENT_PREFIX)({"$ref": _REF.format(name=title)})
        return schema


def _needs_pydantic(tp: Any) -> bool:
    pydantic = sys.modules.get("pydantic")
    if pydantic is None:
        return False
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return True
    return any(_needs_pydantic(arg) for arg in typing.get_args(tp) if not isinstance(arg, str | int | float))


def _is_context(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, Context)


def _is_optional(tp: Any) -> bool:
    return type(None) in typing.get_args(tp)


def _docs(fn: Any) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(fn)
    if not doc:
        return None, None
    summary, _, rest = doc.partition("\n")
    return summary.strip(), rest.strip() or None


class _Operation:
    """One (endpoint, method) as an OpenAPI operation."""

    def __init__(self, endpoint: Any, method: str, schemas: _Schemas) -> None:
        self.endpoint = endpoint
        self.method = method
        self.schemas = schemas
        self.validates = False
        self.has_body = False

    def build(self, operation_id: str) -> dict[str, Any]:
        fn = self.endpoint.fn
        summary, description = _docs(fn)
        op: dict[str, Any] = {"operationId": operation_id}
        if summary:
            op["summary"] = summary
        if description:
            op["description"] = description
        tags = self.endpoint.meta.get("tags") or _default_tags(self.endpoint.template)
        if tags:
            op["tags"] = list(tags)
        parameters, body = self._parameters(fn)
        if parameters:
            op["parameters"] = parameters
        meta = self.endpoint.meta
        if meta.get("request_schema") is not None:  # a JSON Schema given at registration wins
            self.has_body = self.validates = True
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": self.schemas.embed(meta["request_schema"])}},
            }
        elif body is not None:
            op["requestBody"] = body
        if meta.get("validators"):
            self.validates = True
        op["responses"] = self._responses(fn)
        if meta.get("response_schema") is not None:
            ok = op["responses"].setdefault(str(self.endpoint.status), {"description": "Response"})
            ok["content"] = {"application/json": {"schema": self.schemas.embed(meta["response_schema"])}}
        if self.endpoint.meta.get("deprecated"):
            op["deprecated"] = True
        return op

    def _parameters(self, fn: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        path_names = [name for kind, name in parse_template(self.endpoint.template) if kind != "static"]
        hints = typing.get_type_hints(fn, include_extras=True)
        params: list[dict[str, Any]] = []
        declared: set[str] = set()
        body: dict[str, Any] | None = None
        for param in inspect.signature(fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            hint, header = unwrap_header(hints.get(param.name, _EMPTY), param.default)
            name = param.name
            if header is not None:
                params.append(self._header(name, header, hint, param.default))
            elif _is_context(hint) or hint is Request or name in ("ctx", "request"):
                continue
            elif name in path_names:
                declared.add(name)
                self.validates = self.validates or hint not in (str, _EMPTY)
                params.append(
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "schema": self.schemas.of(str if hint is _EMPTY else hint),
                    }
                )
            elif name == "body":
                body = self._body(hint, param.default is not _EMPTY)
            elif name == "query":
                self.validates = True
                params.extend(self._query(hint))
        for name in path_names:  # parameters the handler does not take still exist in the path
            if name not in declared:
                params.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
        return params, body

    def _header(self, name: str, marker: Header, hint: Any, default: Any) -> dict[str, Any]:
        header = marker.name or name.replace("_", "-")
        marker_default = not (marker.default is _EMPTY or marker.default is getattr(binding, "_EMPTY", _EMPTY))
        has_default = marker_default or (default is not _EMPTY and not isinstance(default, Header))
        self.validates = True
        return {  # (a list-typed header is never required: without one the handler gets an empty list)
            "name": header,
            "in": "header",
            "required": not has_default and not binding._list_like(hint),
            "schema": self.schemas.of(str if hint is _EMPTY else hint),
        }

    def _query(self, model: Any) -> list[dict[str, Any]]:
        schema = self.schemas.resolve(self.schemas.of(model))
        required = set(schema.get("required", ()))
        params = []
        for name, prop in (schema.get("properties") or {}).items():
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if prop.get("type") == "array":
                param.update({"style": "form", "explode": True})
            params.append(param)
        return params

    def _content(self, hint: Any) -> dict[str, Any]:
        """The media type a body of type `hint` travels as: bytes raw, str as text, else JSON."""
        if hint is bytes:
            return {
                "application/octet-stream": {
                    "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                }
            }
        if hint is str:
            return {"text/plain": {"schema": {"type": "string"}}}
        return {"application/json": {"schema": self.schemas.of(hint)}}

    def _body(self, hint: Any, optional: bool) -> dict[str, Any]:
        self.has_body = True
        if hint not in (bytes, str):
            self.validates = True
        return {"required": not optional, "content": self._content(hint)}

    def _responses(self, fn: Any) -> dict[str, Any]:
        status = self.endpoint.status
        hints = typing.get_type_hints(fn)
        returns = hints.get("return", _EMPTY)
        responses: dict[str, Any] = {}
        if returns is type(None) or returns is None:
            code = 204 if status == 200 else status
            responses[str(code)] = {"description": _STATUS_TEXT.get(code, "No content")}
        elif returns is Response or (isinstance(returns, type) and issubclass(returns, Response)):
            responses[str(status)] = {"description": _STATUS_TEXT.get(status, "Response")}
        else:
            content = self._content(returns)  # a bytes return is sent as application/octet-stream
            responses[str(status)] = {"description": _STATUS_TEXT.get(status, "Response"), "content": content}
        error = {"application/json": {"schema": {"$ref": _REF.format(name="Error")}}}
        if self.has_body:
            responses["400"] = {"description": "The body is not valid JSON", "content": error}
            responses["413"] = {"description": _STATUS_TEXT[413], "content": error}
            responses["415"] = {
                "description": "The body is not JSON (or a form), or is sent in another charset or a content encoding",
                "content": error,
            }
        if self.validates:
            responses["422"] = {
                "description": "A parameter or the body failed validation (details lists each problem with its path)",
                "content": error,
            }
        for code, spec in (self.endpoint.meta.get("responses") or {}).items():
            responses[str(code)] = self._declared_response(spec, error)
        responses.setdefault("default", {"description": "Error", "content": error})
        return responses

    def _declared_response(self, spec: Any, error: dict[str, Any]) -> dict[str, Any]:
        if isinstance(spec, str):
            return {"description": spec, "content": error}
        if isinstance(spec, dict):
            return spec
        return {
            "description": getattr(spec, "__name__", "Response"),
            "content": {"application/json": {"schema": self.schemas.of(spec)}},
        }


def _default_tags(template: str) -> list[str]:
    for kind, value in parse_template(template):
        return [value] if kind == "static" else []
    return []


def openapi_path(template: str) -> str:
    """A Lift path template as an OpenAPI path (`{path+}` becomes `{path}`)."""
    segments = parse_template(template)
    if not segments:
        return "/"
    return "/" + "/".join(value if kind == "static" else "{" + value + "}" for kind, value in segments)


def _http_endpoints(app: Any) -> Iterable[Any]:
    for endpoint in app.endpoints:
        template = getattr(endpoint, "template", "")
        methods = getattr(endpoint, "methods", ())
        if (
            template.startswith("/")
            and methods
            and all(m in _HTTP for m in methods)
            and endpoint.meta.get("include_in_schema", True) is not False
        ):
            yield endpoint


def _operation_id(fn: Any, method: str, used: set[str]) -> str:
    """The handler's name; `<name>_<method>` for its other methods, then `<name>_<method>_2`, `_3`...
    for more routes of one name (handlers in two modules, a name reused for each path): OpenAPI wants
    every operationId unique (generated clients name their methods after them)."""
    name = getattr(fn, "__name__", None) or type(fn).__name__
    if name not in used:
        return name
    candidate = base = f"{name}_{method.lower()}"
    n = 2
    while candidate in used:
        candidate = f"{base}_{n}"
        n += 1
    return candidate


def openapi_spec(
    app: Any,
    *,
    title: str | None = None,
    version: str = "0.1.0",
    description: str | None = None,
    servers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every HTTP route of `app`."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for endpoint in _http_endpoints(app):
        path = openapi_path(endpoint.template)
        for method in endpoint.methods:
            operation_id = _operation_id(endpoint.fn, method, used_ids)
            used_ids.add(operation_id)
            paths.setdefault(path, {})[method.lower()] = _Operation(endpoint, method, schemas).build(operation_id)
    info: dict[str, Any] = {"title": title or app.name, "version": version}
    if description:
        info["description"] = description
    spec: dict[str, Any] = {"openapi": "3.1.0", "info": info}
    base = getattr(app, "base_path", "")
    if servers or base:
        spec["servers"] = servers or [{"url": base}]
    spec["paths"] = paths
    spec["components"] = {"schemas": dict(sorted(schemas.components.items()))}
    return spec
