"""`lift dev --profile` and the dashboard's actions (profiles, import costs, restart, tests, replay),
driven through the real dev server and clicked in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dev.dev_server_process import DevServerProcess, write_project
from dev.test_dashboard import page  # noqa: F401  (the Chromium page fixture)

PROJECT_TEST = """
from devdemo.app import app
from lift.testing import TestClient


def test_hello():
    assert TestClient(app).get("/hello/ada").json()["hello"] == "ada"
"""


@pytest.fixture(scope="module")
def profiled_server(tmp_path_factory: pytest.TempPathFactory) -> DevServerProcess:
    root: Path = tmp_path_factory.mktemp("profiled")
    write_project(root)
    (root / "tests").mkdir()
    (root / "tests" / "test_devdemo.py").write_text(PROJECT_TEST)
    server = DevServerProcess(root, "--no-reload", "--profile", "1", "--profile-memory", env={"LIFT_DEV_TIMEOUT": "5"})
    yield server
    server.stop()


def test_profiles_list_the_slowest_requests_with_their_call_tree(profiled_server: DevServerProcess) -> None:
    profiled_server.request("GET", "/hello/ada")
    profiled_server.request("GET", "/sleep?s=0.05")
    data = profiled_server.wait_for(
        lambda: (d := profiled_server.get("/_lift/api/profiles")) and len(d["slowest"]) >= 2 and d
    )
    assert data["enabled"] and data["engine"] == "pyinstrument"
    durations = [p["duration_ms"] for p in data["slowest"]]
    assert durations == sorted(durations, reverse=True)
    slowest = next(p for p in data["slowest"] if p["label"] == "GET /sleep")
    assert slowest["duration_ms"] >= 50
    assert slowest["memory_peak_kb"] is not None
    tree = profiled_server.get(f"/_lift/api/profiles/{slowest['id']}")["tree"]

    def names(node):
        yield node["function"]
        for child in node["children"]:
            yield from names(child)

    assert "sleep" in set(names(tree))  # the handler (named sleep) and time.sleep under it
    status, headers, html = profiled_server.request("GET", f"/_lift/api/profiles/{slowest['id']}/html")
    assert status == 200 and headers["content-type"].startswith("text/html") and b"pyinstrument" in html
    assert profiled_server.request("GET", "/_lift/api/profiles/9999")[0] == 404


def test_import_costs_of_the_app(profiled_server: DevServerProcess) -> None:
    rows = profiled_server.get("/_lift/api/imports")["imports"]
    modules = [r["module"] for r in rows]
    assert "devdemo.app" in modules and "lift" in modules
    assert rows == sorted(rows, key=lambda r: -r["cumulative_us"])


def test_replay_runs_a_recorded_event_again(profiled_server: DevServerProcess) -> None:
    profiled_server.request("GET", "/hello/grace")
    state = profiled_server.get("/_lift/api/state")
    item = next(i for i in reversed(state["invocations"]) if i["target"] == "/hello/grace")
    status, out = profiled_server.post_json(f"/_lift/api/invocations/{item['id']}/replay", {})
    assert status == 200 and out["error"] is None
    assert json.loads(out["result"]["body"])["hello"] == "grace"
    after = profiled_server.get("/_lift/api/state")["invocations"]
    assert sum(1 for i in after if i["target"] == "/hello/grace") == 2
    assert profiled_server.post_json("/_lift/api/invocations/999999/replay", {})[0] == 404


def test_dashboard_actions_in_chromium(profiled_server: DevServerProcess, page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(profiled_server.base + "/_lift/")
    page.wait_for_selector("#live:text('live')", timeout=15000)
    generation = profiled_server.get("/_lift/api/state")["app"]["generation"]

    # run the project's tests: pytest's output streams into the page
    page.click("#run-tests")
    page.wait_for_function("document.querySelector('#tests-status').textContent === 'exit code 0'", timeout=60000)
    assert "1 passed" in page.inner_text("#tests-output")

    # a slow request shows up in the profiles; its call tree opens
    profiled_server.request("GET", "/sleep?s=0.03")
    page.locator("#profiles tbody tr", has_text="GET /sleep").first.wait_for(timeout=15000)
    page.locator("#profiles tbody tr", has_text="GET /sleep").first.locator("button").click()
    page.wait_for_function("document.querySelector('#profile-tree').textContent.includes('sleep')", timeout=15000)

    # an invocation's detail: replay it, open its profile
    row = page.locator("#invocations tbody tr", has_text="/sleep").first
    row.click()
    page.click("#detail-replay")
    page.wait_for_function("document.querySelector('#replay-result').textContent.includes('statusCode')", timeout=15000)
    assert page.is_visible("#detail-profile")

    # import cost per module
    page.click("#imports-load")
    page.locator("#imports tbody tr", has_text="devdemo.app").wait_for(timeout=60000)

    # restart re-imports the app
    page.click("#restart")
    page.wait_for_function("document.querySelector('#restart').textContent.startsWith('restarted')", timeout=15000)
    assert profiled_server.get("/_lift/api/state")["app"]["generation"] == generation + 1
    assert not errors, errors
