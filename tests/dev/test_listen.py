"""The dev server takes its port before it loads the app: `--port 0` is any free port (the address
line says which), and a port it cannot have is a clear error before the app's import runs."""

from __future__ import annotations

import socket

import pytest

from lift.dev.server import DevServerError, serve


def test_a_port_in_use_is_refused_before_the_app_is_imported() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        # the app reference names no module: had serve() imported it first, this would be AppNotLoaded
        with pytest.raises(
            DevServerError,
            match=rf"^Port {port} on 127.0.0.1 is in use \(.+\); pick another with --port \(0: any free port\)$",
        ):
            serve("no_such_module_here:app", port=port, reload=False)


def test_an_address_that_is_not_this_machine_s_is_a_clear_error() -> None:
    # 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface
    with pytest.raises(DevServerError, match=r"^Cannot listen on 192.0.2.1:0: "):
        serve("no_such_module_here:app", host="192.0.2.1", port=0, reload=False)
