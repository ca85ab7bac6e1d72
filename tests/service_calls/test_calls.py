"""Typed calls between Lift apps served by uvicorn: answers, error mapping, propagation, metrics."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from lift import App, Context
from lift.errors import NotFound
from lift.middleware import request_id
from lift.middleware.tenancy import tenancy
from lift.middleware.tracing import Tracing
from lift.services import ServiceClient, ServiceError, UpstreamNotFound, client_for
from lift.testing import TestClient
from tests.servers import Served
from tests.service_calls.apps import NewUser, Page, User, UserModel, users_app

TRACE = "1-5759e988-bd862e3fe1be46a994272793"
TRACEPARENT = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"


def test_typed_get_returns_the_model(users):
    client = ServiceClient("users", base_url=users.url)
    user = client.get("/users/{user_id}", user_id=1, response=User)
    assert user == User(1, "Ada")
    model = client.get("/users/{user_id}", user_id=2, response=UserModel)
    assert isinstance(model, UserModel) and model.name == "Linus"
    assert client.get("/users", query=Page(limit=1), response=list[User]) == [User(1, "Ada")]
    assert client.get("/users", query={"prefix": "Li"}) == [{"id": 2, "name": "Linus"}]
    client.close()


def test_async_calls_share_the_client(users):
    client = ServiceClient("users", base_url=users.url)

    async def both():
        return await asyncio.gather(
            client.aio.get("/users/{user_id}", user_id=1, response=User),
            client.aio.get("/users/{user_id}", user_id=2, response=User),
        )

    assert asyncio.run(both()) == [User(1, "Ada"), User(2, "Linus")]
    client.close()


def test_callee_404_is_not_found_with_its_message_in_details(users):
    client = ServiceClient("users", base_url=users.url)
    with pytest.raises(NotFound) as caught:
        client.get("/users/{user_id}", user_id=99, response=User)
    err = caught.value
    assert isinstance(err, UpstreamNotFound) and err.status == 404 and err.code == "not_found"
    assert err.message == "User 99 not found"
    assert err.details["service"] == "users" and err.details["status"] == 404
    assert err.details["upstream"]["code"] == "not_found"
    assert err.details["upstream"]["details"] == {"user_id": 99}
    client.close()


def test_callee_failures_become_stable_codes_without_exception_text(users, dead_port):
    client = ServiceClient("users", base_url=users.url, retry=1, breaker=False)
    with pytest.raises(ServiceError) as caught:
        client.get("/boom")
    assert (caught.value.status, caught.value.code) == (502, "upstream_error")
    assert "password" not in json.dumps(caught.value.to_dict())

    with pytest.raises(ServiceError) as caught:
        client.get("/slow", query={"ms": 1000}, timeout=0.3)
    assert (caught.value.status, caught.value.code) == (504, "upstream_timeout")

    with pytest.raises(ServiceError) as caught:
        client.get("/bad-shape", response=User)
    assert (caught.value.status, caught.value.code) == (502, "upstream_invalid_response")

    down = ServiceClient("users", base_url=f"http://127.0.0.1:{dead_port}", retry=1, breaker=False)
    with pytest.raises(ServiceError) as caught:
        down.get("/users/1")
    assert (caught.value.status, caught.value.code) == (503, "upstream_unavailable")
    client.close()
    down.close()


def _orders_app(users_url: str) -> App:
    app = App(name="orders")
    app.use(request_id(), Tracing(mode="headers"), tenancy(resolve_from=["header:X-Tenant-Id"], required=False))
    users = app.service("users", base_url=users_url, retry=1)
    typed = client_for(users_app()[0], client=users)

    @app.get("/orders/{order_id}")
    def get_order(ctx: Context, order_id: int) -> dict:
        user = typed.get_user(order_id)  # no ctx passed: the current request is found
        return {"order": order_id, "user": user.name}

    @app.post("/orders")
    def create_order(ctx: Context, body: NewUser) -> dict:
        user = typed.create_user(body=body)
        return {"order": 1, "user_id": user.id}

    return app


def test_ids_trace_and_tenant_reach_the_callee_through_a_served_caller(users):
    import httpx

    orders = Served(_orders_app(users.url).asgi)
    try:
        answer = httpx.get(
            f"{orders.url}/orders/1",
            headers={"X-Correlation-Id": "corr-123", "traceparent": TRACEPARENT, "X-Tenant-Id": "acme"},
        )
        assert answer.status_code == 200 and answer.json() == {"order": 1, "user": "Ada"}
        orders_request_id = answer.headers["x-request-id"]
        seen = users.rec.seen[-1]
        assert seen["x-correlation-id"] == "corr-123"
        assert seen["x-request-id"] == orders_request_id
        assert seen["x-tenant-id"] == "acme"
        assert seen["traceparent"].split("-")[1] == "5759e988bd862e3fe1be46a994272793"
        assert seen["x-amzn-trace-id"].startswith(f"Root={TRACE}")

        missing = httpx.get(f"{orders.url}/orders/42")  # the callee's 404 goes through orders as a 404
        assert missing.status_code == 404
        error = missing.json()["error"]
        assert error["code"] == "not_found" and error["message"] == "User 42 not found"
        assert error["details"]["upstream"]["code"] == "not_found"
        assert error["request_id"] == missing.headers["x-request-id"]
    finally:
        orders.stop()


@pytest.mark.parametrize(
    ("sent", "passed_on"),
    [
        ("congo=t61rcWkgMzE, rojo=00f067aa0ba902b7,,", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        ("tenant@vendor=v1", "tenant@vendor=v1"),
        ("Congo=upper-case-key", None),  # W3C: a malformed member discards the whole header
        ("congo=a\x7fb", None),
        (",".join(f"k{i}=v" for i in range(33)), None),  # more than 32 members
    ],
)
def test_the_callers_tracestate_goes_on_with_its_traceparent(users, sent, passed_on):
    import httpx

    orders = Served(_orders_app(users.url).asgi)
    try:
        answer = httpx.get(f"{orders.url}/orders/1", headers={"traceparent": TRACEPARENT, "tracestate": sent})
        assert answer.status_code == 200
        seen = users.rec.seen[-1]
        assert seen["traceparent"].split("-")[1] == "5759e988bd862e3fe1be46a994272793"
        assert seen.get("tracestate") == passed_on
        # a trace that came as X-Ray's header has no W3C state to continue: none is sent
        xray = {"X-Amzn-Trace-Id": f"Root={TRACE};Parent=53995c3f42cd8ad8;Sampled=1", "tracestate": sent}
        assert httpx.get(f"{orders.url}/orders/1", headers=xray).status_code == 200
        assert users.rec.seen[-1]["traceparent"] == TRACEPARENT and "tracestate" not in users.rec.seen[-1]
    finally:
        orders.stop()


def test_lambda_caller_sends_its_trace_and_records_call_metrics(users, monkeypatch, capsys):
    app = _orders_app(users.url)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={TRACE};Parent=53995c3f42cd8ad8;Sampled=1")
    response = TestClient(app).get("/orders/2", headers={"X-Correlation-Id": "corr-9"})
    assert response.status_code == 200 and response.json() == {"order": 2, "user": "Linus"}
    seen = users.rec.seen[-1]
    assert seen["x-amzn-trace-id"] == f"Root={TRACE};Parent=53995c3f42cd8ad8;Sampled=1"
    assert seen["traceparent"] == TRACEPARENT
    assert seen["x-correlation-id"] == "corr-9"
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for doc in emf for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert "ServiceCallLatency" in names
    latency_doc = next(doc for doc in emf if "ServiceCallLatency" in doc)
    assert latency_doc["dependency"] == "users" and latency_doc["route"] == "GET /users/{user_id}"


def test_typed_client_for_an_app_has_one_method_per_route(users):
    import inspect

    typed = client_for(users_app()[0], base_url=users.url)
    assert {"get_user", "create_user", "list_users", "whoami", "flaky"} <= set(typed.operations)
    sig = inspect.signature(typed.get_user)
    assert sig.parameters["user_id"].annotation is int and sig.return_annotation is User
    assert inspect.signature(typed.create_user).parameters["body"].annotation is NewUser
    assert typed.get_user(1) == User(1, "Ada")
    assert typed.list_users(query=Page(limit=5, prefix="Ad")) == [User(1, "Ada")]
    created = typed.create_user(body=NewUser("Grace"))
    assert isinstance(created, User) and created.name == "Grace"
    assert asyncio.run(typed.aio.get_user(user_id=2)) == User(2, "Linus")
    with pytest.raises(TypeError):
        typed.get_user()  # the path parameter is required
    typed.client.close()


def test_typed_client_from_an_openapi_document(users):
    from lift.openapi import openapi_spec

    spec = openapi_spec(users_app()[0])
    typed = client_for(spec, base_url=users.url)
    assert typed.get_user(1) == {"id": 1, "name": "Ada"}
    assert typed.client.name == "users"
    typed.client.close()


def test_app_service_pools_are_resources_closed_at_shutdown(users):
    app = App(name="caller")
    client = app.service("users", base_url=users.url)
    assert app.service("users") is client
    with pytest.raises(ValueError):
        app.service("users", base_url="http://elsewhere")
    assert client.get("/users/1", response=User) == User(1, "Ada")
    assert app.resources.is_created("service:users")
    pool = client.pools().sync()
    app.shutdown()
    assert pool.is_closed


def test_importing_services_and_resilience_loads_no_http_or_aws_library():
    import subprocess
    import sys

    code = (
        "import sys, lift, lift.services, lift.resilience;"
        "from lift import App; a = App('x'); a.service('u', base_url='http://127.0.0.1:1');"
        "print(sorted(m for m in ('httpx', 'boto3', 'botocore', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sigv4_signature_checks_out_on_the_callee(users):
    from botocore.credentials import Credentials

    from lift.services import SigV4

    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    client = ServiceClient("users", base_url=users.url, auth=SigV4(region="eu-west-1", credentials=creds))
    assert client.get("/users", query={"prefix": "A"}, response=list[User]) == [User(1, "Ada")]
    seen = users.rec.seen[-1]
    auth = seen["authorization"]
    assert re.match(r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/execute-api/aws4_request", auth)
    # the callee recomputes the signature over the headers it received: it matches, and not for another query
    assert _resigned(seen, f"{users.url}/users?prefix=A", creds)
    assert not _resigned(seen, f"{users.url}/users?prefix=B", creds)
    client.close()


def _resigned(seen: dict[str, str], url: str, creds) -> bool:
    """Recompute over exactly the signed headers the callee received."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    auth = seen["authorization"]
    names = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    request = AWSRequest(method="GET", url=url, data=b"", headers={n: seen[n] for n in names})
    signer = SigV4Auth(creds, "execute-api", "eu-west-1")
    request.context["timestamp"] = seen["x-amz-date"]
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    return signer.signature(string_to_sign, request) == auth.split("Signature=")[1]


def test_async_handler_calls_propagate_the_request_without_ctx(users):
    import httpx

    app = App(name="async-orders")
    app.use(request_id())
    client = app.service("users", base_url=users.url)

    @app.get("/orders/{order_id}")
    async def get_order(order_id: int) -> dict:
        user = await client.aio.get("/users/{user_id}", user_id=order_id, response=User)
        return {"user": user.name}

    served = Served(app.asgi)
    try:
        answer = httpx.get(f"{served.url}/orders/1", headers={"X-Correlation-Id": "async-corr"})
        assert answer.json() == {"user": "Ada"}
        seen = users.rec.seen[-1]
        assert seen["x-correlation-id"] == "async-corr"
        assert seen["x-request-id"] == answer.headers["x-request-id"]
    finally:
        served.stop()
    # on Lambda too: the handler's loop is the environment's, and the pool stays with it
    response = TestClient(app).get("/orders/2", headers={"X-Correlation-Id": "lambda-corr"})
    assert response.json() == {"user": "Linus"} and users.rec.seen[-1]["x-correlation-id"] == "lambda-corr"
    app.shutdown()
