"""Costs of lift.config, lift.crypto and PAN masking, as medians of interleaved rounds.

    .venv/bin/python bench/bench_security.py [--rounds 9] [--calls 2000]
    bash bench/callgrind.sh bench/bench_security.py "log line, redaction on" 2000   # load-independent

1. Settings: a cold load (a new `Settings` whose first `get()` fetches 2 SSM parameters and one
   secret) through the Parameters and Secrets extension (emulated: a local HTTP server speaking
   its API, answering from its cache as the real one does when warm) and through boto3 against
   a moto server (a new client each time, as in a new execution environment); and a warm `get()`.
2. Field encryption with a cached data key: encrypt and decrypt one 16-character value (local
   key provider, and KMS on moto: with the key cached, KMS is not called).
3. PAN masking per log line: `JsonFormatter.format` of an ordinary line (message + 3 fields)
   with redaction off and on, and of a line carrying a card number.

Prints the load average before and after: a figure taken with a load above 2 is not publishable.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_SESSION_TOKEN"] = "bench-token"


def log_variants() -> dict[str, tuple[Callable[[], object], int]]:
    from lift.observability.logging import JsonFormatter
    from lift.observability.redaction import Redactor

    plain, redacting = JsonFormatter("orders", None), JsonFormatter("orders", Redactor())

    def record(message: str) -> logging.LogRecord:
        rec = logging.LogRecord("lift.app", logging.INFO, __file__, 10, message, None, None, "handler")
        rec.lift_fields = {"order_id": "o-1842", "amount": 129.5, "status": "paid"}
        return rec

    ordinary = record("order o-1842 paid by customer c-77 at 2026-12-04T10:00:00Z")
    with_pan = record("charging card 4111 1111 1111 1111 for order o-1842")
    return {
        "log line, redaction off": (lambda: plain.format(ordinary), 1),
        "log line, redaction on": (lambda: redacting.format(ordinary), 1),
        "log line with a PAN, redaction on": (lambda: redacting.format(with_pan), 1),
    }


def crypto_variants(moto_endpoint: str | None) -> dict[str, tuple[Callable[[], object], int]]:
    from lift.crypto import FieldCipher, KMSKeyProvider, LocalKeyProvider

    out: dict[str, tuple[Callable[[], object], int]] = {}
    providers = {"local": LocalKeyProvider.generate()}
    if moto_endpoint:
        import boto3

        kms = boto3.client("kms", endpoint_url=moto_endpoint)
        providers["KMS"] = KMSKeyProvider(kms.create_key()["KeyMetadata"]["KeyId"], client=kms)
    for name, provider in providers.items():
        cipher = FieldCipher(provider)
        sealed = cipher.encrypt("4111111111111111", tenant="acme", field="card")
        cipher.decrypt(sealed, tenant="acme", field="card")
        out[f"encrypt field ({name} key, cached)"] = (
            lambda c=cipher: c.encrypt("4111111111111111", tenant="acme", field="card"),
            1,
        )
        out[f"decrypt field ({name} key, cached)"] = (
            lambda c=cipher, s=sealed: c.decrypt(s, tenant="acme", field="card"),
            1,
        )
    return out


def settings_variants(
    moto_endpoint: str | None, calls: int
) -> tuple[dict[str, tuple[Callable[[], object], int]], object]:
    import msgspec

    from lift.config import Boto3Backend, ExtensionBackend, Parameter, Secret, SecretStr, Settings

    out: dict[str, tuple[Callable[[], object], int]] = {}
    emulator = None
    if not moto_endpoint:
        return out, None
    import boto3
    from config.extension_emulator import SESSION_TOKEN, ExtensionEmulator

    os.environ["AWS_SESSION_TOKEN"] = SESSION_TOKEN
    p = f"bench-{uuid.uuid4().hex[:6]}"
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint)
    ssm.put_parameter(Name=f"/{p}/url", Value="https://api.example.com", Type="String")
    ssm.put_parameter(Name=f"/{p}/key", Value="sk-bench", Type="SecureString")
    boto3.client("secretsmanager", endpoint_url=moto_endpoint).create_secret(
        Name=f"{p}/db", SecretString=json.dumps({"password": "pw"})
    )

    cls = msgspec.defstruct(
        "BenchSettings",
        [
            ("url", str, Parameter(f"/{p}/url")),
            ("key", SecretStr, Parameter(f"/{p}/key")),
            ("password", SecretStr, Secret(f"{p}/db#password")),
        ],
    )
    emulator = ExtensionEmulator(moto_endpoint, SESSION_TOKEN, ttl=300.0)
    extension = ExtensionBackend(emulator.port)
    cold_calls = max(1, calls // 100)
    out["settings cold load, extension (emulated)"] = (lambda: Settings(cls, backend=extension).get(), cold_calls)
    out["settings cold load, boto3 -> moto"] = (
        lambda: Settings(cls, backend=Boto3Backend(endpoint_url=moto_endpoint)).get(),
        cold_calls,
    )
    warm = Settings(cls, backend=extension)
    warm.get()
    out["settings warm get()"] = (warm.get, 1)
    return out, emulator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--only", help="run one variant (by prefix), e.g. under callgrind")
    parser.add_argument("--no-aws", action="store_true", help="skip the variants that need a moto server")
    args = parser.parse_args()
    needs_moto = not args.no_aws and (not args.only or "KMS" in args.only or args.only.startswith("settings"))
    server = None
    moto = None
    if needs_moto:
        from lift.testing.services import start_moto_server

        server = start_moto_server()
        moto = f"http://127.0.0.1:{server.port}"
    emulator = None
    try:
        table = {**log_variants(), **crypto_variants(moto)}
        more, emulator = settings_variants(moto, args.calls)
        table.update(more)
        if args.only:
            fn, divisor = next(v for k, v in table.items() if k.startswith(args.only))
            for _ in range(max(1, args.calls // divisor) if args.calls else 0):
                fn()
            return
        sys.stdout.flush()
        real_stdout = sys.stdout
        load_before = open("/proc/loadavg").read().split()[:3]
        samples: dict[str, list[float]] = {name: [] for name in table}
        for _ in range(args.rounds):
            for name, (fn, divisor) in table.items():
                calls = max(1, args.calls // divisor) if divisor == 1 else divisor
                sys.stdout = io.StringIO()
                started = time.perf_counter()
                for _ in range(calls):
                    fn()
                samples[name].append((time.perf_counter() - started) / calls * 1e6)
                sys.stdout = real_stdout
        load_after = open("/proc/loadavg").read().split()[:3]
        print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)}")
        if max(float(load_before[0]), float(load_after[0])) > 2:
            print("(load above 2: these figures are not publishable)")
        base = statistics.median(samples["log line, redaction off"])
        print("| variant | median per call | vs a log line without redaction |")
        print("|---|---:|---:|")
        for name, values in samples.items():
            med = statistics.median(values)
            print(f"| {name} | {med:.2f} us | {med / base:.2f}x |")
    finally:
        if emulator is not None:
            emulator.stop()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
