"""SQS: the message record, envelopes (SNS, EventBridge, S3 notifications in a body), running a batch,
the partial-batch response."""

from __future__ import annotations

from _thread import get_ident
from typing import Any

from lift import serialization
from lift.batch import (
    SHARING_THREAD,
    MadeResult,
    UnchangedResult,
    id_of,
    is_refusal,
    log_record_failure,
    log_refusal,
    process_batch,
    skip_record,
)
from lift.context import Context, RecordContext, Response
from lift.errors import BadRequest, LiftError, find_lift_error, lift_logger
from lift.sources import LazyModule, eventbridge, sns
from lift.sources.record import (
    Record,
    arn_of,
    base64_field,
    decode_json_or_text,
    malformed_record,
    name_from_arn,
    not_utf8,
)

s3 = LazyModule("lift.sources.s3", globals())
event_shape = LazyModule("lift.sources.event_shape", globals())

__all__ = [
    "ENVELOPES",
    "S3Relay",
    "SQSContext",
    "SQSEnvelopeContext",
    "SQSRecord",
    "dispatcher",
    "encode_batch_response",
    "group_of",
    "plan_for",
    "rejects_envelopes",
    "unwrap",
]

ENVELOPES = ("auto", "sns", "eventbridge", None)


class SQSRecord(Record):
    """One SQS message. When its body carries an SNS notification or an EventBridge event,
    `inner` is that unwrapped record (an `SNSRecord` or `EventBridgeEvent`) and the typed body
    comes from it."""

    inner: Record | None = None

    kind = "sqs"

    @property
    def record_id(self) -> str:
        return self.raw["messageId"]

    @property
    def message_id(self) -> str:
        return self.raw["messageId"]

    @property
    def body(self) -> str:
        body = self.raw.get("body")
        if body.__class__ is str:
            return body
        raise malformed_record("body", "a string", body)  # AWS always sends one: this message fails alone

    @property
    def text(self) -> str:
        return self.body

    @property
    def receipt_handle(self) -> str | None:
        return self.raw.get("receiptHandle")

    @property
    def attributes(self) -> dict[str, str]:
        attributes = self.raw.get("attributes")
        if attributes.__class__ is dict:
            return attributes
        if attributes is None:
            return {}
        raise malformed_record("attributes", "an object", attributes)

    @property
    def message_attributes(self) -> dict[str, Any]:
        """As AWS sends them: `{name: {"stringValue": ..., "dataType": ...}}`."""
        return self.raw.get("messageAttributes") or {}

    def attribute(self, name: str, default: Any = None) -> Any:
        """One message attribute's value (bytes for `Binary`)."""
        attr = self.message_attributes.get(name)
        if attr is None:
            return default
        if (attr.get("dataType") or "").startswith("Binary") and attr.get("binaryValue") is not None:
            return base64_field(attr["binaryValue"], f"messageAttributes.{name}.binaryValue")
        return attr.get("stringValue")

    @property
    def receive_count(self) -> int:
        return int(self.attributes.get("ApproximateReceiveCount", 1))

    @property
    def group_id(self) -> str | None:
        """The FIFO message group (None on standard queues)."""
        return self.attributes.get("MessageGroupId")

    @property
    def deduplication_id(self) -> str | None:
        return self.attributes.get("MessageDeduplicationId")

    @property
    def sent_timestamp(self) -> int | None:
        value = self.attributes.get("SentTimestamp")
        return int(value) if value else None

    @property
    def queue_arn(self) -> str:
        return self.raw.get("eventSourceARN") or ""

    @property
    def queue(self) -> str:
        return name_from_arn(self.queue_arn)

    @property
    def region(self) -> str | None:
        return self.raw.get("awsRegion")

    def json_text(self) -> str | bytes | None:
        inner = self.inner
        if inner is None:
            return self.body
        return inner.json_text()

    def payload(self) -> Any:
        inner = self.inner
        if inner is not None:
            return inner.payload()
        body = self.body
        value = decode_json_or_text(body)
        if value is body and not body.isascii():  # not JSON: text as is, if UTF-8 can carry it
            try:
                body.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate (never sent by SQS): the message fails alone
                raise not_utf8() from None
        return value


class SQSContext(RecordContext):
    """The context of a plain message: its `SQSRecord` is made when `ctx.record` is first read."""

    record_type = SQSRecord


class SQSEnvelopeContext(SQSContext):
    """The context of a message whose body may carry an SNS notification or EventBridge event
    (`envelope="auto"`): its `SQSRecord` is made, and the envelope unwrapped into `record.inner`,
    when `ctx.record` is first read, so a message nobody reads the record of is never scanned.

    The dispatcher makes one only for a handler whose typed body (if any) no envelope can decode
    into (`rejects_envelopes`): body getters decode its raw body first, and read the unwrapped
    record only when that fails."""

    @property
    def record(self) -> Any:
        record = self._record
        if record is None:
            record = self._record = _record(self.raw, "auto")  # type: ignore[arg-type]
        return record

    @record.setter
    def record(self, value: Any) -> None:
        self._record = value


def unwrap(record: SQSRecord, envelope: str | None) -> None:
    """Set `record.inner` when its body is an SNS notification or EventBridge event.

    `auto` tests the body with substring checks first, so plain messages pay ~nothing; a hit is
    confirmed on the parsed document before the envelope is used.
    """
    body = record.raw.get("body")
    if body.__class__ is not str:  # no envelope in it: its body getter reports what it is
        return
    if envelope == "auto":
        if '"TopicArn"' in body:
            envelope = "sns"
        elif '"detail-type"' in body:
            envelope = "eventbridge"
        else:
            return
    elif envelope is None:
        return
    try:
        doc = serialization.decode_json(body)
    except Exception:
        return
    if envelope == "sns" and sns.is_notification(doc):
        record.inner = sns.SNSRecord.from_notification(doc)
    elif envelope == "eventbridge" and eventbridge.is_event(doc):
        record.inner = eventbridge.EventBridgeEvent(doc)


def group_of(record: SQSRecord) -> str | None:
    """The ordering lane of a FIFO message: its message group."""
    return record.group_id


def _record(raw: dict[str, Any], envelope: str | None) -> SQSRecord:
    record = SQSRecord(raw)
    if envelope is not None:
        unwrap(record, envelope)
    return record


_FAILED: Any = object()  # a message whose handler raised (the dispatcher's loop)


def dispatcher(app: Any) -> Any:
    """The SQS dispatcher of `app`: `dispatch(event, context, source) -> {"batchItemFailures": ...}`.

    One handler call per message. A plain message for a `(body: Model)` or `(ctx, body: Model)`
    handler without middleware takes the short way: its body decoded straight into the model
    and the handler called from this loop. Envelopes, invalid bodies (reported in full by the
    body getter) and every other signature go through the handler's chain. FIFO queues keep
    each message group in order: after a failure, the group's later messages are failed
    without being run.

    EventBridge Pipes hands a Lambda target its SQS source's messages as a list (the event itself,
    without `Records`) and takes the same `batchItemFailures` back, each message named by its
    `messageId`: such a list runs here as a batch (to `@app.invoke` when there is no `@app.sqs`
    handler, as before).

    A batch comes from one queue: an event source mapping reads one queue, so Lambda never
    mixes them. Every message's ARN is compared with the first one's (about 340 instructions a
    message); a batch of several queues (hand-assembled, or a message slipped in) is grouped by
    queue, each group run with its own handler; the messages of a queue no handler claims fail,
    the others run; a batch no handler claims is an error raised before any message runs. Then
    every message runs with its queue's plan, made once per queue ARN.
    """
    plans = app._batch_plans.setdefault("sqs", {})

    def dispatch_sqs(event: dict[str, Any], context: Any, source: str) -> dict[str, Any]:
        try:
            raws = event["Records"]
        except TypeError:  # a list of messages: an EventBridge Pipes batch, answered alike (pipe_batch)
            if not app._handlers_by_source["sqs"] and app._handlers_by_source["invoke"]:
                return app._dispatch_invoke(event, context, "invoke")
            raws = event
        arn = raws[0].get("eventSourceARN") or ""
        try:  # one queue, as Lambda sends: every message's ARN is the first one's
            plan = plans.get(arn)
            one_queue = plan is not None
            if one_queue:  # (a loop of subscripts: the cheapest per message, cheaper than C's map/count)
                for raw in raws:
                    if raw["eventSourceARN"] != arn:
                        one_queue = False
                        break
        except (TypeError, AttributeError, KeyError):  # a message without an ARN, or not an object (never sent)
            one_queue = False
        failed: list[str] = []
        if one_queue:
            batches: Any = ((plan, raws),)
        else:  # the messages of a queue nobody handles, in a batch mixing queues, fail; the others run
            unrouted: list[Any] = []
            batches = _planned_batches(app, plans, raws, context, unrouted)
            failed += [id_of(SQSRecord(raw)) for raw in unrouted]
        cold = app._cold
        if cold:
            app._cold = False
        for (by_record, fn, with_ctx, decode, scan, fifo, handler), raws in batches:
            if by_record:  # concurrency or a fixed envelope: every message as a record
                records = []
                unrun: list[str] = []  # the messages that could not be made records, or held behind them
                held: set[Any] | None = None  # FIFO: the groups of the messages that could not be made records
                for raw in raws:
                    try:
                        if fifo:
                            lane = _fifo_group(raw)
                            if held is not None and lane in held:
                                _skip(raw, held, lane, context)
                                unrun.append(_failed_id(raw))
                                continue
                        records.append(_record(raw, handler.envelope))
                    except Exception as exc:
                        unrun.append(_malformed(app, raw, event, context, exc))
                        if fifo:
                            held = _block(held, _group_or_none(raw))
                ran_failed = process_batch(
                    app, handler, records, event, context, "sqs", group_of if fifo else None, handler.concurrency
                )
                failed += _in_batch_order(raws, unrun + ran_failed) if unrun and ran_failed else unrun + ran_failed
                continue
            blocked: set[Any] | None = None
            group = None
            ctx: Context
            # the outermost middleware and the chain inside it, called from this loop (one frame fewer),
            # on the thread whose records share one result (lift.batch.UnchangedResult)
            if handler.outer is not None and get_ident() == SHARING_THREAD:
                outer_mw, inner_chain = handler.outer
            else:
                outer_mw, inner_chain = None, handler.chain
            context_type = SQSContext if handler.envelope is None or scan else SQSEnvelopeContext
            for raw in raws:
                # Whatever a message holds (a body nested too deeply, a field of the wrong type), it
                # fails alone: the handler's failures are caught below, the rest by the outer except.
                try:
                    if fifo:
                        group = raw["attributes"].get("MessageGroupId")
                        if group.__class__ is not str:  # unreadable: it fails, and every message after it
                            raise malformed_record("attributes.MessageGroupId", "a string", group)
                        if blocked is not None and group in blocked:
                            _skip(raw, blocked, group, context)
                            failed.append(_failed_id(raw))
                            continue
                    if decode is not None:
                        try:
                            body = raw["body"]
                            if scan and 'ype"' in body and ('"TopicArn"' in body or '"detail-type"' in body):
                                raise _MaybeEnvelope  # "Type" (SNS) or "detail-type" (EventBridge): unwrap first
                            value = decode(body)
                        except Exception:
                            pass  # the full way below unwraps, or reports every problem
                        else:
                            try:
                                if with_ctx:
                                    ctx = SQSContext(app, event, context, "sqs", None, cold, raw=raw)
                                    cold = False
                                    result = fn(ctx, value)
                                else:
                                    result = fn(value)
                                if result is None or not is_refusal(result):
                                    continue
                                _report(app, ctx if with_ctx else None, raw, event, context, result)
                            except Exception as exc:
                                _report(app, ctx if with_ctx else None, raw, event, context, exc)
                            failed.append(_failed_id(raw))
                            if fifo:
                                blocked = _block(blocked, group)
                            continue
                    if (
                        scan
                        and (body := raw.get("body")).__class__ is str
                        and ('ype"' in body)
                        and ('"TopicArn"' in body or '"detail-type"' in body)
                    ):  # its record made and unwrapped now: the chain whose body getter reads it
                        ctx = Context(app, event, context, "sqs", None, cold, None, _record(raw, handler.envelope))
                        run_mw, run_chain = None, handler.chain
                    else:  # its record (and envelope) made only if someone reads it
                        ctx = context_type(app, event, context, "sqs", None, cold, None, None, raw)
                        run_mw, run_chain = outer_mw, inner_chain
                    cold = False
                    # run_context(handler.chain, ctx), inlined; the outermost middleware called here
                    try:
                        result = run_mw(ctx, run_chain) if run_mw is not None else run_chain(ctx)
                    except Exception as exc:
                        log_record_failure(ctx, ctx.record, exc)
                        result = _FAILED
                    if result is None or result.__class__ is UnchangedResult or result.__class__ is MadeResult:
                        continue
                    if result is _FAILED or is_refusal(result):
                        if result is not _FAILED:
                            log_refusal(ctx, ctx.record, result.status)
                        failed.append(_failed_id(raw))
                        if fifo:
                            blocked = _block(blocked, group)
                except Exception as exc:
                    failed.append(_malformed(app, raw, event, context, exc))
                    if fifo:
                        blocked = _block(blocked, _group_or_none(raw))
        if not failed:
            return {"batchItemFailures": []}
        return encode_batch_response(failed)

    return dispatch_sqs


class S3Relay:
    """The handler of a queue S3 sends its event notifications to (directly, or through an SNS
    topic or EventBridge) when no `@app.sqs` handler matches that queue: each message's S3
    records run through the app's `@app.s3` handlers (middleware sees `ctx.source == "s3"`), and
    the message fails, to be redelivered, when one of them fails or matches no handler."""

    concurrency = None
    envelope = "auto"
    body_shortcut = None
    outer = None

    def __init__(self, app: Any) -> None:
        self.app = app

    def chain(self, ctx: Context) -> None:
        app, record = self.app, ctx.record
        inner = record.inner
        if isinstance(inner, eventbridge.EventBridgeEvent):  # S3 -> EventBridge -> SQS: one object
            obj = s3.from_eventbridge(inner.raw)
            if obj is None:
                raise app._unmatched_event(
                    "sqs",
                    f"queue {record.queue!r} ({record.queue_arn}): an EventBridge event that is no S3 object event",
                    ctx.lambda_context,
                    log=False,
                )
            self._run(ctx, obj)
            return
        text = inner.message if isinstance(inner, sns.SNSRecord) else record.body
        raws = s3.records_in_message(text)
        if raws is None:
            if s3.is_test_event(text):  # S3 sends one when a notification is configured: nothing to do
                lift_logger().info("sqs message %s is S3's test event: acknowledged", record.message_id)
                return
            raise app._unmatched_event(
                "sqs",
                f"queue {record.queue!r} ({record.queue_arn}): a message that is no S3 notification",
                ctx.lambda_context,
                log=False,
            )
        for raw in raws:
            self._run(ctx, s3.S3Object(raw))

    def _run(self, ctx: Context, obj: Any) -> None:
        app = self.app
        handler = app._s3_handler_for(obj)
        if handler is None:
            raise app._unmatched_event(
                "s3", f"{obj.event_name} s3://{obj.bucket}/{obj.key}", ctx.lambda_context, log=False
            )
        result = handler.chain(Context(app, ctx.event, ctx.lambda_context, "s3", None, False, None, obj))
        if is_refusal(result):
            raise LiftError(result.status, "refused", f"s3 record refused by middleware with status {result.status}")


class _MaybeEnvelope(Exception):
    pass


Plan = tuple[bool, Any, bool, Any, bool, bool, Any]


def plan_for(handler: Any, fifo: bool) -> Plan:
    """How to run `handler`'s messages: (every message as a record through `process_batch`; the
    handler function and whether it takes ctx, with the body decoder, for the short way (None:
    always the chain); scan bodies for envelopes before running them; fifo; the handler).

    Through the chain, bodies are scanned only when the handler's typed body is decoded from
    the raw message and its model could decode an envelope; otherwise (`envelope="auto"`) each
    message gets an `SQSEnvelopeContext`, which unwraps when its record is read."""
    envelope = handler.envelope
    by_record = bool(handler.concurrency) or envelope == "sns" or envelope == "eventbridge"
    shortcut = None if by_record else handler.body_shortcut
    if shortcut is None:
        getters = getattr(getattr(handler, "binder", None), "getters", ())
        models = [getter.model for getter in getters if hasattr(getter, "model")]  # typed bodies
        scan = not by_record and envelope == "auto" and any(not rejects_envelopes(model) for model in models)
        return (by_record, None, False, None, scan, fifo, handler)
    with_ctx, decode, model = shortcut
    scan = envelope == "auto" and not rejects_envelopes(model)
    return (False, handler.fn, with_ctx, decode, scan, fifo, handler)


# The top-level keys of the documents SNS (notifications, subscription confirmations) and
# EventBridge write into an SQS body.
_SNS_KEYS = frozenset(
    {
        "Type",
        "MessageId",
        "Token",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "SigningCertUrl",
        "SubscribeURL",
        "UnsubscribeURL",
        "UnsubscribeUrl",
        "MessageAttributes",
        "SequenceNumber",
    }
)
_EVENTBRIDGE_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail", "replay-name"}
)


def rejects_envelopes(model: Any) -> bool:
    """True when no SNS notification or EventBridge event can decode into `model`: a model
    that is not a JSON object, or an object with a required field neither envelope has. Then a
    body that decoded is proven plain, and plain bodies skip the envelope scan."""
    import msgspec.inspect as mi

    try:
        info = mi.type_info(model)
    except Exception:
        return False
    if isinstance(info, mi.StructType | mi.DataclassType | mi.TypedDictType):
        if getattr(info, "array_like", False):
            return True
        required = {field.encode_name for field in info.fields if field.required}
        return bool(required - _SNS_KEYS) and bool(required - _EVENTBRIDGE_KEYS)
    return isinstance(
        info,
        mi.ListType
        | mi.TupleType
        | mi.VarTupleType
        | mi.SetType
        | mi.FrozenSetType
        | mi.NamedTupleType
        | mi.StrType
        | mi.IntType
        | mi.FloatType
        | mi.BoolType,
    )


def _planned_batches(
    app: Any, plans: dict[str, Plan], raws: list[dict[str, Any]], context: Any, unrouted: list[Any]
) -> list[tuple[Plan, list[dict[str, Any]]]]:
    """The messages grouped by queue, each group with its plan (cached for the queue's ARN); the
    messages of a queue nobody handles (in a batch mixing queues) added to `unrouted`."""
    batches = []
    for handler, group in app._batches("sqs", raws, context, lambda group: _s3_relay(app, group), unrouted):
        arn = arn_of(group[0])
        plan = plan_for(handler, arn.endswith(".fifo"))
        if handler.__class__ is not S3Relay:  # decided again for every batch a queue nobody claims sends
            plans[arn] = plan
        batches.append((plan, group))
    return batches


def _s3_relay(app: Any, raws: list[dict[str, Any]]) -> S3Relay | None:
    """An S3Relay for messages of a queue no `@app.sqs` handler claims, when the app has `@app.s3`
    handlers and a message of the batch looks like an S3 notification (also inside an SNS envelope).
    The queue's other messages fail alone (S3Relay.chain): one stray message never fails the S3
    notifications it was delivered with."""
    if not app._handlers_by_source["s3"]:
        return None
    for raw in raws:
        body = raw.get("body") if raw.__class__ is dict else None
        # "aws:s3" as a value (not inside an ARN), also JSON-escaped inside an SNS message; "aws.s3" for
        # EventBridge; S3's test event
        if body.__class__ is str and (
            '"aws:s3\\"' in body or '"aws:s3"' in body or '"aws.s3"' in body or "s3:TestEvent" in body
        ):
            return S3Relay(app)
    return None


def _report(
    app: Any, ctx: Context | None, raw: dict[str, Any], event: Any, context: Any, outcome: Exception | Response
) -> None:
    """Log why a message failed (the exception its handler raised, or the error Response it
    returned), with its message id."""
    if ctx is None:
        ctx = SQSContext(app, event, context, "sqs", raw=raw)
    if isinstance(outcome, Exception):
        log_record_failure(ctx, ctx.record, outcome)
    else:
        log_refusal(ctx, ctx.record, outcome.status)


def _malformed(app: Any, raw: Any, event: Any, context: Any, exc: Exception) -> str:
    """Log a message that could not even be run (a field of the wrong type in a hand-made or
    corrupted event); its id, for `batchItemFailures`."""
    message_id = raw.get("messageId") if raw.__class__ is dict else None
    if find_lift_error(exc) is None and (found := event_shape.problems(raw, "sqs")):
        exc = BadRequest("Malformed SQS message", code="malformed_record", details=found)
    ctx = Context(app, event, context, "sqs")
    log_record_failure(ctx, None, exc, message_id)
    return message_id if message_id.__class__ is str else ""  # "": Lambda retries the whole batch


def _in_batch_order(raws: list[Any], failed_ids: list[str]) -> list[str]:
    """`failed_ids` in the order of their messages in the batch (a FIFO group's failures in its order)."""
    position: dict[str, int] = {}
    for index, raw in enumerate(raws):
        position.setdefault(_failed_id(raw) if raw.__class__ is dict else "", index)
    return sorted(failed_ids, key=lambda message_id: position.get(message_id, len(raws)))


def _failed_id(raw: dict[str, Any]) -> str:
    """The id a failed message is reported with ("" when it has none: Lambda then retries the batch),
    read without raising, so a message without an id is logged once, where it failed."""
    message_id = raw.get("messageId")
    return message_id if message_id.__class__ is str else ""


def _fifo_group(raw: Any) -> str:
    """A FIFO message's group; a malformed-record error when it cannot be read."""
    group = raw["attributes"].get("MessageGroupId")
    if group.__class__ is not str:
        raise malformed_record("attributes.MessageGroupId", "a string", group)
    return group


def _group_or_none(raw: Any) -> str | None:
    """The group of a FIFO message that failed unrun, None when it cannot be read."""
    try:
        return _fifo_group(raw)
    except Exception:
        return None


class _EveryGroup:
    """The groups held back once a FIFO message whose group cannot be read has failed: all of them (its
    group, whichever it is, must not run ahead of it), as AWS asks of FIFO batches: stop at the failure."""

    def __contains__(self, group: Any) -> bool:
        return True

    def add(self, group: Any) -> None:
        pass


_EVERY_GROUP: Any = _EveryGroup()


def _block(blocked: set[Any] | None, group: str | None) -> set[Any]:
    """`blocked` with the group of a failed message added; every group when its group is unknown (None)."""
    if group is None:
        return _EVERY_GROUP
    blocked = blocked if blocked is not None else set()
    blocked.add(group)
    return blocked


def _skip(raw: dict[str, Any], blocked: Any, group: str, context: Any) -> None:
    """Log a FIFO message failed unrun behind an earlier failure of its group (or of an unreadable one)."""
    lane = "the batch (a message group could not be read)" if blocked is _EVERY_GROUP else f"message group {group!r}"
    skip_record("sqs", SQSRecord(raw), lane, context)


def encode_batch_response(failed_ids: list[str]) -> dict[str, Any]:
    """The partial-batch response Lambda expects (needs `ReportBatchItemFailures` on the mapping)."""
    if not failed_ids:
        return {"batchItemFailures": []}
    if len(failed_ids) > 1:  # each id once: a batch can hold one message twice (at-least-once delivery)
        failed_ids = list(dict.fromkeys(failed_ids))
    # an id that is not text (never sent by AWS: a hand-made or corrupted record) is "", as a missing
    # one: Lambda retries the batch rather than reject an answer naming no record it knows
    return {"batchItemFailures": [{"itemIdentifier": i if i.__class__ is str else ""} for i in failed_ids]}
