"""JSON Schema validation cost per request against msgspec typed validation of the same body,
and the validators Lift could use (jsonschema-rs, fastjsonschema, jsonschema) on that body.

Requests are API Gateway REST events through `app.handler`: a POST with the order body to
a route taking `body: dict` (no validation), `body: Order` (msgspec), `request_schema=ORDER`
(jsonschema-rs) and both. Variants run in interleaved rounds; the report gives medians and
ratios to the unvalidated route, and the load average.

    .venv/bin/python bench/bench_schema.py [--rounds 9] [--calls 2000]
    bash bench/callgrind.sh bench/bench_schema.py "request: body: Order"   # instructions per call
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from lift import App
from lift.testing import events, lambda_context

ORDER = {
    "type": "object",
    "required": ["customer", "items"],
    "additionalProperties": False,
    "properties": {
        "customer": {"type": "string", "minLength": 1, "maxLength": 64},
        "note": {"type": "string"},
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "additionalProperties": False,
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
                    "qty": {"type": "integer", "minimum": 1},
                    "price": {"type": "number"},
                },
            },
        },
    },
}


class Item(msgspec.Struct, forbid_unknown_fields=True):
    sku: str
    qty: int
    price: float | None = None


class Order(msgspec.Struct, forbid_unknown_fields=True):
    customer: str
    items: list[Item]
    note: str | None = None


BODY = {
    "customer": "ann",
    "items": [{"sku": "ABC-1", "qty": 2, "price": 3.5}, {"sku": "XYZ-22", "qty": 1}, {"sku": "QRS-7", "qty": 5}],
}


def build() -> dict[str, Callable[[], object]]:
    app = App(name="bench-schema")

    @app.post("/plain")
    def plain(body: dict) -> dict:
        return {"n": len(body["items"])}

    @app.post("/typed")
    def typed(body: Order) -> dict:
        return {"n": len(body.items)}

    @app.post("/schema", request_schema=ORDER)
    def schema(body: dict) -> dict:
        return {"n": len(body["items"])}

    @app.post("/both", request_schema=ORDER)
    def both(body: Order) -> dict:
        return {"n": len(body.items)}

    context = lambda_context()
    handler = app.handler
    out: dict[str, Callable[[], object]] = {}
    for route, label in [
        ("/plain", "request: body: dict (no validation)"),
        ("/typed", "request: body: Order (msgspec)"),
        ("/schema", "request: request_schema= (jsonschema-rs)"),
        ("/both", "request: request_schema= and body: Order"),
    ]:
        event = events.apigw_rest("POST", route, body=json.dumps(BODY), headers={"Content-Type": "application/json"})
        assert handler(event, context)["statusCode"] == 200, route
        out[label] = lambda event=event: handler(event, context)

    raw = json.dumps(BODY).encode()
    decode = msgspec.json.Decoder().decode
    typed_decode = msgspec.json.Decoder(Order).decode
    out["decode only (msgspec, untyped)"] = lambda: decode(raw)
    out["msgspec typed decode"] = lambda: typed_decode(raw)
    import jsonschema_rs

    rs = jsonschema_rs.Draft202012Validator(ORDER)
    out["jsonschema-rs: decode + is_valid"] = lambda: rs.is_valid(decode(raw))
    if importlib.util.find_spec("fastjsonschema"):
        import fastjsonschema

        fast = fastjsonschema.compile({**ORDER, "$schema": "http://json-schema.org/draft-07/schema#"})
        out["fastjsonschema: decode + validate"] = lambda: fast(decode(raw))
    if importlib.util.find_spec("jsonschema"):
        import jsonschema

        ref = jsonschema.Draft202012Validator(ORDER)
        out["jsonschema (reference): decode + is_valid"] = lambda: ref.is_valid(decode(raw))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--only", help="run one variant (by prefix) --calls times, e.g. under callgrind")
    args = parser.parse_args()
    table = build()
    if args.only:
        fn = next(v for k, v in table.items() if k.startswith(args.only))
        for _ in range(args.calls):
            fn()
        return
    load_before = open("/proc/loadavg").read().split()[:3]
    samples: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(args.rounds):
        for name, fn in table.items():
            calls = args.calls // 20 if name.startswith("jsonschema (") else args.calls
            started = time.perf_counter()
            for _ in range(calls):
                fn()
            samples[name].append((time.perf_counter() - started) / calls * 1e6)
    load_after = open("/proc/loadavg").read().split()[:3]
    base = statistics.median(samples["request: body: dict (no validation)"])
    decode_base = statistics.median(samples["decode only (msgspec, untyped)"])
    print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)}")
    print("| variant | median | ratio |")
    print("|---|---:|---:|")
    for name, values in samples.items():
        med = statistics.median(values)
        ref = base if name.startswith("request") else decode_base
        print(f"| {name} | {med:.2f} us | {med / ref:.2f}x |")


if __name__ == "__main__":
    main()
