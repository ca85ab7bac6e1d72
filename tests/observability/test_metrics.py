"""EMF metrics: everything printed is parsed and checked against the EMF specification."""

from __future__ import annotations

import io
import json

import pytest

from lift import App
from lift.middleware.metrics import RequestMetrics, request_metrics
from lift.observability.metrics import Metrics, MetricsError
from lift.testing import TestClient, lambda_context
from observability.emf_spec import emf_lines, metric_values, validate_emf


def printed(metrics: Metrics) -> list[dict]:
    stream = io.StringIO()
    metrics._stream = stream
    metrics.flush()
    docs = [json.loads(line) for line in stream.getvalue().splitlines()]
    for doc in docs:
        assert validate_emf(doc) == [], doc
    return docs


def test_ctx_metrics_flushed_once_at_the_end_of_the_invocation_without_middleware(capsys):
    app = App("shop")

    @app.post("/orders", status=201)
    def create(ctx) -> dict:
        ctx.metrics.add("OrdersCreated", 1, unit="Count")
        ctx.metrics.add("OrderValue", 42.5, unit="None")
        ctx.metrics.add("OrdersCreated", 1, unit="Count")
        return {}

    context = lambda_context()
    assert TestClient(app).post("/orders", json={}, context=context).status_code == 201
    docs = emf_lines(capsys.readouterr().out)
    assert len(docs) == 1
    doc = docs[0]
    assert validate_emf(doc) == []
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "shop"
    assert directive["Dimensions"] == [["service"]]
    assert doc["service"] == "shop"
    assert doc["OrdersCreated"] == [1, 1]
    assert doc["OrderValue"] == 42.5
    assert doc["request_id"] == context.aws_request_id
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {"OrdersCreated": "Count", "OrderValue": "None"}

    # a second invocation starts from nothing
    TestClient(app).post("/orders", json={})
    assert metric_values(emf_lines(capsys.readouterr().out), "OrdersCreated") == [1, 1]


def test_no_metrics_prints_nothing(capsys):
    app = App("shop")
    app.use(RequestMetrics(cold_start=False))
    app.get("/")(lambda ctx: {})
    TestClient(app).get("/")
    assert emf_lines(capsys.readouterr().out) == []


def test_dimensions_default_dimensions_and_high_resolution():
    m = Metrics("Shop", "checkout", default_dimensions={"stage": "prod"})
    m.add_dimension("region", "eu-west-1")
    m.add("Latency", 12.5, "Milliseconds", resolution=1)
    m.add("Retries", 2, "Count", dimensions={"provider": "stripe"})
    docs = printed(m)
    assert len(docs) == 2
    by_metric = {d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]: d for d in docs}
    latency = by_metric["Latency"]
    assert latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0] == {
        "Name": "Latency",
        "Unit": "Milliseconds",
        "StorageResolution": 1,
    }
    assert sorted(latency["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["region", "service", "stage"]
    retries = by_metric["Retries"]
    assert retries["provider"] == "stripe" and retries["stage"] == "prod" and retries["service"] == "checkout"
    assert "StorageResolution" not in retries["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]


def test_more_than_100_metrics_are_split_into_valid_objects():
    m = Metrics("Shop")
    for i in range(250):
        m.add(f"M{i}", i, "Count")
    docs = printed(m)
    assert [len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in docs] == [100, 100, 50]
    names = {m["Name"] for d in docs for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {f"M{i}" for i in range(250)}


def test_more_than_100_values_are_split_without_losing_any():
    m = Metrics("Shop")
    for i in range(230):
        m.add("Latency", i, "Milliseconds")
    m.add("Other", 1, "Count")
    docs = printed(m)
    assert sorted(metric_values(docs, "Latency")) == list(range(230))
    assert metric_values(docs, "Other") == [1]
    assert all(len(d["Latency"]) <= 100 for d in docs if isinstance(d.get("Latency"), list))


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda m: m.add("", 1), "non-empty"),
        (lambda m: m.add("x" * 256, 1), "limit is 255"),
        (lambda m: m.add("Ok", 1, unit="Parsecs"), "Unknown unit"),
        (lambda m: m.add("Ok", 1, resolution=30), "1 or 60"),
        (lambda m: m.add("Ok", "7"), "must be a number"),
        (lambda m: m.add("Ok", float("nan")), "finite"),
        (lambda m: m.add("Ok", True), "must be a number"),
        (lambda m: m.add("_aws", 1), "reserved"),
        (lambda m: m.add_dimension(":bad", "v"), "must not start"),
        (lambda m: m.add_dimension("empty", ""), "non-empty value"),
        (lambda m: m.add("service", 1), "same name as a dimension"),
    ],
)
def test_invalid_input_fails_at_the_call_with_a_clear_error(call, message):
    m = Metrics("Shop", "svc")
    with pytest.raises(MetricsError, match=message):
        call(m)


def test_at_most_30_dimensions():
    m = Metrics("Shop", "svc")
    for i in range(29):
        m.add_dimension(f"d{i}", "v")
    with pytest.raises(MetricsError, match="at most 30"):
        m.add_dimension("one_too_many", "v")
    m.add("Fine", 1)
    doc = printed(m)[0]
    assert len(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == 30


def test_unit_and_resolution_cannot_change_within_an_invocation():
    m = Metrics("Shop")
    m.add("Latency", 1, "Milliseconds")
    with pytest.raises(MetricsError, match="cannot change"):
        m.add("Latency", 1, "Seconds")


def test_bad_namespace_is_rejected():
    with pytest.raises(MetricsError):
        Metrics("AWS/Lambda")
    with pytest.raises(MetricsError):
        Metrics("   ")


def test_cold_start_metric_only_on_the_first_invocation(capsys):
    app = App("shop")
    app.use(request_metrics(namespace="ShopNS"))
    app.get("/")(lambda ctx: {})
    client = TestClient(app)
    client.get("/", context=lambda_context(function_name="shop-fn"))
    first = emf_lines(capsys.readouterr().out)
    assert all(validate_emf(d) == [] for d in first)
    assert metric_values(first, "ColdStart", function_name="shop-fn", service="shop") == [1]
    cold_doc = next(d for d in first if "ColdStart" in d)
    assert cold_doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ShopNS"
    init = metric_values(first, "InitDuration", function_name="shop-fn")
    assert len(init) == 1 and init[0] >= 0
    client.get("/")
    assert metric_values(emf_lines(capsys.readouterr().out), "ColdStart") == []


def test_route_metrics_count_latency_and_error_classes(capsys):
    app = App("shop")
    app.use(RequestMetrics(route_metrics=True, cold_start=False))

    @app.get("/items/{item_id}")
    def item(ctx, item_id: int) -> dict:
        if item_id == 0:
            raise RuntimeError("boom")
        return {"id": item_id}

    client = TestClient(app)
    client.get("/items/1")
    client.get("/items/abc")  # 422: the path parameter is not an int
    client.get("/items/0")  # 500
    client.get("/nowhere")  # 404, no route
    docs = emf_lines(capsys.readouterr().out)
    assert len(docs) == 4 and all(validate_emf(d) == [] for d in docs)
    route = {"route": "/items/{item_id}", "method": "GET"}
    assert metric_values(docs, "Requests", **route) == [1, 1, 1]
    assert metric_values(docs, "ClientErrors", **route) == [0, 1, 0]
    assert metric_values(docs, "ServerErrors", **route) == [0, 0, 1]
    assert len(metric_values(docs, "Latency", **route)) == 3
    assert metric_values(docs, "ClientErrors", route="unmatched") == [1]
    unit = next(m["Unit"] for d in docs for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"] if m["Name"] == "Latency")
    assert unit == "Milliseconds"


def test_metrics_added_during_a_failed_request_are_still_flushed(capsys):
    app = App("shop")

    @app.get("/fail")
    def fail(ctx) -> dict:
        ctx.metrics.add("Attempts", 1, "Count")
        raise RuntimeError("nope")

    assert TestClient(app).get("/fail").status_code == 500
    assert metric_values(emf_lines(capsys.readouterr().out), "Attempts") == [1]


def test_asgi_requests_flush_their_own_metrics(capsys):
    httpx = pytest.importorskip("httpx")
    import asyncio

    app = App("shop")

    @app.get("/n/{n}")
    def count(ctx, n: int) -> dict:
        ctx.metrics.add("Seen", n, unit="Count")
        return {}

    async def run():
        transport = httpx.ASGITransport(app=app.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for n in (1, 2, 3):
                assert (await client.get(f"/n/{n}")).status_code == 200

    asyncio.run(run())
    docs = emf_lines(capsys.readouterr().out)
    assert [d["Seen"] for d in docs] == [1, 2, 3]
    from lift.observability import metrics as lift_metrics

    assert lift_metrics.pending_invocations() == 0


def test_metrics_added_by_middleware_outside_the_metrics_middleware_are_kept(capsys):
    app = App("shop")

    def outer(ctx, call_next):
        response = call_next(ctx)
        ctx.metrics.add("OuterSeen", 1, unit="Count")
        return response

    app.use(outer, RequestMetrics(route_metrics=True, cold_start=False))
    app.get("/")(lambda ctx: {})
    TestClient(app).get("/")
    docs = emf_lines(capsys.readouterr().out)
    assert metric_values(docs, "OuterSeen") == [1]
    assert metric_values(docs, "Requests", route="/") == [1]
