"""Releases across regions in waves: `rolling` (one region, verify, next) or `parallel` (up to
`limit` regions at once). When a region's release fails, nothing further starts and every region
already released is rolled back to its old version, newest first. Ctrl-C does the same: the
releases under way are told to stop (each rolls itself back), then the regions already released.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from lift.deploy.interrupts import holding_interrupts
from lift.deploy.releases import Release, ReleaseResult

__all__ = ["RolloutResult", "rollout"]


@dataclass
class RolloutResult:
    """Every region's release result, the regions rolled back, and the verdict."""

    verdict: str  # "promoted", "halted", "interrupted"
    results: dict[str, ReleaseResult] = field(default_factory=dict)
    rolled_back: list[str] = field(default_factory=list)
    failed_region: str | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == "promoted"


def rollout(
    regions: list[str],
    release_for: Callable[[str], Release],
    *,
    mode: str = "rolling",
    limit: int = 2,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> RolloutResult:
    """Release every region with the `Release` that `release_for(region)` builds."""
    if mode not in ("rolling", "parallel"):
        raise ValueError(f"rollout mode must be rolling or parallel, not {mode!r}")
    if not regions:
        raise ValueError("rollout needs at least one region")
    waves = (
        [[r] for r in regions] if mode == "rolling" else [regions[i : i + limit] for i in range(0, len(regions), limit)]
    )
    done: list[tuple[str, Release]] = []
    started: dict[str, Release] = {}
    outcome = RolloutResult("promoted")

    def emit(kind: str, **data: Any) -> None:
        if on_event is not None:
            on_event({"kind": kind, **data})

    try:
        for wave in waves:
            emit("wave", regions=wave)
            releases = {region: release_for(region) for region in wave}
            started.update(releases)
            interrupted = False
            with ThreadPoolExecutor(max_workers=len(wave)) as pool:
                futures = {region: pool.submit(release.run) for region, release in releases.items()}
                try:
                    _collect(futures, releases, outcome)
                except KeyboardInterrupt:
                    interrupted = True
                    for release in releases.values():
                        release.interrupt()
                    with holding_interrupts():  # each release rolls its region back; wait for them all
                        _collect(futures, releases, outcome)
            if interrupted:
                raise KeyboardInterrupt
            failed = [r for r in wave if not outcome.results[r].ok]
            done += [(r, releases[r]) for r in wave if outcome.results[r].ok]
            if failed:
                outcome.verdict = "halted"
                outcome.failed_region = failed[0]
                outcome.reason = f"{failed[0]}: {outcome.results[failed[0]].reason}"
                for region, release in reversed(done):
                    release.rollback(f"halted: {outcome.reason}")
                    outcome.rolled_back.append(region)
                    emit("rollback", region=region)
                emit("halted", reason=outcome.reason)
                return outcome
            emit("wave_done", regions=wave)
    except KeyboardInterrupt:  # during a wave or between two: every region released goes back
        outcome.verdict = "interrupted"
        outcome.reason = "interrupted (Ctrl-C): every region released is back on its old version"
        with holding_interrupts():
            for region in reversed(list(started)):
                result = outcome.results.get(region)
                if result is not None and not result.ok:
                    continue  # it rolled itself back (or never moved)
                started[region].rollback("interrupted (Ctrl-C)")
                outcome.rolled_back.append(region)
                emit("rollback", region=region)
        emit("interrupted", reason=outcome.reason)
    return outcome


def _collect(futures: dict[str, Any], releases: dict[str, Release], outcome: RolloutResult) -> None:
    """Each region's result (waiting for it), unless already collected."""
    for region, future in futures.items():
        if region in outcome.results:
            continue
        try:
            outcome.results[region] = future.result()
        except Exception as exc:  # the release rolled its own region back before raising
            outcome.results[region] = ReleaseResult(
                "rolled_back",
                f"{type(exc).__name__}: {exc}",
                releases[region].function,
                releases[region].alias,
                releases[region].old_version,
                releases[region].new_version or "?",
            )
