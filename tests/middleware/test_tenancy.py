"""Tenancy middleware: tenant resolution, cross-checks against identity, and isolation in stores."""

from __future__ import annotations

import json
import logging
import secrets

import jwt
import pytest
from jwt_support import claims

from lift import App, Context
from lift.auth import hash_api_key
from lift.middleware.auth import api_key_auth, gateway_auth, jwt_auth
from lift.middleware.tenancy import tenancy
from lift.observability import logging as lift_logging
from lift.observability import metrics as lift_metrics
from lift.testing import TestClient, events, lambda_context

SECRET = "tenancy-secret-" + "0123456789abcdef" * 4


def token(**extra) -> str:
    return jwt.encode(claims(**extra), SECRET, algorithm="HS256")


def bearer(tok: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}", **headers}


def auth():
    return jwt_auth(secret=SECRET, audience="orders-api")


def make_app(*middleware) -> App:
    app = App(name="tenancy-test")
    app.use(*middleware)

    @app.get("/orders")
    def orders(ctx: Context) -> dict:
        return {"tenant_id": ctx.tenant_id}

    @app.get("/tenants/{tenant_id}/orders")
    def tenant_orders(ctx: Context, tenant_id: str) -> dict:
        return {"tenant_id": ctx.tenant_id, "path": tenant_id}

    return app


@pytest.fixture
def json_logs():
    """Lift's JSON logging on stdout for one test, then the root logger as it was."""
    root = logging.getLogger()
    level = root.level  # (configure sets the root level too: INFO, which every later test would inherit)
    handler = lift_logging.configure(force=True)
    lift_metrics._open.clear()
    yield
    root.removeHandler(handler)
    root.setLevel(level)
    lift_logging._config.handler = None
    lift_metrics._open.clear()


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_tenant_from_token_claim_is_set_on_ctx():
    client = TestClient(make_app(auth(), tenancy()))
    assert client.get("/orders", headers=bearer(token())).json() == {"tenant_id": "acme"}


def test_header_agreeing_with_token_is_accepted():
    client = TestClient(make_app(auth(), tenancy()))
    response = client.get("/orders", headers=bearer(token(), **{"X-Tenant-Id": "acme"}))
    assert response.json() == {"tenant_id": "acme"}


@pytest.mark.parametrize("source", ["rest", "http", "alb", "url"])
def test_header_overriding_the_token_tenant_is_403(source, caplog):
    client = TestClient(make_app(auth(), tenancy()), source=source)
    with caplog.at_level(logging.WARNING, logger="lift.tenancy"):
        response = client.get("/orders", headers=bearer(token(), **{"X-Tenant-Id": "globex"}))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_mismatch"
    assert "globex" not in response.text
    assert any("conflicts" in r.getMessage() for r in caplog.records)


def test_path_naming_another_tenant_is_403():
    client = TestClient(make_app(auth(), tenancy()))
    assert client.get("/tenants/acme/orders", headers=bearer(token())).json() == {"tenant_id": "acme", "path": "acme"}
    denied = client.get("/tenants/globex/orders", headers=bearer(token()))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "tenant_mismatch"


def test_header_alone_when_identity_has_no_tenant():
    key = secrets.token_urlsafe(32)
    app = make_app(api_key_auth({hash_api_key(key): "etl-service"}), tenancy())
    client = TestClient(app)
    assert client.get("/orders", headers={"X-Api-Key": key, "X-Tenant-Id": "globex"}).json() == {"tenant_id": "globex"}


def test_api_key_configured_with_a_tenant_cannot_switch_tenant():
    key = secrets.token_urlsafe(32)
    app = make_app(api_key_auth({hash_api_key(key): {"name": "acme-etl", "tenant_id": "acme"}}), tenancy())
    client = TestClient(app)
    assert client.get("/orders", headers={"X-Api-Key": key}).json() == {"tenant_id": "acme"}
    assert client.get("/orders", headers={"X-Api-Key": key, "X-Tenant-Id": "globex"}).status_code == 403


def test_cognito_custom_tenant_claim_through_rest_authorizer():
    client = TestClient(make_app(gateway_auth(), tenancy(["claim:custom:tenant_id", "header:X-Tenant-Id"])))
    authorizer = {"claims": {"sub": "u1", "custom:tenant_id": "acme", "token_use": "id"}}
    assert client.get("/orders", authorizer=authorizer).json() == {"tenant_id": "acme"}
    spoof = client.get("/orders", authorizer=authorizer, headers={"X-Tenant-Id": "globex"})
    assert spoof.status_code == 403


def test_http_api_jwt_authorizer_tenant():
    client = TestClient(make_app(gateway_auth(), tenancy()), source="http")
    authorizer = {"jwt": {"claims": {"sub": "u1", "tenant_id": "initech"}, "scopes": None}}
    assert client.get("/orders", authorizer=authorizer).json() == {"tenant_id": "initech"}


def test_missing_tenant_is_400_when_required_and_none_when_optional():
    required = TestClient(make_app(auth(), tenancy()))
    response = required.get("/orders", headers=bearer(token(tenant_id=None)))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "tenant_required"
    optional = TestClient(make_app(auth(), tenancy(required=False)))
    assert optional.get("/orders", headers=bearer(token(tenant_id=None))).json() == {"tenant_id": None}


@pytest.mark.parametrize("bad", ["acme#t:globex", "../etc", "a b", "x" * 200, "-leading-dash", "ünicode"])
def test_malformed_tenant_ids_are_400(bad):
    client = TestClient(make_app(tenancy(["header:X-Tenant-Id"])), source="http")
    response = client.get("/orders", headers={"X-Tenant-Id": bad})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_tenant"


@pytest.mark.parametrize("claim", [True, False, 1.5, ["acme"], {"id": "acme"}])
def test_a_tenant_claim_that_is_not_text_or_a_number_is_400(claim):
    # str(True) made every such token's caller tenant "True": one shared tenant across users
    client = TestClient(make_app(auth(), tenancy(["claim:org"])))
    response = client.get("/orders", headers=bearer(token(org=claim)))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_tenant"


@pytest.mark.parametrize("claim", [True, 1.5])
def test_an_identity_whose_tenant_claim_is_not_text_is_refused(claim):
    # resolved from the principal (Cognito's custom:tenant_id): ClaimMap made str(True) its tenant
    response = TestClient(make_app(auth(), tenancy())).get(
        "/orders", headers=bearer(token(**{"custom:tenant_id": claim, "tenant_id": None}))
    )
    assert response.status_code == 401


def test_a_numeric_tenant_claim_is_its_decimal_text():
    response = TestClient(make_app(auth(), tenancy())).get("/orders", headers=bearer(token(tenant_id=4711)))
    assert response.json() == {"tenant_id": "4711"}


def test_skip_names_the_route_whatever_the_path_spelling():
    app = make_app(tenancy(["header:X-Tenant-Id"], skip=["/orders"]))
    client = TestClient(app, source="http")
    assert client.get("/orders/").json() == {"tenant_id": None}  # the /orders route: skipped (was 400)
    assert client.get("/tenants/acme/orders").status_code == 400  # not skipped: no tenant


def test_allow_check_with_one_or_two_arguments():
    active = {"acme"}
    one_arg = TestClient(make_app(tenancy(["header:X-Tenant-Id"], allow=lambda t: t in active)))
    assert one_arg.get("/orders", headers={"X-Tenant-Id": "acme"}).status_code == 200
    denied = one_arg.get("/orders", headers={"X-Tenant-Id": "suspended-co"})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "tenant_forbidden"

    def member(ctx, tenant_id):
        return tenant_id in (ctx.claims or {}).get("tenants", [])

    two_arg = TestClient(make_app(auth(), tenancy(["header:X-Tenant-Id"], allow=member)))
    tok = token(tenant_id=None, tenants=["acme", "globex"])
    assert two_arg.get("/orders", headers=bearer(tok, **{"X-Tenant-Id": "globex"})).json() == {"tenant_id": "globex"}
    assert two_arg.get("/orders", headers=bearer(tok, **{"X-Tenant-Id": "initech"})).status_code == 403


def test_callable_and_query_sources():
    def from_subdomain(ctx):
        host = ctx.request.headers.get("host", "")
        return host.split(".")[0] if host.endswith(".saas.example.com") else None

    client = TestClient(make_app(tenancy([from_subdomain, "query:tenant"])), source="http")
    assert client.get("/orders", headers={"Host": "acme.saas.example.com"}).json() == {"tenant_id": "acme"}
    assert client.get("/orders", query={"tenant": "globex"}).json() == {"tenant_id": "globex"}
    conflict = client.get("/orders", headers={"Host": "acme.saas.example.com"}, query={"tenant": "globex"})
    assert conflict.status_code == 403


def test_tenant_in_json_logs_and_metric_dimensions(json_logs, capsys):
    app = make_app(auth(), tenancy())

    @app.get("/work")
    def work(ctx: Context) -> dict:
        ctx.logger.info("did work")
        ctx.metrics.add("WorkDone", 1, unit="Count")
        return {}

    TestClient(app).get("/work", headers=bearer(token()), context=lambda_context())
    lines = json_lines(capsys.readouterr().out)
    log = next(line for line in lines if line.get("message") == "did work")
    assert log["tenant_id"] == "acme" and log["user_id"] == "user-123"
    emf = next(line for line in lines if "_aws" in line)
    assert emf["tenant_id"] == "acme"
    assert "tenant_id" in emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]


def test_websocket_connect_tenant_from_query_string():
    event = events.websocket_connect(query={"token": token(), "tenant": "acme"})
    app = App(name="ws")
    app.use(
        jwt_auth(secret=SECRET, audience="orders-api", token_from="query:token"),
        tenancy(["claim:tenant_id", "query:tenant"], metric_dimension=False),
    )

    @app.websocket("$connect")
    def connect(ctx: Context) -> dict:
        return {"tenant": ctx.tenant_id}

    assert app.handler(event, lambda_context())["body"] == '{"tenant":"acme"}'
    spoofed = events.websocket_connect(query={"token": token(), "tenant": "globex"})
    assert app.handler(spoofed, lambda_context())["statusCode"] == 403


def test_websocket_messages_and_disconnect_after_a_tenant_checked_connect_still_run():
    """The tenant comes with $connect (its query string); later messages and $disconnect carry none.
    Before, required=True answered each of them 400 tenant_required: no message handler ever ran and the
    app never heard of the disconnect. $connect without a tenant is still a 400."""
    app = App(name="ws")
    app.use(tenancy(["query:tenant"], metric_dimension=False))
    seen = []

    @app.websocket("$connect")
    def connect(ctx: Context) -> None:
        seen.append(("connect", ctx.tenant_id))

    @app.websocket("$default")
    def message(ctx: Context) -> None:
        seen.append(("message", ctx.tenant_id))

    @app.websocket("$disconnect")
    def disconnect(ctx: Context) -> None:
        seen.append(("disconnect", ctx.tenant_id))

    assert app.handler(events.websocket_connect(query={"tenant": "acme"}), lambda_context())["statusCode"] == 200
    assert app.handler(events.websocket_message("hello"), lambda_context())["statusCode"] == 200
    assert app.handler(events.websocket_disconnect(), lambda_context())["statusCode"] == 200
    assert seen == [("connect", "acme"), ("message", None), ("disconnect", None)]
    refused = app.handler(events.websocket_connect(), lambda_context())
    assert refused["statusCode"] == 400 and "tenant_required" in refused["body"]


# -- isolation in the stores -----------------------------------------------------------------


def test_rate_limit_counters_are_isolated_per_tenant(store):
    from lift.middleware.rate_limit import rate_limit

    # (2 per window of 10**7 s: with "2/minute", three requests sent across a minute's boundary all passed)
    app = make_app(auth(), tenancy(), rate_limit(2, 10**7, store=store))
    client = TestClient(app)
    acme, globex = bearer(token(tenant_id="acme")), bearer(token(tenant_id="globex"))
    assert [client.get("/orders", headers=acme).status_code for _ in range(3)] == [200, 200, 429]
    # Same user id, other tenant: its own counter, untouched by acme's traffic.
    assert [client.get("/orders", headers=globex).status_code for _ in range(3)] == [200, 200, 429]
    # acme cannot reach globex's counter (or reset its own) by naming the other tenant.
    spoof = client.get("/orders", headers=bearer(token(tenant_id="acme"), **{"X-Tenant-Id": "globex"}))
    assert spoof.status_code == 403


def test_idempotency_records_are_isolated_per_tenant(store):
    from lift.middleware.idempotency import idempotency

    app = App(name="payments")
    app.use(auth(), tenancy(), idempotency(store=store))
    charges: list[str] = []

    @app.post("/charges", status=201)
    def charge(ctx: Context) -> dict:
        charges.append(ctx.tenant_id)
        return {"charge": len(charges), "tenant_id": ctx.tenant_id}

    client = TestClient(app)
    key = {"Idempotency-Key": "order-42"}
    acme = client.post("/charges", json={"amount": 5}, headers=bearer(token(tenant_id="acme"), **key))
    assert acme.status_code == 201 and acme.json() == {"charge": 1, "tenant_id": "acme"}

    # The same key from another tenant is a different request: it runs, and never sees acme's response.
    globex = client.post("/charges", json={"amount": 5}, headers=bearer(token(tenant_id="globex"), **key))
    assert globex.json() == {"charge": 2, "tenant_id": "globex"}
    assert "idempotent-replayed" not in globex.headers

    # Within a tenant the key still deduplicates.
    again = client.post("/charges", json={"amount": 5}, headers=bearer(token(tenant_id="acme"), **key))
    assert again.json() == {"charge": 1, "tenant_id": "acme"}
    assert again.headers["idempotent-replayed"] == "true"

    # Naming the other tenant in a header to read its record is refused before the store is asked.
    spoof_headers = bearer(token(tenant_id="acme"), **key, **{"X-Tenant-Id": "globex"})
    assert client.post("/charges", json={"amount": 5}, headers=spoof_headers).status_code == 403
    assert charges == ["acme", "globex"]


def _statuses(client: TestClient, tenants: list[str], **headers: str) -> list[int]:
    return [client.get("/orders", headers={"X-Tenant-Id": t, **headers}).status_code for t in tenants]


def test_a_made_up_tenant_header_gets_no_fresh_rate_limit_quota():
    """`tenancy(resolve_from=["header:X-Tenant-Id"])` then `rate_limit(2)`: the limiter counted `tenant:<id>`
    in that tenant's keys, so an anonymous client naming a new tenant with each request had a fresh quota
    each time (here 6 requests, 6 made-up tenants, all 200). A tenant only the request names is not
    counted as a caller: the client is (its IP here), across tenants."""
    from lift.middleware.rate_limit import rate_limit
    from lift.stores import MemoryStore

    client = TestClient(
        make_app(tenancy(resolve_from=["header:X-Tenant-Id"]), rate_limit(2, 3600, store=MemoryStore()))
    )
    assert _statuses(client, [f"made-up-{i}" for i in range(6)]) == [200, 200, 429, 429, 429, 429]


def test_a_tenant_the_identity_or_allow_vouches_for_keeps_its_own_quota():
    """A tenant from a verified claim, or one `allow` accepted, is still counted per tenant (one tenant's
    traffic does not spend another's quota)."""
    from lift.middleware.rate_limit import rate_limit
    from lift.stores import MemoryStore

    limiter = rate_limit(2, 3600, store=MemoryStore())
    client = TestClient(make_app(auth(), tenancy(), limiter))
    for tenant in ("acme", "globex"):
        tok = token(sub=None, tenant_id=tenant)
        assert _statuses(client, [tenant] * 3, Authorization=f"Bearer {tok}") == [200, 200, 429]

    known = {"acme", "globex"}
    limiter = rate_limit(2, 3600, store=MemoryStore())
    client = TestClient(
        make_app(tenancy(resolve_from=["header:X-Tenant-Id"], allow=lambda tenant_id: tenant_id in known), limiter)
    )
    assert _statuses(client, ["acme", "acme", "acme", "globex", "globex", "globex"]) == [200, 200, 429] * 2
    assert _statuses(client, ["initech"]) == [403]


@pytest.mark.parametrize("container", [set, frozenset], ids=["set", "frozenset"])
def test_allow_may_be_a_containers_membership_test(container):
    """`allow=ACTIVE.__contains__` for a set: Python reads no signature for it, so it was called as
    allow(ctx, tenant_id) and raised TypeError, a 500 for every request."""
    active = container({"acme"})
    client = TestClient(make_app(tenancy(resolve_from=["header:X-Tenant-Id"], allow=active.__contains__)))
    assert client.get("/orders", headers={"X-Tenant-Id": "acme"}).json() == {"tenant_id": "acme"}
    assert client.get("/orders", headers={"X-Tenant-Id": "globex"}).status_code == 403
