"""`lift dev`: serve the app locally through real API Gateway events (the server is lift.dev.server)."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys

import typer

from lift.cli.common import FAILURE, USAGE, fail, print_raw
from lift.cli.discovery import AppNotFound, find_app_ref


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def dev(
    app: str = typer.Argument(None, help="The app as module:attr (default: [tool.lift] app, or app.py/main.py)."),
    port: int = typer.Option(
        8000, "--port", "-p", min=0, max=65535, help="Port on 127.0.0.1 (0: any free port, printed at start)."
    ),
    reload: bool = typer.Option(True, "--reload/--no-reload", help="Reload when source files change."),
    payload: str = typer.Option("rest", "--payload", help="API Gateway payload for HTTP requests: rest or http."),
    profile: bool = typer.Option(False, "--profile", help="Profile requests; the dashboard shows the slowest."),
    profile_every: int = typer.Option(1, "--profile-every", min=1, help="With --profile: one request in N."),
    profile_memory: bool = typer.Option(False, "--profile-memory", help="With --profile: tracemalloc peak too."),
) -> None:
    """Serve the app on 127.0.0.1: every request becomes a real API Gateway event through app.handler."""
    if payload not in ("rest", "http"):
        fail(f"--payload must be rest or http, not {payload!r}", USAGE)
    try:
        ref = find_app_ref(app)
    except AppNotFound as exc:
        fail(str(exc), USAGE)
    root = str(ref.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    if importlib.util.find_spec(ref.module.split(".")[0]) is None:
        fail(f"Cannot find module {ref.module!r} (looked in {root})", USAGE)
    if port and port_in_use(port):
        fail(
            f"Port {port} is in use on 127.0.0.1",
            hint=f"Stop the other server or pick another: lift dev --port {port + 1} (or --port 0: any free port)",
        )
    try:
        from lift.dev.server import AppNotLoaded, DevServerError, serve
    except ImportError as exc:
        fail(f"The dev server needs the dev extra ({exc.name} is missing)", hint='pip install "lift-lambda[dev]"')
    try:
        serve(
            str(ref),
            host="127.0.0.1",
            port=port,
            reload=reload,
            payload=payload,
            profile_every=profile_every if profile else 0,
            profile_memory=profile and profile_memory,
        )
    except AppNotLoaded as exc:  # no app was ever loaded: nothing to serve
        if exc.detail:
            print_raw(exc.detail)
        fail(str(exc), USAGE if exc.usage else FAILURE)
    except DevServerError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"Cannot serve on 127.0.0.1:{port}: {exc}")
    except KeyboardInterrupt:
        pass
