"""Cognito user-pool triggers: the handler gets the request part, returns the response part;
Lift answers the whole event with `response` filled in, as Cognito requires.

`@app.cognito(name)` takes a trigger name ("pre_token_generation") and serves every
`triggerSource` of that trigger (`TokenGeneration_HostedAuth`, `..._RefreshTokens`, ...), or
one exact `triggerSource`. `body` is `request` (typed when hinted: userAttributes,
clientMetadata, session, ...); the return value (a dict, a model, or None to keep the
response as it came) is merged into `response`. Raising fails the invocation: Cognito shows
the error's message to the user and stops the flow, which is how triggers refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lift import serialization
from lift.context import Response
from lift.sources.record import Record
from lift.sources.triggers import first_handler, returned_wrong, run_handler

__all__ = ["TRIGGERS", "CognitoEvent", "dispatch", "trigger_matcher"]

# trigger name -> the `triggerSource` prefix (before `_`) Cognito sends for it
TRIGGERS = {
    "pre_sign_up": "PreSignUp",
    "post_confirmation": "PostConfirmation",
    "pre_authentication": "PreAuthentication",
    "post_authentication": "PostAuthentication",
    "pre_token_generation": "TokenGeneration",
    "define_auth_challenge": "DefineAuthChallenge",
    "create_auth_challenge": "CreateAuthChallenge",
    "verify_auth_challenge_response": "VerifyAuthChallengeResponse",
    "custom_message": "CustomMessage",
    "user_migration": "UserMigration",
    "custom_email_sender": "CustomEmailSender",
    "custom_sms_sender": "CustomSMSSender",
    "inbound_federation": "InboundFederation",
}


def trigger_matcher(trigger: str) -> Callable[[str], bool]:
    """A test of `triggerSource` for a trigger name or an exact trigger source."""
    if trigger.__class__ is not str:  # (`@app.cognito` above a function, without its trigger)
        from lift.errors import needs_arguments

        raise needs_arguments(trigger, "@app.cognito takes a trigger", '@app.cognito("pre_sign_up") above it')
    prefix = TRIGGERS.get(trigger)
    if prefix is not None:
        return lambda source: source.split("_", 1)[0] == prefix
    if trigger.split("_", 1)[0] not in TRIGGERS.values():
        raise ValueError(f"unknown Cognito trigger {trigger!r}; one of {', '.join(TRIGGERS)} or a triggerSource")
    return trigger.__eq__


class CognitoEvent(Record):
    """One Cognito trigger invocation: `trigger` (our name), `trigger_source`, `user_pool_id`,
    `user_name`, `request`, `response`, `user_attributes`, `client_metadata`, `version`."""

    kind = "cognito"

    @property
    def record_id(self) -> str | None:
        return f"{self.trigger_source}:{self.user_name}"

    @property
    def trigger_source(self) -> str:
        return self.raw.get("triggerSource") or ""

    @property
    def trigger(self) -> str | None:
        prefix = self.trigger_source.split("_", 1)[0]
        return next((name for name, p in TRIGGERS.items() if p == prefix), None)

    @property
    def version(self) -> str:
        return str(self.raw.get("version") or "")

    @property
    def user_pool_id(self) -> str:
        return self.raw.get("userPoolId") or ""

    @property
    def user_name(self) -> str | None:
        return self.raw.get("userName")

    @property
    def region(self) -> str | None:
        return self.raw.get("region")

    @property
    def client_id(self) -> str | None:
        return (self.raw.get("callerContext") or {}).get("clientId")

    @property
    def request(self) -> dict[str, Any]:
        return self.raw.get("request") or {}

    @property
    def response(self) -> dict[str, Any]:
        return self.raw.get("response") or {}

    @property
    def user_attributes(self) -> dict[str, str]:
        return self.request.get("userAttributes") or {}

    @property
    def client_metadata(self) -> dict[str, str]:
        return self.request.get("clientMetadata") or {}

    def payload(self) -> Any:
        return self.request


def dispatch(app: Any, handlers: list[Any], event: dict[str, Any], context: Any) -> dict[str, Any]:
    record = CognitoEvent(event)
    handler = first_handler(handlers, record.trigger_source)
    if handler is None:
        if app._handlers_by_source["invoke"]:
            return app._dispatch_invoke(event, context, "invoke")
        raise app._unmatched_event("cognito", f"trigger {record.trigger_source!r}", context)
    result = run_handler(app, handler, event, context, "cognito", record)
    if isinstance(result, Response):
        result = result.json_body() if result.body else None
    if result is not None:
        try:
            part = serialization.to_builtins(result)
            if not isinstance(part, dict):
                raise TypeError(
                    f"a Cognito trigger returns its response part as a dict or model, not {type(result).__name__}"
                )
        except Exception as exc:  # the handler's mistake, not the event's
            raise returned_wrong(app, event, context, "cognito", record, exc) from None
        event["response"] = {**(event.get("response") or {}), **part}
    elif event.get("response") is None:
        event["response"] = {}
    return event
