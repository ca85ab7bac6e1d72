"""Cold starts by Lambda's initialization type (`AWS_LAMBDA_INITIALIZATION_TYPE`). Before, every
environment's first request was a cold start with the process's age as its init duration: with
provisioned concurrency (initialised ahead of traffic, maybe hours before) that reported a cold
start no client saw and an InitDuration of the environment's whole idle time, and a SnapStart
restore reported the age of the process that made the snapshot."""

from __future__ import annotations

import pytest

from lift import App
from lift.middleware.logging import RequestLogging
from lift.middleware.metrics import RequestMetrics
from lift.testing import TestClient
from observability.emf_spec import emf_lines, log_lines, metric_values


def first_request(capsys) -> tuple[dict, list[dict]]:
    app = App("svc")
    app.use(RequestLogging(), RequestMetrics())
    app.get("/x")(lambda ctx: {})
    TestClient(app).get("/x")
    out = capsys.readouterr().out
    access = next(x for x in log_lines(out) if x["logger"] == "lift.access")
    return access, emf_lines(out)


def test_provisioned_concurrency_has_no_cold_start(capsys, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    access, docs = first_request(capsys)
    assert access["cold_start"] is False and "init_duration_ms" not in access
    assert metric_values(docs, "ColdStart") == [] and metric_values(docs, "InitDuration") == []


def test_a_snapstart_restore_is_a_cold_start_without_the_snapshots_age(capsys, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    access, docs = first_request(capsys)
    assert access["cold_start"] is True and "init_duration_ms" not in access
    assert metric_values(docs, "ColdStart") == [1] and metric_values(docs, "InitDuration") == []


@pytest.mark.parametrize("init_type", ["on-demand", None])
def test_on_demand_keeps_cold_start_and_init_duration(capsys, monkeypatch, init_type):
    if init_type is None:
        monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    else:
        monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", init_type)
    access, docs = first_request(capsys)
    assert access["cold_start"] is True and access["init_duration_ms"] >= 0
    assert metric_values(docs, "ColdStart") == [1] and len(metric_values(docs, "InitDuration")) == 1
