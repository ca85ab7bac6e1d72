"""Instructions per JSON log line (callgrind, load-independent), two ways, in one run.

1. The App's 4xx line: the invalid `POST /users` of bench/apps/lift_app.py with INFO on and
   Lift's JSON lines (`configure`), minus the same request with logging off: what the line costs.
2. A handler's line inside a request: `ctx.logger.info("order read", order_id=42, customer={...})`
   with the request bound (the request's own fields already made), the line alone.

Usage: ``python bench/callgrind_log_line.py [--calls 1000] [--src DIR]`` (``--src`` measures another
checkout's ``src``, e.g. main before a change, in the same run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARMUP = 300


def child(piece: str, calls: int) -> None:
    sys.path[:0] = [str(HERE / "apps"), str(HERE)]
    import logging
    from collections import deque
    from itertools import repeat

    from events import LambdaContext, measured_events

    from lift.observability import logging as lift_logging

    sink = open(os.devnull, "w")  # (open for the child's whole life)
    context = LambdaContext()
    if piece in ("422 json", "422 off"):
        if piece == "422 json":
            lift_logging.configure(stream=sink, level="INFO")
        else:
            logging.getLogger().setLevel(logging.WARNING)
        import lift_app

        event = measured_events()["POST /users (invalid)"]
        handler = lift_app.handler
        for _ in range(WARMUP):
            handler(event, context)
        deque(map(handler, repeat(event, calls), repeat(context, calls)), maxlen=0)  # the only measured code
        return
    from lift import App
    from lift.context import Context
    from lift.testing import events

    lift_logging.configure(stream=sink, level="INFO")
    app = App("orders")
    event = events.apigw_rest("GET", "/orders/42", headers={"X-Correlation-Id": "bench-1"})
    ctx = Context(app, event, context, "rest")
    token = lift_logging.bind_context(ctx)
    log = lift_logging.logger_for(ctx)
    customer = {"email": "a@b.c", "name": "Ada Lovelace", "tier": 2}

    def line(_: object) -> None:
        log.info("order read", order_id=42, customer=customer)

    for _ in range(WARMUP):
        line(None)
    deque(map(line, repeat(None, calls)), maxlen=0)
    lift_logging.reset_context(token)


def run(piece: str, calls: int, src: str | None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        args = ["valgrind", "--tool=callgrind", "--dump-instr=no", "--collect-atstart=no"]
        args += ["--toggle-collect=deque_init", f"--callgrind-out-file={out}"]
        args += [sys.executable, __file__, "--child", piece, str(calls)]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        if src:
            env["PYTHONPATH"] = src
        done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{piece}: valgrind failed\n{done.stderr[-2000:]}")
        with open(out) as f:
            for text in f:
                if text.startswith(("summary:", "totals:")):
                    return int(text.split()[1]) / calls
    raise SystemExit(f"{piece}: no totals")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--src", action="append", default=[], help="another checkout's src/ (repeatable)")
    args = parser.parse_args()
    print("| src | 422, JSON line | 422, logging off | the 4xx line | a handler's line |")
    print("|---|---:|---:|---:|---:|")
    for src in [*args.src, None]:
        logged = run("422 json", args.calls, src)
        off = run("422 off", args.calls, src)
        handler_line = run("handler line", args.calls, src)
        name = src or "this checkout"
        print(
            f"| {name} | {logged / 1000:.1f}k | {off / 1000:.1f}k | {(logged - off) / 1000:.1f}k | {handler_line / 1000:.1f}k |"
        )


if __name__ == "__main__":
    main()
