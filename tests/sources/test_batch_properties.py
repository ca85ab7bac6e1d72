"""Property tests: hostile batches built from real AWS records keep the partial-batch contract.

Each example takes records of the event corpus (../shared/corpus/events, read in place; the module
skips without it) for one batch source (SQS standard and FIFO, Kinesis, DynamoDB streams, Kafka),
gives each an id and a payload that is good (also with extra keys, non-ASCII text or a 300 KB
value) or bad (not JSON, failing the model, nested past the parser's limit, base64 with characters
outside its alphabet (a lenient decoder would drop them and run the record), missing,
of the wrong type, or one the handler raises on), sometimes reuses an earlier record's id or slips
in a record of another service, and sends the batch through `app.handler` to one handler shape
(sync, async, behind the app's or the handler's middleware, body only, `concurrency=2`); behind
middleware, some good records are refused by it (a 409 Response). Held for every example:

- nothing escapes `app.handler`; the answer is exactly `{"batchItemFailures": [{"itemIdentifier":
  ...}]}` (text ids; Kafka's `{"topic-partition": "<topic>-<n>", "offset": n}`);
- the reported ids are exactly the bad records' and, for an ordered source, the records after a
  failure in its lane (FIFO message group, Kinesis shard, the DynamoDB stream, Kafka partition);
  a record of another service has no id there: it is reported as "" (Lambda retries the batch);
- every record not reported ran exactly once, none ran twice, and no bad record reached the handler
  but the ones it raised on;
- `ctx.record` shows the record's own fields (SQS receive count and group, Kinesis partition key,
  DynamoDB keys as plain values, Kafka partition/offset/key).

Firehose transformations get the same records: every record is answered once, in order, by its
recordId, `Ok` with the handler's result or `ProcessingFailed` with its data unchanged (base64 text).
And S3 object keys: any key, URL-encoded as S3 writes it, reaches the handler decoded ('+' a
space), direct and through SNS, SQS and SNS -> SQS.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lift import App, Context, Response
from lift.sources import source_of
from lift.testing import lambda_context

CORPUS = Path("/work/shared/corpus/events")
pytestmark = pytest.mark.skipif(not (CORPUS / "SOURCES.md").is_file(), reason="no event corpus here")

SOURCES = ("sqs", "sqs-fifo", "kinesis", "dynamodb", "kafka")
ARNS = {
    "sqs": "arn:aws:sqs:us-east-1:123456789012:orders",
    "sqs-fifo": "arn:aws:sqs:us-east-1:123456789012:orders.fifo",
    "kinesis": "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
    "dynamodb": "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000",
}


def _corpus() -> dict[str, list[Any]]:
    """Every corpus sample, by the source Lift assigns it (read once)."""
    found: dict[str, list[Any]] = {}
    for path in sorted(CORPUS.rglob("*.json")) if CORPUS.is_dir() else ():
        event = json.loads(path.read_text(encoding="utf-8-sig"))
        found.setdefault(source_of(event), []).append(event)
    return found


SAMPLES = _corpus()
RECORDS: dict[str, list[dict[str, Any]]] = {  # the raw records of the batch sources ("sqs": FIFO ones too)
    source: [raw for event in SAMPLES.get(source, []) for raw in event["Records"] if type(raw) is dict]
    for source in ("sqs", "kinesis", "dynamodb", "sns")
}
RECORDS["kafka"] = [raw for event in SAMPLES.get("kafka", []) for raws in event["records"].values() for raw in raws]
KAFKA_EVENTS = [{key: value for key, value in event.items() if key != "records"} for event in SAMPLES.get("kafka", [])]
HUGE = "x" * 300_000
DEEP = "[" * 100_000 + "]" * 100_000  # past msgspec's nesting limit on every supported Python
GOOD = ("good", "extra keys", "non-ASCII", "huge")
BAD = ("not JSON", "fails the model", "too deep", "not base64", "missing", "wrong type", "raises")
REFUSED = "refused"  # a good payload the middleware answers with a 409 (a handler without middleware runs it)


class Order(msgspec.Struct):
    id: int
    seq: int  # the record's index in the batch: which record a call ran
    name: str = ""


# -- building a batch -------------------------------------------------------------------------------------
def _document(kind: str, seq: int, name: str) -> Any:
    if kind == "fails the model":
        return {"id": "not a number", "seq": seq}
    if kind == "raises":
        return {"id": -1, "seq": seq}
    document: dict[str, Any] = {"id": seq + 1, "seq": seq, "name": name}
    if kind == "extra keys":
        document |= {"unknown": [1, {"x": None}], "id2": "ü"}
    elif kind == "non-ASCII":
        document["name"] = name + "é漢🙂\u0000"
    elif kind == "huge":
        document["name"] = HUGE
    return document


def _text(kind: str, seq: int, name: str) -> str:
    """The payload's text: JSON of the document, or what the bad kind makes of it."""
    if kind == "not JSON":
        return '{"id": 1, "seq": ' + str(seq)  # cut short
    if kind == "too deep":
        return DEEP
    return json.dumps(_document(kind, seq, name), ensure_ascii=False)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _corrupt_b64(text: str) -> str:
    """Base64 of `text` with two characters outside its alphabet: a lenient decoder drops them and
    hands on the payload as if nothing were wrong."""
    encoded = _b64(text)
    return encoded[:4] + "!*" + encoded[4:]


def _dynamodb_image(kind: str, seq: int, name: str) -> Any:
    if kind in ("not JSON", "too deep"):
        return {"id": {"X": "1"}, "seq": {"N": str(seq)}}  # not DynamoDB JSON
    if kind == "not base64":  # a binary attribute the model does not even read
        return _dynamodb_image("good", seq, name) | {"blob": {"B": _corrupt_b64("bytes")}}
    if kind == "wrong type":
        return "an image as text"
    document = _document(kind, seq, name)
    image: dict[str, Any] = {
        "id": {"N": str(document["id"])} if type(document["id"]) is int else {"S": document["id"]},
        "seq": {"N": str(seq)},
    }
    if "name" in document:
        image["name"] = {"S": document["name"]}
    if kind == "extra keys":
        image["tags"] = {"SS": ["a", "b"]}
        image["nested"] = {"M": {"n": {"N": "1.5"}, "b": {"B": _b64("bytes")}, "l": {"L": [{"NULL": True}]}}}
    return image


def make_record(source: str, template: dict[str, Any], seq: int, ident: str, kind: str, name: str,
                lane: str) -> dict[str, Any]:  # fmt: skip
    """A copy of a real record of `source` carrying id `ident`, in `lane`, with a payload of `kind`."""
    raw = copy.deepcopy(template)
    if source.startswith("sqs"):
        raw["messageId"], raw["eventSourceARN"] = ident, ARNS[source]
        attributes = raw["attributes"] = dict(raw.get("attributes") or {})
        attributes["ApproximateReceiveCount"] = str(seq % 3 + 1)
        attributes.pop("MessageGroupId", None)
        if source == "sqs-fifo":
            attributes["MessageGroupId"] = lane
        if kind == "missing":
            raw.pop("body", None)
        else:
            raw["body"] = [seq] if kind == "wrong type" else _text(kind, seq, name)
            if kind == "not base64":  # (an SQS body is text, never base64): a body cut short instead
                raw["body"] = _text("not JSON", seq, name)
    elif source == "kinesis":
        record = raw["kinesis"]
        record["sequenceNumber"], record["partitionKey"] = ident, f"pk-{name}"
        raw["eventID"], raw["eventSourceARN"] = f"{lane}:{ident}", ARNS[source]
        if kind == "missing":
            del record["data"]
        elif kind == "wrong type":
            record["data"] = {"data": 1}
        elif kind == "not base64":
            record["data"] = _corrupt_b64(_text("good", seq, name))
        else:
            record["data"] = _b64(_text(kind, seq, name))
    elif source == "dynamodb":
        stream = raw["dynamodb"]
        stream["SequenceNumber"], raw["eventName"], raw["eventSourceARN"] = ident, "MODIFY", ARNS[source]
        stream["Keys"] = {"id": {"N": str(seq + 1)}, "sk": {"S": name}}
        stream.pop("OldImage", None)
        if kind == "missing":
            stream.pop("NewImage", None)
            stream.pop("Keys")  # nothing to build the body from: the model's fields are missing
        else:
            stream["NewImage"] = _dynamodb_image(kind, seq, name)
    else:  # kafka: `ident` is the offset; `lane` the partition
        raw.update(topic="orders", partition=int(lane), offset=int(ident), key=_b64(f"key-{name}"))
        if kind == "missing":
            raw.pop("value", None)
        elif kind == "wrong type":
            raw["value"] = 12
        elif kind == "not base64":
            raw["value"] = _corrupt_b64(_text("good", seq, name))
        else:
            raw["value"] = _b64(_text(kind, seq, name))
    return raw


class Case(msgspec.Struct):
    source: str
    event: dict[str, Any]
    raws: list[dict[str, Any]]  # in the order Lambda would run them (Kafka: partition by partition)
    ids: list[Any]  # what each record is reported as ("" for a foreign one)
    lanes: list[Any]  # each record's ordering lane (None: a standard queue, no lane)
    kinds: list[str]


@st.composite
def batches(draw: st.DrawFn, source: str) -> Case:
    size = draw(st.integers(1, 8))
    lanes_pool = {"sqs-fifo": ["g1", "g2", "g3"], "kinesis": ["shardId-000000000001", "shardId-000000000002"],
                  "kafka": ["0", "1"]}.get(source, [None])  # fmt: skip
    templates = RECORDS["kafka" if source == "kafka" else source.removesuffix("-fifo")]
    drawn = [draw(st.sampled_from(lanes_pool)) for _ in range(size)]
    if source == "kafka":  # Lambda groups a Kafka batch by partition: the records run partition by partition
        drawn.sort()
    raws, ids, lanes, kinds = [], [], [], []
    for seq, lane in enumerate(drawn):
        kind = draw(st.sampled_from((*GOOD, *BAD, REFUSED, "foreign") if seq else (*GOOD, *BAD, REFUSED)))
        if kind == "foreign" and source != "kafka":  # another service's record in the list: it names no id here
            others = [s for s in ("sqs", "kinesis", "dynamodb", "sns") if s != source.removesuffix("-fifo")]
            foreign = draw(st.sampled_from(others))
            raws.append(copy.deepcopy(draw(st.sampled_from(RECORDS[foreign]))))
            ids.append("")
            lanes.append(("foreign", seq))
            kinds.append(kind)
            continue
        kind = "good" if kind == "foreign" else kind
        if source == "kafka":
            ident = str(100 + seq)
        elif seq and draw(st.booleans()) and draw(st.booleans()):  # a duplicated id, now and then
            ident = str(draw(st.sampled_from([i for i in ids if i != ""] or ["m-0"])))
        else:
            ident = f"{seq:020d}" if source in ("kinesis", "dynamodb") else f"m-{seq}"
        name = draw(st.text(max_size=12))
        payload = "good" if kind == REFUSED else kind
        raws.append(make_record(source, draw(st.sampled_from(templates)), seq, ident, payload, name, lane))
        if source == "kafka":
            ids.append({"topic-partition": f"orders-{lane}", "offset": int(ident)})
        else:
            ids.append(ident)
        lanes.append(ARNS["dynamodb"] if source == "dynamodb" else lane)
        kinds.append(kind)
    if source == "kafka":
        event = copy.deepcopy(draw(st.sampled_from(KAFKA_EVENTS)))
        event["records"] = {}
        for raw in raws:
            event["records"].setdefault(f"orders-{raw['partition']}", []).append(raw)
    else:
        event = {"Records": raws}
    return Case(source, event, raws, ids, lanes, kinds)


def expected(case: Case) -> tuple[list[Any], list[int]]:
    """(the ids the answer must report, the indexes of the records that must run once)."""
    reported, run = [], []
    blocked: set[Any] = set()
    for i, (kind, lane) in enumerate(zip(case.kinds, case.lanes, strict=True)):
        if lane is not None and lane in blocked:
            reported.append(case.ids[i])
        elif kind in GOOD:
            run.append(i)
        else:
            reported.append(case.ids[i])
            if lane is not None:
                blocked.add(lane)
    return reported, run


# -- the apps: one handler shape each, recording the calls ------------------------------------------------
class Calls:
    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.wrong: list[str] = []  # ctx.record fields that differ from the record


def _check_record(calls: Calls, source: str, ctx: Context, body: Order, case_raws: list[dict[str, Any]]) -> None:
    record, raw = ctx.record, case_raws[body.seq]
    if record.raw is not raw:
        calls.wrong.append(f"record {body.seq}: ctx.record is another record's")
        return
    if source.startswith("sqs"):
        got = (record.message_id, record.receive_count, record.group_id)
        want = (raw["messageId"], body.seq % 3 + 1, raw["attributes"].get("MessageGroupId"))
    elif source == "kinesis":
        got = (record.partition_key, record.sequence_number, record.shard_id)
        want = (raw["kinesis"]["partitionKey"], raw["kinesis"]["sequenceNumber"], raw["eventID"].split(":")[0])
    elif source == "dynamodb":
        got = (record.keys, record.sequence_number, record.new_image["seq"])
        want = ({"id": Decimal(body.seq + 1), "sk": raw["dynamodb"]["Keys"]["sk"]["S"]},
                raw["dynamodb"]["SequenceNumber"], Decimal(body.seq))  # fmt: skip
    else:
        got = (record.partition, record.offset, record.key)
        want = (raw["partition"], raw["offset"], base64.b64decode(raw["key"]))
    if got != want:
        calls.wrong.append(f"record {body.seq}: ctx.record gave {got!r}, the event {want!r}")


SHAPES = ("sync", "async", "middleware", "async middleware", "body only", "concurrency")
CURRENT: dict[str, Any] = {}  # the running example's records (the handlers check ctx.record against them)


def _register(app: App, source: str, handler: Any, **options: Any) -> None:
    if source.startswith("sqs"):
        app.sqs("orders*", **options)(handler)
    else:
        register = {"kinesis": app.kinesis, "dynamodb": app.dynamodb_stream, "kafka": app.kafka}[source]
        register("orders", **options)(handler)


def make_app(source: str, shape: str) -> tuple[App, Calls]:
    app, calls = App(name=f"{source}-{shape}"), Calls()

    def ran(ctx: Context | None, body: Order) -> None:
        calls.seqs.append(body.seq)
        if ctx is not None:
            _check_record(calls, source, ctx, body, CURRENT["raws"])
        if body.id < 0:
            raise RuntimeError(f"order {body.seq} refused by the handler")

    def refuse(ctx: Context, call_next: Any) -> Any:
        if id(ctx.record.raw) in CURRENT["refused"]:
            return Response({"error": "refused"}, status=409)
        return call_next(ctx)

    options: dict[str, Any] = {}
    if shape == "middleware":  # the app's own middleware
        app.use(refuse)
    elif shape == "async middleware":  # the handler's
        options["middleware"] = [refuse]
    if shape == "body only":

        def handler(body: Order) -> None:
            ran(None, body)

    elif shape.startswith("async") or shape == "concurrency":

        async def handler(ctx: Context, body: Order) -> None:  # type: ignore[misc]
            await asyncio.sleep(0)
            ran(ctx, body)

        if shape == "concurrency":
            options["concurrency"] = 2
    else:

        def handler(ctx: Context, body: Order) -> None:  # type: ignore[misc]
            ran(ctx, body)

    _register(app, source, handler, **options)
    return app, calls


APPS: dict[tuple[str, str], tuple[App, Calls]] = {}


def app_for(source: str, shape: str) -> tuple[App, Calls]:
    if (source, shape) not in APPS:
        APPS[source, shape] = make_app(source, shape)
    return APPS[source, shape]


def shapes_for(source: str) -> list[str]:
    return [s for s in SHAPES if s != "concurrency" or source.startswith("sqs")]


# -- the properties ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", SOURCES)
def test_hostile_batches_of_real_records_report_exactly_the_bad_records(source: str) -> None:
    @settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=batches(source), shape=st.sampled_from(shapes_for(source)))
    def check(case: Case, shape: str) -> None:
        app, calls = app_for(source, shape)
        calls.seqs.clear()
        calls.wrong.clear()
        if "middleware" not in shape:  # no middleware to refuse them: good records
            case = msgspec.structs.replace(case, kinds=["good" if k == REFUSED else k for k in case.kinds])
        CURRENT["raws"] = case.raws
        CURRENT["refused"] = {id(raw) for raw, kind in zip(case.raws, case.kinds, strict=True) if kind == REFUSED}
        out = app.handler(case.event, lambda_context())  # nothing may escape for a per-record problem

        assert type(out) is dict and list(out) == ["batchItemFailures"], out
        failures = out["batchItemFailures"]
        assert all(type(f) is dict and list(f) == ["itemIdentifier"] for f in failures), failures
        reported = [f["itemIdentifier"] for f in failures]
        if source == "kafka":
            assert all(set(i) == {"topic-partition", "offset"} and type(i["offset"]) is int for i in reported), reported
        else:
            assert all(type(i) is str for i in reported), reported
        must_report, must_run = expected(case)
        # each id once (real samples repeat a sequence number: the answer names it once)
        assert sorted(map(repr, reported)) == sorted(set(map(repr, must_report))), (case.kinds, case.lanes)
        assert sorted(calls.seqs) == sorted(must_run + _raised_on(case)), (case.kinds, case.lanes, calls.seqs)
        assert calls.wrong == []

    check()


def _raised_on(case: Case) -> list[int]:
    """The bad records the handler runs (and raises on): the "raises" ones no earlier failure blocked."""
    ran, blocked = [], set()
    for i, (kind, lane) in enumerate(zip(case.kinds, case.lanes, strict=True)):
        if lane is not None and lane in blocked:
            continue
        if kind == "raises":
            ran.append(i)
        if kind not in GOOD and lane is not None:
            blocked.add(lane)
    return ran


def test_an_empty_batch_is_refused_with_a_clear_error_naming_it() -> None:
    import logging

    from lift.errors import UnmatchedEvent

    lines: list[logging.LogRecord] = []
    collect = logging.Handler()
    collect.emit = lines.append  # type: ignore[method-assign]
    logging.getLogger("lift").addHandler(collect)
    try:
        context = lambda_context()
        with pytest.raises(UnmatchedEvent, match="an empty Records list"):
            app_for("sqs", "sync")[0].handler({"Records": []}, context)
    finally:
        logging.getLogger("lift").removeHandler(collect)
    assert [(r.levelname, context.aws_request_id in r.getMessage()) for r in lines] == [("ERROR", True)]


# -- S3 object keys ---------------------------------------------------------------------------------------
S3_RECORDS = [
    raw
    for event in SAMPLES.get("s3", [])
    for raw in event["Records"]
    if type(raw.get("s3")) is dict and str(raw.get("eventName", "")).removeprefix("s3:").startswith("ObjectCreated")
]
SNS_RECORDS = RECORDS["sns"]
SQS_RECORDS = RECORDS["sqs"]


def _s3_app(seen: list[str]) -> App:
    app = App(name="keys")
    app.s3("*", prefix="in/")(lambda ctx: seen.append(ctx.record.key))
    return app


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.text(min_size=1, max_size=40),
    safe=st.sampled_from(["", "/", "/:=()!*'~,"]),
    route=st.sampled_from(["direct", "sns", "sqs", "sns-sqs"]),
    data=st.data(),
)
def test_any_s3_key_reaches_the_handler_url_decoded(key: str, safe: str, route: str, data: Any) -> None:
    key = "in/" + key
    record = copy.deepcopy(data.draw(st.sampled_from(S3_RECORDS)))
    record["s3"]["object"]["key"] = quote_plus(key, safe=safe)  # as S3 writes it: URL-encoded, a space as '+'
    notification: Any = {"Records": [record]}
    if route in ("sns", "sns-sqs"):
        sns = copy.deepcopy(data.draw(st.sampled_from(SNS_RECORDS)))
        sns["Sns"].update(Message=json.dumps(notification), Type="Notification")
        notification = {"Records": [sns]}
        if route == "sns-sqs":  # SNS -> SQS without raw delivery: the notification document is the body
            notification = sns["Sns"]
    if route in ("sqs", "sns-sqs"):
        message = copy.deepcopy(data.draw(st.sampled_from(SQS_RECORDS)))
        message.update(body=json.dumps(notification), messageId="m-1", eventSourceARN=ARNS["sqs"])
        notification = {"Records": [message]}
    seen: list[str] = []
    out = _s3_app(seen).handler(notification, lambda_context())
    assert seen == [key]
    if route in ("sqs", "sns-sqs"):
        assert out == {"batchItemFailures": []}


# -- Firehose: every record answered, in order, a bad one ProcessingFailed alone ---------------------------
FIREHOSE = SAMPLES.get("firehose", [])


def _firehose_app(shape: str) -> tuple[App, Calls]:
    if ("firehose", shape) in APPS:
        return APPS["firehose", shape]
    app, calls = App(name=f"firehose-{shape}"), Calls()
    options: dict[str, Any] = {"middleware": [lambda ctx, call_next: call_next(ctx)]} if "middleware" in shape else {}

    def transform(body: Order) -> dict[str, int]:
        calls.seqs.append(body.seq)
        if body.id < 0:
            raise RuntimeError(f"record {body.seq} refused by the handler")
        return {"seq": body.seq}

    if shape.startswith("async"):

        async def handler(body: Order) -> dict[str, int]:
            await asyncio.sleep(0)
            return transform(body)

        app.firehose("*", **options)(handler)
    else:
        app.firehose("*", **options)(transform)
    APPS["firehose", shape] = app, calls
    return app, calls


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    kinds=st.lists(st.sampled_from(GOOD + BAD), min_size=1, max_size=8),
    shape=st.sampled_from(["sync", "async", "middleware", "async middleware"]),
    data=st.data(),
)
def test_hostile_firehose_records_are_answered_in_order_and_fail_alone(kinds: list[str], shape: str, data: Any) -> None:
    event = copy.deepcopy(data.draw(st.sampled_from(FIREHOSE)))
    templates = [raw for e in FIREHOSE for raw in e["records"]]
    records = []
    for seq, kind in enumerate(kinds):
        raw = copy.deepcopy(data.draw(st.sampled_from(templates)))
        raw["recordId"] = f"r-{seq}"
        name = data.draw(st.text(max_size=12))
        if kind == "missing":  # (an MSK-fed stream's record carries its payload as kafkaRecordValue)
            raw.pop("data", None)
            raw.pop("kafkaRecordValue", None)
        elif kind == "wrong type":
            raw["data"] = {"data": seq}
        elif kind == "not base64":
            raw["data"] = _corrupt_b64(_text("good", seq, name))
        else:
            raw["data"] = _b64(_text(kind, seq, name))
        records.append(raw)
    event["records"] = records
    app, calls = _firehose_app(shape)
    calls.seqs.clear()
    out = app.handler(event, lambda_context())

    assert list(out) == ["records"] and [a["recordId"] for a in out["records"]] == [r["recordId"] for r in records]
    for seq, (kind, raw, answer) in enumerate(zip(kinds, records, out["records"], strict=True)):
        assert type(answer["data"]) is str, answer  # Firehose reads base64 text only
        if kind in GOOD:
            assert answer["result"] == "Ok" and json.loads(base64.b64decode(answer["data"])) == {"seq": seq}
        else:  # sent to the error output unchanged
            assert answer["result"] == "ProcessingFailed", (kind, answer)
            assert answer["data"] == (raw.get("data") if type(raw.get("data")) is str else "")
    assert sorted(calls.seqs) == [i for i, kind in enumerate(kinds) if kind in GOOD or kind == "raises"]
