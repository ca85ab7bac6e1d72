"""Raw Lambda events through POST /_lift/events: SQS queue semantics (redrive, DLQ), samples, schedules."""

from __future__ import annotations

from dev.dev_server_process import DevServerProcess
from lift.testing.events import kafka as kafka_event
from lift.testing.events import schedule as schedule_event
from lift.testing.events import sqs as sqs_event


def _queue(dev_server: DevServerProcess, name: str) -> dict:
    return next((q for q in dev_server.get("/_lift/api/state")["queues"] if q["queue"] == name), {})


def test_sqs_failures_are_redelivered_with_a_receive_count_then_dead_lettered(dev_server: DevServerProcess) -> None:
    event = sqs_event("orders", [{"id": "good-1"}, {"id": "bad-1", "fail": True}])
    bad_id = event["Records"][1]["messageId"]
    status, out = dev_server.post_json("/_lift/events", event)
    assert status == 200
    assert out == {"result": {"batchItemFailures": [{"itemIdentifier": bad_id}]}, "error": None}

    queue = dev_server.wait_for(lambda: (q := _queue(dev_server, "orders")) and q["dlq"] and q)
    assert queue["redelivered"] == 2  # received 3 times in all (max receive count 3)
    assert queue["dlq"][0]["messageId"] == bad_id and queue["dlq"][0]["receiveCount"] == 3
    assert queue["succeeded"] >= 1
    state = dev_server.get("/_lift/api/state")
    receives = sorted(i["receive_count"] for i in state["invocations"] if i["kind"] == "sqs" and i["failed"])
    assert receives[-3:] == [1, 2, 3]
    assert any("cannot process order bad-1" in log["message"] or "bad-1" in log["message"] for log in state["logs"])


def test_dead_letters_can_be_redriven(dev_server: DevServerProcess) -> None:
    dev_server.post_json("/_lift/events", sqs_event("orders", [{"id": "bad-2", "fail": True}]))
    dev_server.wait_for(lambda: any(d["body"] and "bad-2" in d["body"] for d in _queue(dev_server, "orders")["dlq"]))
    status, out = dev_server.post_json("/_lift/queues/orders/redrive", {})
    assert status == 200 and out["redriven"] >= 1
    # the redriven message starts again at receive 1 and, failing again, returns to the DLQ
    dev_server.wait_for(lambda: any("bad-2" in (d["body"] or "") for d in _queue(dev_server, "orders")["dlq"]))


def test_non_sqs_event_returns_the_handler_result_and_errors(dev_server: DevServerProcess) -> None:
    status, out = dev_server.post_json("/_lift/events", schedule_event("tick"))
    assert status == 200 and out == {"result": None, "error": None}
    status, out = dev_server.post_json("/_lift/events", schedule_event("unknown-rule"))
    assert out["result"] is None and "UnmatchedEvent" in out["error"] and "unknown-rule" in out["error"]
    status, out = (
        dev_server.request("POST", "/_lift/events", b"{not json", {"content-type": "application/json"})[:2],
        None,
    )
    assert status[0] == 400


def test_sample_event_button_endpoint_sends_to_a_registered_source(dev_server: DevServerProcess) -> None:
    status, out = dev_server.post_json("/_lift/send", {"kind": "sqs", "name": "orders"})
    assert status == 200 and out["error"] is None
    assert out["result"] == {"batchItemFailures": []}
    assert out["event"]["Records"][0]["eventSourceARN"].endswith(":orders")


def test_declared_schedules_fire_on_their_own(dev_server: DevServerProcess) -> None:
    # LIFT_DEV_TIME_SCALE=120: rate(1 minute) fires every half second of real time
    fired = dev_server.wait_for(
        lambda: [
            i
            for i in dev_server.get("/_lift/api/state")["invocations"]
            if i["kind"] == "schedule" and i["target"] == "tick" and i["status"] == "ok"
        ][2:]
    )
    assert fired
    state = dev_server.get("/_lift/api/state")
    assert state["schedules"][0]["rule"] == "tick"
    assert state["schedules"][0]["expression"] == "rate(1 minute)"
    assert any(log["level"] == "WARNING" and "tick fired for rule tick" in log["message"] for log in state["logs"])


def test_the_cloud_map_health_schedule_is_never_reported_from_the_dev_server(dev_server: DevServerProcess) -> None:
    """The server's environment names a health schedule (tests/dev/conftest.py): locally it is an
    ordinary schedule name with no handler, so no Cloud Map call is made."""
    status, out = dev_server.post_json("/_lift/events", schedule_event("shop-dev-cloudmap-health"))
    assert status == 200 and out["result"] is None
    assert "UnmatchedEvent" in out["error"] and "shop-dev-cloudmap-health" in out["error"]
    assert "cloud map health" not in dev_server.output()


def test_a_stream_batch_with_a_failed_record_shows_as_failed(dev_server: DevServerProcess) -> None:
    """Kafka's batch (`records`, not `Records`) is judged by its batchItemFailures like any batch."""
    for body, status in (({"id": "p-1"}, "ok"), ({"id": "p-2", "fail": True}, "failed")):
        event = kafka_event("payments", [body])
        _, out = dev_server.post_json("/_lift/events", event)
        assert bool(out["result"]["batchItemFailures"]) is (status == "failed")
        mine = [i for i in dev_server.get("/_lift/api/state")["invocations"] if i["kind"] == "kafka"]
        assert mine[-1]["status"] == status


def test_an_http_event_without_method_or_path_is_answered_not_a_500(dev_server: DevServerProcess) -> None:
    """AWS's .NET sample of a WebSocket message sent through a REST proxy has "httpMethod": null and
    "path": null (sent with `lift send raw`): the app answers it, and the dashboard lists it."""
    from lift.testing.events import apigw_rest

    event = apigw_rest("POST", "/hello/x", body="{}")
    event["httpMethod"] = event["path"] = None
    event["requestContext"]["httpMethod"] = None
    status, out = dev_server.post_json("/_lift/events", event)
    assert status == 200, out
    assert out["error"] is None and isinstance(out["result"]["statusCode"], int)
    assert dev_server.get("/_lift/api/state")["invocations"][-1]["method"] == "?"
