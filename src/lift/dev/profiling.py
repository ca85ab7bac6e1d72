"""Per-request profiling for `lift dev --profile`, and what the app's imports cost at a cold start.

Profiles come from pyinstrument, a sampling profiler: its cost grows with the sampling rate rather
than with the number of calls, so a request's shape stays what it is without the profiler (cProfile
traces every call and inflates call-heavy code several times over; `bench/bench_profiler.py` measures
both). When pyinstrument is not installed, cProfile is used and the tree is built from its
caller/callee table. Memory (`--profile-memory`) is tracemalloc's peak during the request; tracemalloc
is process-wide, so under concurrent requests a peak includes the others' allocations.
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ImportCost", "Profile", "RequestProfiler", "import_costs"]

_INTERVAL = 0.0001  # 100 us between samples: Lift handlers take microseconds to milliseconds
_MAX_DEPTH = 40
_MIN_SHARE = 0.005  # nodes under 0.5% of the request are folded into their parent


@dataclass
class Profile:
    """One profiled request: its call tree (nested dicts), and pyinstrument's HTML page when available."""

    id: int
    request_id: str
    label: str
    duration_ms: float
    engine: str
    tree: dict[str, Any]
    memory_peak_kb: float | None = None
    session: Any = field(default=None, repr=False)  # pyinstrument's Session, rendered to HTML on demand

    @property
    def html(self) -> str | None:
        """pyinstrument's interactive page for this request (None with the cProfile engine)."""
        if self.session is None:
            return None
        from pyinstrument.renderers import HTMLRenderer

        return str(HTMLRenderer().render(self.session))

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request_id": self.request_id,
            "label": self.label,
            "duration_ms": round(self.duration_ms, 3),
            "engine": self.engine,
            "memory_peak_kb": self.memory_peak_kb,
        }


class RequestProfiler:
    """Profiles one request in every `every`, keeps the last `keep` profiles, lists the slowest."""

    def __init__(self, every: int = 1, memory: bool = False, keep: int = 100) -> None:
        if every < 1:
            raise ValueError("profile every N requests: N must be at least 1")
        self.every = every
        self.memory = memory
        self.engine = "pyinstrument" if _has_pyinstrument() else "cprofile"
        self._count = 0
        self._next_id = 0
        self._lock = threading.Lock()
        self.profiles: collections.OrderedDict[int, Profile] = collections.OrderedDict()
        self.keep = keep
        # pay the profilers' own start-up now, not inside the first profiled request
        if memory:
            import tracemalloc

            tracemalloc.start()
        if self.engine == "pyinstrument":
            import pyinstrument  # noqa: F401

    def selected(self) -> bool:
        """Whether the next request is one to profile (1 in `every`)."""
        with self._lock:
            self._count += 1
            return (self._count - 1) % self.every == 0

    def run(self, fn: Callable[[], Any], request_id: str, label: str) -> Any:
        """Call `fn()` under the profiler and keep its profile; exceptions propagate unchanged."""
        if self.memory:
            import tracemalloc

            if not tracemalloc.is_tracing():
                tracemalloc.start()
            tracemalloc.reset_peak()
        runner = _run_pyinstrument if self.engine == "pyinstrument" else _run_cprofile
        timing: list[float] = []
        try:
            result, tree, session = runner(fn, timing)
        finally:
            peak = None
            if self.memory:
                import tracemalloc

                peak = round(tracemalloc.get_traced_memory()[1] / 1024, 1)
        self._keep(request_id, label, timing[0] * 1000 if timing else 0.0, tree, session, peak)
        return result

    def _keep(
        self, request_id: str, label: str, ms: float, tree: dict[str, Any], session: Any, peak: float | None
    ) -> None:
        with self._lock:
            self._next_id += 1
            profile = Profile(self._next_id, request_id, label, ms, self.engine, tree, peak, session)
            self.profiles[profile.id] = profile
            while len(self.profiles) > self.keep:
                self.profiles.popitem(last=False)

    def slowest(self, n: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            found = sorted(self.profiles.values(), key=lambda p: p.duration_ms, reverse=True)[:n]
        return [p.summary() for p in found]

    def get(self, profile_id: int) -> Profile | None:
        with self._lock:
            return self.profiles.get(profile_id)

    def for_request(self, request_id: str) -> Profile | None:
        with self._lock:
            return next((p for p in self.profiles.values() if p.request_id == request_id), None)


def _has_pyinstrument() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyinstrument") is not None


def _timed(fn: Callable[[], Any], timing: list[float]) -> Any:
    started = time.perf_counter()
    try:
        return fn()
    finally:
        timing.append(time.perf_counter() - started)


def _run_pyinstrument(fn: Callable[[], Any], timing: list[float]) -> tuple[Any, dict[str, Any], Any]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=_INTERVAL, async_mode="disabled")
    profiler.start()
    try:
        result = _timed(fn, timing)
    finally:
        profiler.stop()
    session = profiler.last_session
    root = session.root_frame() if session is not None else None
    total = root.time if root is not None else 0.0
    tree = _pyinstrument_node(root, total, 0) if root is not None else _empty()
    return result, tree, session


def _pyinstrument_node(frame: Any, total: float, depth: int) -> dict[str, Any]:
    children = []
    if depth < _MAX_DEPTH:
        for child in frame.children:
            if total and child.time / total < _MIN_SHARE:
                continue
            children.append(_pyinstrument_node(child, total, depth + 1))
    return {
        "function": frame.function or "?",
        "location": f"{frame.file_path_short or frame.file_path or ''}:{frame.line_no or ''}".rstrip(":"),
        "ms": round(frame.time * 1000, 3),
        "children": children,
    }


def _run_cprofile(fn: Callable[[], Any], timing: list[float]) -> tuple[Any, dict[str, Any], None]:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    try:
        result = profiler.runcall(_timed, fn, timing)
    finally:
        stats = pstats.Stats(profiler)
    return result, _cprofile_tree(stats), None


def _cprofile_tree(stats: Any) -> dict[str, Any]:
    """A tree from cProfile's table: each function under its heaviest caller, timed cumulatively."""
    table = stats.stats  # (file, line, name) -> (calls, primitive, tottime, cumtime, callers)
    if not table:
        return _empty()
    parent: dict[Any, Any] = {}
    for func, (_cc, _nc, _tt, _ct, callers) in table.items():
        if callers:
            parent[func] = max(callers.items(), key=lambda item: item[1][3])[0]
    kids: dict[Any, list[Any]] = collections.defaultdict(list)
    for func, caller in parent.items():
        if caller in table and caller != func:
            kids[caller].append(func)
    roots = [f for f in table if f not in parent or parent[f] not in table]
    total = max(table[f][3] for f in roots) if roots else 0.0

    def node(func: Any, depth: int, seen: frozenset[Any]) -> dict[str, Any]:
        file, line, name = func
        children = []
        if depth < _MAX_DEPTH:
            for kid in sorted(kids.get(func, []), key=lambda f: -table[f][3]):
                if kid in seen or (total and table[kid][3] / total < _MIN_SHARE):
                    continue
                children.append(node(kid, depth + 1, seen | {kid}))
        return {
            "function": name,
            "location": f"{Path(file).name}:{line}",
            "ms": round(table[func][3] * 1000, 3),
            "children": children,
        }

    top = [node(f, 0, frozenset({f})) for f in sorted(roots, key=lambda f: -table[f][3])]
    return {"function": "<request>", "location": "", "ms": round(total * 1000, 3), "children": top}


def _empty() -> dict[str, Any]:
    return {"function": "<request>", "location": "", "ms": 0.0, "children": []}


# -- cold-start import cost ------------------------------------------------------------------------

_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S.*)$")


@dataclass(frozen=True)
class ImportCost:
    """One module's import at a cold start: its own time and with what it imports (microseconds)."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int


def import_costs(module: str, project_dir: Path, python: str | None = None) -> list[ImportCost]:
    """What importing `module` costs in a fresh interpreter, per module (`python -X importtime`),
    heaviest first: the modules a Lambda cold start pays for before the first request."""
    done = subprocess.run(
        [python or sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"importing {module} failed: {tail[0]}")
    costs = []
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            costs.append(ImportCost(name.strip(), int(self_us), int(cumulative_us), (len(indent) - 1) // 2))
    return sorted(costs, key=lambda c: c.cumulative_us, reverse=True)
