"""Kinesis and DynamoDB streams with tumbling windows: Lambda passes the window's `state` with each batch
and takes it back in the answer (`{"state": {...}, "batchItemFailures": [...]}`); an answer without a
state is a failed invocation (AWS Lambda guide, *stateful Kinesis/DynamoDB stream processing*), so
the shard would be retried forever. Handlers update `ctx.event["state"]`."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from lift import App, Context
from lift.testing import events, lambda_context

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "events"  # (read in place)
if not CORPUS.is_dir():  # a worktree: the corpus sits next to the repositories' parent
    CORPUS = Path("/work/shared/corpus/events")


def _windowed(event: dict, state: object, final: bool = False) -> dict:
    """`event` as a tumbling window's batch: the fields Lambda adds beside `Records`."""
    first = event["Records"][0] if event["Records"] else {}
    return {
        **event,
        "window": {"start": "2026-12-05T20:00:00Z", "end": "2026-12-05T20:02:00Z"},
        "state": state,
        "shardId": "shardId-000000000006",
        "eventSourceARN": first.get("eventSourceARN", "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"),
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": False,
    }


def _counting_app() -> App:
    app = App()

    @app.kinesis("clicks")
    def click(ctx: Context, body: dict) -> None:
        if body["n"] < 0:
            raise ValueError("negative")
        state = ctx.event.get("state", {})  # (a batch without a window has none)
        state["total"] = state.get("total", 0) + body["n"]

    @app.dynamodb_stream("orders")
    def order(ctx: Context) -> None:
        ctx.event["state"]["changes"] = ctx.event["state"].get("changes", 0) + 1

    return app


def test_a_windowed_batch_answers_the_state_its_handlers_left() -> None:
    app = _counting_app()
    out = app.handler(_windowed(events.kinesis("clicks", [{"n": 2}, {"n": 3}]), {"total": 10}), lambda_context())
    assert out == {"batchItemFailures": [], "state": {"total": 15}}  # was: no state, a failed invocation
    changes = events.dynamodb_stream("orders", [{"keys": {"id": "1"}, "new_image": {"id": "1"}}] * 2)
    out = app.handler(_windowed(changes, None), lambda_context())  # the window's first batch: no state yet
    assert out == {"batchItemFailures": [], "state": {"changes": 2}}


def test_a_failed_record_of_a_windowed_batch_is_reported_beside_the_state() -> None:
    event = _windowed(events.kinesis("clicks", [{"n": 1}, {"n": -1}, {"n": 5}]), {})
    out = _counting_app().handler(event, lambda_context())
    sequence = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert out == {"batchItemFailures": [{"itemIdentifier": s} for s in sequence[1:]], "state": {"total": 1}}


def test_a_windows_invocation_without_records_gives_its_state_back() -> None:
    out = _counting_app().handler(_windowed({"Records": []}, {"total": 7}, final=True), lambda_context())
    assert out == {"batchItemFailures": [], "state": {"total": 7}}  # was: UnmatchedEvent, the shard stuck


def test_a_batch_without_a_window_answers_as_before() -> None:
    assert _counting_app().handler(events.kinesis("clicks", [{"n": 1}]), lambda_context()) == {"batchItemFailures": []}


def _samples() -> list[Path]:
    if not (CORPUS / "SOURCES.md").is_file():
        return []
    found = []
    for path in sorted(CORPUS.rglob("*.json")):
        text = path.read_text(encoding="utf-8-sig")
        if '"isFinalInvokeForWindow"' in text:
            found.append(path)
    return found


@pytest.mark.skipif(not _samples(), reason="no event corpus here")
def test_every_real_windowed_sample_gets_its_state_back() -> None:
    app = App()
    app.kinesis("*")(lambda ctx: None)
    app.dynamodb_stream("*")(lambda ctx: None)
    for path in _samples():
        event = json.loads(path.read_text(encoding="utf-8-sig"))
        out = app.handler(copy.deepcopy(event), lambda_context())
        assert out == {"batchItemFailures": [], "state": event["state"]}, path.name


def test_a_failed_record_leaves_the_window_state_as_it_found_it() -> None:
    """A record that updated the state and then failed (raised, or was refused by middleware) left its update
    in the state Lambda takes back, and Lambda runs that record again from that state: counted twice."""
    from lift.context import Response

    app = App()

    @app.use
    def refuse_vetoed(ctx: Context, call_next):  # type: ignore[no-untyped-def]
        result = call_next(ctx)
        return Response(status=409) if ctx.event["state"].get("veto") else result

    @app.kinesis("clicks")
    def click(ctx: Context, body: dict) -> None:
        state = ctx.event["state"]
        state["total"] = state.get("total", 0) + body["n"]
        state.setdefault("seen", []).append(body["n"])
        if body.get("fail"):
            raise ValueError("after the update")
        if body.get("veto"):
            state["veto"] = True

    for bad in ({"n": 5, "fail": True}, {"n": 5, "veto": True}):
        event = _windowed(events.kinesis("clicks", [{"n": 1}, {"n": 2}, bad, {"n": 3}]), {"total": 10, "seen": []})
        out = app.handler(event, lambda_context())
        sequence = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        assert out == {
            "batchItemFailures": [{"itemIdentifier": s} for s in sequence[2:]],
            "state": {"total": 13, "seen": [1, 2]},  # the failed record's +5 undone; the last one never ran
        }, bad
