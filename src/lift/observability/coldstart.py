"""Cold start facts: whether this is the first invocation, and how long init took."""

from __future__ import annotations

import os

__all__ = ["init_duration_ms", "claim_cold_start"]

_claimed = False


def claim_cold_start() -> bool:
    """True exactly once per execution environment (the first caller gets it)."""
    global _claimed
    if _claimed:
        return False
    _claimed = True
    return True


def init_duration_ms() -> float | None:
    """Milliseconds from the process start to now (the init phase, when called at the first
    invocation). Read from /proc; None where that is not available, and for a SnapStart restore
    (the process started before the snapshot was taken) or provisioned concurrency (initialised
    ahead of its first request): there the process's age is not an init duration."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") in ("snap-start", "provisioned-concurrency"):
        return None
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read().decode()
        with open("/proc/uptime", "rb") as f:
            uptime_s = float(f.read().split()[0])
        start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return round(max(0.0, uptime_s - start_ticks / ticks) * 1000, 1)
