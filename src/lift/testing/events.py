"""Builders for events shaped exactly like the ones AWS sends, for tests and local runs.

Each builder returns a complete event (full `requestContext`, multi-value headers,
base64 bodies where AWS would use them), never a minimal dict.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

__all__ = ["apigw_rest", "apigw_http", "alb", "function_url", "split_path"]

ACCOUNT = "123456789012"
REGION = "us-east-1"
SOURCE_IP = "203.0.113.7"
USER_AGENT = "lift-testclient/1.0"


def split_path(path: str) -> tuple[str, dict[str, list[str]]]:
    """Split `/a?x=1&x=2` into the path and its (decoded) multi-valued query."""
    from urllib.parse import parse_qsl

    path, _, raw = path.partition("?")
    query: dict[str, list[str]] = {}
    for k, v in parse_qsl(raw, keep_blank_values=True):
        query.setdefault(k, []).append(v)
    return path or "/", query


def _merge_query(path: str, query: dict[str, Any] | None) -> tuple[str, dict[str, list[str]]]:
    path, parsed = split_path(path)
    for k, v in (query or {}).items():
        parsed.setdefault(k, []).extend(v if isinstance(v, list | tuple) else [str(v)])
    return path, {k: [str(x) for x in vs] for k, vs in parsed.items()}


def _body(body: Any, is_base64: bool | None) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(body).decode("ascii"), True
        if is_base64:
            return base64.b64encode(body).decode("ascii"), True
        return text, False
    if is_base64:
        return base64.b64encode(str(body).encode()).decode("ascii"), True
    return str(body), False


def _now() -> tuple[str, int]:
    now = datetime.now(timezone.utc)
    return now.strftime("%d/%b/%Y:%H:%M:%S +0000"), int(now.timestamp() * 1000)


def _default_headers(host: str, body: str | None, headers: dict[str, Any] | None) -> dict[str, list[str]]:
    base: dict[str, list[str]] = {
        "Accept": ["*/*"],
        "Host": [host],
        "User-Agent": [USER_AGENT],
        "X-Amzn-Trace-Id": [f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"],
        "X-Forwarded-For": [SOURCE_IP],
        "X-Forwarded-Port": ["443"],
        "X-Forwarded-Proto": ["https"],
    }
    lower = {k.lower(): k for k in base}
    for name, value in (headers or {}).items():
        values = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
        existing = lower.get(name.lower())
        if existing:
            del base[existing]
        base[name] = values
        lower[name.lower()] = name
    return base


def apigw_rest(method: str = "GET", path: str = "/", *, body: Any = None, headers: dict[str, Any] | None = None,
               query: dict[str, Any] | None = None, resource: str | None = None,
               path_params: dict[str, str] | None = None, stage: str = "prod", is_base64: bool | None = None,
               authorizer: dict[str, Any] | None = None, domain: str | None = None,
               request_id: str | None = None) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload 1.0), as a `/{proxy+}` resource sends it."""
    path, q = _merge_query(path, query)
    text, b64 = _body(body, is_base64)
    host = domain or f"abcdef1234.execute-api.{REGION}.amazonaws.com"
    mv_headers = _default_headers(host, text, headers)
    if resource is None:
        resource = "/{proxy+}" if path != "/" else "/"
        path_params = path_params if path_params is not None else ({"proxy": path.lstrip("/")} if path != "/" else None)
    request_time, epoch = _now()
    ctx: dict[str, Any] = {
        "accountId": ACCOUNT, "apiId": "abcdef1234", "domainName": host, "domainPrefix": host.split(".")[0],
        "extendedRequestId": "Ab1CdEfGhIjKlMn=", "httpMethod": method.upper(),
        "identity": {"accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
                     "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                     "principalOrgId": None, "sourceIp": SOURCE_IP, "user": None, "userAgent": USER_AGENT,
                     "userArn": None},
        "path": f"/{stage}{path}" if ".execute-api." in host else path, "protocol": "HTTP/1.1",
        "requestId": request_id or str(uuid.uuid4()), "requestTime": request_time, "requestTimeEpoch": epoch,
        "resourceId": "a1b2c3", "resourcePath": resource, "stage": stage,
    }
    if authorizer is not None:
        ctx["authorizer"] = authorizer
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": {k: v[-1] for k, v in mv_headers.items()},
        "multiValueHeaders": mv_headers,
        "queryStringParameters": {k: v[-1] for k, v in q.items()} or None,
        "multiValueQueryStringParameters": q or None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": ctx,
        "body": text,
        "isBase64Encoded": b64,
    }


def _v2(method: str, path: str, body: Any, headers: dict[str, Any] | None, query: dict[str, Any] | None,
        cookies: list[str] | None, is_base64: bool | None, host: str, route_key: str, stage: str,
        authorizer: dict[str, Any] | None, request_id: str | None) -> dict[str, Any]:
    path, q = _merge_query(path, query)
    text, b64 = _body(body, is_base64)
    mv = _default_headers(host, text, headers)
    flat = {k.lower(): ",".join(v) for k, v in mv.items()}
    cookie_list = list(cookies or [])
    if "cookie" in flat:
        cookie_list += [c.strip() for c in flat.pop("cookie").split(";") if c.strip()]
    if text is not None:
        flat.setdefault("content-length", str(len(text)))
    request_time, epoch = _now()
    raw_query = urlencode([(k, v) for k, vs in q.items() for v in vs], quote_via=quote)
    raw_path = quote(path, safe="/:@!$&'()*+,;=-._~")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path if stage == "$default" else f"/{stage}{raw_path}",
        "rawQueryString": raw_query,
        "headers": flat,
        "requestContext": {
            "accountId": ACCOUNT, "apiId": host.split(".")[0], "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {"method": method.upper(), "path": path, "protocol": "HTTP/1.1", "sourceIp": SOURCE_IP,
                     "userAgent": USER_AGENT},
            "requestId": request_id or str(uuid.uuid4()), "routeKey": route_key, "stage": stage,
            "time": request_time, "timeEpoch": epoch,
        },
        "isBase64Encoded": b64,
    }
    if cookie_list:
        event["cookies"] = cookie_list
    if q:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in q.items()}
    if text is not None:
        event["body"] = text
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


def apigw_http(method: str = "GET", path: str = "/", *, body: Any = None, headers: dict[str, Any] | None = None,
               query: dict[str, Any] | None = None, cookies: list[str] | None = None,
               is_base64: bool | None = None, stage: str = "$default", route_key: str = "$default",
               authorizer: dict[str, Any] | None = None, request_id: str | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API event (payload 2.0)."""
    host = f"r3pmxmplak.execute-api.{REGION}.amazonaws.com"
    return _v2(method, path, body, headers, query, cookies, is_base64, host, route_key, stage, authorizer,
               request_id)


def function_url(method: str = "GET", path: str = "/", *, body: Any = None, headers: dict[str, Any] | None = None,
                 query: dict[str, Any] | None = None, cookies: list[str] | None = None,
                 is_base64: bool | None = None, authorizer: dict[str, Any] | None = None,
                 request_id: str | None = None) -> dict[str, Any]:
    """A Lambda function URL event (payload 2.0 on a `lambda-url` domain)."""
    host = f"a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.{REGION}.on.aws"
    event = _v2(method, path, body, headers, query, cookies, is_base64, host, "$default", "$default",
                authorizer, request_id)
    event["requestContext"]["apiId"] = host.split(".")[0]
    return event


def alb(method: str = "GET", path: str = "/", *, body: Any = None, headers: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None, is_base64: bool | None = None,
        multi_value: bool = False) -> dict[str, Any]:
    """An Application Load Balancer event (query left percent-encoded, as ALB sends it)."""
    path, q = _merge_query(path, query)
    text, b64 = _body(body, is_base64)
    host = "lambda-alb-123578498.us-east-1.elb.amazonaws.com"
    mv = _default_headers(host, text, headers)
    mv = {k.lower(): v for k, v in mv.items()}
    enc_q = {quote(k, safe=""): [quote(v, safe="") for v in vs] for k, vs in q.items()}
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
                                                     "targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/49e9d65c45c6791a"}},
        "httpMethod": method.upper(),
        "path": path,
        "body": text if text is not None else "",
        "isBase64Encoded": b64,
    }
    if multi_value:
        event["multiValueHeaders"] = mv
        event["multiValueQueryStringParameters"] = enc_q
    else:
        event["headers"] = {k: v[-1] for k, v in mv.items()}
        event["queryStringParameters"] = {k: v[-1] for k, v in enc_q.items()}
    return event
