"""Typed path parameters and headers as a URL spells them: an IntEnum by its number, and no float
or Decimal that is not a finite number (NaN, infinities), which no JSON answer can carry and whose
arithmetic (sNaN) raises in the handler."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated

import pytest

from lift import App, Header
from lift.testing import TestClient


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    ONE = 1
    NAMED = "named"


def _client() -> TestClient:
    app = App(name="params")

    @app.get("/levels/{level}")
    def level(level: Level) -> dict:
        return {"level": level.name}

    @app.get("/mixed/{value}")
    def mixed(value: Mixed) -> dict:
        return {"value": value.name}

    @app.get("/prices/{price}")
    def price(price: Decimal) -> dict:
        return {"price": str(price + 1)}

    @app.get("/ratios/{ratio}")
    def ratio(ratio: float) -> dict:
        return {"ratio": ratio * 2}

    @app.get("/limit")
    def limit(cap: Annotated[float, Header("X-Cap")]) -> dict:
        return {"cap": cap}

    return TestClient(app)


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/levels/1", {"level": "LOW"}),
        ("/levels/2", {"level": "HIGH"}),
        ("/mixed/1", {"value": "ONE"}),
        ("/mixed/named", {"value": "NAMED"}),
        ("/prices/1.50", {"price": "2.50"}),
        ("/ratios/0.25", {"ratio": 0.5}),
    ],
)
def test_values_as_a_url_spells_them(path: str, answer: dict) -> None:
    response = _client().get(path)
    assert response.status_code == 200, response.text
    assert response.json() == answer


@pytest.mark.parametrize(
    ("path", "label", "raw"),
    [
        ("/levels/3", "Level", "3"),
        ("/levels/LOW", "Level", "LOW"),
        ("/prices/NaN", "Decimal", "NaN"),
        ("/prices/sNaN", "Decimal", "sNaN"),
        ("/prices/-Infinity", "Decimal", "-Infinity"),
        ("/ratios/nan", "number", "nan"),
        ("/ratios/inf", "number", "inf"),
        ("/ratios/1e999", "number", "1e999"),
    ],
)
def test_values_that_are_not_the_type_are_a_422(path: str, label: str, raw: str) -> None:
    response = _client().get(path)
    assert response.status_code == 422, response.text
    name = path.split("/")[1].rstrip("s")
    assert response.json()["error"]["details"] == [
        {"location": "path", "path": f"$.{name}", "message": f"Expected {label}, got {raw!r}"}
    ]


def test_a_typed_header_refuses_a_non_finite_number() -> None:
    response = _client().get("/limit", headers={"X-Cap": "NaN"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "$.x-cap"
    assert _client().get("/limit", headers={"X-Cap": "1.5"}).json() == {"cap": 1.5}
