"""A body with a huge number of problems is a bounded 422: the first MAX_PROBLEMS problems and one
detail saying the rest were left out, never a response past Lambda's 6 MB limit (a 500) or a log
line as big as the body. Every place that lists problems: typed bodies (lists, mappings, unknown
fields), typed query strings, and request_schema=."""

from __future__ import annotations

import json
import logging

import msgspec
import pytest

from lift import App
from lift.testing import TestClient
from lift.validation import MAX_PROBLEMS

MANY = 100_000


class Item(msgspec.Struct):
    qty: int
    sku: str


class Order(msgspec.Struct, forbid_unknown_fields=True):
    items: list[Item] = []
    counts: dict[str, int] = {}
    nums: list[int] = []


class Page(msgspec.Struct):
    size: list[int] = []


def _app() -> App:
    app = App(name="bounds")

    @app.post("/orders")
    def create(body: Order) -> Order:
        return body

    @app.get("/pages")
    def pages(query: Page) -> dict:  # type: ignore[type-arg]
        return {"n": len(query.size)}

    return app


def _details(response: object, location: str = "body") -> list[dict[str, str]]:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    assert len(response.text) < 20_000  # type: ignore[attr-defined]
    details: list[dict[str, str]] = response.json()["error"]["details"]  # type: ignore[attr-defined]
    assert len(details) == MAX_PROBLEMS + 1
    assert details[-1]["message"] == f"Too many problems: only the first {MAX_PROBLEMS} are listed"
    assert details[-1]["location"] == location and details[-1]["path"] == "$"
    return details


@pytest.mark.parametrize(
    ("body", "first", "last_listed"),
    [
        ({"nums": ["x"] * MANY}, "$.nums[0]", f"$.nums[{MAX_PROBLEMS - 1}]"),
        ({"items": [{"qty": "1", "sku": 1}] * MANY}, "$.items[0].qty", f"$.items[{MAX_PROBLEMS // 2 - 1}].sku"),
        ({"counts": {f"k{i}": "x" for i in range(MANY)}}, "$.counts.k0", f"$.counts.k{MAX_PROBLEMS - 1}"),
        ({f"k{i}": 1 for i in range(MANY)}, "$", "$"),
    ],
    ids=["list", "list-of-models", "mapping", "unknown-fields"],
)
def test_a_typed_body_with_100k_problems_is_a_bounded_422(body: object, first: str, last_listed: str) -> None:
    response = TestClient(_app()).post("/orders", json=body)
    details = _details(response)
    assert details[0]["path"] == first
    assert details[MAX_PROBLEMS - 1]["path"] == last_listed


def test_the_4xx_log_line_is_bounded_too(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lift"):
        response = TestClient(_app()).post("/orders", json={"nums": ["x"] * MANY})
    _details(response)
    lines = [r for r in caplog.records if r.name.startswith("lift") and r.levelno == logging.INFO]
    assert lines and all(len(r.getMessage()) + len(json.dumps(getattr(r, "details", None))) < 20_000 for r in lines)


def test_exactly_max_problems_are_all_listed_without_the_note() -> None:
    response = TestClient(_app()).post("/orders", json={"nums": ["x"] * MAX_PROBLEMS})
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [d["path"] for d in details] == [f"$.nums[{i}]" for i in range(MAX_PROBLEMS)]


def test_a_query_string_with_too_many_problems_is_bounded() -> None:
    response = TestClient(_app()).get("/pages", query={"size": ["x"] * (MAX_PROBLEMS * 3)})
    _details(response, "query")


def test_a_request_schema_with_100k_problems_is_a_bounded_422() -> None:
    pytest.importorskip("jsonschema_rs")
    app = App(name="bounds")

    @app.post("/raw", request_schema={"type": "array", "items": {"type": "integer"}})
    def raw(body: list) -> dict:  # type: ignore[type-arg]
        return {"n": len(body)}

    response = TestClient(app).post("/raw", json=["x"] * MANY)
    details = _details(response)
    assert details[0] == {
        "location": "body",
        "path": "$[0]",
        "pointer": "/0",
        "message": '"x" is not of type "integer"',
    }
    assert details[-1]["pointer"] == ""
