"""Swagger UI at `/_lift/docs` from assets installed with the package (no CDN), and the spec.

The assets come from the `swagger-ui-bundle-v2` distribution (Swagger UI 5, which renders
OpenAPI 3.1), installed by `lift-lambda[dev]`.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from lift.context import Response

__all__ = ["response_for", "swagger_dir"]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API docs</title>
<link rel="stylesheet" href="/_lift/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/_lift/swagger/swagger-ui-bundle.js"></script>
<script src="/_lift/swagger/lift-init.js"></script>
</body></html>"""

_INIT = """window.ui = SwaggerUIBundle({url: "/_lift/openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, presets: [SwaggerUIBundle.presets.apis]});"""


def swagger_dir() -> Path | None:
    """Where the installed Swagger UI assets are, or None when the package is missing."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def response_for(sub: str, app: Any) -> Response:
    """Serve `docs`, `openapi.json` or `swagger/<asset>` under /_lift/."""
    if sub == "openapi.json":
        return _spec(app)
    if sub == "docs":
        if swagger_dir() is None:
            return Response.text('Swagger UI needs its assets: pip install "lift-lambda[dev]"', status=501)
        from html import escape

        return Response.html(_PAGE.format(title=escape(getattr(app, "name", "lift"))))
    asset = sub[len("swagger/") :]
    if asset == "lift-init.js":
        return Response(_INIT, 200, content_type="application/javascript; charset=utf-8")
    base = swagger_dir()
    if base is None or "/" in asset or asset.startswith("."):
        return Response.json({"error": f"no asset {asset}"}, status=404)
    path = base / asset
    if not path.is_file():
        return Response.json({"error": f"no asset {asset}"}, status=404)
    ctype = mimetypes.guess_type(asset)[0] or "application/octet-stream"
    return Response(path.read_bytes(), 200, {"Cache-Control": "max-age=3600"}, content_type=ctype)


def _spec(app: Any) -> Response:
    if app is None:
        return Response.json({"error": "the app failed to import"}, status=500)
    try:
        from lift.openapi import openapi_spec
    except ImportError:
        return Response.json({"error": "lift.openapi is not available in this version"}, status=501)
    try:
        return Response.json(openapi_spec(app))
    except Exception as exc:
        return Response.json({"error": f"OpenAPI generation failed: {type(exc).__name__}: {exc}"}, status=500)
