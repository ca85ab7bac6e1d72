"""The README's rules for repeated and empty values, on every HTTP source: a repeated query key gives a
scalar its last value and a list every one; a repeated header gives a scalar its first value (single-value
ALB passes only the last line; an HTTP API joins lines with commas, so a repeated typed header is a 422
there); an empty value is a value (`""`, or a 422 for a number even when Optional); only a missing one
takes the default."""

from __future__ import annotations

import json

import msgspec
import pytest

from lift import App, Context, Header
from lift.testing import lambda_context

from .http_events import VARIANTS


class Filters(msgspec.Struct):
    name: str = "none"
    tags: list[str] = []
    limit: int | None = None


@pytest.fixture(scope="module")
def app() -> App:
    app = App()

    @app.get("/search")
    def search(
        ctx: Context,
        query: Filters,
        tenant: str = Header("X-Tenant"),
        page: int | None = Header("X-Page", default=None),
        zone: str = Header("X-Zone", default="eu"),
    ) -> dict:
        return {**msgspec.structs.asdict(query), "tenant": tenant, "page": page, "zone": zone}

    return app


def _answer(app: App, source: str, **kw: object) -> tuple[int, dict]:
    out = app.handler(VARIANTS[source]("GET", "/search", **kw), lambda_context())
    return out["statusCode"], json.loads(out["body"])


@pytest.mark.parametrize("source", ["rest", "http", "url", "alb", "alb-multi", "lattice"])
def test_repeated_keys(app: App, source: str) -> None:
    query = {"name": ["a", "b"], "tags": ["x", "y"], "limit": ["1", "2"]}
    status, body = _answer(app, source, query=query, headers={"X-Tenant": ["t1", "t2"]})
    tags = ["y"] if source == "alb" else ["x", "y"]  # (single-value ALB keeps a repeated key's last value)
    tenant = {"alb": "t2", "http": "t1,t2", "url": "t1,t2"}.get(source, "t1")
    assert (status, body) == (
        200,
        {"name": "b", "tags": tags, "limit": 2, "tenant": tenant, "page": None, "zone": "eu"},
    )
    status, body = _answer(app, source, headers={"X-Tenant": "t", "X-Page": ["3", "4"]})
    if source in ("http", "url"):
        assert status == 422 and [d["path"] for d in body["error"]["details"]] == ["$.x-page"]
    else:
        assert (status, body["page"]) == (200, 4 if source == "alb" else 3)


@pytest.mark.parametrize("source", ["rest", "http", "url", "alb-multi", "lattice"])
def test_empty_values_are_values_and_only_missing_ones_take_defaults(app: App, source: str) -> None:
    status, body = _answer(app, source, query={"name": ""}, headers={"X-Tenant": "", "X-Zone": ""})
    assert (status, body) == (200, {"name": "", "tags": [], "limit": None, "tenant": "", "page": None, "zone": ""})
    status, body = _answer(app, source, query={"limit": ""}, headers={"X-Page": ""})
    assert status == 422
    assert [(d["location"], d["path"]) for d in body["error"]["details"]] == [
        ("query", "$.limit"),
        ("header", "$.x-tenant"),
        ("header", "$.x-page"),
    ]
