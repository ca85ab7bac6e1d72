"""The test servers start on a port of their own even when another process holds or takes it.

A free port can be taken between `free_port()` and the server binding it (a moto or JVM start takes
seconds, and other test sessions on a shared machine start servers too). The server must then move
to another port, and a server someone else runs on the port must never be taken for ours.
"""

from __future__ import annotations

import shutil
import socket
import threading

import pytest

from lift.testing.services import ServiceError, free_port, start_redis

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _redis_pid(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"INFO server\r\n")
        data = b""
        while b"process_id:" not in data or not data.endswith(b"\r\n"):
            data += sock.recv(65536)
    return int(data.split(b"process_id:")[1].split(b"\r\n")[0])


def test_a_port_taken_before_the_server_binds_it_is_left_for_another() -> None:
    # bound, not listening, no SO_REUSEADDR: free to a connect probe, but redis-server cannot bind it
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    try:
        server = start_redis(ports=[taken])
    finally:
        holder.close()
    try:
        assert server.port != taken
        assert _redis_pid(server.port) == server.process.pid
    finally:
        server.stop()


def test_a_server_someone_else_runs_on_the_port_is_never_taken_for_ours() -> None:
    # an impostor that answers redis' readiness probe on the port the server is given
    impostor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    impostor.bind(("127.0.0.1", 0))
    impostor.listen(16)
    taken = impostor.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        impostor.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = impostor.accept()
            except OSError:
                continue
            with conn:
                conn.recv(64)
                conn.sendall(b"+PONG\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        server = start_redis(ports=[taken])
        try:
            assert server.port != taken
            assert _redis_pid(server.port) == server.process.pid
        finally:
            server.stop()
    finally:
        stop.set()
        thread.join(5)
        impostor.close()


def test_no_usable_port_is_a_clear_error() -> None:
    holders = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(5)]
    for holder in holders:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
    try:
        with pytest.raises(ServiceError, match=r"redis found no free port after 5 tries: \d+ \(already served\)"):
            start_redis(ports=[h.getsockname()[1] for h in holders])
    finally:
        for holder in holders:
            holder.close()
    assert free_port() > 0
