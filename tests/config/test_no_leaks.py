"""A secret loaded by lift.config never appears in anything the app writes: log lines, print
output, error bodies, tracebacks (with locals), audit entries, the dev server's output and its
dashboard API."""

from __future__ import annotations

import json
import urllib.parse

from dev.dev_server_process import DevServerProcess, write_project

APP = """
import logging, sys, traceback
import msgspec
from lift import App, Context
from lift.errors import BadRequest
from lift.config import Parameter, Secret, SecretStr, Settings
from lift.middleware.logging import RequestLogging
from lift.audit import AuditTrail, MemoryAuditSink


class Cfg(msgspec.Struct):
    api_url: str = Parameter("/{p}/api/url")
    signing_key: SecretStr = Parameter("/{p}/signing-key")
    db_password: SecretStr = Secret("{p}/db#password")


app = App(name="leaky")
app.use(RequestLogging(log_event=True))
settings = Settings(Cfg, app=app)
log = logging.getLogger("leaky")
trail_sink = MemoryAuditSink()
AuditTrail(trail_sink, app=app, config_changes=False)


@app.get("/config")
def show(ctx: Context) -> dict:
    cfg = settings.get()
    ctx.logger.info("loaded config", config=cfg, password=cfg.db_password, key=cfg.signing_key)
    log.info("config is %s / %r", cfg, cfg)
    print(f"stdout: {{cfg}} {{cfg.db_password}}", file=sys.stdout)
    print(f"stderr: {{cfg!r}}", file=sys.stderr)
    return {{"config": repr(cfg), "password": str(cfg.db_password)}}


@app.get("/audit")
def audit(ctx: Context) -> dict:
    cfg = settings.get()
    ctx.audit("config.read", target=str(cfg.db_password), details={{"cfg": cfg, "password": cfg.db_password}})
    return {{"entries": [msgspec.to_builtins(e) for e in trail_sink.entries()]}}


@app.get("/crash")
def crash(ctx: Context) -> dict:
    cfg = settings.get()
    raise RuntimeError(f"cannot connect with {{cfg}} password={{cfg.db_password}}")


@app.get("/bad")
def bad(ctx: Context) -> dict:
    cfg = settings.get()
    raise BadRequest(f"bad config {{cfg}}", details={{"cfg": repr(cfg), "key": str(cfg.signing_key)}})


@app.get("/locals")
def with_locals(ctx: Context) -> dict:
    cfg = settings.get()
    password = cfg.db_password
    try:
        1 / 0
    except ZeroDivisionError:
        text = "".join(traceback.TracebackException(*sys.exc_info(), capture_locals=True).format())
        ctx.logger.error("failed with locals", traceback=text)
        log.exception("and through the stdlib logger")
    return {{"ok": True}}
"""

SECRETS = ("hunter2-db", "sk-live-4242")


def test_no_output_of_an_app_that_logs_its_config_contains_a_secret(tmp_path, moto_endpoint, ssm, secrets, names):
    ssm.put_parameter(Name=f"/{names}/api/url", Value="https://api.example.com", Type="String")
    ssm.put_parameter(Name=f"/{names}/signing-key", Value="sk-live-4242", Type="SecureString")
    secrets.create_secret(Name=f"{names}/db", SecretString=json.dumps({"password": "hunter2-db"}))
    write_project(tmp_path, APP.format(p=names))
    server = DevServerProcess(
        tmp_path, "--no-reload", env={"AWS_ENDPOINT_URL": moto_endpoint, "LIFT_CONFIG_EXTENSION": "0"}
    )
    try:
        bodies = []
        for path in ("/config", "/crash", "/bad", "/locals", "/config?password=x", "/audit"):
            status, headers, body = server.request("GET", path)
            bodies.append((path, status, body.decode()))
        assert [status for _, status, _ in bodies] == [200, 500, 400, 200, 200, 200]
        state = server.get("/_lift/api/state")
        details = [server.get(f"/_lift/api/invocations/{inv['id']}") for inv in state["invocations"] if "id" in inv]
        everything = "\n".join(
            [server.output(), json.dumps(state), json.dumps(details), *(body for _, _, body in bodies)]
        )
    finally:
        server.stop()
    assert len(details) >= 6  # the dashboard's detail of each invocation was read
    assert '"action": "config.read"' in everything or '"action":"config.read"' in everything  # the audit entry
    # The app really wrote its config everywhere (else this test could not fail)...
    assert "loaded config" in everything and "SecretStr('**********')" in everything
    assert "stdout: Cfg(" in everything and "stderr: Cfg(" in everything
    assert "failed with locals" in everything and "password = SecretStr('**********')" in everything
    assert "cannot connect with" in everything  # the traceback of /crash
    # ...and no secret is in any of it.
    for secret in SECRETS:
        assert secret not in everything
        assert urllib.parse.quote(secret) not in everything
