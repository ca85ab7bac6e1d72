"""Cognito user-pool triggers: the whole event comes back with `response` filled in."""

from __future__ import annotations

import copy

import msgspec
import pytest

from lift import App, Context
from lift.errors import BadRequest, UnmatchedEvent
from lift.sources import source_of
from lift.sources.cognito import CognitoEvent
from lift.testing import events, lambda_context


class SignUp(msgspec.Struct):
    userAttributes: dict[str, str]


def test_pre_sign_up_gets_the_typed_request_and_returns_the_whole_event() -> None:
    app = App()
    seen: list = []

    @app.cognito("pre_sign_up")
    def sign_up(ctx: Context, body: SignUp) -> dict:
        seen.append((ctx.source, ctx.record.trigger, ctx.record.user_name, body.userAttributes["email"]))
        return {"autoConfirmUser": body.userAttributes["email"].endswith("@example.com")}

    event = events.cognito("pre_sign_up", user_name="jane")
    assert source_of(event) == "cognito"
    expected = copy.deepcopy(event)
    expected["response"]["autoConfirmUser"] = True
    assert app.handler(event, lambda_context()) == expected
    assert seen == [("cognito", "pre_sign_up", "jane", "jane@example.com")]


def test_pre_token_generation_v2_serves_every_token_generation_source() -> None:
    app = App()

    @app.cognito("pre_token_generation")
    def claims(ctx: Context) -> dict:
        record: CognitoEvent = ctx.record
        return {
            "claimsAndScopeOverrideDetails": {
                "idTokenGeneration": {"claimsToAddOrOverride": {"tenant_id": "t-1"}},
                "accessTokenGeneration": {"scopesToAdd": [f"{record.trigger_source}:read"]},
            }
        }

    event = events.cognito("pre_token_generation", version="2", trigger_source="TokenGeneration_RefreshTokens")
    out = app.handler(event, lambda_context())
    assert out["response"] == {
        "claimsAndScopeOverrideDetails": {
            "idTokenGeneration": {"claimsToAddOrOverride": {"tenant_id": "t-1"}},
            "accessTokenGeneration": {"scopesToAdd": ["TokenGeneration_RefreshTokens:read"]},
        }
    }
    assert out["userName"] == "jane" and out["triggerSource"] == "TokenGeneration_RefreshTokens"


def test_returning_none_keeps_the_response_and_raising_refuses() -> None:
    app = App()

    @app.cognito("PostConfirmation_ConfirmSignUp")
    def confirmed(ctx: Context) -> None:
        return None

    @app.cognito("pre_authentication")
    def refuse(ctx: Context) -> None:
        raise BadRequest("account locked")

    event = events.cognito("post_confirmation")
    assert app.handler(copy.deepcopy(event), lambda_context()) == event
    with pytest.raises(BadRequest, match="account locked"):
        app.handler(events.cognito("pre_authentication"), lambda_context())


def test_a_trigger_with_no_handler_is_unmatched_and_unknown_names_fail_at_registration() -> None:
    app = App()
    app.cognito("pre_sign_up")(lambda ctx: None)
    with pytest.raises(UnmatchedEvent):
        app.handler(events.cognito("custom_message"), lambda_context())
    with pytest.raises(ValueError, match="unknown Cognito trigger"):
        app.cognito("pre_signup")
