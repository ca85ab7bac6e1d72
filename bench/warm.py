"""Warm per-request timing of the bench apps, run in one process by run.py.

Checks each app's answers against the bare handler's first (status and parsed JSON body for
successes; status and a non-empty JSON error body for errors), then times every request kind
of every app in interleaved rounds (so a slow spell of the machine hits all apps alike):
``repeats`` rounds of ``n`` calls each, reporting the median per-call time in microseconds.
Usage: ``warm.py cpu|wall REPEATS TARGET_SECONDS MODULE...``; prints one JSON object on stdout.
``cpu`` times with ``time.thread_time`` (other load on the machine does not count), ``wall``
with ``time.perf_counter``.
"""

import copy
import gc
import importlib
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "apps"), str(HERE)]

from events import LambdaContext, measured_events


def parse_body(response: dict):
    body = response.get("body")
    if not body:
        return None
    if response.get("isBase64Encoded"):
        import base64

        body = base64.b64decode(body)
    return json.loads(body)


def check(app_handler, bare_handler, events: dict, context) -> dict:
    """Compare the app with the bare handler on every request kind; returns kind -> status."""
    statuses = {}
    for kind, event in events.items():
        expected = bare_handler(copy.deepcopy(event), context)
        before = copy.deepcopy(event)
        got = app_handler(event, context)
        if event != before:
            raise SystemExit(f"{kind}: the handler mutated the event; timing would reuse a changed event")
        status, want = got["statusCode"], expected["statusCode"]
        body = parse_body(got)
        if want < 400:
            if status != want or body != parse_body(expected):
                raise SystemExit(f"{kind}: got {status} {body!r}, want {want} {parse_body(expected)!r}")
        else:
            if status // 100 != 4 or not body:
                raise SystemExit(f"{kind}: got {status} {body!r}, want a {want} with an error body")
            if status != want and not kind.startswith("POST"):
                raise SystemExit(f"{kind}: got status {status}, want {want}")
        statuses[kind] = status
    return statuses


clock = time.thread_time


def per_call_us(call, event, context, n: int) -> float:
    start = clock()
    for _ in range(n):
        call(event, context)
    return (clock() - start) / n * 1e6


def calibrate(call, event, context, target_s: float) -> int:
    """Number of calls that takes about target_s seconds."""
    n = 10
    while True:
        us = per_call_us(call, event, context, n)
        if us * n >= 20_000 or n >= 1_000_000:
            return max(10, int(target_s * 1e6 / us))
        n *= 4


def time_apps(handlers: dict, events: dict, context, repeats: int, target_s: float) -> dict:
    """module -> kind -> median/min per-call microseconds, rounds interleaved across apps."""
    sizes = {
        (module, kind): calibrate(call, event, context, target_s)
        for module, call in handlers.items()
        for kind, event in events.items()
    }
    samples = {key: [] for key in sizes}
    for _ in range(repeats):
        for module, call in handlers.items():
            for kind, event in events.items():
                samples[module, kind].append(per_call_us(call, event, context, sizes[module, kind]))
    results = {module: {} for module in handlers}
    for (module, kind), values in samples.items():
        results[module][kind] = {
            "median_us": statistics.median(values),
            "min_us": min(values),
            "calls": sizes[module, kind],
        }
    return results


def main() -> None:
    global clock
    clock = time.perf_counter if sys.argv[1] == "wall" else time.thread_time
    repeats, target_s, modules = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    handlers = {module: importlib.import_module(module).handler for module in modules}
    bare = importlib.import_module("bare").handler
    context = LambdaContext()
    events = measured_events()
    statuses = {module: check(call, bare, events, context) for module, call in handlers.items()}
    gc.collect()
    results = time_apps(handlers, events, context, repeats, target_s)
    for module, kinds in results.items():
        for kind, entry in kinds.items():
            entry["status"] = statuses[module][kind]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
