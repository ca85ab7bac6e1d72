"""The dashboard in a real headless Chromium (Debian chromium driven by Playwright)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from dev.dev_server_process import ROOT, DevServerProcess
from lift.testing.events import sqs as sqs_event

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run scripts/install-test-services.sh", pytrace=False)
    profile = tempfile.mkdtemp(prefix="lift-chromium-")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1400, "height": 1000}
        )
        try:
            yield context.new_page()
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def test_dashboard_shows_live_requests_and_records(dev_server: DevServerProcess, page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(dev_server.base + "/_lift/")
    page.wait_for_selector("#live:text('live')", timeout=15000)
    assert page.locator("#routes tbody tr", has_text="/hello/{name}").count() == 1
    assert page.locator("#sources button[data-kind='sqs'][data-name='orders']").count() == 1

    for name in ("ada", "grace", "linus"):
        dev_server.request("GET", f"/hello/{name}")
    dev_server.request("GET", "/boom")
    _status, out = dev_server.post_json("/_lift/events", sqs_event("orders", [{"id": "dash-1"}]))
    assert out["error"] is None

    rows = page.locator("#invocations tbody tr")
    rows.filter(has_text="/hello/linus").wait_for(timeout=15000)
    boom = rows.filter(has_text="/boom")
    boom.wait_for(timeout=15000)
    assert "500" in boom.inner_text()
    sqs_row = rows.filter(has_text="SQS").filter(has_text="orders").first
    sqs_row.wait_for(timeout=15000)
    assert "1/1 ok" in sqs_row.inner_text()

    # a button on the page sends a sample event to the registered queue
    page.click("#sources button[data-kind='sqs'][data-name='orders']")
    page.wait_for_function(
        "document.querySelector('#send-result').textContent.includes('batchItemFailures')", timeout=15000
    )
    page.wait_for_function(
        "document.querySelectorAll('#invocations tbody tr[data-kind=sqs]').length >= 2", timeout=15000
    )

    # clicking a row shows the API Gateway event the request became and the function's result
    rows.filter(has_text="/hello/grace").first.click()
    page.wait_for_function(
        "document.querySelector('#detail-event').textContent.includes('requestContext')", timeout=15000
    )
    assert '"httpMethod": "GET"' in page.inner_text("#detail-event")
    assert '"statusCode": 200' in page.inner_text("#detail-result")

    # the request form sends a real HTTP request through the app
    page.select_option("#http-method", "POST")
    page.fill("#http-path", "/echo")
    page.fill("#http-body", '{"from": "form"}')
    page.click("#http-form button")
    page.wait_for_function(
        "document.querySelector('#send-result').textContent.startsWith('POST /echo: 201')", timeout=15000
    )
    assert '{"from": "form"}' in page.inner_text("#send-result")
    rows.filter(has_text="/echo").first.wait_for(timeout=15000)

    stat = page.locator("#stats tbody tr[data-key='GET /hello/{name}']")
    stat.wait_for(timeout=15000)
    page.wait_for_function(
        """document.querySelector("#stats tbody tr[data-key='GET /hello/{name}'] td:nth-child(2)")
                              .textContent === '3'""",
        timeout=15000,
    )
    page.locator("#logs .log", has_text="saying hello to linus").wait_for(timeout=15000)
    page.locator("#queues tbody tr[data-queue='orders']").wait_for(timeout=15000)
    assert page.locator("#schedules tbody tr", has_text="rate(1 minute)").count() == 1
    page.locator("#health div", has_text="config: ok").wait_for(timeout=15000)
    assert "cache: fail" in page.locator("#health").inner_text()
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    assert not errors, errors
    assert rows.filter(has_text="/favicon.ico").count() == 0  # the page itself sends nothing to the app
    assert json.loads(dev_server.request("GET", "/_lift/api/state")[2])["app"]["name"] == "devdemo"


def test_swagger_ui_renders_the_spec(dev_server: DevServerProcess, page) -> None:
    page.goto(dev_server.base + "/_lift/docs")
    page.locator(".opblock-summary-path", has_text="/hello/{name}").first.wait_for(timeout=20000)
