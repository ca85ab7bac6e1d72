"""Response caching: an L1 hit through `cache()` against the uncached handler and a bare dict
lookup; a Redis (L2) hit; `@cached` against a plain call.

Each variant answers the same API Gateway REST event through `app.handler` (except the dict
lookup and the function calls). Variants run in interleaved rounds so machine noise hits them
alike; the report gives the median per call and the ratio to the uncached handler, plus the
load average. `--callgrind VARIANT` runs one variant under valgrind's callgrind for
instruction counts (load-independent; `bench/README.md` says how to read them).

    .venv/bin/python bench/bench_cache.py [--rounds 9] [--calls 2000]
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/bench_cache.py --only l1_hit --calls 1000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from lift import App, Context
from lift.cache import Cache, cached
from lift.middleware.cache import cache
from lift.testing import events, lambda_context

ITEM = {"id": 42, "name": "widget", "tags": ["a", "b", "c"], "price": 12.5, "stock": {"eu": 10, "us": 3}}


def build_app(middleware: list) -> App:
    app = App(name="bench-cache")
    app.use(*middleware)

    @app.get("/items/{item_id}")
    def get_item(ctx: Context, item_id: int) -> dict:
        return {**ITEM, "id": item_id}

    return app


def variants(redis_url: str | None) -> dict[str, Callable[[], object]]:
    event = events.apigw_rest("GET", "/items/42")
    context = lambda_context()
    uncached = build_app([]).handler
    l1 = build_app([cache(ttl=3600, store=Cache())]).handler
    l1(event, context)
    table = {"/items/42": {"statusCode": 200, "body": '{"id":42}'}}
    out: dict[str, Callable[[], object]] = {
        "uncached handler": lambda: uncached(event, context),
        "L1 hit (cache middleware)": lambda: l1(event, context),
        "bare dict lookup": lambda: table.get(event["path"]),
    }
    if redis_url:
        from lift.stores import RedisStore

        l2 = build_app([cache(ttl=3600, store=Cache(RedisStore(redis_url, prefix="bench:"), l1=False))]).handler
        l2(event, context)
        out["Redis hit (L2 only)"] = lambda: l2(event, context)

    def lookup(n: int) -> dict:
        return {**ITEM, "id": n}

    memo = cached(ttl=3600, cache=Cache())(lookup)
    memo(42)
    out["plain function call"] = lambda: lookup(42)
    out["@cached L1 hit"] = lambda: memo(42)
    return out


def start_redis() -> tuple[str | None, object]:
    url = os.environ.get("LIFT_TEST_REDIS_URL")
    if url:
        return url, None
    try:
        import services

        server = services.start_redis()
    except Exception as exc:  # no redis-server here: that variant is skipped
        print(f"(no Redis: {exc})")
        return None, None
    return f"redis://127.0.0.1:{server.port}/0", server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--only", help="run one variant (by prefix), e.g. under callgrind")
    args = parser.parse_args()
    redis_url, server = start_redis() if not args.only or args.only.startswith("Redis") else (None, None)
    try:
        table = variants(redis_url)
        if args.only:
            fn = next(v for k, v in table.items() if k.startswith(args.only))
            for _ in range(args.calls):
                fn()
            return
        load_before = open("/proc/loadavg").read().split()[:3]
        samples: dict[str, list[float]] = {name: [] for name in table}
        for _ in range(args.rounds):
            for name, fn in table.items():
                started = time.perf_counter()
                for _ in range(args.calls):
                    fn()
                samples[name].append((time.perf_counter() - started) / args.calls * 1e6)
        load_after = open("/proc/loadavg").read().split()[:3]
        base = statistics.median(samples["uncached handler"])
        print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)}")
        print("| variant | median per call | vs uncached handler |")
        print("|---|---:|---:|")
        for name, values in samples.items():
            med = statistics.median(values)
            print(f"| {name} | {med:.2f} us | {med / base:.2f}x |")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
