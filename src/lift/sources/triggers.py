"""Registration and dispatch of the triggers beyond the core sources: API Gateway authorizers,
Cognito, Firehose, Kafka, CloudWatch Logs, SES, Amazon MQ, custom resources, AppSync, Bedrock
agents, S3 Object Lambda and Batch Operations, Secrets Manager rotation, CodePipeline, VPC Lattice.

`Triggers` is mixed into `EventSources` (and so into `App`). Each trigger's module under
`lift.sources` knows its event's shape and its answer; it is imported when its decorator is
first used, so an app pays only for the triggers it registers. An event of a trigger with no
registered handler reaches `@app.invoke` unchanged, as it did before Lift knew the trigger.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lift.sources import LazyModule

if TYPE_CHECKING:  # (annotations only: typing's aliases cost import time)
    from lift.context import Context, Response

    Middleware = Callable[[Context, Callable[[Context], Response]], Response]

# loaded when a trigger is registered or runs: an HTTP-only app never imports them
_batch = LazyModule("lift.batch", globals(), "_batch")
_record = LazyModule("lift.sources.record", globals(), "_record")

__all__ = ["TRIGGER_SOURCES", "Triggers", "first_handler", "returned_wrong", "run_handler"]

# source -> (module under lift.sources, the decorator that registers it)
TRIGGER_SOURCES: dict[str, tuple[str, str]] = {
    "authorizer": ("authorizer", "authorizer"),
    "cognito": ("cognito", "cognito"),
    "firehose": ("firehose", "firehose"),
    "kafka": ("kafka", "kafka"),
    "cloudwatch_logs": ("cloudwatch_logs", "cloudwatch_logs"),
    "ses": ("ses", "ses"),
    "mq": ("mq", "mq"),
    "custom_resource": ("custom_resource", "custom_resource"),
    "appsync": ("appsync", "appsync"),
    "appsync_authorizer": ("appsync", "appsync_authorizer"),
    "bedrock_agent": ("bedrock_agent", "bedrock_agent"),
    "s3_object_lambda": ("s3_object_lambda", "s3_object_lambda"),
    "s3_batch": ("s3_batch", "s3_batch"),
    "secrets_rotation": ("secrets_rotation", "secrets_rotation"),
    "codepipeline": ("codepipeline", "codepipeline"),
}


# what reading an event field of the wrong type (or a missing one) raises in a trigger's module
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError)


def _module(source: str) -> Any:
    return importlib.import_module(f"lift.sources.{TRIGGER_SOURCES[source][0]}")


def first_handler(handlers: list[Any], key: Any) -> Any:
    """The first registered handler whose matcher accepts `key`, or None."""
    return next((h for h in handlers if h.match(key)), None)


def run_handler(app: Any, handler: Any, event: Any, context: Any, source: str, record: Any) -> Any:
    """Run `record` through the handler's chain; the handler's return value (a failure is logged
    with the request id and raised)."""
    result = _batch.run_or_raise(app, handler.chain, event, context, source, record)
    return result.value if isinstance(result, _batch.RecordResult) else result


def returned_wrong(app: Any, event: Any, context: Any, source: str, record: Any, exc: Exception) -> Exception:
    """`exc`, raised reading what a handler returned (a value its service cannot take, or one that
    does not encode): logged once as that handler's failure (ERROR, with the request id and the
    record's id) and marked so, never taken for a malformed event. The caller raises it."""
    ctx = app.new_context(event, context, source)
    ctx.record = record
    _batch.log_record_failure(ctx, record, exc)
    return exc


class Triggers:
    """The decorators of the other Lambda triggers; see each trigger's module for its contract."""

    _handlers_by_source: dict[str, list[Any]]

    def _init_triggers(self) -> None:
        for source in TRIGGER_SOURCES:
            self._handlers_by_source.setdefault(source, [])
            self.register_source(source, self._dispatch_trigger)  # type: ignore[attr-defined]
        self.register_source("lattice", self._dispatch_lattice)  # type: ignore[attr-defined]

    def _trigger(
        self,
        source: str,
        name: str | None,
        match: Callable[[Any], bool],
        middleware: Iterable[Middleware],
        **options: Any,
    ) -> Callable[[Any], Any]:
        _module(source)  # imported at registration: a missing piece fails at import time, not per event

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add_event_handler(source, fn, name, match, middleware, **options)  # type: ignore[attr-defined]
            return fn

        return register

    def _dispatch_trigger(self, event: Any, context: Any, source: str) -> Any:
        handlers = self._handlers_by_source[source]
        if not handlers:
            if self._handlers_by_source["invoke"]:
                return self._dispatch_invoke(event, context, "invoke")  # type: ignore[attr-defined]
            decorator = TRIGGER_SOURCES[source][1]
            raise self._unmatched_event(  # type: ignore[attr-defined]
                source, f"no @app.{decorator} (or @app.invoke) handler is registered", context
            )
        try:
            return _module(source).dispatch(self, handlers, event, context)
        except _SHAPE_ERRORS as exc:
            if getattr(exc, "_lift_record_failure", False):  # raised by a handler (or its middleware): as is
                raise
            # raised by Lift reading a field of the wrong type or a missing one (never sent by AWS)
            raise self._malformed_event(  # type: ignore[attr-defined]
                source, "$", f"{type(exc).__name__}: {exc}", context
            ) from None

    def _dispatch_lattice(self, event: Any, context: Any, source: str) -> Any:
        from lift.sources import lattice

        dispatch = self._http_handler(lattice)  # type: ignore[attr-defined]
        self.register_source("lattice", dispatch)  # type: ignore[attr-defined]
        return dispatch(event, context, source)

    # -- API Gateway authorizers -----------------------------------------------------------
    def authorizer(
        self,
        api: str | None = None,
        *,
        resource: str = "*",
        response: str = "auto",
        middleware: Iterable[Middleware] = (),
    ) -> Callable[[Any], Any]:
        """A Lambda authorizer for REST (TOKEN, REQUEST), HTTP (payload 1.0/2.0) and WebSocket APIs.

        The handler returns the caller (a `Principal`, a claims dict or a user id) or raises
        `Unauthorized` (401) / `Forbidden` (403). `api`: the API id (or glob) it serves (None = any).
        `resource`: what the Allow policy grants after `arn:...:api-id/stage/` ("*" = the whole
        stage, so a cached answer serves every route; "method" = only the method called).
        `response`: "auto" (simple response for payload 2.0, IAM policy otherwise), "simple" or "policy".
        """
        if response not in ("auto", "simple", "policy"):
            raise ValueError(f"response must be 'auto', 'simple' or 'policy', not {response!r}")
        return self._trigger(
            "authorizer", api, _record.pattern_matcher(api), middleware, resource=resource, response=response
        )

    # -- Cognito user pools ----------------------------------------------------------------
    def cognito(self, trigger: str, *, middleware: Iterable[Middleware] = ()) -> Callable[[Any], Any]:
        """A Cognito user-pool trigger: "pre_sign_up", "pre_token_generation", "custom_message", ...
        (or an exact `triggerSource` such as "TokenGeneration_RefreshTokens")."""
        from lift.sources import cognito

        return self._trigger("cognito", trigger, cognito.trigger_matcher(trigger), middleware)

    # -- streams and batches -----------------------------------------------------------------
    def firehose(self, stream: str = "*", *, middleware: Iterable[Middleware] = ()) -> Callable[[Any], Any]:
        """A Firehose transformation of delivery stream `stream` (name or glob), one call per record."""
        return self._trigger("firehose", stream, _record.pattern_matcher(stream), middleware)

    def kafka(
        self, topic: str = "*", *, middleware: Iterable[Middleware] = (), partial_failures: bool = True
    ) -> Callable[[Any], Any]:
        """Records of Kafka `topic` (MSK or self-managed; name or glob), one call per record. Failed
        records are answered in `batchItemFailures`; `partial_failures=False` (a mapping without
        `ReportBatchItemFailures`, which ignores that answer) fails the invocation instead, so the
        batch is retried."""
        return self._trigger(
            "kafka", topic, _record.pattern_matcher(topic), middleware, partial_failures=partial_failures
        )

    def cloudwatch_logs(self, log_group: str = "*", *, middleware: Iterable[Middleware] = ()) -> Callable[[Any], Any]:
        """The log events a subscription filter of `log_group` (name or glob) delivers, one call each."""
        return self._trigger("cloudwatch_logs", log_group, _record.pattern_matcher(log_group), middleware)

    def ses(self, recipient: str = "*", *, middleware: Iterable[Middleware] = ()) -> Callable[[Any], Any]:
        """Mail received by an SES receipt rule for `recipient` (address or glob, e.g. `*@example.com`)."""
        from lift.sources import ses

        return self._trigger("ses", recipient, ses.recipient_matcher(recipient), middleware)

    def mq(self, queue: str = "*", *, middleware: Iterable[Middleware] = ()) -> Callable[[Any], Any]:
        """Messages of Amazon MQ queue `queue` (ActiveMQ destination or RabbitMQ queue; name or glob)."""
        return self._trigger("mq", queue, _record.pattern_matcher(queue), middleware)

    # -- request/response triggers -------------------------------------------------------------
    def custom_resource(
        self, resource_type: str = "*", *, timeout_margin: float = 5.0, middleware: Iterable[Middleware] = ()
    ) -> Callable[[Any], Any]:
        """A CloudFormation custom resource of `resource_type` (`Custom::Thing`, or a glob). Lift
        always PUTs the answer to the `ResponseURL`, also when the handler fails or time runs out
        (`timeout_margin` seconds before the function's timeout)."""
        return self._trigger(
            "custom_resource",
            resource_type,
            _record.pattern_matcher(resource_type),
            middleware,
            timeout_margin=timeout_margin,
        )

    def appsync(self, field: str = "*", *, middleware: Iterable[Middleware] = ()) -> Callable[[Any], Any]:
        """An AppSync direct Lambda resolver for `Type.field` (glob: `Query.*`); batch resolvers too."""
        return self._trigger("appsync", field, _record.pattern_matcher(field), middleware)

    def appsync_authorizer(self, *, middleware: Iterable[Middleware] = ()) -> Callable[[Any], Any]:
        """An AppSync Lambda authorizer: return the caller (or True), raise Unauthorized to refuse."""
        return self._trigger("appsync_authorizer", None, _record.pattern_matcher(None), middleware)

    def bedrock_agent(
        self,
        path: str = "*",
        method: str | None = None,
        *,
        action_group: str | None = None,
        middleware: Iterable[Middleware] = (),
    ) -> Callable[[Any], Any]:
        """A Bedrock agent action: an OpenAPI `apiPath` (with `method`) or a function name (`path`)."""
        from lift.sources import bedrock_agent

        return self._trigger(
            "bedrock_agent", path, bedrock_agent.action_matcher(path, method, action_group), middleware
        )

    def s3_object_lambda(self, access_point: str = "*", *, middleware: Iterable[Middleware] = ()) -> Any:
        """An S3 Object Lambda GetObject: `body` is the original object; the return value is sent with
        `WriteGetObjectResponse`."""
        return self._trigger(
            "s3_object_lambda", access_point, _record.pattern_matcher(access_point, "access_point"), middleware
        )

    def s3_batch(self, bucket: str = "*", *, middleware: Iterable[Middleware] = ()) -> Callable[[Any], Any]:
        """An S3 Batch Operations task on an object of `bucket` (name or glob)."""
        return self._trigger("s3_batch", bucket, _record.pattern_matcher(bucket), middleware)

    def secrets_rotation(
        self, step: str = "*", *, secret: str = "*", middleware: Iterable[Middleware] = ()
    ) -> Callable[[Any], Any]:
        """A Secrets Manager rotation `step` (createSecret, setSecret, testSecret, finishSecret; `*` =
        every step) of secrets whose name matches `secret`."""
        from lift.sources import secrets_rotation

        return self._trigger(
            "secrets_rotation", step, secrets_rotation.step_matcher(step, secret), middleware, secret=secret
        )

    def codepipeline(self, *, middleware: Iterable[Middleware] = ()) -> Callable[[Any], Any]:
        """A CodePipeline Lambda invoke action: Lift reports the job's success to CodePipeline, or
        its failure when the handler raises."""
        return self._trigger("codepipeline", None, _record.pattern_matcher(None), middleware)
