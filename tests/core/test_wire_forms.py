"""A request as clients put it on the wire routes the same on every HTTP source and over ASGI.

API Gateway (REST and HTTP APIs), ALB, function URLs and VPC Lattice hand Lift the path still
percent-encoded, as the client sent it (`/café` arrives as `/caf%C3%A9`, `/a b` as `/a%20b`), where
an ASGI server hands over the decoded path (and the raw one beside it). An escaped slash (`%2F`) is
part of its segment on every source. A method in lower case is that method.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lift import App, Context
from lift.sources.apigw_http import as_sent
from lift.testing import events, lambda_context
from tests.core.asgi_get import asgi_get
from tests.core.http_events import BUILDERS

SOURCES = sorted(BUILDERS)


def make_app() -> App:
    app = App(name="wire")

    @app.get("/café")
    def cafe(ctx: Context) -> dict:
        return {"route": "café"}

    @app.get("/a b")
    def spaced(ctx: Context) -> dict:
        return {"route": "a b"}

    @app.get("/menü/{item}")
    def menu(ctx: Context, item: str) -> dict:
        return {"route": "menü", "item": item}

    @app.get("/shops/{shop}/thé")
    def tea(ctx: Context, shop: str) -> dict:
        return {"route": "thé", "shop": shop}

    @app.get("/users/{user_id}")
    def user(ctx: Context, user_id: int) -> dict:
        return {"route": "users", "user_id": user_id}

    @app.get("/names/{name}")
    def name(ctx: Context, name: str) -> dict:
        return {"route": "names", "name": name}

    @app.post("/names/{name}")
    def rename(ctx: Context, name: str) -> dict:
        return {"route": "rename", "name": name}

    @app.get("/files/{path+}")
    def files(ctx: Context, path: str) -> dict:
        return {"route": "files", "path": path}

    return app


APP = make_app()


def with_method(source: str, event: dict[str, Any], method: str) -> dict[str, Any]:
    """`event` with its request method written as `method` (where each source keeps it)."""
    if source in ("http", "url"):
        event["requestContext"]["http"]["method"] = method
    elif source == "lattice":
        event["method"] = method
    else:
        event["httpMethod"] = method
        if "httpMethod" in event.get("requestContext", {}):
            event["requestContext"]["httpMethod"] = method
    return event


def on_lambda(app: App, source: str, wire_path: str, method: str = "GET") -> tuple[int, Any]:
    event = with_method(source, BUILDERS[source]("GET", wire_path), method)
    out = app.handler(event, lambda_context())
    body = json.loads(out["body"]) if out["body"] else None
    if source == "http" and isinstance(body, dict) and isinstance(body.get("error"), dict):
        # (an HTTP API passes the path on decoded: an answer naming it names it encoded again, hex in
        # upper case, `|` as it is; read here as the client's own spelling the other sources name)
        body["error"]["message"] = body["error"]["message"].replace(as_sent(event["rawPath"]), wire_path)
    return out["statusCode"], body


def without_request_id(status: int, body: Any) -> tuple[int, Any]:
    """An answer with its error's request id left out (each request has its own)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = {"error": {k: v for k, v in body["error"].items() if k != "request_id"}}
    return status, body


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("wire_path", "answer"),
    [
        ("/caf%C3%A9", {"route": "café"}),
        ("/caf%c3%a9", {"route": "café"}),  # hex digits in lower case
        ("/a%20b", {"route": "a b"}),
        ("/men%C3%BC/tea", {"route": "menü", "item": "tea"}),
        ("/men%C3%BC/caf%C3%A9", {"route": "menü", "item": "café"}),
        ("/shops/7/th%C3%A9", {"route": "thé", "shop": "7"}),
    ],
)
def test_a_static_route_with_text_clients_percent_encode_is_found_as_they_send_it(
    source: str, wire_path: str, answer: dict
) -> None:
    assert on_lambda(APP, source, wire_path) == (200, answer)
    assert asyncio.run(asgi_get(APP, wire_path.encode())) == (200, answer)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("wire_path", "answer"),
    [
        ("/names/a%2Fb", {"route": "names", "name": "a/b"}),
        ("/names/a%2fb", {"route": "names", "name": "a/b"}),
        ("/names/caf%C3%A9%2Fx", {"route": "names", "name": "café/x"}),
        ("/files/a%2Fb/c", {"route": "files", "path": "a/b/c"}),
    ],
)
def test_an_escaped_slash_stays_in_its_segment_over_asgi_as_on_every_lambda_source(
    source: str, wire_path: str, answer: dict
) -> None:
    assert on_lambda(APP, source, wire_path) == (200, answer)
    assert asyncio.run(asgi_get(APP, wire_path.encode())) == (200, answer)


def test_an_escaped_slash_in_a_typed_parameter_is_its_422_over_asgi_as_on_lambda() -> None:
    status, body = asyncio.run(asgi_get(APP, b"/users/1%2F2"))
    assert (status, body["error"]["details"][0]["path"]) == (422, "$.user_id")
    for source in SOURCES:
        assert without_request_id(*on_lambda(APP, source, "/users/1%2F2")) == without_request_id(status, body), source


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(("get", "post"), [("get", "post"), ("Get", "Post")])
def test_a_method_in_lower_case_is_that_method_on_every_source_and_over_asgi(source: str, get: str, post: str) -> None:
    assert on_lambda(APP, source, "/users/5", get) == (200, {"route": "users", "user_id": 5})
    assert on_lambda(APP, source, "/names/x", post) == (200, {"route": "rename", "name": "x"})
    assert asyncio.run(asgi_get(APP, b"/users/5", get)) == (200, {"route": "users", "user_id": 5})
    status, body = asyncio.run(asgi_get(APP, b"/nowhere", get))  # (no route: the 404 names the method as sent)
    assert without_request_id(*on_lambda(APP, source, "/nowhere", get)) == without_request_id(status, body)


@pytest.mark.parametrize("source", SOURCES)
def test_head_and_a_refused_method_in_lower_case_answer_as_in_upper_case(source: str) -> None:
    event = with_method(source, BUILDERS[source]("HEAD", "/users/5"), "head")
    out = APP.handler(event, lambda_context())
    headers = out.get("headers") or {k: v[0] for k, v in out["multiValueHeaders"].items()}
    assert (out["statusCode"], out["body"], headers["Content-Length"]) == (
        200,
        "",
        str(len(b'{"route":"users","user_id":5}')),
    )
    status, body = on_lambda(APP, source, "/users/5", "delete")
    assert (status, body["error"]["code"], body["error"]["message"]) == (
        405,
        "method_not_allowed",
        "Method DELETE not allowed",
    )


# -- any path, the same answer over ASGI as on every Lambda source ----------------------------------
TEXT = st.sampled_from(["café", "a b", "menü", "thé", "names", "users", "files", "shops", "7", "x", "a/b", "é/"])


@st.composite
def wire_paths(draw: st.DrawFn) -> str:
    """A path of 1-4 segments, each percent-encoded as a client sends it (upper- or lower-case hex),
    a "/" inside a segment escaped as `%2F`."""
    parts = []
    for text in draw(st.lists(TEXT, min_size=1, max_size=4)):
        encoded = quote(text, safe="")
        if draw(st.booleans()):
            encoded = encoded.lower() if "%" in encoded else encoded
        parts.append(encoded)
    return "/" + "/".join(parts)


@settings(max_examples=60)
@given(path=wire_paths())
def test_any_encoded_path_answers_over_asgi_as_on_every_lambda_source(path: str) -> None:
    status, body = asyncio.run(asgi_get(APP, path.encode()))
    assert status < 500
    for source in SOURCES:
        assert without_request_id(*on_lambda(APP, source, path)) == without_request_id(status, body), (source, path)


# -- behind a custom domain's base path mapping (`/v1` -> the API's stage) ------------------------------
def behind_custom_domain(source: str, raw_path: str, template: str, params: dict[str, str]) -> dict[str, Any]:
    """The event API Gateway sends for `raw_path` under the mapping `/v1`, its route matched as `template`."""
    if source == "rest":
        event = events.apigw_rest("GET", raw_path, domain="api.example.com", resource=template)
    else:
        event = events.apigw_http("GET", raw_path, route_key=f"GET {template}")
        event["requestContext"]["domainName"] = "api.example.com"
    event["pathParameters"] = params
    return event


@pytest.mark.parametrize(
    ("source", "params"),
    [("rest", "as sent"), ("http", "decoded")],  # (an HTTP API decodes the path and its parameters, but "%2F")
)
@pytest.mark.parametrize(
    ("raw_path", "template", "as_sent", "decoded", "answer"),
    [
        ("/v1/names/a%2Fb", "/names/{name}", "a%2Fb", "a/b", {"route": "names", "name": "a/b"}),
        ("/v1/names/100%2541", "/names/{name}", "100%2541", "100%41", {"route": "names", "name": "100%41"}),
        ("/v1/names/caf%C3%A9", "/names/{name}", "caf%C3%A9", "café", {"route": "names", "name": "café"}),
        ("/v1/files/a%2Fb/c", "/files/{path+}", "a%2Fb/c", "a/b/c", {"route": "files", "path": "a/b/c"}),
        ("/v1/men%C3%BC/tea", "/menü/{item}", "tea", "tea", {"route": "menü", "item": "tea"}),
    ],
)
def test_behind_a_custom_domain_an_escaped_path_answers_as_on_the_apis_own_domain(
    source: str, params: str, raw_path: str, template: str, as_sent: str, decoded: str, answer: dict
) -> None:
    name = template.rsplit("{", 1)[1].strip("+}")
    event = behind_custom_domain(source, raw_path, template, {name: as_sent if params == "as sent" else decoded})
    out = APP.handler(event, lambda_context())
    assert (out["statusCode"], json.loads(out["body"])) == (200, answer)
    assert on_lambda(APP, source, raw_path.removeprefix("/v1")) == (200, answer)  # (the API's own domain)


# -- text some clients encode and others send as it is (`|[]^` go raw from a browser) -------------------
def make_odd_app() -> App:
    """Routes holding ASCII text clients disagree on, and non-ASCII segments, with every route in the
    router's one-probe tables (the 404 a Lambda source answers first, without the full lookup)."""
    app = App(name="odd")

    @app.get("/a|b")
    def bar(ctx: Context) -> dict:
        return {"route": "a|b"}

    @app.get("/x[1]/{v}")
    def bracket(ctx: Context, v: str) -> dict:
        return {"route": "x[1]", "v": v}

    @app.get("/p^q/<r>")
    def caret(ctx: Context) -> dict:
        return {"route": "p^q/<r>"}

    @app.get("/café/thé/menü")
    def three(ctx: Context) -> dict:
        return {"route": "café/thé/menü"}

    @app.get("/café/thé/{item}")
    def item(ctx: Context, item: str) -> dict:
        return {"route": "café/thé", "item": item}

    return app


ODD = make_odd_app()


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    ("wire_path", "answer"),
    [
        ("/a|b", {"route": "a|b"}),  # (a browser)
        ("/a%7Cb", {"route": "a|b"}),  # (requests, httpx)
        ("/a%7cb", {"route": "a|b"}),
        ("/%61|b", {"route": "a|b"}),  # (an unreserved character encoded all the same)
        ("/x[1]/7", {"route": "x[1]", "v": "7"}),
        ("/x%5B1%5D/7", {"route": "x[1]", "v": "7"}),
        ("/x%5b1]/a%7Cb", {"route": "x[1]", "v": "a|b"}),
        ("/x[1]/%2541", {"route": "x[1]", "v": "%41"}),  # (a doubly-encoded "%41": decoded once)
        ("/p^q/%3Cr%3E", {"route": "p^q/<r>"}),
        ("/p%5Eq/%3cr%3E", {"route": "p^q/<r>"}),
        ("/caf%C3%A9/th%c3%a9/men%C3%BC", {"route": "café/thé/menü"}),  # (hex case mixed across segments)
        ("/caf%c3%A9/th%C3%a9/men%c3%BC", {"route": "café/thé/menü"}),  # (and within one)
        ("/caf%C3%A9/th%c3%a9/tea", {"route": "café/thé", "item": "tea"}),
        ("/caf%C3%A9/th%c3%a9/men%C3%BCs", {"route": "café/thé", "item": "menüs"}),
    ],
)
def test_a_route_holding_text_some_clients_encode_is_found_however_they_spell_it(
    source: str, wire_path: str, answer: dict
) -> None:
    assert on_lambda(ODD, source, wire_path) == (200, answer)
    assert asyncio.run(asgi_get(ODD, wire_path.encode())) == (200, answer)


@pytest.mark.parametrize("source", SOURCES)
def test_an_unknown_path_spelled_like_a_route_is_the_same_404_everywhere(source: str) -> None:
    for wire_path in ("/a%7Cc", "/caf%C3%A9/th%c3%a8/men%C3%BC", "/x%5B2%5D/7"):
        status, body = asyncio.run(asgi_get(ODD, wire_path.encode()))
        assert status == 404
        assert without_request_id(*on_lambda(ODD, source, wire_path)) == without_request_id(status, body)


@st.composite
def odd_spellings(draw: st.DrawFn) -> tuple[str, dict]:
    """A route's path as some client spells it: each character clients may encode sent as it is or
    percent-encoded, each escape's hex digits in upper or lower case."""
    path, answer = draw(
        st.sampled_from(
            [
                ("/a|b", {"route": "a|b"}),
                ("/x[1]/v|w", {"route": "x[1]", "v": "v|w"}),
                ("/p^q/<r>", {"route": "p^q/<r>"}),
                ("/café/thé/menü", {"route": "café/thé/menü"}),
                ("/café/thé/é[", {"route": "café/thé", "item": "é["}),
            ]
        )
    )
    out = []
    for char in path:
        sent_as_is = char.isascii() and (char.isalnum() or char in "|[]^")  # (what a browser sends raw)
        if char == "/" or (sent_as_is and draw(st.booleans())):
            out.append(char)
        else:
            escape = quote(char, safe="")
            if escape == char:
                escape = f"%{ord(char):02X}"
            out.append("".join(c.lower() if draw(st.booleans()) else c for c in escape))
    return "".join(out), answer


@settings(max_examples=60)
@given(spelled=odd_spellings())
def test_any_client_spelling_of_a_route_answers_it_on_every_source_and_over_asgi(spelled: tuple[str, dict]) -> None:
    wire_path, answer = spelled
    assert asyncio.run(asgi_get(ODD, wire_path.encode())) == (200, answer), wire_path
    for source in SOURCES:
        assert on_lambda(ODD, source, wire_path) == (200, answer), (source, wire_path)


@pytest.mark.parametrize(
    ("root_path", "wire_path"),
    [
        ("/caf\u00e9", "/caf%C3%A9/users/5"),  # (decoded, as ASGI gives root_path: Starlette's Mount)
        ("/caf\u00e9", "/caf%c3%a9/users/5"),
        ("/caf%C3%A9", "/caf%c3%a9/users/5"),  # (as uvicorn's --root-path passes it on, another hex case)
        ("/a b/x", "/a%20b/x/users/5"),
        ("/a b/x/", "/a%20b/x/users/5"),
        ("/50%", "/50%25/users/5"),
    ],
)
def test_a_root_path_that_needs_encoding_is_stripped_as_clients_send_it(root_path: str, wire_path: str) -> None:
    assert asyncio.run(asgi_get(APP, wire_path.encode(), root_path=root_path)) == (
        200,
        {"route": "users", "user_id": 5},
    )
    status, body = asyncio.run(asgi_get(APP, b"/elsewhere/users/5", root_path=root_path))
    assert status == 404, body
