"""What the HTTP event sources share: body encoding, API-relative paths, the size limit."""

from __future__ import annotations

from typing import Any

from lift.context import Response, is_text_content_type

__all__ = [
    "encode_body",
    "lambda_body",
    "method_or_get",
    "relative_path",
    "strip_base_path",
    "MAX_RESPONSE_BYTES",
    "ALB_MAX_RESPONSE_BYTES",
    "too_large_response",
]

# Lambda's synchronous response payload limit is 6 MB; keep room for the envelope.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 - 16 * 1024
ALB_MAX_RESPONSE_BYTES = 1024 * 1024 - 16 * 1024  # an ALB refuses a Lambda response JSON over 1 MB (502)
_LIMIT_NAMES = {ALB_MAX_RESPONSE_BYTES: "an Application Load Balancer's 1 MB limit"}
# JSON bodies below this size are valid UTF-8 text and far from the limit: sent as they are.
JSON_FAST_PATH_BYTES = 1024 * 1024


def method_or_get(method: Any) -> str:
    """The method of an event whose method is not a string: GET when it is missing; any other
    value (`httpMethod: []`) makes a malformed event, answered with a 400 (see `event_shape`)."""
    if method is None:
        return "GET"
    raise TypeError(f"the event's request method is a {type(method).__name__}, not a string")


def encode_body(resp: Response) -> tuple[str, bool]:
    """The body as Lambda returns it: text as is, binary content types base64-encoded."""
    body = resp.body
    if not body:
        return "", False
    ctype = resp.headers.get("Content-Type")
    if ctype is None:
        ctype = resp.content_type
    if ctype == "application/json" or is_text_content_type(ctype):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    import base64

    return base64.b64encode(body).decode("ascii"), True


def lambda_body(resp: Response, request_id: str | None, limit: int = MAX_RESPONSE_BYTES) -> tuple[Response, str, bool]:
    """The body for Lambda's response dict (JSON on a fast path), replaced by a 500 when larger than
    `limit` (Lambda's 6 MB; an ALB's 1 MB)."""
    body = resp.body
    if len(body) < limit and resp.headers.get("Content-Type") == "application/json":
        try:
            return resp, body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    text, is_b64 = encode_body(resp)
    if len(text) > limit:
        resp, text = too_large_response(len(text), request_id, limit)
        is_b64 = False
    return resp, text, is_b64


def too_large_response(size: int, request_id: str | None, limit: int = MAX_RESPONSE_BYTES) -> tuple[Response, str]:
    """The 500 that replaces a response Lambda (or the ALB in front) would refuse, and its encoded body."""
    from lift.errors import LiftError, lift_logger

    name = _LIMIT_NAMES.get(limit, "Lambda's 6 MB payload limit")
    lift_logger().error(
        "Response of %d bytes exceeds %s (request_id=%s)",
        size,
        name,
        request_id,
        extra={"request_id": request_id},
    )
    err = LiftError(500, "response_too_large", f"The response is larger than {name}")
    resp = Response.json(err.to_dict(request_id), status=500)
    return resp, resp.body.decode("utf-8")


def strip_base_path(path: str, base_path: str) -> str:
    """`path` without the configured base path (`LIFT_BASE_PATH`), matched on whole segments."""
    if base_path and path.startswith(base_path) and path[len(base_path) : len(base_path) + 1] in ("", "/"):
        return path[len(base_path) :] or "/"
    return path


def relative_path(template: str | None, params: dict[str, Any] | None, path: str) -> str:
    """The path relative to the API root, rebuilt from API Gateway's resource template.

    Behind a custom domain the event's path carries the base-path mapping; the resource
    template with its parameters substituted does not. Falls back to `path` when the
    rebuilt path is not a suffix of it (so a template from another API never misroutes).
    """
    if not template or template.startswith("$") or path.__class__ is not str:  # (a malformed `path: null`)
        return path
    if "{" in template:
        params = params or {}
        parts = []
        for seg in template.split("/"):
            if seg.startswith("{") and seg.endswith("}"):
                value = params.get(seg[1:-1].rstrip("+"))
                if value is None:
                    return path
                seg = value.strip("/")
            parts.append(seg)
        rebuilt = "/".join(parts)
    else:
        rebuilt = template
    if rebuilt == "/" and template == "/":  # the API's root resource, under any base-path mapping
        return "/"
    if rebuilt == path or not rebuilt.startswith("/"):
        return path
    if path.endswith(rebuilt):  # (parameters as sent, still percent-encoded: REST)
        return rebuilt
    if "%" in path:  # parameters decoded (HTTP APIs): the path's own tail that decodes to the rebuilt one,
        from urllib.parse import unquote  # kept encoded, as the router and the parameters' decoding expect

        tail = path
        while (slash := tail.find("/", 1)) > 0:
            tail = tail[slash:]
            if unquote(tail) == rebuilt:
                return tail
    return path
