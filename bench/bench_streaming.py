"""Streaming throughput and memory under uvicorn: Lift's `Response.ndjson`/`Response.stream`
against Starlette's `StreamingResponse` producing the same bytes from the same generator.

Each app runs in its own uvicorn process; httpx reads the stream and throws the bytes away.
Reported: MB/s (median of the rounds, interleaved), and the server's peak RSS (VmHWM) after
warm-up and after streaming `--total-mb` (1 GB by default) in one response: a flat RSS means
the stream never accumulates in memory. Load average recorded before and after.

    .venv/bin/python bench/bench_streaming.py [--rounds 3] [--mb 200] [--total-mb 1024]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


LIFT_APP = textwrap.dedent(
    """
    from lift import App, Context, Response

    app = App(name="stream-bench")
    PAD = "x" * 1000

    def records(n):
        for i in range(n):
            yield {"id": i, "payload": PAD}

    def chunks(total, size):
        block = b"x" * (size - 1) + b"\\n"
        for _ in range(total // size):
            yield block

    @app.get("/ndjson")
    def ndjson(ctx: Context) -> Response:
        return Response.ndjson(records(int(ctx.query["n"])))

    @app.get("/bytes")
    def raw(ctx: Context) -> Response:
        return Response.stream(chunks(int(ctx.query["total"]), int(ctx.query["size"])), "application/x-ndjson")

    asgi = app.asgi
    """
)

STARLETTE_APP = textwrap.dedent(
    """
    import msgspec
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    PAD = "x" * 1000
    encode = msgspec.json.Encoder().encode

    def records(n):
        for i in range(n):
            yield encode({"id": i, "payload": PAD}) + b"\\n"

    def chunks(total, size):
        block = b"x" * (size - 1) + b"\\n"
        for _ in range(total // size):
            yield block

    def ndjson(request):
        return StreamingResponse(records(int(request.query_params["n"])), media_type="application/x-ndjson")

    def raw(request):
        q = request.query_params
        return StreamingResponse(chunks(int(q["total"]), int(q["size"])), media_type="application/x-ndjson")

    asgi = Starlette(routes=[Route("/ndjson", ndjson), Route("/bytes", raw)])
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, source: str, workdir: Path) -> None:
        module = workdir / f"{name}_app.py"
        module.write_text(source)
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT / "src")])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", f"{name}_app:asgi", "--port", str(self.port), "--log-level", "warning"],
            cwd=workdir,
            env=env,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.base + "/ndjson?n=1", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not start")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def read_all(url: str) -> tuple[int, float]:
    size = 0
    started = time.perf_counter()
    with httpx.stream("GET", url, timeout=600) as resp:
        for chunk in resp.iter_raw(1 << 16):
            size += len(chunk)
    return size, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mb", type=int, default=200, help="MB per throughput round")
    parser.add_argument("--total-mb", type=int, default=1024, help="MB in the one long stream for the RSS figure")
    args = parser.parse_args()
    load_before = open("/proc/loadavg").read().split()[:3]
    with tempfile.TemporaryDirectory() as tmp:
        servers = {
            "Lift": Server("lift", LIFT_APP, Path(tmp)),
            "Starlette": Server("starlette", STARLETTE_APP, Path(tmp)),
        }
        try:
            line_size = 1024 + 16
            total = args.total_mb * 1024 * 1024
            cases = {
                "NDJSON, one ~1 KB record per item": f"/ndjson?n={args.mb * 1024 * 1024 // line_size}",
                "bytes, 64 KB chunks": f"/bytes?total={args.mb * 1024 * 1024}&size=65536",
            }
            rates: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.rounds):
                for case, path in cases.items():
                    for name, server in servers.items():
                        size, seconds = read_all(server.base + path)
                        rates.setdefault((case, name), []).append(size / seconds / 1e6)
            rss: dict[str, tuple[float, float, float]] = {}
            long_streams = [
                ("Lift, Response.ndjson (one record per item)", "Lift", f"/ndjson?n={total // line_size}"),
                ("Lift, Response.stream (64 KB chunks)", "Lift", f"/bytes?total={total}&size=65536"),
                ("Starlette StreamingResponse (64 KB chunks)", "Starlette", f"/bytes?total={total}&size=65536"),
            ]
            for label, name, path in long_streams:
                server = servers[name]
                warm = server.peak_rss_mb()
                size, seconds = read_all(server.base + path)
                rss[label] = (warm, server.peak_rss_mb(), size / seconds / 1e6)
                assert size >= total * 0.95, size
        finally:
            for server in servers.values():
                server.stop()
    load_after = open("/proc/loadavg").read().split()[:3]
    print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)}")
    print("| stream | Lift | Starlette StreamingResponse | Lift / Starlette |")
    print("|---|---:|---:|---:|")
    for case in cases:
        lift, star = statistics.median(rates[(case, "Lift")]), statistics.median(rates[(case, "Starlette")])
        print(f"| {case} | {lift:.0f} MB/s | {star:.0f} MB/s | {lift / star:.2f}x |")
    print(f"\npeak RSS (VmHWM) of the server process before and after one {args.total_mb} MB response:")
    for label, (warm, after, rate) in rss.items():
        print(f"- {label}: {warm:.1f} MB -> {after:.1f} MB ({rate:.0f} MB/s)")


if __name__ == "__main__":
    main()
