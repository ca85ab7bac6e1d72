"""A `Set-Cookie` header a handler sets itself (in any casing) and the cookies of `set_cookie` all
reach the client on every HTTP source, each in the form its service reads: none overwrites another
(ALB in either header mode and VPC Lattice lost the header's cookie to the first `set_cookie`)."""

from __future__ import annotations

import pytest

from lift import App, Context, Response
from lift.testing import lambda_context

from .http_events import VARIANTS

SOURCES = ["rest", "http", "url", "alb", "alb-multi", "lattice"]


def _event(source: str, path: str) -> dict:
    return VARIANTS[source]("GET", path)


def _delivered(out: dict) -> list[str]:
    """Every Set-Cookie line the service sends on: its headers (a name in any casing), its multi-value
    headers (REST merges them with `headers`) and a payload 2.0 `cookies` list."""
    lines = [v for k, v in (out.get("headers") or {}).items() if k.lower() == "set-cookie"]
    for name, values in (out.get("multiValueHeaders") or {}).items():
        if name.lower() == "set-cookie":
            lines.extend(values)
    lines.extend(out.get("cookies") or ())
    return sorted(line.split(";")[0] for line in lines)


@pytest.fixture(scope="module")
def app() -> App:
    app = App()

    @app.get("/login")
    def login(ctx: Context) -> Response:
        response = Response.json({"ok": True}, headers={"Set-Cookie": "session=s1; Path=/; HttpOnly"})
        response.set_cookie("theme", "dark")
        response.set_cookie("lang", "fr")
        return response

    @app.get("/lower")
    def lower(ctx: Context) -> Response:
        response = Response.json({"ok": True}, headers={"set-cookie": "session=s2"})
        response.set_cookie("theme", "light")
        return response

    @app.get("/only-header")
    def only_header(ctx: Context) -> Response:
        return Response.json({"ok": True}, headers={"Set-Cookie": "session=s3"})

    return app


@pytest.mark.parametrize("source", SOURCES)
def test_a_set_cookie_header_and_set_cookie_are_all_delivered(app: App, source: str) -> None:
    out = app.handler(_event(source, "/login"), lambda_context())
    assert out["statusCode"] == 200
    assert _delivered(out) == ["lang=fr", "session=s1", "theme=dark"]


@pytest.mark.parametrize("source", SOURCES)
def test_a_lower_case_set_cookie_header_is_kept_beside_set_cookie(app: App, source: str) -> None:
    out = app.handler(_event(source, "/lower"), lambda_context())
    assert _delivered(out) == ["session=s2", "theme=light"]


@pytest.mark.parametrize("source", SOURCES)
def test_a_set_cookie_header_alone_is_delivered(app: App, source: str) -> None:
    out = app.handler(_event(source, "/only-header"), lambda_context())
    assert _delivered(out) == ["session=s3"]
