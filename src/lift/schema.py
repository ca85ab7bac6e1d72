"""JSON Schema validation of request and response bodies, and custom validators.

    @app.post("/orders", request_schema=ORDER, response_schema=RECEIPT, validators=[credit_ok])

- Schemas (draft 2020-12 by default; draft 7, 2019-09, 6 and 4 when `$schema` says so) are
  compiled once, at registration, with jsonschema-rs (`pip install "lift-lambda[schema]"`): an
  invalid schema fails there, naming the route. jsonschema-rs was measured against
  fastjsonschema (bench/bench_schema.py): it validates the same body several times faster,
  supports 2020-12 (fastjsonschema stops at draft 7), and reports *every* error with its
  instance path (fastjsonschema raises at the first).
- A body that fails is a 422 in Lift's usual shape, one detail per problem, each with the
  JSONPath-like `path` the typed errors use (`$.items[0].qty`) and the JSON `pointer`
  (`/items/0/qty`).
- Custom validators run after the schema and the handler's typed body: `fn(body, ctx)` gets
  the decoded body (the typed model when the handler takes `body: Model`) and `ctx` (so a rule
  can depend on the tenant) and raises `ValidationFailed` with its details.
- Response validation (against `response_schema`, or the return annotation with
  `validate_response=True`) is on by default, off when `LIFT_STAGE` is prod/production/live,
  and `LIFT_RESPONSE_VALIDATION=on|off|<rate>` (e.g. `0.05`: one response in twenty) decides
  explicitly; `validate_response=` on a route overrides both. A wrong response is a 500 whose
  log line names each field; the client never sees the wrong body.

Only routes that use these options import this module (and jsonschema-rs).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable
from typing import Any

from lift.binding import _is_json, unsupported_media_type
from lift.errors import LiftError, ValidationFailed

__all__ = [
    "SchemaValidator",
    "compile_schema",
    "response_validation_rate",
    "route_validation",
    "ROUTE_OPTIONS",
]

ROUTE_OPTIONS = ("request_schema", "response_schema", "validators", "validate_response")
_DRAFTS = {
    "http://json-schema.org/draft-04/schema": "Draft4Validator",
    "http://json-schema.org/draft-06/schema": "Draft6Validator",
    "http://json-schema.org/draft-07/schema": "Draft7Validator",
    "https://json-schema.org/draft/2019-09/schema": "Draft201909Validator",
    "https://json-schema.org/draft/2020-12/schema": "Draft202012Validator",
}


def _jsonschema_rs() -> Any:
    try:
        import jsonschema_rs
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'request_schema= and response_schema= need jsonschema-rs: pip install "lift-lambda[schema]"'
        ) from exc
    return jsonschema_rs


class SchemaValidator:
    """One compiled schema: `validate(value)` raises `ValidationFailed` listing every problem."""

    def __init__(self, schema: dict[str, Any], location: str = "body") -> None:
        if not isinstance(schema, dict):
            raise TypeError(f"a JSON Schema must be a dict, not {type(schema).__name__}")
        rs = _jsonschema_rs()
        declared = str(schema.get("$schema", "")).rstrip("#")
        cls_name = _DRAFTS.get(declared, "Draft202012Validator")
        if declared and declared not in _DRAFTS:
            raise ValueError(f"unsupported $schema {schema['$schema']!r} (drafts 4, 6, 7, 2019-09, 2020-12)")
        try:
            self._validator = getattr(rs, cls_name)(schema)  # checks the schema against its metaschema
        except Exception as exc:
            raise ValueError(f"invalid JSON Schema: {str(exc).splitlines()[0]}") from exc
        self.schema = schema
        self.location = location
        self.is_valid: Callable[[Any], bool] = self._validator.is_valid

    def problems(self, value: Any) -> list[dict[str, Any]]:
        """Every problem in `value`: location, path (`$.a[0]`), pointer (`/a/0`), message."""
        from lift.validation import MAX_PROBLEMS, bounded

        found: list[dict[str, Any]] = []
        for error in self._validator.iter_errors(value):
            if len(found) > MAX_PROBLEMS:  # (`bounded` says the rest were left out)
                break
            parts = list(error.instance_path)
            found.append(
                {
                    "location": self.location,
                    "path": _json_path(parts),
                    "pointer": _pointer(parts),
                    "message": error.message,
                }
            )
        if len(found) > MAX_PROBLEMS:
            bounded(found, self.location)[-1]["pointer"] = ""
        return found

    def validate(self, value: Any) -> None:
        if not self.is_valid(value):
            raise ValidationFailed(details=self.problems(value))


def compile_schema(schema: dict[str, Any], location: str = "body") -> SchemaValidator:
    return SchemaValidator(schema, location)


def _json_path(parts: list[Any]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _pointer(parts: list[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def response_validation_rate(stage: str | None = None) -> float:
    """The share of responses to validate: `LIFT_RESPONSE_VALIDATION`, else 0 in prod, else 1."""
    setting = (os.environ.get("LIFT_RESPONSE_VALIDATION") or "").strip().lower()
    if setting in ("on", "true", "1", "yes"):
        return 1.0
    if setting in ("off", "false", "0", "no"):
        return 0.0
    if setting:
        try:
            return min(1.0, max(0.0, float(setting)))
        except ValueError:
            raise ValueError(f"LIFT_RESPONSE_VALIDATION must be on, off or a rate, not {setting!r}") from None
    stage = (stage if stage is not None else os.environ.get("LIFT_STAGE") or "").lower()
    return 0.0 if stage in ("prod", "production", "live") else 1.0


class RouteValidation:
    """The route middleware built from `request_schema=`, `response_schema=`, `validators=`
    and `validate_response=` (added innermost, after auth and tenancy)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        request_schema: dict[str, Any] | None,
        response_schema: dict[str, Any] | None,
        validators: Iterable[Callable[[Any, Any], Any]],
        validate_response: bool | float | None,
    ) -> None:
        name = getattr(fn, "__qualname__", repr(fn))
        try:
            self.request = compile_schema(request_schema, "body") if request_schema is not None else None
            self.response = compile_schema(response_schema, "response") if response_schema is not None else None
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name}: {exc}") from exc
        self.validators = tuple(validators)
        for check in self.validators:
            if not callable(check):
                raise TypeError(f"{name}: validators must be callables fn(body, ctx), got {check!r}")
        self.response_type = None
        if self.response is None and validate_response:
            self.response_type = _return_type(fn)
            if self.response_type is None:
                raise ValueError(f"{name}: validate_response=True needs response_schema= or a return annotation")
        if validate_response is None or validate_response is True:
            self.rate = response_validation_rate() if validate_response is None else 1.0
        else:
            self.rate = float(validate_response)
        self.endpoint: Any = None  # set once the endpoint exists: its typed body getter

    def _body_getter(self) -> Callable[[Any], Any] | None:
        binder = getattr(self.endpoint, "binder", None)
        if binder is None or "body" not in binder.names:
            return None
        return binder.getters[binder.names.index("body")]

    def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        request = ctx.request
        if request is not None and (self.request is not None or self.validators):
            self._check_request(ctx)
        response = call_next(ctx)
        checks_response = self.response is not None or self.response_type is not None
        if checks_response and self.rate and (self.rate >= 1.0 or random.random() < self.rate):
            return self._check_response(ctx, response)
        return response

    def _check_request(self, ctx: Any) -> None:
        body = None
        if self.request is not None:
            request = ctx.request
            if request.body:
                ctype = request.content_type
                if ctype is not None and not _is_json(ctype):  # (a form is no JSON: not read as one)
                    raise unsupported_media_type(ctype)
                body = request.json()
            self.request.validate(body)
        if self.validators:
            getter = self._body_getter()
            if getter is not None:
                body = getter(ctx)  # the typed body: type errors are 422s before any custom rule
            elif body is None and ctx.request.body:
                body = ctx.request.json()
            for check in self.validators:
                check(body, ctx)

    def _check_response(self, ctx: Any, response: Any) -> Any:
        from lift.context import Response

        if not isinstance(response, Response) or not 200 <= response.status < 300 or not response.body:
            return response
        if "json" not in (response.header("content-type") or ""):
            return response
        import msgspec

        try:
            value = msgspec.json.decode(response.body)
        except msgspec.DecodeError:
            problems = [{"location": "response", "path": "$", "pointer": "", "message": "not valid JSON"}]
        else:
            if self.response is not None:
                problems = [] if self.response.is_valid(value) else self.response.problems(value)
            else:
                problems = _type_problems(self.response_type, value)
        if not problems:
            return response
        from lift.errors import lift_logger

        fields = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
        request = ctx.request
        lift_logger().error(
            "Response of %s failed validation (request_id=%s): %s",
            f"{request.method} {ctx.route or request.path}" if request is not None else ctx.source,
            ctx.request_id,
            fields,
            extra={"request_id": ctx.request_id, "details": problems},
        )
        err = LiftError(500, "invalid_response", "The server produced an invalid response")
        err.logged = True  # (the line above is the one line: error_response writes no other)
        return ctx.app.error_response(ctx, err)


def _return_type(fn: Callable[..., Any]) -> Any:
    import typing

    try:
        hint = typing.get_type_hints(fn).get("return")
    except Exception:
        return None
    if hint is None or hint is type(None) or hint is Any:
        return None
    from lift.context import Response

    if isinstance(hint, type) and issubclass(hint, Response):
        return None
    return hint


def _type_problems(tp: Any, value: Any) -> list[dict[str, Any]]:
    from lift.validation import codec_for

    try:
        codec_for(tp, "response").convert(value)
    except ValidationFailed as exc:
        return [{**p, "pointer": _path_to_pointer(p.get("path", "$"))} for p in exc.details or []]
    return []


def _path_to_pointer(path: str) -> str:
    import re

    return "".join(
        "/" + (m.group(1) or m.group(2)).replace("~", "~0").replace("/", "~1")
        for m in re.finditer(r"\.([^.\[]+)|\[(\d+)\]", path)
    )


def route_validation(fn: Callable[..., Any], options: dict[str, Any]) -> RouteValidation:
    """The middleware for a route registered with any of `ROUTE_OPTIONS` (kept in its meta, for OpenAPI)."""
    return RouteValidation(
        fn,
        options.get("request_schema"),
        options.get("response_schema"),
        options.get("validators") or (),
        options.get("validate_response"),
    )
