"""End to end on the dev server: real WebSocket clients, a job started over HTTP whose progress and
result are pushed to the user's connections, tenant fan-out, and a stale connection cleaned on 410."""

from __future__ import annotations

import json
import time

import pytest
from dev.dev_server_process import DevServerProcess, write_project
from dev.test_dashboard import page  # noqa: F401  (the Chromium page fixture)

APP = """
import time
import msgspec
from lift import App, Context, Response
from lift.websocket.connections import Connection, MemoryConnections, track_connections

app = App("jobsdemo")
store = MemoryConnections()


def identity(ctx: Context, call_next):  # stands in for jwt_auth + tenancy
    if ctx.source == "websocket" and ctx.record.route_key == "$connect":
        ctx.user_id, ctx.tenant_id = ctx.record.query.get("user"), ctx.record.query.get("tenant")
    elif ctx.is_http:
        ctx.user_id, ctx.tenant_id = ctx.headers.get("x-user"), ctx.headers.get("x-tenant")
    return call_next(ctx)


app.use(identity)
track_connections(app, store)
app.jobs.configure(retry_delay=0.05)
app.jobs.mount(app)


class Import(msgspec.Struct):
    rows: int
    fail: bool = False


@app.job("import", max_attempts=2)
def run_import(ctx: Context, body: Import, progress) -> dict:
    if body.fail:
        raise ValueError("bad file")
    for i in range(body.rows):
        progress(100 * (i + 1) / body.rows, f"row {i + 1}")
        time.sleep(0.01)
    return {"imported": body.rows}


@app.post("/imports")
def start(ctx: Context, body: Import) -> Response:
    return ctx.jobs.start("import", body).accepted()


@app.post("/tenants/{tenant}/announce")
def announce(ctx: Context, tenant: str, body: dict) -> dict:
    return ctx.ws.send_to_tenant(tenant, body).to_dict()


@app.post("/stale")
def stale(ctx: Context) -> dict:
    long_ago = time.time() - 3600  # (a 410 to a connection stored under 30 s ago keeps it: it may be connecting)
    store.put(Connection(id="gone-connection", user_id="u-stale", tenant_id="t-stale", connected_at=long_ago))
    summary = ctx.ws.send_to_user("u-stale", {"hello": True})
    return {**summary.to_dict(), "still_stored": store.get("gone-connection") is not None}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> DevServerProcess:
    root = tmp_path_factory.mktemp("jobs")
    write_project(root, APP)
    proc = DevServerProcess(root, "--no-reload")
    yield proc
    proc.stop()


def post(
    server: DevServerProcess, path: str, payload: dict, user: str = "u1", tenant: str = "acme"
) -> tuple[int, dict]:
    status, _, body = server.request(
        "POST",
        path,
        json.dumps(payload).encode(),
        {"content-type": "application/json", "x-user": user, "x-tenant": tenant},
    )
    return status, json.loads(body)


def get_job(server: DevServerProcess, url: str, tenant: str = "acme") -> tuple[int, dict]:
    status, _, body = server.request("GET", url, headers={"x-tenant": tenant})
    return status, json.loads(body)


def receive_until(ws, kind: str, timeout: float = 15) -> list[dict]:
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        got.append(message)
        if message.get("type") == kind:
            return got
    raise AssertionError(f"no {kind} in {got}")


def test_progress_and_result_are_pushed_to_the_users_connection(server: DevServerProcess) -> None:
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{server.port}/?user=u1&tenant=acme", open_timeout=10) as ws:
        status, started = post(server, "/imports", {"rows": 5})
        assert status == 202
        messages = receive_until(ws, "job.succeeded")
    percents = [m["job"]["progress"] for m in messages if m["type"] == "job.progress"]
    assert percents == sorted(percents) and percents[-1] == 100.0 and len(percents) >= 5
    final = messages[-1]["job"]
    assert final["id"] == started["job_id"] and final["result"] == {"imported": 5} and final["status"] == "succeeded"
    status, polled = get_job(server, started["status_url"])
    assert status == 200 and polled["status"] == "succeeded" and polled["result"] == {"imported": 5}
    assert get_job(server, started["status_url"], tenant="globex")[0] == 404  # another tenant's job


def test_a_failing_job_reaches_failed_with_its_error_after_its_retries(server: DevServerProcess) -> None:
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{server.port}/?user=u2&tenant=acme", open_timeout=10) as ws:
        _, started = post(server, "/imports", {"rows": 1, "fail": True}, user="u2")
        final = receive_until(ws, "job.failed")[-1]["job"]
    assert final["error"] == "ValueError: bad file" and final["attempts"] == 2
    assert get_job(server, started["status_url"])[1]["status"] == "failed"


def test_tenant_fan_out_reaches_only_that_tenants_connections(server: DevServerProcess) -> None:
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{server.port}/"
    with (
        connect(url + "?user=a&tenant=acme", open_timeout=10) as acme1,
        connect(url + "?user=b&tenant=acme", open_timeout=10) as acme2,
        connect(url + "?user=c&tenant=globex", open_timeout=10) as globex,
    ):
        status, summary = post(server, "/tenants/acme/announce", {"notice": "maintenance"})
        assert status == 200 and summary == {"sent": 2, "failed": 0, "removed": 0}
        assert json.loads(acme1.recv(timeout=10)) == {"notice": "maintenance"}
        assert json.loads(acme2.recv(timeout=10)) == {"notice": "maintenance"}
        with pytest.raises(TimeoutError):
            globex.recv(timeout=0.5)


def test_a_stale_connection_is_removed_on_410(server: DevServerProcess) -> None:
    status, out = post(server, "/stale", {})
    assert status == 200 and out == {"sent": 0, "failed": 0, "removed": 1, "still_stored": False}


def test_the_dashboard_lists_jobs_with_their_progress(server: DevServerProcess, page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.base + "/_lift/")
    page.wait_for_selector("#live:text('live')", timeout=15000)
    _, started = post(server, "/imports", {"rows": 40})
    row = page.locator(f"#jobs tbody tr[data-job='{started['job_id']}']")
    row.wait_for(timeout=15000)
    page.wait_for_selector(f"#jobs tbody tr[data-job='{started['job_id']}'][data-status='succeeded']", timeout=30000)
    assert "100%" in row.inner_text() and "row 40" in row.inner_text()
    assert not errors, errors
