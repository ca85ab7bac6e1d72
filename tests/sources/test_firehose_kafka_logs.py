"""Firehose transformation, Kafka (MSK and self-managed) and CloudWatch Logs subscriptions."""

from __future__ import annotations

import base64
import json
import logging

import msgspec
import pytest

from lift import App, Context
from lift.sources import source_of
from lift.sources.firehose import Dropped, FirehoseResult
from lift.testing import events, lambda_context


class Click(msgspec.Struct):
    page: str


def _data(answer: dict, field: str = "data") -> bytes:
    return base64.b64decode(answer[field])


@pytest.mark.parametrize("msk", [False, True], ids=["direct", "msk"])
def test_firehose_answers_every_record_in_order(msk: bool) -> None:
    """From an Amazon MSK topic, Firehose puts each record's payload in `kafkaRecordValue` and refuses an answer
    without it (Amazon Data Firehose guide, *Required parameters for data transformation*): Lift handed the
    handler an empty payload and answered `data`, so every record of an MSK-fed delivery stream failed."""
    app = App()
    field = "kafkaRecordValue" if msk else "data"

    @app.firehose("clicks")
    def transform(ctx: Context, body: Click):
        if body.page == "drop":
            return Dropped
        if body.page == "bad":
            raise ValueError("cannot transform")
        if body.page == "same":
            return None
        if body.page == "part":
            return FirehoseResult({"page": body.page}, partition_keys={"page": body.page})
        return f"{body.page.upper()}\n"

    records = [{"page": "home"}, {"page": "drop"}, {"page": "bad"}, {"page": "same"}, {"page": "part"}, "not json"]
    event = events.firehose("clicks", records, msk=msk)
    assert source_of(event) == "firehose"
    out = app.handler(event, lambda_context())
    ids = [r["recordId"] for r in event["records"]]
    originals = [r[field] for r in event["records"]]
    assert [(a["recordId"], a["result"]) for a in out["records"]] == list(
        zip(ids, ["Ok", "Dropped", "ProcessingFailed", "Ok", "Ok", "ProcessingFailed"], strict=True)
    )
    assert [set(a) - {"metadata"} for a in out["records"]] == [{"recordId", "result", field}] * len(records)
    assert _data(out["records"][0], field) == b"HOME\n"
    assert [out["records"][i][field] for i in (1, 2, 3, 5)] == [originals[i] for i in (1, 2, 3, 5)]
    assert json.loads(_data(out["records"][4], field)) == {"page": "part"}
    assert out["records"][4]["metadata"] == {"partitionKeys": {"page": "part"}}
    assert set(out) == {"records"}


def test_kafka_records_with_partial_failures_per_partition() -> None:
    app = App()
    seen: list = []

    @app.kafka(topic="orders")
    def order(ctx: Context, body: dict) -> None:
        record = ctx.record
        seen.append((record.offset, record.key_text, record.headers, body))
        if body.get("fail"):
            raise ValueError("boom")

    event = events.kafka("orders", [{"n": 1}, {"fail": True}, {"n": 3}], headers={"trace": "abc"})
    assert source_of(event) == "kafka"
    out = app.handler(event, lambda_context())
    assert out == {
        "batchItemFailures": [
            {"itemIdentifier": {"topic-partition": "orders-0", "offset": 16}},
            {"itemIdentifier": {"topic-partition": "orders-0", "offset": 17}},
        ]
    }
    assert seen == [(15, "key-1", {"trace": b"abc"}, {"n": 1}), (16, "key-1", {"trace": b"abc"}, {"fail": True})]
    assert app.handler(events.kafka("orders", [{"n": 4}], self_managed=True), lambda_context()) == {
        "batchItemFailures": []
    }


def test_a_kafka_failure_holds_back_only_its_own_partition_and_loses_nothing() -> None:
    """Kafka mappings take a partial batch response (`ReportBatchItemFailures`, which `lift deploy` turns on
    with provisioned pollers): a failed record and the later records of its partition are reported (those
    run on the retry, in order, once each), and every other partition's records run and are done."""
    app = App()
    ran: list = []

    @app.kafka(topic="orders")
    def order(ctx: Context, body: dict) -> None:
        ran.append((ctx.record.partition, ctx.record.offset))
        if body.get("fail"):
            raise ValueError("refused")

    event = events.kafka("orders", [{"n": 1}, {"fail": True}, {"n": 3}, {"n": 4}], partition=0)
    event["records"].update(events.kafka("orders", [{"n": 5}, {"n": 6}], partition=1)["records"])
    out = app.handler(event, lambda_context())
    assert ran == [(0, 15), (0, 16), (1, 15), (1, 16)]  # partition 0 stops at its failure; partition 1 runs on
    assert out == {
        "batchItemFailures": [
            {"itemIdentifier": {"topic-partition": "orders-0", "offset": offset}} for offset in (16, 17, 18)
        ]
    }


def _kafka_app(ran: list) -> App:
    app = App()

    @app.kafka(topic="orders")
    def order(ctx: Context, body: dict) -> None:
        ran.append((ctx.record.partition, ctx.record.offset))

    return app


def test_a_kafka_record_that_is_not_an_object_fails_alone_and_holds_back_its_partition(caplog) -> None:
    """It used to fail the whole invocation after the others ran (and the records after it in its
    partition ran anyway): now it is named by the offset after its predecessor's, the rest of its
    partition is reported unrun, the other partitions are done, and one WARNING names it."""
    caplog.set_level(logging.INFO, logger="lift")
    ran: list = []
    app = _kafka_app(ran)
    event = events.kafka("orders", [{"n": 1}, {"n": 2}, {"n": 3}], partition=0)
    event["records"].update(events.kafka("orders", [{"n": 4}], partition=1)["records"])
    event["records"]["orders-0"][1] = "not a record"  # offset 16's place
    context = lambda_context()
    out = app.handler(event, context)
    assert out == {
        "batchItemFailures": [{"itemIdentifier": {"topic-partition": "orders-0", "offset": o}} for o in (16, 17)]
    }
    assert ran == [(0, 15), (1, 15)]
    (line,) = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert line.levelno == logging.WARNING
    assert "orders-0@16" in line.getMessage() and context.aws_request_id in line.getMessage()


def test_kafka_headers_arrive_as_javas_signed_bytes_and_repeat_and_null_as_kafka_allows() -> None:
    """Lambda writes a header value as Java's signed bytes ("é" is [-61, -87]): reading `headers` raised
    ValueError (bytes must be in range(0, 256)), so every record carrying a non-ASCII header failed, and its
    partition with it, on every retry. A null value read as b"None"; a repeated name kept only its last."""
    got: list = []
    app = App()

    @app.kafka("orders")
    def order(ctx: Context, body: dict) -> None:
        got.append((ctx.record.headers, ctx.record.header_list))

    event = events.kafka("orders", [{"n": 1}], headers={"customer": "Zoë Müller", "trace": "t-1"})
    assert event["records"]["orders-0"][0]["headers"][0]["customer"][2:4] == [-61, -85]  # the builder, as AWS
    event["records"]["orders-0"][0]["headers"] += [{"trace": [116, 45, 50]}, {"empty": None}]
    assert app.handler(event, lambda_context()) == {"batchItemFailures": []}
    headers = {"customer": "Zoë Müller".encode(), "trace": b"t-2", "empty": None}
    pairs = [("customer", "Zoë Müller".encode()), ("trace", b"t-1"), ("trace", b"t-2"), ("empty", None)]
    assert got == [(headers, pairs)]


def test_a_kafka_header_that_is_no_byte_list_fails_its_record_alone_with_a_warning(caplog) -> None:
    app = App()
    app.kafka("orders")(lambda ctx, body: ctx.record.headers)
    event = events.kafka("orders", [{"n": 1}, {"n": 2}], partition=0)
    event["records"].update(events.kafka("orders", [{"n": 3}], partition=1)["records"])
    event["records"]["orders-0"][1]["headers"] = [{"h": [104, 300]}]
    out = app.handler(event, lambda_context())
    assert out == {"batchItemFailures": [{"itemIdentifier": {"topic-partition": "orders-0", "offset": 16}}]}
    (line,) = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert line.levelno == logging.WARNING and "headers['h']" in line.getMessage()


class Order(msgspec.Struct):
    order_id: str


def test_a_kafka_tombstone_reaches_the_handler_as_none(caplog) -> None:
    """A record without a value (null, or absent: a deletion on a compacted topic) was handed on as b"", so
    `body: Order | None` failed it as invalid JSON, on every retry: its partition never moved again."""
    got: list = []

    def typed(ctx: Context, body: Order | None) -> None:
        got.append(("typed", ctx.record.key_text, ctx.record.is_tombstone, body))

    def untyped(body) -> None:  # type: ignore[no-untyped-def]
        got.append(("untyped", body))

    def as_str(body: str) -> None:
        got.append(("str", body))

    def as_bytes(body: bytes) -> None:
        got.append(("bytes", body))

    event = events.kafka("orders", [{"order_id": "a1"}, {"order_id": "gone"}, {"order_id": "b2"}])
    records = event["records"]["orders-0"]
    records[1]["value"] = None
    del records[2]["value"]
    for fn in (typed, untyped, as_str, as_bytes):
        app = App()
        app.kafka("orders")(fn)
        assert app.handler(json.loads(json.dumps(event)), lambda_context()) == {"batchItemFailures": []}
    assert got == [
        ("typed", "key-1", False, Order("a1")), ("typed", "key-1", True, None), ("typed", "key-1", True, None),
        ("untyped", {"order_id": "a1"}), ("untyped", None), ("untyped", None),
        ("str", '{"order_id": "a1"}'), ("str", ""), ("str", ""),
        ("bytes", b'{"order_id": "a1"}'), ("bytes", b""), ("bytes", b""),
    ]  # fmt: skip

    def strict(body: Order) -> None:  # a model that takes no None: the tombstone fails alone, saying why
        got.append(body)

    app = App()
    app.kafka("orders")(strict)
    out = app.handler(json.loads(json.dumps(event)), lambda_context())
    offsets = [f["itemIdentifier"]["offset"] for f in out["batchItemFailures"]]
    assert offsets == [16, 17]  # it, and its partition's later record, unrun (order kept)
    (line,) = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert line.levelno == logging.WARNING and "got `null`" in line.getMessage()


def test_a_kafka_partition_whose_first_record_has_no_topic_runs_with_its_topics_handler() -> None:
    ran: list = []
    app = _kafka_app(ran)
    event = events.kafka("orders", [{"n": 1}, {"n": 2}])
    del event["records"]["orders-0"][0]["topic"]  # the event's key still names the partition's topic
    assert app.handler(event, lambda_context()) == {"batchItemFailures": []}
    assert ran == [(0, 15), (0, 16)]


def test_a_kafka_partition_of_a_topic_nobody_handles_fails_alone(caplog) -> None:
    ran: list = []
    app = _kafka_app(ran)
    event = events.kafka("orders", [{"n": 1}])
    event["records"].update(events.kafka("audit", [{"n": 2}, {"n": 3}], partition=3)["records"])
    out = app.handler(event, lambda_context())
    assert out == {
        "batchItemFailures": [{"itemIdentifier": {"topic-partition": "audit-3", "offset": o}} for o in (15, 16)]
    }
    assert ran == [(0, 15)]
    assert [r.levelno for r in caplog.records if "audit" in r.getMessage()] == [logging.ERROR]


def test_a_kafka_handler_without_partial_failures_fails_the_invocation_so_the_batch_is_retried(caplog) -> None:
    """A mapping without ReportBatchItemFailures (on-demand pollers) ignores `batchItemFailures`: a failed
    record would be dropped. `partial_failures=False` makes the invocation fail, naming the record."""
    from lift.errors import RecordsFailed

    app = App()
    ran: list = []

    @app.kafka(topic="orders", partial_failures=False)
    def order(ctx: Context, body: dict) -> None:
        ran.append((ctx.record.partition, ctx.record.offset))
        if body.get("fail"):
            raise ValueError("refused")

    event = events.kafka("orders", [{"n": 1}, {"fail": True}, {"n": 3}], partition=0)
    event["records"].update(events.kafka("orders", [{"n": 4}], partition=1)["records"])
    context = lambda_context()
    with pytest.raises(RecordsFailed) as raised:
        app.handler(event, context)
    assert raised.value.record_ids == ["orders-0@16", "orders-0@17"]
    assert ran == [(0, 15), (0, 16), (1, 15)]
    (line,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "orders-0@16" in line.getMessage() and context.aws_request_id in line.getMessage()
    assert app.handler(events.kafka("orders", [{"n": 5}]), lambda_context()) == {"batchItemFailures": []}


def test_cloudwatch_logs_decoded_into_log_events() -> None:
    app = App()
    seen: list = []

    @app.cloudwatch_logs(log_group="/aws/lambda/*")
    def logs(ctx: Context, body) -> None:
        seen.append((ctx.record.log_group, ctx.record.message, body))

    event = events.cloudwatch_logs("/aws/lambda/orders", [{"level": "ERROR", "msg": "x"}, "plain text"])
    assert source_of(event) == "cloudwatch_logs"
    assert app.handler(event, lambda_context()) is None
    assert seen == [
        ("/aws/lambda/orders", '{"level": "ERROR", "msg": "x"}', {"level": "ERROR", "msg": "x"}),
        ("/aws/lambda/orders", "plain text", "plain text"),
    ]
    seen.clear()
    assert app.handler(events.cloudwatch_logs("/aws/lambda/orders", control=True), lambda_context()) is None
    assert seen == []


def test_cloudwatch_logs_failure_raises_so_lambda_retries() -> None:
    app = App()

    @app.cloudwatch_logs()
    def logs(body: str) -> None:
        raise RuntimeError("sink down")

    with pytest.raises(RuntimeError):
        app.handler(events.cloudwatch_logs(), lambda_context())


def _compressed(chunks: int, chunk: bytes, wbits: int) -> str:
    """`chunks` times `chunk`, compressed as a stream (never held whole in memory), base64."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    data = b"".join(packer.compress(chunk) for _ in range(chunks)) + packer.flush()
    return base64.b64encode(data).decode("ascii")


def test_a_cloudwatch_logs_compression_bomb_is_refused_before_it_fills_memory(caplog, monkeypatch) -> None:
    from lift.errors import BadRequest
    from lift.sources import cloudwatch_logs

    assert cloudwatch_logs.MAX_DECOMPRESSED_BYTES == 64 * 1024 * 1024  # (lowered below: a quicker bomb)
    monkeypatch.setattr(cloudwatch_logs, "MAX_DECOMPRESSED_BYTES", 4 * 1024 * 1024)
    app = App()
    ran: list = []
    app.cloudwatch_logs()(lambda body: ran.append(body))
    mb = b"\0" * (1024 * 1024)
    bomb = {"awslogs": {"data": _compressed(5, mb, 31)}}  # 5 MB in 7 KB of gzip (1 GB would be 1.4 MB)
    assert len(bomb["awslogs"]["data"]) < 10_000
    context = lambda_context()
    caplog.set_level(logging.INFO, logger="lift")
    with pytest.raises(BadRequest) as info:  # was: decompressed whole (a 1 MB payload could need 1 GB)
        app.handler(bomb, context)
    assert info.value.code == "malformed_event" and ran == []
    (line,) = [r for r in caplog.records if r.name.startswith("lift")]
    assert line.levelno == logging.WARNING and context.aws_request_id in line.getMessage()
    assert "decompresses to more than" in line.getMessage()


@pytest.mark.parametrize("wbits", [31, 15], ids=["gzip", "zlib"])
def test_a_cut_short_cloudwatch_logs_payload_is_a_malformed_event_and_both_compressions_decode(wbits: int) -> None:
    from lift.errors import BadRequest

    app = App()
    seen: list = []
    app.cloudwatch_logs()(lambda body: seen.append(body))
    delivery = events.cloudwatch_logs("/aws/lambda/orders", [{"n": 1}, {"n": 2}])
    from lift.sources.cloudwatch_logs import decode_logs

    payload = json.dumps(decode_logs(delivery)).encode()
    app.handler({"awslogs": {"data": _compressed(1, payload, wbits)}}, lambda_context())
    assert seen == [{"n": 1}, {"n": 2}]
    whole = base64.b64decode(_compressed(1, payload + b" " * 64, wbits))
    cut = {"awslogs": {"data": base64.b64encode(whole[:-12]).decode()}}  # the JSON whole, the stream not
    with pytest.raises(BadRequest, match="Malformed cloudwatch_logs event"):
        app.handler(cut, lambda_context())


def test_every_real_firehose_sample_hands_over_its_payload_and_gets_it_back_in_its_own_field() -> None:
    from tests.core.test_event_corpus import SAMPLES

    found = [(name, event) for name, event in SAMPLES if source_of(event) == "firehose"]
    if not found:
        pytest.skip("no event corpus here")
    for name, event in found:
        field = "kafkaRecordValue" if "sourceMSKArn" in event else "data"
        seen: list = []
        app = App()

        def transform(body: bytes, seen: list = seen) -> object:
            seen.append(body)
            return Dropped if len(seen) == 1 else None  # the first dropped, the others kept as they came

        app.firehose()(transform)
        out = app.handler(json.loads(json.dumps(event)), lambda_context())
        assert seen == [base64.b64decode(r[field]) for r in event["records"]], name  # (body: bytes as sent)
        results = ["Dropped"] + ["Ok"] * (len(event["records"]) - 1)
        assert out == {
            "records": [
                {"recordId": r["recordId"], "result": result, field: r[field]}
                for r, result in zip(event["records"], results, strict=True)
            ]
        }, name
