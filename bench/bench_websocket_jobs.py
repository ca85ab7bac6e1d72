"""WebSocket fan-out and job start costs.

- `broadcast` to N stored connections through boto3's Management API client, against a local
  Management API emulator (a threaded HTTP server on 127.0.0.1 answering `POST /@connections/{id}`
  the way API Gateway does), at several concurrency limits: sends per second.
- `ctx.jobs.start` per call (memory store, local transport: the save, the id and the hand-off to
  the worker thread), against a bare `MemoryStore.put` of the same record.

    .venv/bin/python bench/bench_websocket_jobs.py [--connections 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from lift import App, Context
from lift.stores.memory import MemoryStore
from lift.websocket import WebSocketClient
from lift.websocket.connections import Connection, MemoryConnections


class ManagementApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def serve_emulator(ready: Any) -> None:
    """The Management API emulator's process (pinned to core 0 when the machine has two)."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), ManagementApi)
    ready.put(server.server_address[1])
    server.serve_forever()


def fan_out_rate(connections: int, concurrency: int, endpoint: str) -> float:
    store = MemoryConnections()
    now = time.time()
    for i in range(connections):
        store.put(Connection(id=f"c{i}=", tenant_id="acme", connected_at=now, expires_at=now + 600))
    client = WebSocketClient(endpoint=endpoint, region="us-east-1", connections=store)
    client.send("warm=", b"x")  # the boto3 client and its connection pool, made outside the timing
    began = time.perf_counter()
    summary = client.broadcast({"type": "notice"}, concurrency=concurrency)
    elapsed = time.perf_counter() - began
    assert len(summary.sent) == connections, summary.to_dict()
    return connections / elapsed


def job_start_us(calls: int) -> tuple[float, float]:
    app = App("bench")
    app.jobs.configure(transport="local")

    @app.job("noop")
    def noop(ctx: Context) -> None:
        pass

    store = MemoryStore()
    began = time.perf_counter()
    for i in range(calls):
        store.put(f"job#{i}", {"id": str(i), "name": "noop", "status": "queued"}, ttl=600)
    bare = (time.perf_counter() - began) / calls * 1e6
    began = time.perf_counter()
    for _ in range(calls):
        app.jobs.start("noop")
    started = (time.perf_counter() - began) / calls * 1e6
    return bare, started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    # the emulator runs in a process of its own (on the other core when pinned: taskset -c 1 for this one)
    import multiprocessing

    ready: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve_emulator, args=(ready,), daemon=True)
    server.start()
    endpoint = f"http://127.0.0.1:{ready.get(timeout=10)}"
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"broadcast to {args.connections} connections (sends/s, median of {args.rounds} rounds, range)")
    for concurrency in (1, 16, 64):
        rates = [fan_out_rate(args.connections, concurrency, endpoint) for _ in range(args.rounds)]
        print(f"  concurrency {concurrency:3d}: {statistics.median(rates):8.0f}/s  ({min(rates):.0f}-{max(rates):.0f})")
    pairs = [job_start_us(args.calls) for _ in range(args.rounds)]
    bare = statistics.median(p[0] for p in pairs)
    started = statistics.median(p[1] for p in pairs)
    print(f"ctx.jobs.start: {started:.1f} us per call (MemoryStore.put of the record alone: {bare:.1f} us)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    server.terminate()


if __name__ == "__main__":
    main()
