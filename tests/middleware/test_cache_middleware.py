"""lift.middleware.cache: HTTP semantics, scoping by tenant and user, invalidation, L2 stores."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from lift import App, Context, Response
from lift.cache import Cache
from lift.middleware.cache import add_tags, cache
from lift.middleware.tenancy import tenancy
from lift.testing import TestClient, lambda_context


def make_app(*middleware, **route_options) -> tuple[App, dict[str, int]]:
    app = App(name="cached")
    app.use(*middleware)
    calls: dict[str, int] = {}

    def count(name: str) -> int:
        calls[name] = calls.get(name, 0) + 1
        return calls[name]

    @app.get("/users/{user_id}")
    def get_user(ctx: Context, user_id: str) -> dict:
        return {"id": user_id, "call": count(f"user:{user_id}"), "tenant": ctx.tenant_id, "user": ctx.user_id}

    @app.get("/users")
    def list_users(ctx: Context) -> dict:
        return {"call": count("users"), "q": ctx.query.to_dict()}

    @app.get("/users/{user_id}/orders")
    def orders(user_id: str) -> dict:
        return {"call": count(f"orders:{user_id}")}

    @app.put("/users/{user_id}")
    def put_user(user_id: str) -> dict:
        return {"saved": user_id}

    @app.post("/users/{user_id}/fail")
    def failing_write(user_id: str) -> Response:
        return Response.json({"no": 1}, status=409)

    @app.get("/headers/{kind}")
    def with_headers(kind: str) -> Response:
        n = count(f"h:{kind}")
        headers = {
            "no-store": {"Cache-Control": "no-store"},
            "private": {"Cache-Control": "private, max-age=60"},
            "short": {"Cache-Control": "max-age=1"},
            "vary-star": {"Vary": "*"},
            "vary-lang": {"Vary": "Accept-Language"},
            "etag": {"ETag": '"v7"'},
            "plain": {},
        }[kind]
        return Response.json({"n": n}, headers=headers)

    @app.get("/status/{code}")
    def status(code: int) -> Response:
        return Response.json({"n": count(f"s:{code}")}, status=code)

    @app.get("/cookie")
    def cookie() -> Response:
        resp = Response.json({"n": count("cookie")})
        resp.set_cookie("session", "abc")
        return resp

    @app.get("/tagged/{name}")
    def tagged(ctx: Context, name: str) -> dict:
        add_tags(ctx, f"thing:{name}")
        return {"n": count(f"tagged:{name}")}

    @app.post("/things/{name}/touch")
    def touch(ctx: Context, name: str) -> None:
        ctx.cache.invalidate(tags=[f"thing:{name}"])

    @app.get("/stream")
    def stream() -> Response:
        count("stream")
        return Response.ndjson([{"a": 1}])

    return app, calls


def test_miss_then_hit_with_age_x_cache_and_etag() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    first = client.get("/users/1")
    assert first.status_code == 200 and first.headers["x-cache"] == "miss" and "age" not in first.headers
    etag = first.headers["etag"]
    time.sleep(1.05)
    second = client.get("/users/1")
    assert second.json() == first.json() and calls["user:1"] == 1
    assert second.headers["x-cache"] == "hit" and second.headers["etag"] == etag
    assert int(second.headers["age"]) >= 1
    assert client.get("/users/2").json()["call"] == 1  # another path, another entry


def test_if_none_match_gives_304_on_hits_and_misses() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    etag = client.get("/users/1").headers["etag"]
    resp = client.get("/users/1", headers={"If-None-Match": etag})
    assert resp.status_code == 304 and resp.body == b"" and resp.headers["etag"] == etag
    assert resp.headers["x-cache"] == "hit"
    assert client.get("/users/1", headers={"If-None-Match": '"other", W/' + etag}).status_code == 304
    assert client.get("/users/1", headers={"If-None-Match": '"other"'}).status_code == 200
    # the handler's own ETag is kept and honoured
    assert client.get("/headers/etag").headers["etag"] == '"v7"'
    assert client.get("/headers/etag", headers={"If-None-Match": '"v7"'}).status_code == 304
    assert calls["h:etag"] == 1


def test_head_is_served_from_the_get_entry() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    client.get("/users/1")
    head = client.request("HEAD", "/users/1")
    assert head.status_code == 200 and head.body == b"" and head.headers["x-cache"] == "hit"
    assert calls["user:1"] == 1


def test_sorted_query_is_part_of_the_key() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    a = client.get("/users?b=2&a=1")
    b = client.get("/users?a=1&b=2")
    assert b.headers["x-cache"] == "hit" and a.json() == b.json()
    assert client.get("/users?a=1&b=3").headers["x-cache"] == "miss"
    assert calls["users"] == 2


def test_one_tenant_never_gets_another_tenants_cached_response() -> None:
    app, calls = make_app(tenancy(resolve_from=["header:X-Tenant-Id"]), cache(ttl=30, store=Cache()))
    client = TestClient(app)
    acme = client.get("/users/1", headers={"X-Tenant-Id": "acme"})
    globex = client.get("/users/1", headers={"X-Tenant-Id": "globex"})
    assert acme.json()["tenant"] == "acme" and globex.json()["tenant"] == "globex"
    assert globex.headers["x-cache"] == "miss"
    again = client.get("/users/1", headers={"X-Tenant-Id": "acme"})
    assert again.headers["x-cache"] == "hit" and again.json()["tenant"] == "acme"
    assert calls["user:1"] == 2


def test_cache_placed_before_tenancy_never_leaks_it_stores_nothing(caplog: pytest.LogCaptureFixture) -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()), tenancy(resolve_from=["header:X-Tenant-Id"]))
    client = TestClient(app)
    with caplog.at_level(logging.WARNING, logger="lift"):
        assert client.get("/users/1", headers={"X-Tenant-Id": "acme"}).json()["tenant"] == "acme"
    globex = client.get("/users/1", headers={"X-Tenant-Id": "globex"})
    assert globex.json()["tenant"] == "globex" and globex.headers["x-cache"] == "miss"
    assert calls["user:1"] == 2
    assert "put cache() after auth and tenancy" in caplog.text


def _fake_auth(ctx: Context, call_next):
    """An auth middleware of the user's own: the user id from a header the gateway verified."""
    ctx.user_id = ctx.headers.get("x-verified-user")
    return call_next(ctx)


def test_authenticated_routes_are_cached_per_user_unless_shared() -> None:
    app, calls = make_app(_fake_auth, cache(ttl=30, store=Cache()))
    client = TestClient(app)
    ann = client.get("/users/1", headers={"X-Verified-User": "ann"})
    bob = client.get("/users/1", headers={"X-Verified-User": "bob"})
    assert (ann.json()["user"], bob.json()["user"]) == ("ann", "bob")
    assert client.get("/users/1", headers={"X-Verified-User": "ann"}).headers["x-cache"] == "hit"
    assert calls["user:1"] == 2

    shared, shared_calls = make_app(_fake_auth, cache(ttl=30, store=Cache(), shared=True))
    client = TestClient(shared)
    client.get("/users/1", headers={"X-Verified-User": "ann"})
    assert client.get("/users/1", headers={"X-Verified-User": "bob"}).headers["x-cache"] == "hit"
    assert shared_calls["user:1"] == 1


def test_requests_with_credentials_but_no_user_are_keyed_by_the_credentials() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    client.get("/users/1", headers={"Authorization": "Bearer token-of-ann"})
    assert client.get("/users/1", headers={"Authorization": "Bearer token-of-bob"}).headers["x-cache"] == "miss"
    assert client.get("/users/1").headers["x-cache"] == "miss"  # anonymous: its own entry
    assert client.get("/users/1", headers={"Authorization": "Bearer token-of-ann"}).headers["x-cache"] == "hit"
    assert client.get("/users/1", headers={"Cookie": "session=s1"}).headers["x-cache"] == "miss"
    assert calls["user:1"] == 4
    # API keys API Gateway checked (usage plans): no user in Lift, yet one caller's answer is not another's
    assert client.get("/users/1", headers={"X-Api-Key": "key-of-acme"}).headers["x-cache"] == "miss"
    assert client.get("/users/1", headers={"X-Api-Key": "key-of-globex"}).headers["x-cache"] == "miss"
    assert client.get("/users/1", headers={"X-Api-Key": "key-of-acme"}).headers["x-cache"] == "hit"
    assert calls["user:1"] == 6


def test_handler_cache_control_and_vary_are_honoured() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache(), vary=["Accept-Language"]))
    client = TestClient(app)
    for kind in ("no-store", "private", "vary-star"):
        client.get(f"/headers/{kind}")
        assert client.get(f"/headers/{kind}").headers["x-cache"] == "miss", kind
        assert calls[f"h:{kind}"] == 2
    # Vary on a header the middleware varies on: cached per value
    client.get("/headers/vary-lang", headers={"Accept-Language": "en"})
    assert client.get("/headers/vary-lang", headers={"Accept-Language": "fr"}).headers["x-cache"] == "miss"
    assert client.get("/headers/vary-lang", headers={"Accept-Language": "en"}).headers["x-cache"] == "hit"
    # max-age=1 from the handler shortens the TTL
    client.get("/headers/short")
    assert client.get("/headers/short").headers["x-cache"] == "hit"
    time.sleep(1.1)
    assert client.get("/headers/short").headers["x-cache"] == "miss"


def test_vary_values_cannot_be_crafted_to_share_another_requests_entry() -> None:
    """With vary=["X-Region", "X-Plan"], ("eu|pro", "") and ("eu", "pro|") are different requests: a client
    sending the second must not be served the first one's cached answer, nor plant one for it (the
    values were joined with `|` unescaped, so both made one key)."""
    app = App(name="catalog")
    app.use(cache(ttl=30, store=Cache(), vary=["X-Region", "X-Plan"], shared=True))

    @app.get("/prices")
    def prices(ctx: Context) -> dict:
        return {"region": ctx.request.headers.get("x-region"), "plan": ctx.request.headers.get("x-plan")}

    client = TestClient(app)
    planted = client.get("/prices", headers={"X-Region": "eu", "X-Plan": "pro|"})
    assert planted.json() == {"region": "eu", "plan": "pro|"}
    victim = client.get("/prices", headers={"X-Region": "eu|pro", "X-Plan": ""})
    assert victim.headers["x-cache"] == "miss" and victim.json() == {"region": "eu|pro", "plan": ""}
    again = client.get("/prices", headers={"X-Region": "eu", "X-Plan": "pro|"})
    assert again.headers["x-cache"] == "hit" and again.json() == planted.json()


def test_vary_on_a_header_the_middleware_ignores_is_not_cached() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    client.get("/headers/vary-lang", headers={"Accept-Language": "en"})
    client.get("/headers/vary-lang", headers={"Accept-Language": "fr"})
    assert calls["h:vary-lang"] == 2


def test_client_no_cache_recomputes_and_no_store_bypasses() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    client.get("/users/1")
    fresh = client.get("/users/1", headers={"Cache-Control": "no-cache"})
    assert fresh.headers["x-cache"] == "miss" and fresh.json()["call"] == 2
    assert client.get("/users/1").json()["call"] == 2  # the recomputed answer was stored
    bypass = client.get("/users/1", headers={"Cache-Control": "no-store"})
    assert bypass.json()["call"] == 3 and "x-cache" not in bypass.headers
    for pragma in ("No-Cache", "no-cache, x-debug"):  # directive names are case-insensitive, and listed
        assert client.get("/users/1", headers={"Pragma": pragma}).headers["x-cache"] == "miss", pragma


def test_every_line_of_a_repeated_cache_control_or_if_none_match_header_counts() -> None:
    """A REST API (or ALB) request carrying `Cache-Control: max-age=60` and `Cache-Control: no-store` as two
    lines (multiValueHeaders) bypasses the cache, as one `max-age=60, no-store` line does; a second
    `If-None-Match` line naming the current ETag gives a 304. Before, only the first line was read: the
    client's no-store was ignored and it was served the cached answer."""
    from lift.testing import events

    app, calls = make_app(cache(ttl=30, store=Cache()))

    def get(headers: dict) -> dict:
        return app.handler(events.apigw_rest("GET", "/users/1", headers=headers), lambda_context())

    get({})
    bypass = get({"Cache-Control": ["max-age=60", "no-store"]})
    assert "X-Cache" not in bypass["headers"] and calls["user:1"] == 2
    assert get({"Cache-Control": ["max-age=60"], "Pragma": ["x-debug", "no-cache"]})["headers"]["X-Cache"] == "miss"
    assert calls["user:1"] == 3
    etag = get({})["headers"]["ETag"]
    assert get({"If-None-Match": ['"older"', etag]})["statusCode"] == 304


def test_only_cacheable_statuses_no_cookies_no_streams() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    for _ in range(2):
        client.get("/status/404")
        client.get("/status/500")
        client.get("/status/503")
        client.get("/cookie")
        client.get("/stream")
    assert calls["s:404"] == 1
    assert calls["s:500"] == calls["s:503"] == calls["cookie"] == calls["stream"] == 2


def test_a_cookie_set_as_a_plain_header_is_never_cached() -> None:
    """`Set-Cookie` given in the headers (any case) rather than with `set_cookie` is a cookie too: the
    response is not stored, so no caller is handed another's session. Before, the second caller of a
    `shared=True` route got the first one's `Set-Cookie: session=s1` from the cache."""
    app = App("cookies")
    app.use(cache(ttl=60, store=Cache(), shared=True))
    calls = {"n": 0}

    @app.get("/login/{style}")
    def login(style: str) -> Response:
        calls["n"] += 1
        cookie = f"session=s{calls['n']}"
        if style == "argument":
            return Response.json({"n": calls["n"]}, headers={"Set-Cookie": cookie})
        response = Response.json({"n": calls["n"]})
        response.headers["set-cookie"] = cookie
        return response

    client = TestClient(app)
    for style in ("argument", "assigned"):
        first, second = client.get(f"/login/{style}"), client.get(f"/login/{style}")
        assert second.headers["x-cache"] == "miss"
        assert first.headers["set-cookie"] != second.headers["set-cookie"]


def test_a_successful_write_invalidates_its_resource_children_and_collection() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    for path in ("/users/42", "/users/42/orders", "/users", "/users/420"):
        client.get(path)
    client.post("/users/42/fail")  # a 409: nothing changes
    assert client.get("/users/42").headers["x-cache"] == "hit"
    assert client.put("/users/42", json={}).status_code == 200
    assert client.get("/users/42").headers["x-cache"] == "miss"
    assert client.get("/users/42/orders").headers["x-cache"] == "miss"
    assert client.get("/users").headers["x-cache"] == "miss"
    assert client.get("/users/420").headers["x-cache"] == "hit"


def test_every_spelling_of_a_path_shares_its_entry_and_its_invalidation() -> None:
    """`/users/%34%32` is `/users/42` to the router (and `%c3%a9` is `%C3%A9`): a write through one
    spelling drops the cached GETs of the others. Before, each spelling had its own entry, so after
    `PUT /users/%34%32` a `GET /users/42` was still served the old answer until its TTL ran out."""
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    assert client.get("/users/42").json()["call"] == 1
    assert client.get("/users/%34%32").headers["x-cache"] == "hit"
    assert client.put("/users/%34%32", json={}).status_code == 200
    fresh = client.get("/users/42")
    assert fresh.headers["x-cache"] == "miss" and fresh.json()["call"] == 2
    client.get("/users/caf%c3%a9")
    assert client.get("/users/caf%C3%A9").headers["x-cache"] == "hit"
    client.put("/users/caf%C3%A9", json={})
    assert client.get("/users/caf%c3%a9").headers["x-cache"] == "miss"
    assert client.get("/users/a%2Fb").json()["id"] == "a/b"  # an encoded slash stays one segment
    assert client.get("/users/a%252Fb").json()["id"] == "a%2Fb"


def test_ctx_cache_invalidate_by_tag_from_a_write_route() -> None:
    app, calls = make_app(cache(ttl=30, store=Cache()))
    client = TestClient(app)
    client.get("/tagged/a")
    client.get("/tagged/b")
    client.post("/things/a/touch")
    assert client.get("/tagged/a").headers["x-cache"] == "miss"
    assert client.get("/tagged/b").headers["x-cache"] == "hit"


def test_stale_while_revalidate_serves_stale_and_refreshes_once() -> None:
    store = Cache(refresh="background")
    app, calls = make_app(cache(ttl=0.3, store=store, swr=30))
    client = TestClient(app)
    client.get("/users/1")
    time.sleep(0.4)
    # the refresh this request sets off starts later: its entry is fresh until after asked + 0.3
    asked = time.monotonic()
    stale = client.get("/users/1")
    assert stale.headers["x-cache"] == "stale" and stale.json()["call"] == 1
    for thread in threading.enumerate():  # the refresh, in the background: until it has kept its entry
        if thread.name == "lift-cache-refresh":
            thread.join(10)
    assert calls["user:1"] == 2
    fresh = client.get("/users/1")
    assert fresh.json()["call"] == 2
    # fresh for its 0.3 s (unless a loaded machine took longer than that to get here)
    assert fresh.headers["x-cache"] == "hit" or time.monotonic() - asked >= 0.3


def test_concurrent_misses_compute_once() -> None:
    app = App()
    app.use(cache(ttl=30, store=Cache()))
    calls = []

    @app.get("/slow")
    def slow() -> dict:
        calls.append(1)
        time.sleep(0.3)
        return {"n": len(calls)}

    client = TestClient(app)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(client.get("/slow"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert {r.json()["n"] for r in results} == {1}
    assert sorted(r.headers["x-cache"] for r in results) == ["hit"] * 7 + ["miss"]


# -- with an L2 store: Redis and DynamoDB Local ----------------------------------------------------
def test_two_instances_share_responses_and_invalidations_through_l2(store_factory) -> None:
    a_app, a_calls = make_app(cache(ttl=30, store=Cache(store_factory(), l1_ttl=0.5)))
    b_app, b_calls = make_app(cache(ttl=30, store=Cache(store_factory(), l1_ttl=0.5)))
    a, b = TestClient(a_app), TestClient(b_app)
    first = a.get("/users/7")
    from_b = b.get("/users/7")  # another execution environment: an L2 hit
    assert from_b.headers["x-cache"] == "hit" and from_b.json() == first.json()
    assert from_b.headers["etag"] == first.headers["etag"]
    assert b_calls.get("user:7") is None
    assert b.put("/users/7", json={}).status_code == 200  # invalidates through L2 markers
    time.sleep(0.6)  # a's L1 copy outlives an invalidation elsewhere by at most l1_ttl
    again = a.get("/users/7")
    assert again.headers["x-cache"] == "miss" and a_calls["user:7"] == 2


def test_a_failing_store_never_fails_the_request(caplog: pytest.LogCaptureFixture, dead_port: int) -> None:
    from lift.stores import RedisStore

    broken = Cache(RedisStore(f"redis://127.0.0.1:{dead_port}/0", timeout=0.2), l1=False)
    app, calls = make_app(cache(ttl=30, store=broken))
    client = TestClient(app)
    first = lambda_context()
    with caplog.at_level(logging.WARNING, logger="lift"):
        for context in (first, lambda_context()):
            resp = client.get("/users/1", context=context)
            assert resp.status_code == 200 and resp.headers["x-cache"] == "miss"
        assert client.put("/users/1", json={}).status_code == 200
    assert calls["user:1"] == 2
    assert broken.stats()["l2_errors"] >= 3
    # one warning per failing operation during an outage, carrying the request id
    assert caplog.text.count("cache store get failed, serving without it") == 1
    assert f"request_id={first.aws_request_id}" in caplog.text


def test_metrics_true_emits_hit_and_miss_counts_as_emf(capsys: pytest.CaptureFixture) -> None:
    from observability.emf_spec import emf_lines, metric_values, validate_emf

    app, _ = make_app(cache(ttl=30, store=Cache(), metrics=True))
    client = TestClient(app)
    client.get("/users/1")
    client.get("/users/1")
    docs = emf_lines(capsys.readouterr().out)
    assert all(validate_emf(doc) == [] for doc in docs)
    assert metric_values(docs, "CacheMiss") == [1] and metric_values(docs, "CacheHit") == [1]


def test_cache_as_group_and_route_middleware() -> None:
    app = App()
    calls: list[str] = []
    api = app.group("/api", middleware=[cache(ttl=30, store=Cache())])

    @api.get("/a")
    def a() -> dict:
        calls.append("a")
        return {}

    @app.get("/b", middleware=[cache(ttl=30, store=Cache())])
    def b() -> dict:
        calls.append("b")
        return {}

    @app.get("/c")
    def c() -> dict:
        calls.append("c")
        return {}

    client = TestClient(app)
    for path in ("/api/a", "/b", "/c") * 2:
        client.get(path)
    assert calls == ["a", "b", "c", "c"]
