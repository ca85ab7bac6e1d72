"""Assertions users keep writing by hand for Lambda answers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["assert_batch_failures"]


def assert_batch_failures(result: Any, ids: Iterable[str]) -> None:
    """Assert that a batch answer (SQS, Kinesis, DynamoDB streams) reports exactly `ids` as failed.

    Order does not matter; an empty `ids` means every record succeeded (Lambda accepts both `None`
    and an empty `batchItemFailures` for that)."""
    expected = sorted(ids)
    if result is None:
        actual: list[str] = []
    elif not isinstance(result, dict) or not isinstance(result.get("batchItemFailures"), list):
        raise AssertionError(f"not a batch answer (no batchItemFailures list): {result!r}")
    else:
        failures = result["batchItemFailures"]
        bad = [f for f in failures if not isinstance(f, dict) or not isinstance(f.get("itemIdentifier"), str)]
        if bad:
            raise AssertionError(f"batchItemFailures entries without a string itemIdentifier: {bad!r}")
        actual = sorted(f["itemIdentifier"] for f in failures)
    if actual != expected:
        missing = sorted(set(expected) - set(actual))
        unexpected = sorted(set(actual) - set(expected))
        raise AssertionError(
            f"batch failures {actual} != expected {expected} (not reported: {missing}; reported but not expected: "
            f"{unexpected})"
        )
