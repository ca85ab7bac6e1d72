"""Properties: whatever headers, query parameters, cookies and body bytes a client sends, no HTTP
source answers a 5xx, and each reaches `ctx.request` as sent (in the form each AWS service keeps it:
REST, VPC Lattice and ALB with multi-value headers ("alb-multi") keep every value of a header, an
HTTP API or function URL joins them with commas, ALB without multi-value headers keeps the last).
Over ASGI, header bytes arrive as the server read them (Latin-1), and a query string gives the same
parameters as an HTTP API's `rawQueryString`."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lift import App, Context, Response
from lift.asgi import header_text
from lift.testing import events, lambda_context
from tests.core.asgi_get import asgi_request
from tests.core.http_events import VARIANTS

SOURCES = sorted(VARIANTS)
SEEN: dict[str, Any] = {}


def make_app() -> App:
    app = App(name="roundtrip")

    @app.route("/echo", methods=["GET", "POST"])
    def echo(ctx: Context) -> dict:
        request = ctx.request
        SEEN.update(
            headers={name: (request.headers.getall(name), request.headers.get(name)) for name in request.headers},
            query=request.query.to_dict(),
            cookies=dict(request.cookies),
            body=request.body,
        )
        return {"ok": True}

    @app.post("/mirror")
    def mirror(ctx: Context) -> Response:
        """The request's body sent back as it came, labelled with the type the client asked for."""
        return Response(ctx.request.body, content_type=ctx.headers.get("x-type"))

    return app


APP = make_app()
# names as HTTP allows them (RFC 9110 tokens), under a prefix no builder sets
NAMES = st.text("abcdefghijklmnopqrstuvwxyz0123456789-!#$%&'*+.^_`|~", min_size=1, max_size=8).map("x-".__add__)
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=10)
COOKIE_NAMES = st.text("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-_!#$&'*+.^`|~", min_size=1, max_size=8)
COOKIE_VALUES = st.text("".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\'), max_size=10)


def expected_header(source: str, values: list[str]) -> tuple[list[str], str] | str:
    """What `(getall, get)` of a header sent with `values` gives on `source` (get alone where
    getall depends on commas in the values)."""
    if source in ("rest", "lattice", "alb-multi"):
        return values, values[0]
    if source in ("http", "url"):
        return ",".join(values)  # (API Gateway and function URLs join repeated headers with commas)
    return [values[-1]], values[-1]  # (ALB without multi-value headers keeps the last)


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=40)
@given(
    headers=st.dictionaries(NAMES, st.lists(TEXT, min_size=1, max_size=3), max_size=4),
    query=st.dictionaries(TEXT.filter(bool), st.lists(TEXT, min_size=1, max_size=3), max_size=4),
    cookies=st.dictionaries(COOKIE_NAMES, COOKIE_VALUES, max_size=4),
    body=st.binary(max_size=64),
)
def test_any_header_query_cookie_and_body_reach_ctx_request_as_sent_on_every_source(
    source: str, headers: dict, query: dict, cookies: dict, body: bytes
) -> None:
    if source == "alb":  # (without multi-value headers ALB keeps a parameter's last value)
        query = {k: v[-1:] for k, v in query.items()}
    sent_headers: dict[str, Any] = dict(headers)
    cookie_pairs = [f"{k}={v}" for k, v in cookies.items()]
    if source in ("http", "url"):
        event = VARIANTS[source]("POST", "/echo", headers=sent_headers, query=query, cookies=cookie_pairs, body=body)
    else:
        if cookie_pairs:
            sent_headers["cookie"] = "; ".join(cookie_pairs)
        event = VARIANTS[source]("POST", "/echo", headers=sent_headers, query=query, body=body, is_base64=True)
    SEEN.clear()
    out = APP.handler(event, lambda_context())
    assert out["statusCode"] == 200, out
    assert ("multiValueHeaders" in out) == (source == "alb-multi")  # (the answer in the request's header mode)
    for name, values in headers.items():
        want = expected_header(source, values)
        got = SEEN["headers"][name]
        assert (got[1] if isinstance(want, str) else got) == want, name
    assert SEEN["query"] == query
    assert SEEN["cookies"] == cookies
    assert SEEN["body"] == body


# bytes an HTTP/1.1 server passes in a header value: visible ASCII, space, tab and obs-text (0x80-0xff)
HEADER_BYTES = st.binary(max_size=12).map(lambda b: bytes(c if c >= 0x20 and c != 0x7F else 0x20 for c in b).strip())


@settings(max_examples=60)
@given(
    headers=st.lists(st.tuples(NAMES, HEADER_BYTES), max_size=5),
    query=st.lists(st.tuples(TEXT, TEXT), max_size=5),
    raw_query=st.text("abc=&%+;2F0zé", max_size=12),
)
def test_any_header_bytes_and_query_string_over_asgi_reach_ctx_request_as_on_an_http_api(
    headers: list, query: list, raw_query: str
) -> None:
    # a query string as clients encode it, then odd fragments (lone "%", "+", ";", bare "=")
    query_string = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    query_string += "&" + quote(raw_query, safe="=&%+;") if raw_query else ""
    wire_headers = [(name.encode(), value) for name, value in headers]
    SEEN.clear()
    assert asyncio.run(asgi_request(APP, b"/echo", query_string=query_string.encode(), headers=wire_headers))[0] == 200
    asgi_seen = dict(SEEN)
    for name, value in headers:
        assert header_text(value) in asgi_seen["headers"][name][0]
    SEEN.clear()
    event = events.apigw_http("GET", "/echo")
    event["rawQueryString"] = query_string
    assert APP.handler(event, lambda_context())["statusCode"] == 200
    assert asgi_seen["query"] == SEEN["query"]


@pytest.mark.parametrize("source", SOURCES)
def test_a_base64_body_decodes_to_its_bytes_and_a_bad_one_is_a_400(source: str) -> None:
    payload = bytes(range(256))
    event = VARIANTS[source]("POST", "/echo", body=payload, is_base64=True)
    SEEN.clear()
    assert APP.handler(event, lambda_context())["statusCode"] == 200
    assert SEEN["body"] == payload
    for bad in ("@@@@", "QUJ", "QU JD", "=QUJD", "QU=JD"):
        event["body"] = bad
        out = APP.handler(event, lambda_context())
        assert out["statusCode"] == 400 and '"invalid_base64"' in out["body"], (bad, out)


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=30)
@given(
    body=st.binary(max_size=40),
    content_type=st.sampled_from(["application/json", "text/plain; charset=utf-8", "image/png", "application/x"]),
)
def test_any_response_body_reaches_the_client_as_its_bytes_on_every_source(
    source: str, body: bytes, content_type: str
) -> None:
    """Text goes as text, anything UTF-8 cannot carry as base64 (`isBase64Encoded`), whatever its label."""
    event = VARIANTS[source]("POST", "/mirror", body=body, is_base64=True, headers={"x-type": content_type})
    out = APP.handler(event, lambda_context())
    assert out["statusCode"] == 200, out
    sent = base64.b64decode(out["body"]) if out["isBase64Encoded"] else out["body"].encode("utf-8")
    assert sent == body


@pytest.mark.parametrize("source", [*SOURCES, "asgi"])
@pytest.mark.parametrize(
    ("sent", "cookies"),
    [
        (["cookie1", "a=b"], {"": "cookie1", "a": "b"}),  # (as browsers send a cookie set without "=")
        (["a=b", "flag"], {"a": "b", "": "flag"}),
        (["=v", "w"], {"": "v"}),  # (one nameless cookie: the first wins, as for any name)
        (["a=", " b = c "], {"a": "", "b": "c"}),
        (["a=1", "a=2", ""], {"a": "1"}),
    ],
)
def test_a_cookie_without_a_value_is_the_nameless_cookie_on_every_source(
    source: str, sent: list[str], cookies: dict[str, str]
) -> None:
    """RFC 6265bis: a cookie-pair without "=" is a cookie with an empty name; HTTP APIs and function
    URLs hand each pair over in their `cookies` list, the others in the Cookie header."""
    SEEN.clear()
    if source == "asgi":
        header = [(b"cookie", "; ".join(sent).encode())]
        assert asyncio.run(asgi_request(APP, b"/echo", headers=header))[0] == 200
    elif source in ("http", "url"):
        event = VARIANTS[source]("GET", "/echo", cookies=sent)
        assert event["cookies"] == sent
        assert APP.handler(event, lambda_context())["statusCode"] == 200
    else:
        event = VARIANTS[source]("GET", "/echo", headers={"cookie": "; ".join(sent)})
        assert APP.handler(event, lambda_context())["statusCode"] == 200
    assert SEEN["cookies"] == cookies


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("text", ["caf\u00e9", "\u20ac 5", "\u65e5\u672c", "plain", "a\u00ff"])
def test_a_utf8_header_value_reads_the_same_over_asgi_as_on_every_lambda_source(source: str, text: str) -> None:
    """AWS hands a Lambda source each header value as text decoded from UTF-8; an ASGI server hands
    over the bytes, which Lift reads as UTF-8 too (not Latin-1: `é` is not `Ã©`)."""
    SEEN.clear()
    assert (
        APP.handler(VARIANTS[source]("GET", "/echo", headers={"x-name": text}), lambda_context())["statusCode"] == 200
    )
    on_lambda = SEEN["headers"]["x-name"][1]
    SEEN.clear()
    wire = [(b"x-name", text.encode("utf-8"))]
    assert asyncio.run(asgi_request(APP, b"/echo", headers=wire))[0] == 200
    assert SEEN["headers"]["x-name"][1] == on_lambda == text


def test_header_bytes_that_are_not_utf8_read_as_latin1_over_asgi() -> None:
    SEEN.clear()
    wire = [(b"x-name", b"caf\xe9 \xff"), (b"x-ok", "\u00e9".encode())]
    assert asyncio.run(asgi_request(APP, b"/echo", headers=wire))[0] == 200
    assert (SEEN["headers"]["x-name"][1], SEEN["headers"]["x-ok"][1]) == ("caf\u00e9 \u00ff", "\u00e9")


class Named(msgspec.Struct):
    name: str


def make_typed_app() -> App:
    app = App(name="typed")

    @app.post("/named")
    def named(body: Named) -> dict:
        return {"name": body.name}

    @app.get("/query")
    def query(ctx: Context) -> dict:
        return {"query": ctx.query.to_dict()}

    return app


TYPED = make_typed_app()
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON;charset=UTF-8",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/vnd.api+json",
        "multipart/form-data; boundary=x",
        "image/png",
        ";;",
    ]
)
ENCODINGS = st.sampled_from([None, "identity", "gzip", "deflate", "br", "GZIP", "x-unknown"])
BODIES = st.one_of(
    st.sampled_from([b'{"name":"a"}', '{"name":"\u00e9"}'.encode(), b'{"name":1}', b"name=a", b"", b"\xef\xbb\xbf{}"]),
    st.binary(max_size=40),
)


def answer_of(status: int, body: bytes) -> tuple[int, str | None]:
    data = json.loads(body) if body else None
    return status, data["error"]["code"] if isinstance(data, dict) and "error" in data else json.dumps(data)


@settings(max_examples=60)
@given(content_type=CONTENT_TYPES, encoding=ENCODINGS, body=BODIES)
def test_any_body_with_any_content_type_or_encoding_answers_alike_and_never_a_5xx(
    content_type: str | None, encoding: str | None, body: bytes
) -> None:
    """A typed body sent with a wrong, missing or odd Content-Type, a charset parameter or a
    Content-Encoding (a gzip body is a 415 naming it, never a JSON syntax error): the same status and
    error code on every source and over ASGI, and never a 5xx."""
    import gzip

    if encoding and encoding.lower() == "gzip":
        body = gzip.compress(body)
    headers = {k: v for k, v in (("content-type", content_type), ("content-encoding", encoding)) if v}
    status, _, sent = asyncio.run(
        asgi_request(
            TYPED, b"/named", "POST", headers=[(k.encode(), v.encode()) for k, v in headers.items()], body=body
        )
    )
    answer = answer_of(status, sent)
    assert status < 500, answer
    if encoding and encoding != "identity" and status >= 400:  # (never "invalid_json" for a compressed body)
        refusals = (
            "unsupported_content_encoding",
            "unsupported_media_type",
            "unsupported_charset",
            "validation_failed",
        )
        assert answer[1] in refusals, answer
    for source in SOURCES:
        out = TYPED.handler(
            VARIANTS[source]("POST", "/named", body=body, headers=headers, is_base64=True), lambda_context()
        )
        got = answer_of(
            out["statusCode"], base64.b64decode(out["body"]) if out["isBase64Encoded"] else out["body"].encode()
        )
        assert got == answer, (source, headers, body)


QUERY_TEXT = st.text(st.sampled_from(list("ab=&;+% 2BFzé[]\x00")), max_size=30)


@settings(max_examples=60)
@given(raw=QUERY_TEXT, long_value=st.integers(0, 9000))
def test_any_hostile_query_string_reads_alike_over_asgi_and_an_http_api_and_never_a_5xx(
    raw: str, long_value: int
) -> None:
    """`;`, empty keys, `+`, repeated keys, a lone `%`, NUL, non-ASCII and very long values: the
    parameters an HTTP API's rawQueryString gives are those ASGI gives for the same bytes; escapes
    that are not UTF-8 (`%FB`) are the same 400 on both."""
    query_string = quote(raw, safe="=&;+%[]") + ("&long=" + "v" * long_value if long_value else "")
    status, _, sent = asyncio.run(asgi_request(TYPED, b"/query", query_string=query_string.encode()))
    assert status in (200, 400), sent
    event = events.apigw_http("GET", "/query")
    event["rawQueryString"] = query_string
    out = TYPED.handler(event, lambda_context())
    if status == 400:
        refused = (400, "invalid_query_encoding")
        assert answer_of(status, sent) == answer_of(out["statusCode"], out["body"].encode()) == refused
    else:
        assert (out["statusCode"], json.loads(out["body"])) == (200, json.loads(sent))
