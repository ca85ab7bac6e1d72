"""The measured requests as API Gateway REST (payload 1.0) proxy events, shaped as AWS sends them.

Routes are deployed as their own API Gateway resources (as Chalice and SAM do), so a matched
request carries ``resource`` = the route template and its ``pathParameters``; the unknown path
arrives through the catch-all ``/{proxy+}`` resource. When the repo's
``lift.testing.events.apigw_rest`` builder exists it builds the events; otherwise the
hand-written builder below does.
"""

import json
import time
import uuid

ACCOUNT_ID = "123456789012"
API_ID = "a1b2c3d4e5"
STAGE = "prod"
DOMAIN = f"{API_ID}.execute-api.us-east-1.amazonaws.com"

VALID_USER = {"name": "Ada Lovelace", "email": "ada@example.com", "age": 36}
# Missing "email" and a non-numeric "age": invalid for strict and lax validators alike.
INVALID_USER = {"name": "Ada Lovelace", "age": "thirty-six"}


def _headers(body: str | None) -> dict:
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate, br",
        "Host": DOMAIN,
        "User-Agent": "python-httpx/0.27.0",
        "X-Amzn-Trace-Id": "Root=1-6740b9c3-1f2e3d4c5b6a79881726354a",
        "X-Forwarded-For": "203.0.113.42",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if body is not None:
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body.encode()))
    return headers


def rest_event(method: str, path: str, resource: str, path_params: dict | None, body=None) -> dict:
    """A REST API proxy-integration event for one request (hand-written fallback builder)."""
    text = None if body is None else json.dumps(body)
    headers = _headers(text)
    now = time.time()
    request_id = str(uuid.UUID(int=0x6D1F7C2A_0F3B_4B8E_9C1D_2E3F4A5B6C7D))
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "x7k9p2",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "BQGojGH0oAMFzfQ=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{STAGE}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": API_ID,
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "203.0.113.42",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": headers["User-Agent"],
                "user": None,
            },
            "domainName": DOMAIN,
            "deploymentId": "r4nd0m",
            "apiId": API_ID,
        },
        "body": text,
        "isBase64Encoded": False,
    }


class LambdaContext:
    """The attributes of the context object the Python Lambda runtime passes to a handler.

    Set on the instance, as awslambdaric's `LambdaContext.__init__` sets them: an attribute read
    from the class instead would take a slower path on 3.11 (no specialized `LOAD_ATTR`) than the
    one a deployed handler runs."""

    def __init__(self) -> None:
        self.aws_request_id = "0c2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"
        self.log_group_name = "/aws/lambda/bench-service"
        self.log_stream_name = "2026/11/22/[$LATEST]0123456789abcdef0123456789abcdef"
        self.function_name = "bench-service"
        self.memory_limit_in_mb = 1024
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:bench-service"
        self.client_context = None
        self.identity = None

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def lift_rest_event(method: str, path: str, resource: str, path_params: dict | None, body=None) -> dict:
    """The same event built by the repo's ``lift.testing.events.apigw_rest``."""
    from lift.testing.events import apigw_rest

    if body is None:
        return apigw_rest(method, path, resource=resource, path_params=path_params)
    return apigw_rest(
        method,
        path,
        resource=resource,
        path_params=path_params,
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )


def event_builder():
    """lift.testing.events when the repo provides it, else the hand-written builder above."""
    try:
        import lift.testing.events  # noqa: F401
    except ImportError:
        return rest_event
    return lift_rest_event


def measured_events() -> dict:
    """The four measured request kinds: name -> event."""
    build = event_builder()
    return {
        "GET /users/{id}": build("GET", "/users/42", "/users/{id}", {"id": "42"}),
        "POST /users (valid)": build("POST", "/users", "/users", None, VALID_USER),
        "POST /users (invalid)": build("POST", "/users", "/users", None, INVALID_USER),
        "GET unknown -> 404": build("GET", "/nothing/here", "/{proxy+}", {"proxy": "nothing/here"}),
    }


def format_events() -> dict:
    """`GET /users/42` through the other HTTP sources: name -> (event, the limit's handler name).

    HTTP API (payload 2.0, `$default` stage), function URL and ALB (single-value headers), each
    built by `lift.testing.events` exactly as that service sends it.
    """
    from lift.testing.events import alb, apigw_http, function_url

    return {
        "HTTP API GET": (apigw_http("GET", "/users/42", route_key="GET /users/{id}"), "handler_v2"),
        "function URL GET": (function_url("GET", "/users/42"), "handler_v2"),
        "ALB GET": (alb("GET", "/users/42"), "handler_alb"),
    }
