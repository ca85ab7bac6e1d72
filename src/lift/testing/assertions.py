"""Assertions users keep writing by hand for Lambda answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

__all__ = ["assert_batch_failures"]


def assert_batch_failures(result: Any, ids: Iterable[str] | str) -> None:
    """Assert that a batch answer (SQS, Kinesis, DynamoDB streams) reports exactly `ids` as failed.

    Order does not matter; an empty `ids` means every record succeeded, which Lambda reads from
    `None`, `{}`, or a `batchItemFailures` that is empty or null. One id may be given as a string."""
    expected = sorted([ids] if isinstance(ids, str) else ids)
    if result is None or result == {}:
        failures: list[Any] = []
    elif isinstance(result, dict) and isinstance(result.get("batchItemFailures", ()), list | None):
        failures = result["batchItemFailures"] or []
    else:
        raise AssertionError(f"not a batch answer (no batchItemFailures list): {result!r}")
    bad = [f for f in failures if not isinstance(f, dict) or not isinstance(f.get("itemIdentifier"), str)]
    if bad:
        raise AssertionError(f"batchItemFailures entries without a string itemIdentifier: {bad!r}")
    actual = sorted(f["itemIdentifier"] for f in failures)
    if actual != expected:
        missing = sorted((Counter(expected) - Counter(actual)).elements())
        unexpected = sorted((Counter(actual) - Counter(expected)).elements())
        repeated = sorted(i for i, n in Counter(actual).items() if n > 1)
        raise AssertionError(
            f"batch failures {actual} != expected {expected} (not reported: {missing}; reported but not expected: "
            f"{unexpected}" + (f"; reported more than once: {repeated}" if repeated else "") + ")"
        )
