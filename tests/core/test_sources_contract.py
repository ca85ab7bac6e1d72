"""Every HTTP response Lift returns is exactly what its service accepts: only the documented
keys, string header values, a string body, and the source's own cookie field."""

from __future__ import annotations

import base64

import pytest

from lift import App, Response
from lift.middleware import cors, request_id, security_headers
from lift.testing import TestClient

ALLOWED_KEYS = {
    "rest": {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"},
    "http": {"statusCode", "headers", "body", "isBase64Encoded", "cookies"},
    "url": {"statusCode", "headers", "body", "isBase64Encoded", "cookies"},
    "alb": {"statusCode", "statusDescription", "headers", "multiValueHeaders", "body", "isBase64Encoded"},
}


def _app() -> App:
    app = App()
    app.use(request_id(), cors(["https://app.example"]), security_headers())
    app.get("/json")(lambda: {"a": [1, 2]})
    app.get("/none")(lambda: None)
    app.get("/text")(lambda: "hi")
    app.get("/bin")(lambda: Response(b"\x00\xff", content_type="application/octet-stream"))
    app.get("/cookies")(lambda: Response.json({}).set_cookie("a", "1").set_cookie("b", "2"))
    app.get("/redirect")(lambda: Response.redirect("/json"))
    app.get("/error")(lambda: 1 / 0)
    app.post("/only-post")(lambda: {})
    return app


PATHS = ["/json", "/none", "/text", "/bin", "/cookies", "/redirect", "/error", "/missing", "/only-post"]


@pytest.mark.parametrize(
    ("source", "multi_value"), [("rest", False), ("http", False), ("url", False), ("alb", False), ("alb", True)]
)
def test_every_response_has_only_the_fields_the_service_accepts(source: str, multi_value: bool) -> None:
    client = TestClient(_app(), source=source, **({"multi_value": True} if multi_value else {}))
    for method in ("GET", "HEAD"):
        for path in PATHS:
            out = client.request(method, path, headers={"Origin": "https://app.example"}).raw
            assert set(out) <= ALLOWED_KEYS[source], (path, set(out))
            assert isinstance(out["statusCode"], int)
            assert isinstance(out["body"], str) and isinstance(out["isBase64Encoded"], bool)
            if out["isBase64Encoded"]:
                base64.b64decode(out["body"], validate=True)
            if method == "HEAD":
                assert out["body"] == ""
            if source == "alb":
                assert out["statusDescription"].startswith(str(out["statusCode"]) + " ")
                assert ("multiValueHeaders" in out) is multi_value and ("headers" in out) is not multi_value
            for value in (out.get("headers") or {}).values():
                assert isinstance(value, str)
            for values in (out.get("multiValueHeaders") or {}).values():
                assert isinstance(values, list) and all(isinstance(v, str) for v in values)
            if source in ("http", "url"):
                assert all(isinstance(c, str) for c in out.get("cookies", []))
                assert not any(k.lower() == "set-cookie" for k in out["headers"])


def test_each_http_source_besides_rest_loads_on_its_first_event_and_every_kind_is_answered() -> None:
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        from lift import App, Context
        from lift.testing import TestClient

        app = App()

        @app.get("/items/{item_id}")
        def get_item(ctx: Context, item_id: int) -> dict:
            return {"id": item_id, "source": ctx.source}

        lazy = ("lift.sources.apigw_http", "lift.sources.function_url", "lift.sources.alb")
        loaded = lambda: sorted(m.rpartition(".")[2] for m in lazy if m in sys.modules)
        print(loaded())
        assert TestClient(app).get("/items/1").json() == {"id": 1, "source": "rest"}
        print(loaded())
        for source in ("http", "alb", "url", "http"):
            client = TestClient(app, source=source)
            assert client.get("/items/2").json() == {"id": 2, "source": source}, source
            assert client.get("/nothing").status_code == 404 and client.get("/items/x").status_code == 422
            print(loaded())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split("\n")[:6] == [
        "[]",
        "[]",  # a REST-only app never loads the other HTTP sources
        "['apigw_http']",
        "['alb', 'apigw_http']",
        "['alb', 'apigw_http', 'function_url']",
        "['alb', 'apigw_http', 'function_url']",
    ]
