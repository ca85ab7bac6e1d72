"""The OpenAPI document describes the parameters Lift enforces, exactly: for an app using every kind
of typed parameter (path and `Header(...)` parameters of each type, constrained with msgspec.Meta,
Literal, enum, date; `query: Model` with constraints, lists, enums, literals, optionals and renamed
fields), every value the document's schema allows is accepted
and every value it refuses is a 422, and a parameter is `required` exactly when leaving it out is
a 422. Each value is sent as a client generated from the document would send it (a query list as
repeated keys, a header list comma-separated), through `app.handler` with a REST API event. (The
documented widenings are left out: a UUID's 32 hex digits without dashes are accepted, as msgspec
reads one in a body, where `format: uuid` wants the dashes; a boolean is also `1`/`0`, `yes`/`no`,
`on`/`off`.)"""

from __future__ import annotations

import datetime
import enum
import json
import uuid
from typing import Annotated, Any, Literal

import jsonschema_rs
import msgspec
import pytest
from msgspec import Meta

from lift import App, Context, Header
from lift.openapi import openapi_spec
from lift.testing import TestClient


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Search(msgspec.Struct, rename="camel"):
    term: str
    page_size: Annotated[int, Meta(ge=1, le=50)] = 10
    tag_ids: list[Annotated[int, Meta(ge=0)]] = []
    sort_by: Literal["name", "date"] = "name"
    color: Color | None = None
    exact: bool = False
    since: datetime.date | None = None
    ratio: Annotated[float, Meta(gt=0, lt=1)] | None = None
    name: Annotated[str, Meta(min_length=2, max_length=5, pattern="^[a-z]+$")] | None = None
    owner: uuid.UUID | None = None


app = App("agree")


@app.get("/shops/{shop}/items/{item}/{color}")
def find(
    ctx: Context,
    shop: Annotated[int, Meta(ge=1)],
    item: uuid.UUID,
    color: Color,
    query: Search,
    version: int = Header("X-Version"),
    trace: int | None = Header("X-Trace", default=None),
    ids: list[int] = Header("X-Ids"),
    tone: Color = Header("X-Tone", default=Color.red),
    tenant: str = Header("X-Tenant"),
    level: Literal[1, 2] = Header("X-Level", default=1),
    code: Annotated[str, Meta(pattern="^[A-Z]{3}$")] | None = Header("X-Code", default=None),
    since: datetime.date | None = Header("X-Since", default=None),
    limit: Annotated[int, Meta(ge=1, le=100)] = Header("X-Limit", default=10),
    kinds: list[Literal["a", "b"]] = Header("X-Kinds"),
    few: Annotated[list[int], Meta(max_length=3)] = Header("X-Few"),
    most: Annotated[int, Meta(le=5), Header("X-Most")] = 1,
) -> dict:
    return {"shop": shop}


MISSING: Any = object()
ITEM = "12345678-1234-5678-9abc-def012345678"
PATH = {"shop": 5, "item": ITEM, "color": "red"}
QUERY: dict[str, Any] = {"term": "shoes"}
HEADERS: dict[str, Any] = {"X-Version": 2, "X-Tenant": "acme"}

# (where, name, values the client may try: each one either allowed by the document or not)
CANDIDATES: list[tuple[str, str, list[Any]]] = [
    ("path", "shop", [1, 0, -7, 2**70, "x", 1.5]),
    ("path", "item", [ITEM, ITEM.upper(), "{" + ITEM + "}", "nope"]),
    ("path", "color", ["red", "blue", "green"]),
    ("query", "term", [MISSING, "", "x y"]),
    ("query", "pageSize", [MISSING, 0, 1, 50, 51, -3, "ten", 2.5]),
    ("query", "tagIds", [MISSING, [1, 2], [0], [-1], [1, "x"]]),
    ("query", "sortBy", ["name", "date", "size"]),
    ("query", "color", ["red", "green"]),
    ("query", "exact", [True, False, "maybe", 2]),
    ("query", "since", ["2024-02-29", "2023-02-29", "2024-1-2", "today", ""]),
    ("query", "ratio", [0, 0.5, 1, 0.999, "nan"]),
    ("query", "name", ["a", "ab", "abcde", "abcdef", "AB"]),
    ("query", "owner", [ITEM, ITEM.upper(), "urn:uuid:" + ITEM, "nope"]),
    ("header", "X-Version", [MISSING, 3, -1, "x"]),
    ("header", "X-Trace", [MISSING, 5, "x", ""]),
    ("header", "X-Ids", [MISSING, [1, 2], [7], ["a"], [1, 2.5]]),
    ("header", "X-Tone", [MISSING, "blue", "green"]),
    ("header", "X-Tenant", [MISSING, "acme", ""]),
    ("header", "X-Level", [MISSING, 1, 2, 3, "one"]),
    ("header", "X-Code", [MISSING, "ABC", "abc", "ABCD"]),
    ("header", "X-Since", [MISSING, "2024-02-29", "2023-02-29", "soon"]),
    ("header", "X-Limit", [MISSING, 1, 100, 0, 101]),
    ("header", "X-Kinds", [MISSING, ["a"], ["a", "b"], ["c"]]),
    ("header", "X-Few", [MISSING, [1, 2, 3], [1, 2, 3, 4], ["x"]]),
    ("header", "X-Most", [MISSING, 5, 6, "x"]),
]


def _text(value: Any) -> str:
    """A scalar as a client writes it in a URL or header."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


@pytest.fixture(scope="module")
def described() -> dict[tuple[str, str], dict[str, Any]]:
    spec = openapi_spec(app)
    params = spec["paths"]["/shops/{shop}/items/{item}/{color}"]["get"]["parameters"]
    components = spec["components"]
    return {(p["in"], p["name"]): {**p, "components": components} for p in params}


def _request(where: str, name: str, value: Any) -> tuple[str, dict[str, str]]:
    path, query, headers = dict(PATH), dict(QUERY), dict(HEADERS)
    chosen = {"path": path, "query": query, "header": headers}[where]
    chosen.pop(name, None)
    if value is not MISSING:
        chosen[name] = value
    url = "/shops/{shop}/items/{item}/{color}".format(**{k: _text(v) for k, v in path.items()})
    pairs = [(k, _text(v)) for k, vs in query.items() for v in (vs if isinstance(vs, list) else [vs])]
    if pairs:
        from urllib.parse import urlencode

        url += "?" + urlencode(pairs)
    sent = {k: ",".join(map(_text, v)) if isinstance(v, list) else _text(v) for k, v in headers.items()}
    return url, sent


def test_every_described_parameter_is_the_one_enforced(described: dict[tuple[str, str], dict[str, Any]]) -> None:
    client = TestClient(app, source="rest")
    assert {key for key in described} == {(where, name) for where, name, _ in CANDIDATES}
    disagreements = []
    for where, name, values in CANDIDATES:
        param = described[(where, name)]
        validator = jsonschema_rs.validator_for(
            {"$ref": "#/schema", "schema": param["schema"], "components": param["components"]},
            validate_formats=True,
        )
        for value in values:
            allowed = not param["required"] if value is MISSING else validator.is_valid(value)
            url, headers = _request(where, name, value)
            status = client.get(url, headers=headers).status_code
            if status != (200 if allowed else 422):
                shown = "missing" if value is MISSING else repr(value)
                disagreements.append(
                    f"{where} {name}={shown}: the document {'allows' if allowed else 'refuses'} it, Lift answers {status}"
                )
    assert disagreements == [], disagreements
