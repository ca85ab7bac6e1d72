"""Event-source registration (`@app.sqs`, `@app.s3`, ...) and dispatch of records to handlers.

`EventSources` is mixed into `App`. Matchers (exact names or precompiled globs) and
middleware chains are built at registration; per record the dispatcher only wraps the raw
record, finds the handler (cached per queue/topic/stream ARN) and runs its chain.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from lift import app as _lift_app
from lift import errors as _errors  # (UnmatchedEvent: made on first use)
from lift.binding import handler_name
from lift.context import Context, Response
from lift.errors import lift_logger
from lift.sources import LazyModule
from lift.sources.triggers import Triggers

if TYPE_CHECKING:  # (annotations only: typing's aliases cost import time)
    Middleware = Callable[[Context, Callable[[Context], Response]], Response]
    _F = TypeVar("_F", bound=Callable[..., Any])  # a decorated function keeps its own type

    from lift.sources.dynamodb import DynamoDBRecord
    from lift.sources.handlers import EventHandler, Getter
    from lift.sources.kinesis import KinesisRecord
    from lift.sources.record import Record
    from lift.sources.s3 import S3Object

__all__ = ["EVENT_SOURCES", "EventHandler", "EventSources"]


def __getattr__(name: str) -> Any:
    """`EventHandler`, still importable from here, from the module that now holds it."""
    if name == "EventHandler":
        return _handlers.EventHandler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Source modules load on first use: an HTTP-only app never imports them, nor the handler and
# batch machinery below (about 2.9M instructions of its cold start).
_batch = LazyModule("lift.batch", globals(), "_batch")
_handlers = LazyModule("lift.sources.handlers", globals(), "_handlers")
_record = LazyModule("lift.sources.record", globals(), "_record")
dynamodb = LazyModule("lift.sources.dynamodb", globals())
eventbridge = LazyModule("lift.sources.eventbridge", globals())
invoke = LazyModule("lift.sources.invoke", globals())
kinesis = LazyModule("lift.sources.kinesis", globals())
s3 = LazyModule("lift.sources.s3", globals())
sns = LazyModule("lift.sources.sns", globals())
sqs = LazyModule("lift.sources.sqs", globals())
websocket = LazyModule("lift.sources.websocket", globals())
EVENT_SOURCES = ("sqs", "sns", "s3", "eventbridge", "schedule", "dynamodb", "kinesis", "websocket", "invoke")


def _kinesis_shard(record: KinesisRecord) -> str:
    return record.shard_id


def _dynamodb_shard(record: DynamoDBRecord) -> str:
    return record.table_arn  # a stream batch comes from one shard: the whole batch is one lane


# -- the mixin ------------------------------------------------------------------------------
class EventSources(Triggers):
    """Registration decorators and dispatchers for every non-HTTP Lambda trigger."""

    event_handlers: list[EventHandler]
    # the deployment's Cloud Map health schedule (lift.cloud_map_health.SCHEDULE_ENV); False: not read yet
    _cloud_map_health_schedule: str | bool | None = False

    def _init_event_sources(self) -> None:
        self.event_handlers = []
        self._handlers_by_source: dict[str, list[EventHandler]] = {s: [] for s in EVENT_SOURCES}
        self._match_cache: dict[tuple[str, Any], EventHandler | None] = {}
        self._arn_cache: dict[str, dict[str, EventHandler | None]] = {s: {} for s in EVENT_SOURCES}
        # per source, queue/stream ARN -> the plan a source module made for running its handler
        self._batch_plans: dict[str, dict[str, Any]] = {}
        self._websocket_client: Any = None
        self._websocket_client_assigned = False
        for source, dispatch in (
            ("sqs", self._dispatch_sqs),
            ("sns", self._dispatch_sns),
            ("s3", self._dispatch_s3),
            ("eventbridge", self._dispatch_eventbridge),
            ("schedule", self._dispatch_schedule),
            ("dynamodb", self._dispatch_dynamodb),
            ("kinesis", self._dispatch_kinesis),
            ("websocket", self._dispatch_websocket),
            ("invoke", self._dispatch_invoke),
        ):
            self.register_source(source, dispatch)  # type: ignore[attr-defined]
        self._init_triggers()  # authorizers, Cognito, Firehose, Kafka, ... (lift.sources.triggers)

    def _compose_event_handlers(self) -> None:
        for handler in getattr(self, "event_handlers", ()):
            handler.compose()
        for plans in getattr(self, "_batch_plans", {}).values():
            plans.clear()

    # -- registration ---------------------------------------------------------------------
    def add_event_handler(
        self,
        source: str,
        fn: Callable[..., Any],
        name: str | None,
        match: Callable[[Any], bool],
        middleware: Iterable[Middleware] = (),
        handler_class: type[EventHandler] | None = None,
        body_source: Callable[[Any, bool, Any], Getter] | None = None,
        **options: Any,
    ) -> EventHandler:
        """Register `fn` for records of `source` that `match`; first registered match wins
        (`handler_class`: an `EventHandler` by default; `body_source`: `record_body`)."""
        handler_class = handler_class or _handlers.EventHandler
        handler = handler_class(
            self, source, fn, name, match, middleware, options, body_source or _handlers.record_body
        )
        if handler.concurrency is not None:
            if handler.concurrency < 1:
                raise ValueError(f"concurrency must be >= 1, not {handler.concurrency}")
            if not handler.binder.is_async:
                raise TypeError(f"concurrency= needs an async handler: make {handler_name(fn)} `async def`")
        for existing in self._handlers_by_source[source]:  # a handler Lift put in place gives way
            if existing.name == name and getattr(existing.fn, "lift_placeholder", False):
                self._handlers_by_source[source].remove(existing)
                self.event_handlers.remove(existing)
                break
        self._handlers_by_source[source].append(handler)
        self.event_handlers.append(handler)
        self._match_cache.clear()
        for cache in (*self._arn_cache.values(), *self._batch_plans.values()):
            cache.clear()
        return handler

    def _decorator(
        self,
        source: str,
        name: str | None,
        match: Callable[[Any], bool],
        middleware: Iterable[Middleware],
        **options: Any,
    ) -> Callable[[_F], _F]:
        def register(fn: _F) -> _F:
            handler_class = _handlers.WebSocketHandler if source == "websocket" else _handlers.EventHandler
            self.add_event_handler(source, fn, name, match, middleware, handler_class, **options)
            return fn

        return register

    def sqs(
        self,
        queue: str,
        *,
        envelope: str | None = "auto",
        concurrency: int | None = None,
        middleware: Iterable[Middleware] = (),
    ) -> Callable[[_F], _F]:
        """Handle messages of `queue` (exact name or glob), one call per record.

        Failed records are reported in `batchItemFailures` (the mapping needs
        `ReportBatchItemFailures`). `envelope`: "auto" unwraps SNS notifications and
        EventBridge events found in a body, "sns"/"eventbridge" expect one, None never unwraps.
        `concurrency=N` runs an async handler on N records (FIFO: N message groups) at a time.
        """
        if envelope not in sqs.ENVELOPES:
            raise ValueError(f"envelope must be one of {sqs.ENVELOPES}, not {envelope!r}")
        return self._decorator(
            "sqs",
            queue,
            _record.pattern_matcher(queue, "queue"),
            middleware,
            envelope=envelope,
            concurrency=concurrency,
        )

    def sns(self, topic: str, *, middleware: Iterable[Middleware] = ()) -> Callable[[_F], _F]:
        """Handle notifications of `topic` (name or glob); a failure raises so Lambda retries."""
        return self._decorator("sns", topic, _record.pattern_matcher(topic, "topic"), middleware)

    def s3(
        self,
        bucket: str,
        events: Iterable[str] | None = None,
        prefix: str = "",
        suffix: str = "",
        *,
        middleware: Iterable[Middleware] = (),
    ) -> Callable[[_F], _F]:
        """Handle object events of `bucket` filtered by event-name globs (`ObjectCreated:*`) and key
        prefix/suffix; direct notifications, via SNS, or via EventBridge (`aws.s3`)."""
        events = list(events) if events is not None else None
        return self._decorator(
            "s3",
            bucket,
            _handlers.s3_matcher(bucket, events, prefix, suffix),
            middleware,
            events=events,
            prefix=prefix,
            suffix=suffix,
        )

    def eventbridge(
        self, source: str | None = None, detail_type: str | None = None, *, middleware: Iterable[Middleware] = ()
    ) -> Callable[[_F], _F]:
        """Handle EventBridge events by `source` and `detail_type` (exact or glob; None = any)."""
        name = f"{source or '*'}/{detail_type or '*'}"
        return self._decorator(
            "eventbridge",
            name,
            _handlers.eventbridge_matcher(source, detail_type),
            middleware,
            event_source=source,
            detail_type=detail_type,
        )

    def schedule(
        self, rule: str, cron: str | None = None, rate: str | None = None, *, middleware: Iterable[Middleware] = ()
    ) -> Callable[[_F], _F]:
        """Handle the scheduled events of EventBridge rule (or Scheduler schedule) `rule`.

        `cron`/`rate` (`"0 3 * * ? *"`, `"5 minutes"`) are kept for the dev server and deployment.
        """
        if cron is not None and rate is not None:
            raise ValueError("schedule: give cron= or rate=, not both")
        expression = _handlers.schedule_expression("cron", cron) or _handlers.schedule_expression("rate", rate)
        return self._decorator(
            "schedule",
            rule,
            _record.pattern_matcher(rule, "schedule"),
            middleware,
            expression=expression,
            cron=cron,
            rate=rate,
        )

    def dynamodb_stream(self, table: str, *, middleware: Iterable[Middleware] = ()) -> Callable[[_F], _F]:
        """Handle the stream records of `table`; a failure checkpoints: later records are retried."""
        return self._decorator("dynamodb", table, _record.pattern_matcher(table), middleware)

    def kinesis(self, stream: str, *, middleware: Iterable[Middleware] = ()) -> Callable[[_F], _F]:
        """Handle the records of Kinesis `stream`; a failure checkpoints its shard."""
        return self._decorator("kinesis", stream, _record.pattern_matcher(stream, "stream"), middleware)

    def websocket(self, route_key: str, *, middleware: Iterable[Middleware] = ()) -> Callable[[_F], _F]:
        """Handle a WebSocket route: `$connect`, `$disconnect`, `$default` or a custom route key.

        Raise `Unauthorized`/`Forbidden` in `$connect` to refuse the connection with that status.
        """
        if route_key.__class__ is not str:
            raise _errors.needs_arguments(
                route_key, "@app.websocket takes a route key", '@app.websocket("$connect") above it'
            )
        return self._decorator("websocket", route_key, route_key.__eq__, middleware)

    def invoke(self, fn: Callable[..., Any] | None = None, *, middleware: Iterable[Middleware] = ()) -> Any:
        """Handle direct invocations (any payload no other source claims); `body` is the event."""

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            if self._handlers_by_source["invoke"]:
                raise ValueError(
                    f"an @app.invoke handler is already registered: "
                    f"{handler_name(self._handlers_by_source['invoke'][0].fn)}"
                )
            self.add_event_handler("invoke", func, None, _always, middleware, body_source=_handlers.invoke_body)
            return func

        return register(fn) if fn is not None else register

    @property
    def schedules(self) -> dict[str, str]:
        """Rule name -> `cron(...)`/`rate(...)` for every schedule registered with one."""
        return {
            h.name: h.options["expression"]
            for h in self._handlers_by_source["schedule"]
            if h.options.get("expression") and h.name
        }

    # -- WebSocket Management API -------------------------------------------------------
    @property
    def websocket_client(self) -> Any:
        """A `lift.websocket.WebSocketClient` for `LIFT_WEBSOCKET_ENDPOINT` (or the one assigned),
        to push to connections from any handler."""
        client = self._websocket_client
        if client is None:
            from lift.websocket import WebSocketClient

            client = self._websocket_client = WebSocketClient(endpoint=os.environ.get("LIFT_WEBSOCKET_ENDPOINT"))
        store = getattr(self, "connection_store", None)  # (track_connections): its fan-outs read it
        if store is not None and client.connections is None:
            client.connections = store
        return client

    @websocket_client.setter
    def websocket_client(self, client: Any) -> None:
        """An assigned client is used everywhere, WebSocket events included (tests, the dev server)."""
        self._websocket_client = client
        self._websocket_client_assigned = client is not None

    # -- matching -------------------------------------------------------------------------
    def _handler_for(self, source: str, key: Any) -> EventHandler | None:
        cache_key = (source, key)
        try:
            return self._match_cache[cache_key]
        except KeyError:
            found = next((h for h in self._handlers_by_source[source] if h.match(key)), None)
            if len(self._match_cache) < 4096:
                self._match_cache[cache_key] = found
            return found

    def _handler_for_arn(self, source: str, arn: str) -> EventHandler | None:
        """The handler for the queue/table/stream named in `arn` (cached per ARN)."""
        cache = self._arn_cache[source]
        try:
            return cache[arn]
        except KeyError:
            name = _record.name_from_arn(arn)
            found = next((h for h in self._handlers_by_source[source] if h.match(name)), None)
            if len(cache) < 4096:
                cache[arn] = found
            return found

    def _s3_handler_for(self, obj: S3Object) -> EventHandler | None:
        return next((h for h in self._handlers_by_source["s3"] if h.match(obj)), None)

    def _unmatched_event(self, source: str, what: str, context: Any, log: bool = True) -> _errors.UnmatchedEvent:
        """The UnmatchedEvent naming `what`, logged at ERROR with the request id (`log=False`: for a record
        that fails alone, logged with its id where it fails)."""
        request_id = getattr(context, "aws_request_id", None)
        message = f"No handler matches this {source} event: {what}"
        if log:
            lift_logger().error(
                "Unmatched %s event (request_id=%s): %s",
                source,
                request_id,
                message,
                extra={"source": source, "request_id": request_id},
            )
        return _errors.UnmatchedEvent(message, details={"source": source, "key": what})

    # -- dispatch: batch sources ------------------------------------------------------------
    def _batches(
        self,
        source: str,
        raws: list[dict[str, Any]],
        context: Any,
        fallback: Callable[[list[dict[str, Any]]], Any] | None = None,
        unrouted: list[dict[str, Any]] | None = None,
    ) -> list[tuple[EventHandler, list[dict[str, Any]]]]:
        """The records grouped by source ARN (a mapping sends one queue/shard per batch), each
        group with its handler (or what `fallback(group)` offers for a group nobody handles).

        A batch no handler claims raises UnmatchedEvent before anything runs. In a batch mixing
        ARNs (never sent by Lambda: hand-made, or another service's record slipped in), the records
        of an ARN nobody handles are added to `unrouted` (logged once per ARN), to fail alone while
        the others run; without `unrouted`, they raise as a batch nobody claims."""
        arn = _record.arn_of(raws[0]) if raws else ""
        groups: dict[str, list[dict[str, Any]]] | None = None
        try:
            for raw in raws:
                if raw.get("eventSourceARN") != arn:  # mixed ARNs: never sent by Lambda, handled anyway
                    groups = _by_arn(raws)
                    break
        except AttributeError:  # a record that is not an object (never sent by Lambda): it fails alone
            groups = _by_arn(raws)
        if groups is None:  # the normal case: one queue or stream
            handler = self._handler_for_arn(source, arn)
            if handler is not None:
                return [(handler, raws)]
            groups = {arn: raws}
        batches, nobodys = [], []
        for group_arn, group in groups.items():
            handler = self._handler_for_arn(source, group_arn)
            if handler is None and fallback is not None:
                handler = fallback(group)
            if handler is None:
                nobodys.append((group_arn, group))
            else:
                batches.append((handler, group))
        what = "queue" if source == "sqs" else "stream of"
        if nobodys and (not batches or unrouted is None):
            group_arn = nobodys[0][0]
            raise self._unmatched_event(source, f"{what} {_record.name_from_arn(group_arn)!r} ({group_arn})", context)
        for group_arn, group in nobodys:  # (a mixed batch: the claimed records still run)
            unrouted += group  # type: ignore[operator]
            if not group_arn and all(raw.__class__ is not dict for raw in group):  # not records: malformed
                request_id = getattr(context, "aws_request_id", None)
                lift_logger().warning(
                    "%s record(s) rejected (request_id=%s): malformed_record: %d record(s) not an object",
                    source,
                    request_id,
                    len(group),
                    extra={"source": source, "request_id": request_id},
                )
                continue
            name = _record.name_from_arn(group_arn)
            self._unmatched_event(source, f"{what} {name!r} ({group_arn}): its {len(group)} record(s) fail", context)
        return batches

    def _dispatch_sqs(self, event: dict[str, Any], context: Any, source: str) -> dict[str, Any]:
        dispatch = sqs.dispatcher(self)  # made on the first SQS event: HTTP-only apps never import sqs
        self.register_source("sqs", dispatch)  # type: ignore[attr-defined]
        return dispatch(event, context, source)

    def _dispatch_stream(
        self,
        event: dict[str, Any],
        context: Any,
        source: str,
        record_class: type[Record],
        lane_of: Callable[[Any], Any],
    ) -> dict[str, Any]:
        failed: list[str] = []
        unrouted: list[dict[str, Any]] = []
        # a tumbling window's batch: its handlers update `ctx.event["state"]`, and Lambda takes the state back
        # with the answer (an answer without one is a failed invocation: the shard would be retried forever)
        window = event.get("window")
        if window is not None and event.get("state").__class__ is not dict:
            event["state"] = {}
        for handler, raws in self._batches(source, event["Records"], context, unrouted=unrouted):
            records = [record_class(raw) for raw in raws]
            # in a tumbling window, a failed record leaves the state as it found it: its retry counts once
            runner = handler if window is None else _WindowStateKept(handler, event)
            failed += _batch.process_batch(self, runner, records, event, context, source, lane_of)
        failed += [_batch.id_of(record_class(raw)) for raw in unrouted]
        answer = sqs.encode_batch_response(failed)
        if window is not None:
            from lift.serialization import to_builtins

            answer["state"] = to_builtins(event["state"])
        return answer

    def _dispatch_dynamodb(self, event: dict[str, Any], context: Any, source: str) -> dict[str, Any]:
        return self._dispatch_stream(event, context, "dynamodb", dynamodb.DynamoDBRecord, _dynamodb_shard)

    def _dispatch_kinesis(self, event: dict[str, Any], context: Any, source: str) -> dict[str, Any]:
        return self._dispatch_stream(event, context, "kinesis", kinesis.KinesisRecord, _kinesis_shard)

    # -- dispatch: asynchronous sources (a failure raises, Lambda retries) ---------------
    def _run_all(self, items: list[tuple[str, EventHandler, Record]], event: Any, context: Any) -> None:
        if len(items) == 1:  # what AWS sends: run as is, its own exception propagates
            source, handler, record = items[0]
            _batch.run_or_raise(self, handler.chain, event, context, source, record)
            return
        _batch.run_each_or_raise(self, [(s, h.chain, r) for s, h, r in items], event, context)

    def _dispatch_sns(self, event: dict[str, Any], context: Any, source: str) -> None:
        items: list[tuple[str, EventHandler, Record]] = []
        for i, raw in enumerate(event["Records"]):
            try:
                topic = sns.topic_of(raw)
                handler = self._handler_for("sns", topic)
                if handler is not None:
                    items.append(("sns", handler, sns.SNSRecord(raw)))
                    continue
                message = raw["Sns"].get("Message") or ""
                s3_records = s3.records_in_message(message)
            except (KeyError, TypeError, AttributeError) as exc:
                raise self._malformed_record_event("sns", i, exc, context) from None
            if not s3_records:
                if self._handlers_by_source["s3"] and s3.is_test_event(message):  # S3 -> SNS, when configured
                    lift_logger().info("sns message %s is S3's test event: acknowledged", raw["Sns"].get("MessageId"))
                    continue
                raise self._unmatched_event("sns", f"topic {topic!r}", context)
            items.extend(self._s3_items(s3_records, context))
        if items:
            self._run_all(items, event, context)

    def _malformed_record_event(self, source: str, index: int, exc: Exception, context: Any) -> Exception:
        """The clear error for a record without the fields its service always sends (a hand-made or
        corrupted event), logged once with the request id; the invocation fails (nothing is dropped)."""
        from lift.errors import BadRequest

        request_id = getattr(context, "aws_request_id", None)
        problem = f"{type(exc).__name__}: {exc}"
        lift_logger().warning(
            "Malformed %s record %d (request_id=%s): %s",
            source,
            index,
            request_id,
            problem,
            extra={"source": source, "request_id": request_id},
        )
        details = [{"location": "event", "path": f"$.Records[{index}]", "message": problem}]
        return BadRequest(f"Malformed {source} event", code="malformed_event", details=details)

    def _malformed_event(self, source: str, path: str, problem: str, context: Any) -> Exception:
        """The `BadRequest` (code `malformed_event`) for an event whose field at `path` is not what its
        service sends, logged once at WARNING with the request id; raised, the invocation fails."""
        from lift.errors import BadRequest

        request_id = getattr(context, "aws_request_id", None)
        lift_logger().warning(
            "Malformed %s event (request_id=%s): %s: %s",
            source,
            request_id,
            path,
            problem,
            extra={"source": source, "request_id": request_id},
        )
        details = [{"location": "event", "path": path, "message": problem}]
        return BadRequest(f"Malformed {source} event", code="malformed_event", details=details)

    def _s3_items(self, raw_records: list[dict[str, Any]], context: Any) -> list[tuple[str, EventHandler, Record]]:
        items: list[tuple[str, EventHandler, Record]] = []
        for i, raw in enumerate(raw_records):
            try:
                obj = s3.S3Object(raw)
                handler = self._s3_handler_for(obj)
            except (KeyError, TypeError, AttributeError) as exc:
                raise self._malformed_record_event("s3", i, exc, context) from None
            if handler is None:
                raise self._unmatched_event("s3", f"{obj.event_name} s3://{obj.bucket}/{obj.key}", context)
            items.append(("s3", handler, obj))
        return items

    def _dispatch_s3(self, event: dict[str, Any], context: Any, source: str) -> None:
        self._run_all(self._s3_items(event["Records"], context), event, context)

    def _dispatch_eventbridge(self, event: dict[str, Any], context: Any, source: str) -> None:
        key = (event.get("source") or "", event.get("detail-type") or "")
        if key[0].__class__ is not str or key[1].__class__ is not str:  # never sent by EventBridge
            field = "source" if key[0].__class__ is not str else "detail-type"
            raise self._malformed_event("eventbridge", f"$['{field}']", "expected text", context)
        handler = self._handler_for("eventbridge", key)
        if handler is not None:
            _batch.run_or_raise(
                self,
                handler.chain,
                event,
                context,
                "eventbridge",
                eventbridge.EventBridgeEvent(event),
            )
            return
        obj = s3.from_eventbridge(event)
        handler = self._s3_handler_for(obj) if obj is not None else None
        if handler is None:
            what = (
                f"{obj.event_name} s3://{obj.bucket}/{obj.key}"
                if obj is not None
                else f"source {key[0]!r}, detail-type {key[1]!r}"
            )
            raise self._unmatched_event("s3" if obj is not None else "eventbridge", what, context)
        _batch.run_or_raise(self, handler.chain, event, context, "s3", obj)

    def _dispatch_schedule(self, event: dict[str, Any], context: Any, source: str) -> Any:
        record = eventbridge.ScheduledEvent(event)
        health = self._cloud_map_health_schedule
        if health is False:  # read once per app (a missing key costs os.environ a KeyError each time)
            health = self._cloud_map_health_schedule = os.environ.get("LIFT_CLOUD_MAP_HEALTH_SCHEDULE") or None
        if health is not None and record.rule == health:  # the deployment's Cloud Map health schedule
            from lift.cloud_map_health import report

            return report(self, event, context)
        handler = self._handler_for("schedule", record.rule)
        if handler is None:
            handler = self._handler_for("eventbridge", (event.get("source") or "", "Scheduled Event"))
            source = "eventbridge"
        if handler is None:
            raise self._unmatched_event("schedule", f"rule {record.rule!r}", context)
        _batch.run_or_raise(self, handler.chain, event, context, source, record)

    # -- dispatch: request/response sources ------------------------------------------------
    def _dispatch_websocket(self, event: dict[str, Any], context: Any, source: str) -> dict[str, Any]:
        record = websocket.WebSocketEvent(event)
        try:
            route_key = record.route_key
            if route_key.__class__ is not str:  # (`"$connect".__eq__(7)` is NotImplemented: truthy)
                raise self._malformed_event("websocket", "$.requestContext.routeKey", "expected text", context)
            handler = self._handler_for("websocket", route_key)
            if handler is None and record.event_type == "MESSAGE":
                handler = self._handler_for("websocket", "$default")
        except Exception as exc:  # a requestContext API Gateway never sends: answered 400 like HTTP
            ctx = self.new_context(event, context, "websocket")  # type: ignore[attr-defined]
            ctx.record = record
            return websocket.encode_response(websocket.error_response(self, ctx, exc))
        if handler is None:
            raise self._unmatched_event("websocket", f"route {record.route_key!r}", context)
        ctx = self.new_context(event, context, "websocket")  # type: ignore[attr-defined]
        ctx.record = record
        try:
            response = handler.chain(ctx)
        except Exception as exc:
            response = websocket.error_response(self, ctx, exc)
        if not isinstance(response, Response):
            response = _lift_app.to_response(response)
        return websocket.encode_response(response)

    def _dispatch_invoke(self, event: Any, context: Any, source: str) -> Any:
        handlers = self._handlers_by_source["invoke"]
        if not handlers:
            origin = _records_origin(event)
            if origin is not None:  # records of a service Lift has no decorator for: name it
                what = f"records from {origin}, a source with no Lift decorator (handle it with @app.invoke)"
                raise self._unmatched_event(origin, what, context)
            if isinstance(event, dict) and event.get("Records") == [] and event.get("window") is not None:
                # a stream's tumbling window with no new record (its last invocation, say): its state goes back
                state = event.get("state")
                return {"batchItemFailures": [], "state": state if state.__class__ is dict else {}}
            if isinstance(event, dict) and event.get("Records") == []:  # (never sent by a service)
                what = "an empty Records list, no record to tell its source (no @app.invoke handler)"
                raise self._unmatched_event("invoke", what, context)
            kind = type(event).__name__
            raise self._unmatched_event("invoke", f"a {kind} payload (no @app.invoke handler)", context)
        result = _batch.run_or_raise(self, handlers[0].chain, event, context, "invoke", None)
        try:
            return invoke.encode_result(result.value if isinstance(result, _batch.RecordResult) else result)
        except invoke.ResponseSizeTooLarge as exc:  # the invocation fails alone: the runtime goes on
            request_id = getattr(context, "aws_request_id", None)
            lift_logger().error(
                "invoke result refused (request_id=%s): %s",
                request_id,
                exc,
                extra={"source": "invoke", "request_id": request_id, "size": exc.size},
            )
            raise


class _WindowStateKept:
    """A stream handler run in a tumbling window's batch: when a record fails (raises, or middleware
    refuses it), the changes it made to `ctx.event["state"]` are undone before the answer takes the
    state back, since Lambda runs that record again from the returned state."""

    def __init__(self, handler: EventHandler, event: dict[str, Any]) -> None:
        self.chain = self._keeping(handler.chain, event)
        self.batch_chain = self._keeping(handler.batch_chain, event)

    @staticmethod
    def _keeping(chain: Callable[[Context], Any], event: dict[str, Any]) -> Callable[[Context], Any]:
        import copy

        def run(ctx: Context) -> Any:
            try:
                before = copy.deepcopy(event["state"])
            except Exception:  # (a value no copy can be made of: kept as the handlers leave it)
                return chain(ctx)
            try:
                result = chain(ctx)
            except BaseException:
                event["state"] = before
                raise
            if _batch.is_refusal(result):
                event["state"] = before
            return result

        return run


def _by_arn(raws: list[Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for raw in raws:
        groups.setdefault(_record.arn_of(raw), []).append(raw)
    return groups


def _records_origin(event: Any) -> str | None:
    """The `eventSource` of an event's records (`aws:ses`, `aws:codecommit`), if it has any."""
    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list) and records and isinstance(records[0], dict):
        origin = records[0].get("eventSource") or records[0].get("EventSource")
        if isinstance(origin, str) and origin:
            return origin
    return None


def _always(key: Any) -> bool:
    return True
