"""Ctrl-C on `lift dev` while a handler is still running: the client gets an answer, the console no
traceback, and the command ends (a handler thread cannot be stopped, so it is not waited for)."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request

from tests.servers import LIFT_DEV_LISTENING, ServerProcess

STUCK_APP = """
    import pathlib
    import threading

    from lift import App

    app = App(name="stuck")


    @app.get("/stuck")
    def stuck() -> dict:
        (pathlib.Path(__file__).parent / "started").write_text("yes")
        threading.Event().wait()  # a handler that never returns (an unanswered call with no timeout)
        return {}
"""


def test_ctrl_c_with_a_handler_still_running_answers_503_and_ends_the_command(tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent(STUCK_APP))
    argv = [sys.executable, "-m", "lift.cli", "dev", "--port", "0", "--no-reload"]
    server = ServerProcess(argv, LIFT_DEV_LISTENING, log=tmp_path / "dev.log", cwd=tmp_path, env=dict(os.environ))
    answers: list[object] = []

    def call() -> None:
        try:
            with urllib.request.urlopen(f"{server.url}/stuck", timeout=120) as response:
                answers.append(response.status)
        except urllib.error.HTTPError as exc:
            answers.append(exc.code)
        except OSError as exc:
            answers.append(exc)

    # and the dashboard open in a browser: its live feed (SSE) is a request that never ends by itself
    dashboard = urllib.request.urlopen(f"{server.url}/_lift/stream", timeout=120)
    assert dashboard.readline() == b"retry: 1000\n"
    client = threading.Thread(target=call)
    client.start()
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "started").exists():  # the handler is running (bounded: only a broken server waits)
            assert time.monotonic() < deadline and server.proc.poll() is None, server.output()
            time.sleep(0.02)
        code = server.stop(signal.SIGINT, timeout=60)  # SIGKILL (code -9) if it never ends by itself
    finally:
        server.stop(signal.SIGKILL)
        client.join(120)
        dashboard.close()
    output = server.output()
    assert code == 0, output
    assert answers == [503], output
    assert "Traceback" not in output  # (the dashboard's feed was 'Exception in ASGI application' and one)
    assert "Exception in ASGI application" not in output
    assert "Stopped while GET /stuck was running: answered 503" in output
    assert "1 invocation(s) still running were abandoned" in output


IN_FLIGHT_APP = """
    import threading

    from lift import App, Context

    STARTED, GO = threading.Event(), threading.Event()


    class Client:
        closed = False

        def close(self) -> None:
            self.closed = True


    app = App(name="inflight")
    app.resource("client", Client)


    @app.get("/work")
    def work(ctx: Context) -> dict:
        client = ctx.resource("client")
        STARTED.set()
        GO.wait(60)  # until the test has reloaded the app
        return {"client_closed_during_the_call": client.closed}
"""


def test_a_reload_closes_the_old_app_only_after_its_running_invocations_end(tmp_path):
    """An edit saved while a request runs: the request finishes with its app's resources open (as a
    Lambda environment finishes its invocation), and the old app is closed after it."""
    from lift.dev.server import DevServer
    from lift.testing import events

    (tmp_path / "inflight_reload_app.py").write_text(textwrap.dedent(IN_FLIGHT_APP))
    server = DevServer("inflight_reload_app:app", project_dir=tmp_path, reload=False)
    server.start()
    try:
        old_app = server.loader.app
        module = sys.modules["inflight_reload_app"]
        results: list[tuple[object, object]] = []
        call = threading.Thread(target=lambda: results.append(server.invoke(events.apigw_rest("GET", "/work"))))
        call.start()
        assert module.STARTED.wait(60)
        old_client = old_app.resources.get("client")
        server.restart()  # what a saved edit does
        assert server.loader.app is not old_app and not old_client.closed
        module.GO.set()
        call.join(60)
        ((result, error),) = results
        assert error is None and result["statusCode"] == 200
        assert json.loads(result["body"]) == {"client_closed_during_the_call": False}
        assert old_client.closed  # closed once its last invocation ended
    finally:
        server.stop()
        sys.modules.pop("inflight_reload_app", None)
        if str(server.loader.project_dir) in sys.path:  # (the loader put the project first on sys.path)
            sys.path.remove(str(server.loader.project_dir))


def test_a_request_arriving_as_a_reload_retires_the_old_app_runs_on_an_open_app(tmp_path):
    """A request taken in the instant a saved edit replaces the app: it runs on the new app, never on
    the old one after the reload found it idle and closed it (its handler would make the old app's
    resources again, a connection nothing ever closes)."""
    from lift.dev.server import DevServer
    from lift.testing import events

    (tmp_path / "inflight_reload_app.py").write_text(textwrap.dedent(IN_FLIGHT_APP))
    server = DevServer("inflight_reload_app:app", project_dir=tmp_path, reload=False)
    server.start()

    class ReloadFirst:
        """The server's lock, with the reload slipped in just before the request's invocation takes it."""

        def __init__(self, lock: threading.Lock) -> None:
            self.lock, self.pending = lock, True

        def __enter__(self) -> None:
            if self.pending:
                self.pending = False
                server.restart()  # what a saved edit does
                sys.modules["inflight_reload_app"].GO.set()  # (the new module's handler need not wait)
            self.lock.acquire()

        def __exit__(self, *exc: object) -> None:
            self.lock.release()

    try:
        sys.modules["inflight_reload_app"].GO.set()
        old_app = server.loader.app
        assert server.invoke(events.apigw_rest("GET", "/work"))[0]["statusCode"] == 200  # (its client is made)
        old_client = old_app.resources.get("client")
        server._running_lock = ReloadFirst(server._running_lock)
        result, error = server.invoke(events.apigw_rest("GET", "/work"))
        assert error is None and result["statusCode"] == 200
        assert json.loads(result["body"]) == {"client_closed_during_the_call": False}  # (was True)
        assert server.loader.app is not old_app and old_client.closed  # (the old app was idle: closed at once)
        # and nothing ran on it after that: it made no client again, left open for good (as it did)
        assert not old_app.resources.is_created("client")
    finally:
        server.stop()
        sys.modules.pop("inflight_reload_app", None)
        if str(server.loader.project_dir) in sys.path:
            sys.path.remove(str(server.loader.project_dir))
