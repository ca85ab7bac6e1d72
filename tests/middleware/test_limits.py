"""Per-route request size and content-type limits: structured 413/415, other routes unaffected."""

from __future__ import annotations

import msgspec
import pytest

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


SOURCES = ["rest", "http", "alb", "url", "lattice"]


def _sized_app() -> App:
    app = App("sizes", max_body_size=12)

    @app.post("/route", middleware=[limits(max_body=10)])
    def route_limited(ctx) -> dict:
        return {"size": len(ctx.body)}

    @app.post("/app")
    def app_limited(ctx) -> dict:
        return {"size": len(ctx.body)}

    return app


@pytest.mark.parametrize("source", SOURCES)
def test_a_binary_body_of_exactly_the_limit_is_accepted(source: str) -> None:
    # a base64 body's size was its text's length * 3/4, padding included: 10 bytes counted 12, a 413
    client = TestClient(_sized_app(), source=source)
    binary = {"Content-Type": "application/octet-stream"}
    for path, limit in (("/route", 10), ("/app", 12)):
        for size in range(limit - 2, limit + 1):
            resp = client.post(path, body=b"\xff" * size, headers=binary)
            assert (resp.status_code, resp.json()) == (200, {"size": size}), (path, size)
        assert client.post(path, body=b"\xff" * (limit + 1), headers=binary).status_code == 413


@pytest.mark.parametrize("source", SOURCES)
def test_a_text_body_is_measured_in_bytes_not_characters(source: str) -> None:
    # 'é' is two bytes in UTF-8: 6 of them (12 bytes, 6 characters) passed a 10-byte limit
    client = TestClient(_sized_app(), source=source)
    text = {"Content-Type": "text/plain; charset=utf-8"}
    over_route = client.post("/route", body="é" * 6, headers=text)
    assert over_route.status_code == 413 and over_route.json()["error"]["details"] == {"limit": 10}
    assert client.post("/route", body="é" * 5, headers=text).json() == {"size": 10}
    assert client.post("/app", body="é" * 7, headers=text).status_code == 413
    assert client.post("/app", body="é" * 6, headers=text).json() == {"size": 12}
