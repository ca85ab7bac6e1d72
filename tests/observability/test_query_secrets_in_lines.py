"""Secrets in a URL's query are masked in log lines: a library's own line (httpx's
`HTTP Request: GET https://...?api_key=...`, a presigned S3 URL's X-Amz-Security-Token and
X-Amz-Signature in botocore's) comes through Lift's JSON handler with its message as written,
and before, the message was scanned for card numbers only."""

from __future__ import annotations

import logging

from lift import App
from lift.middleware.logging import RequestLogging
from lift.testing import TestClient
from observability.emf_spec import log_lines

PRESIGNED = (
    "https://bucket.s3.amazonaws.com/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=ASIAEXAMPLE%2F20261205%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261205T000000Z"
    "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE"
    "&X-Amz-Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
)


def test_query_secrets_in_library_lines_are_masked(capsys):
    app = App("svc")
    app.use(RequestLogging())

    @app.get("/report")
    def report(ctx) -> dict:
        logging.getLogger("httpx").info(
            'HTTP Request: %s %s "%s"',
            "GET",
            "https://api.example.com/v1/items?api_key=k-123&page=2",
            "HTTP/1.1 200 OK",
        )
        logging.getLogger("botocore.auth").info("presigned %s", PRESIGNED)
        ctx.logger.info("callback https://example.com/cb?code=abc&state=xyz&access_token=tok-9")
        return {}

    TestClient(app).get("/report")
    out = capsys.readouterr().out
    for secret in ("k-123", "IQoJb3JpZ2luX2VjEXAMPLE", "f0e8bdb87c96", "tok-9", "ASIAEXAMPLE"):
        assert secret not in out
    messages = [x["message"] for x in log_lines(out)]
    assert 'HTTP Request: GET https://api.example.com/v1/items?api_key=***&page=2 "HTTP/1.1 200 OK"' in messages
    presigned = next(m for m in messages if m.startswith("presigned"))
    assert "X-Amz-Security-Token=***" in presigned and "X-Amz-Signature=***" in presigned
    assert "X-Amz-Expires=3600" in presigned and "X-Amz-Credential=***" in presigned
    assert "callback https://example.com/cb?code=abc&state=xyz&access_token=***" in messages
