"""Event builders for the triggers beyond the core sources, shaped like AWS's documented events:
API Gateway authorizers, Cognito, Firehose, Kafka, CloudWatch Logs, SES, Amazon MQ, custom
resources, AppSync, Bedrock agents, S3 Object Lambda and Batch Operations, Secrets Manager
rotation, CodePipeline and VPC Lattice. Re-exported by `lift.testing.events`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

__all__ = [
    "apigw_token_authorizer",
    "apigw_request_authorizer",
    "http_api_authorizer",
    "websocket_authorizer",
    "vpc_lattice",
]

ACCOUNT = "123456789012"
REGION = "us-east-1"
SOURCE_IP = "203.0.113.7"
_API = "abcdef123"


def _text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8")
    return body if isinstance(body, str) else json.dumps(body)


def _b64(data: Any) -> str:
    raw = data if isinstance(data, bytes) else _text(data).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def _request_id() -> str:
    return str(uuid.uuid4())


# -- API Gateway authorizers ------------------------------------------------------------------
def _method_arn(method: str, path: str, stage: str, api: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}/{method}{path}"


def apigw_token_authorizer(
    token: str = "Bearer allow", *, method: str = "GET", path: str = "/pets", stage: str = "prod", api: str = _API
) -> dict[str, Any]:
    """A REST API TOKEN authorizer request."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": _method_arn(method, path, stage, api)}


def apigw_request_authorizer(
    method: str = "GET",
    path: str = "/pets",
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    stage: str = "prod",
    api: str = _API,
    resource: str | None = None,
) -> dict[str, Any]:
    """A REST API REQUEST authorizer request (also the HTTP API payload 1.0 shape, see http_api_authorizer)."""
    headers = {"Host": f"{api}.execute-api.{REGION}.amazonaws.com", **(headers or {})}
    query = query or {}
    return {
        "type": "REQUEST",
        "methodArn": _method_arn(method, path, stage, api),
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": {
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT,
            "resourceId": "05c7jb",
            "stage": stage,
            "requestId": _request_id(),
            "identity": {"sourceIp": SOURCE_IP, "userAgent": "lift-testclient/1.0"},
            "resourcePath": resource or path,
            "httpMethod": method,
            "apiId": api,
        },
    }


def http_api_authorizer(
    method: str = "GET",
    path: str = "/pets",
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    version: str = "2.0",
    stage: str = "$default",
    api: str = _API,
    identity_source: list[str] | None = None,
) -> dict[str, Any]:
    """An HTTP API Lambda authorizer request, payload format `version` "2.0" or "1.0"."""
    headers = {
        k.lower(): v for k, v in {"Host": f"{api}.execute-api.{REGION}.amazonaws.com", **(headers or {})}.items()
    }
    query = query or {}
    arn = _method_arn(method, path, stage, api)
    if version == "1.0":
        event = apigw_request_authorizer(method, path, headers=headers, query=query, stage=stage, api=api)
        event["version"] = "1.0"
        event["identitySource"] = ",".join(identity_source or [headers.get("authorization", "")])
        event["authorizationToken"] = headers.get("authorization", "")
        return event
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": arn,
        "identitySource": identity_source if identity_source is not None else [headers.get("authorization", "")],
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "cookies": [],
        "headers": headers,
        "queryStringParameters": query,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": api,
            "domainName": f"{api}.execute-api.{REGION}.amazonaws.com",
            "domainPrefix": api,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": SOURCE_IP, "userAgent": "lift-testclient/1.0"},
            "requestId": _request_id(),
            "routeKey": f"{method} {path}",
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "pathParameters": {},
        "stageVariables": {},
    }  # fmt: skip


def websocket_authorizer(
    *, headers: dict[str, str] | None = None, query: dict[str, str] | None = None, stage: str = "prod", api: str = _API
) -> dict[str, Any]:
    """A WebSocket API `$connect` REQUEST authorizer request."""
    host = f"{api}.execute-api.{REGION}.amazonaws.com"
    headers = {"Host": host, "Sec-WebSocket-Version": "13", **(headers or {})}
    query = query or {}
    epoch = int(time.time() * 1000)
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}/$connect",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "stageVariables": {},
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "extendedRequestId": "XYZ123=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "messageDirection": "IN",
            "stage": stage,
            "connectedAt": epoch,
            "requestTimeEpoch": epoch,
            "identity": {"sourceIp": SOURCE_IP},
            "requestId": _request_id(),
            "domainName": host,
            "connectionId": base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii"),
            "apiId": api,
        },
    }


# -- VPC Lattice --------------------------------------------------------------------------------
def vpc_lattice(
    method: str = "GET",
    path: str = "/",
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    version: str = "2.0",
    is_base64: bool = False,
) -> dict[str, Any]:
    """A VPC Lattice request to a Lambda target, event format `version` "2.0" or "1.0"."""
    host = "orders-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-east-1.on.aws"
    text = _text(body)
    hdrs = {"host": host, "user-agent": "lift-testclient/1.0", "x-forwarded-for": "10.0.1.5"}
    if body is not None and not isinstance(body, str | bytes):
        hdrs["content-type"] = "application/json"
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    payload = _b64(text) if is_base64 else text
    if version == "1.0":
        return {
            "raw_path": path,
            "method": method,
            "headers": hdrs,
            "query_string_parameters": dict(query or {}),
            "body": payload,
            "is_base64_encoded": is_base64,
        }
    return {
        "version": "2.0",
        "path": path,
        "method": method,
        "headers": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": {k: [v] for k, v in (query or {}).items()},
        "body": payload,
        "isBase64Encoded": is_base64,
        "requestContext": {
            "serviceNetworkArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:servicenetwork/sn-0bf3f2882e9cc805a",
            "serviceArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:service/svc-0a40eebed65f8d69c",
            "targetGroupArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:targetgroup/tg-6d0ecf831eec9f09",
            "identity": {
                "sourceVpcArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0b8276c84697e7339",
                "type": "AWS_IAM",
            },
            "region": REGION,
            "timeEpoch": str(int(time.time() * 1_000_000)),
        },
    }
