"""Per-route request size and content-type limits: structured 413/415, other routes unaffected."""

from __future__ import annotations

import msgspec

from lift import App
from lift.middleware.limits import limits
from lift.testing import TestClient


class Card(msgspec.Struct):
    token: str


def _app() -> App:
    app = App("limits")

    @app.post("/cards", middleware=[limits(max_body=64, content_types=["application/json"])])
    def add_card(body: Card) -> dict:
        return {"token": body.token}

    @app.post("/notes")
    def add_note(ctx) -> dict:
        return {"size": len(ctx.body)}

    return app


def test_a_body_over_the_route_limit_is_a_413_naming_the_limit() -> None:
    client = TestClient(_app())
    resp = client.post("/cards", json={"token": "x" * 100})
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "payload_too_large"
    assert resp.json()["error"]["details"] == {"limit": 64}
    assert client.post("/notes", json={"text": "x" * 100}).status_code == 200  # another route: app limit


def test_another_content_type_is_a_415_listing_the_accepted_ones() -> None:
    client = TestClient(_app())
    resp = client.post("/cards", body="token=abc", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 415
    assert resp.json()["error"] == {
        "code": "unsupported_media_type",
        "message": "Content-Type application/x-www-form-urlencoded is not accepted here",
        "request_id": resp.json()["error"]["request_id"],
        "details": {"accepted": ["application/json"]},
    }
    ok = client.post("/cards", json={"token": "abc"})
    assert ok.status_code == 200 and ok.json() == {"token": "abc"}
    charset = client.post("/cards", body='{"token": "t"}', headers={"Content-Type": "application/json; charset=utf-8"})
    assert charset.status_code == 200
