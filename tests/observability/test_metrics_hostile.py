"""EMF values CloudWatch would drop are refused at the call that makes them, and nothing added
later can cost the invocation its other metrics at the flush.

CloudWatch: dimension values are ASCII without control characters; metric values are doubles
from 2^-360 to 2^360 in magnitude (or 0), never NaN/Infinity (PutMetricData's MetricDatum and
Dimension references)."""

from __future__ import annotations

import pytest

from lift import App
from lift.observability.metrics import Metrics, MetricsError
from lift.testing import TestClient
from observability.emf_spec import emf_lines, metric_values, validate_emf


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda m: m.add("Ok", 1, dimensions={"user": "a\nb"}), "control characters"),
        (lambda m: m.add_dimension("tab", "a\tb"), "control characters"),
        (lambda m: m.add_dimension("del", "a\x7fb"), "control characters"),
        (lambda m: m.add("Ok", 10**400), "outside what CloudWatch takes"),
        (lambda m: m.add("Ok", 10**5000), "outside what CloudWatch takes"),
        (lambda m: m.add("Ok", [1, 2.0**361]), "outside what CloudWatch takes"),
        (lambda m: m.add("Ok", -1e-200), "outside what CloudWatch takes"),
        (lambda m: m.add_metadata("order", object()), "JSON-encodable"),
    ],
)
def test_values_cloudwatch_drops_fail_at_the_call(call, message):
    m = Metrics("Shop", "svc")
    with pytest.raises(MetricsError, match=message):
        call(m)
    assert not m.has_metrics


def test_values_at_cloudwatch_limits_are_kept(capsys):
    m = Metrics("Shop", "svc")
    m.add("Zero", [0, 0.0], dimensions={"label": "a b ~!"})
    m.add("Edge", [2.0**360, -(2.0**-360)])
    docs = emf_lines(_flushed(m, capsys))
    assert all(validate_emf(d) == [] for d in docs)
    assert metric_values(docs, "Zero") == [0, 0.0]
    assert metric_values(docs, "Edge") == [2.0**360, -(2.0**-360)]


def _flushed(m: Metrics, capsys) -> str:
    m.flush()
    return capsys.readouterr().out


def test_a_metadata_value_changed_after_it_was_added_loses_no_metric(capsys):
    app = App("shop")

    @app.get("/orders")
    def orders(ctx) -> dict:
        details: dict = {"step": 1}
        ctx.metrics.add_metadata("details", details)
        ctx.metrics.add("OrdersListed", 3, unit="Count")
        details["handle"] = object()  # JSON has no form for it: its text is printed
        return {}

    assert TestClient(app).get("/orders").status_code == 200
    docs = emf_lines(capsys.readouterr().out)
    assert metric_values(docs, "OrdersListed") == [3]
    assert docs[0]["details"]["step"] == 1 and "object" in docs[0]["details"]["handle"]


def test_documents_too_long_for_one_log_event_are_split_without_losing_a_value(capsys):
    # 100 metrics of 255-character names with 100 values each, under 30 dimensions of 1024
    # characters, is within every EMF limit but one line of ~330 KB, which CloudWatch cuts
    m = Metrics("Shop", "svc", default_dimensions={f"d{i}": f"{i % 10}" * 1024 for i in range(1, 30)})
    names = [f"{i:03d}" + "m" * 252 for i in range(100)]
    for name in names:
        m.add(name, [v + 0.123456789 for v in range(100)])
    m.add_metadata("note", "n" * 300_000)  # metadata alone over the limit: the metrics go without it
    out = _flushed(m, capsys)
    assert all(len(line.encode()) + 1 <= 256 * 1024 for line in out.splitlines())
    docs = emf_lines(out)
    assert all(validate_emf(d) == [] for d in docs)
    for name in names:
        assert metric_values(docs, name) == [v + 0.123456789 for v in range(100)]
    assert all(d["d29"] == "9" * 1024 for d in docs)


@pytest.mark.parametrize(
    "options,message",
    [
        ({"namespace": "AWS/Lambda"}, "not allowed"),
        ({"namespace": "caf\u00e9"}, "printable ASCII"),
        ({"default_dimensions": {"env": "prod\n"}}, "control characters"),
        ({"default_dimensions": {f"d{i}": "v" for i in range(31)}}, "at most 30"),
    ],
)
def test_bad_metrics_settings_fail_at_init_not_in_every_request(options, message):
    # before: accepted here, then every request that recorded a metric answered 500
    from lift.middleware.metrics import RequestMetrics

    with pytest.raises(MetricsError, match=message):
        RequestMetrics(route_metrics=True, **options)


def test_a_bad_namespace_in_the_environment_fails_at_init(monkeypatch):
    from lift.middleware.metrics import RequestMetrics

    monkeypatch.setenv("LIFT_METRICS_NAMESPACE", "AWS/Lambda")
    with pytest.raises(MetricsError, match="not allowed"):
        RequestMetrics()


@pytest.mark.parametrize("name", ["caf\u00e9-api", "orders\tv2", "AWS/orders", "x" * 300])
def test_an_app_name_cloudwatch_refuses_still_gets_its_metrics(capsys, name):
    from lift.middleware.metrics import RequestMetrics

    app = App(name)
    app.use(RequestMetrics(route_metrics=True))

    @app.get("/orders")
    def orders(ctx) -> dict:
        ctx.metrics.add("OrdersListed", 1, unit="Count")
        return {}

    assert TestClient(app).get("/orders").status_code == 200
    docs = emf_lines(capsys.readouterr().out)
    assert all(validate_emf(d) == [] for d in docs)
    assert metric_values(docs, "OrdersListed") == [1] and metric_values(docs, "Requests") == [1]
    service = docs[0]["service"]
    assert service.isascii() and service.isprintable() and len(service) <= 255
    assert not docs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"].startswith("AWS/")


def test_route_metrics_of_a_route_or_method_cloudwatch_refuses_are_written_not_a_500(capsys):
    """Before, `RequestMetrics(route_metrics=True)` turned every request to a route `/café/{id}`
    (or one over 1024 characters), and any request whose method a client spelled outside ASCII,
    into a 500 (the `route`/`method` dimension was refused), and the request's metrics were lost."""
    from lift.middleware.metrics import RequestMetrics
    from lift.testing import events, lambda_context

    app = App("shop")
    app.use(RequestMetrics(route_metrics=True))
    long_path = "/" + "a" * 1100

    @app.get("/café/{item}")
    def item(ctx, item: str) -> dict:
        return {"item": item}

    @app.get(long_path)
    def long(ctx) -> dict:
        return {}

    client = TestClient(app)
    assert client.get("/café/1").status_code == 200
    assert client.get(long_path).status_code == 200
    event = events.function_url("GET", "/nowhere")
    event["requestContext"]["http"]["method"] = "GÉT\x01"
    assert app.handler(event, lambda_context())["statusCode"] in (404, 405)
    docs = emf_lines(capsys.readouterr().out)
    for doc in docs:
        validate_emf(doc)
    assert metric_values(docs, "Requests", route="/caf_/{item}", method="GET") == [1]
    assert metric_values(docs, "Requests", route=long_path[:1024], method="GET") == [1]
    assert metric_values(docs, "ServerErrors", route="unmatched", method="G_T_") == [0]
