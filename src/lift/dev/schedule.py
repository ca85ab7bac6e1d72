"""EventBridge schedule expressions (`rate(...)`, 6-field `cron(...)`) and a local scheduler.

The dev server fires the app's schedules on their own. `LIFT_DEV_TIME_SCALE` (e.g. 60) makes
the scheduler's clock run that many times faster, so `rate(1 minute)` fires every second.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from lift.dev.settings import env_number

__all__ = ["Cron", "Rate", "ScheduleError", "Scheduler", "parse_expression"]

_log = logging.getLogger("lift.dev")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


class ScheduleError(ValueError):
    """A schedule expression EventBridge would reject."""


class Rate:
    """`rate(N unit)`: fires every N minutes/hours/days, the first time one period after start."""

    def __init__(self, expression: str, seconds: int) -> None:
        self.expression = expression
        self.seconds = seconds

    def next_after(self, moment: datetime, started: datetime) -> datetime:
        periods = int((moment - started).total_seconds() // self.seconds) + 1
        return started + timedelta(seconds=periods * self.seconds)


def _parse_rate(body: str, expression: str) -> Rate:
    m = re.fullmatch(r"\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*", body)
    if not m:
        raise ScheduleError(
            f"Bad rate expression {expression!r}: expected rate(<value> <unit>), unit minute(s), hour(s) or day(s)"
        )
    value, unit = int(m.group(1)), m.group(2)
    if value <= 0:
        raise ScheduleError(f"Bad rate expression {expression!r}: the value must be a positive integer")
    if (value == 1) != (not unit.endswith("s")):
        raise ScheduleError(
            f"Bad rate expression {expression!r}: use the singular unit for 1 and the plural "
            "otherwise (rate(1 minute), rate(5 minutes))"
        )
    return Rate(expression, value * _UNITS[unit.rstrip("s")])


def _number(token: str, names: dict[str, int], low: int, high: int, expression: str) -> int:
    value = names.get(token.upper()) if not token.isdigit() else int(token)
    if value is None or not low <= value <= high:
        raise ScheduleError(f"Bad cron expression {expression!r}: {token!r} is not in {low}-{high}")
    return value


def _field(text: str, low: int, high: int, expression: str, names: dict[str, int] | None = None) -> set[int]:
    names = names or {}
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"Bad cron expression {expression!r}: bad step in {text!r}")
            step = int(step_text)
            if part not in ("*", "?") and "-" not in part:
                part = f"{part}-{high}"
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _number(a, names, low, high, expression), _number(b, names, low, high, expression)
        else:
            start = end = _number(part, names, low, high, expression)
        if start <= end:
            values.update(range(start, end + 1, step))
        else:  # a wrapping range such as FRI-MON
            values.update(v for i, v in enumerate([*range(start, high + 1), *range(low, end + 1)]) if i % step == 0)
    return values


def _nearest_weekday(year: int, month: int, day: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day = min(day, last)
    weekday = calendar.weekday(year, month, day)
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < last else day - 2
    return day


class Cron:
    """`cron(minutes hours day-of-month month day-of-week year)`, in UTC, as EventBridge reads it."""

    def __init__(self, expression: str, body: str) -> None:
        self.expression = expression
        parts = body.split()
        if len(parts) != 6:
            raise ScheduleError(
                f"Bad cron expression {expression!r}: expected 6 fields "
                "(minutes hours day-of-month month day-of-week year)"
            )
        minute, hour, dom, month, dow, year = parts
        if (dom == "?") == (dow == "?"):
            raise ScheduleError(
                f"Bad cron expression {expression!r}: exactly one of day-of-month and day-of-week must be '?'"
            )
        self.minutes = sorted(_field(minute, 0, 59, expression))
        self.hours = sorted(_field(hour, 0, 23, expression))
        self.months = _field(month, 1, 12, expression, _MONTHS)
        self.years = _field(year, 1970, 2199, expression)
        self.dom = dom
        self.dow = dow
        if dom != "?" and not re.fullmatch(r"L|LW|\d{1,2}W", dom):
            self.dom_values = _field(dom, 1, 31, expression)
        if dow != "?" and not re.fullmatch(r"L|[1-7A-Za-z]{1,3}L|[1-7A-Za-z]{1,3}#[1-5]", dow):
            self.dow_values = _field(dow, 1, 7, expression, _DAYS)

    def _day_matches(self, day: datetime) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        aws_dow = (day.weekday() + 1) % 7 + 1
        if self.dom != "?":
            if self.dom == "L":
                return day.day == last
            if self.dom == "LW":
                return day.day == _nearest_weekday(day.year, day.month, last)
            if self.dom.endswith("W"):
                return day.day == _nearest_weekday(day.year, day.month, int(self.dom[:-1]))
            return day.day in self.dom_values
        if self.dow == "L":
            return aws_dow == 7
        if self.dow.endswith("L"):
            return aws_dow == _number(self.dow[:-1], _DAYS, 1, 7, self.expression) and day.day + 7 > last
        if "#" in self.dow:
            wanted, nth = self.dow.split("#")
            return aws_dow == _number(wanted, _DAYS, 1, 7, self.expression) and (day.day - 1) // 7 + 1 == int(nth)
        return aws_dow in self.dow_values

    def next_after(self, moment: datetime, started: datetime | None = None) -> datetime:
        """The first fire time strictly after `moment`."""
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(366 * 30):
            if day.year not in self.years:
                later = [y for y in self.years if y > day.year]
                if not later:
                    break
                day = day.replace(year=min(later), month=1, day=1)
                continue
            if day.month not in self.months:
                day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
                continue
            if self._day_matches(day):
                for h in self.hours:
                    for m in self.minutes:
                        candidate = day.replace(hour=h, minute=m)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        raise ScheduleError(f"Cron expression {self.expression!r} never fires again")


def parse_expression(expression: str) -> Rate | Cron:
    """Parse `rate(...)` or `cron(...)` (raises ScheduleError with the reason)."""
    m = re.fullmatch(r"\s*(rate|cron)\((.*)\)\s*", expression or "")
    if not m:
        raise ScheduleError(f"Bad schedule expression {expression!r}: expected rate(...) or cron(...)")
    if m.group(1) == "rate":
        return _parse_rate(m.group(2), expression)
    return Cron(expression, m.group(2))


class _Job:
    def __init__(self, rule: str, schedule: Rate | Cron, started: datetime) -> None:
        self.rule = rule
        self.schedule = schedule
        self.started = started
        self.next_at = schedule.next_after(started, started)


class Scheduler:
    """Fires `fire(rule)` for every schedule returned by `schedules()` (rule -> expression)."""

    def __init__(
        self, schedules: Callable[[], dict[str, str]], fire: Callable[[str], None], time_scale: float | None = None
    ) -> None:
        self.schedules = schedules
        self.fire = fire
        self.time_scale = time_scale or env_number("LIFT_DEV_TIME_SCALE", 1.0)
        self._origin_real = time.time()
        self._origin = datetime.now(UTC)
        self._jobs: dict[str, _Job] = {}
        self._wake = threading.Event()
        self._stop = False
        self.errors: dict[str, str] = {}

    def now(self) -> datetime:
        """The scheduler's clock (scaled by `time_scale` since the scheduler started)."""
        return self._origin + timedelta(seconds=(time.time() - self._origin_real) * self.time_scale)

    def next_fires(self) -> dict[str, str]:
        return {rule: job.next_at.isoformat() for rule, job in self._jobs.items()}

    def refresh(self) -> None:
        """Re-read the app's schedules (after a reload)."""
        self._sync()
        self._wake.set()

    def _sync(self) -> None:
        wanted = self.schedules()
        now = self.now()
        for rule in list(self._jobs):
            if rule not in wanted or self._jobs[rule].schedule.expression != wanted[rule]:
                del self._jobs[rule]
        for rule, expression in wanted.items():
            if rule in self._jobs:
                continue
            try:
                self._jobs[rule] = _Job(rule, parse_expression(expression), now)
                self.errors.pop(rule, None)
            except ScheduleError as exc:
                if self.errors.get(rule) != str(exc):
                    _log.error("schedule %s not started: %s", rule, exc)
                self.errors[rule] = str(exc)

    def start(self) -> None:
        self._sync()
        threading.Thread(target=self._run, name="lift-dev-scheduler", daemon=True).start()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stop:
            self._wake.clear()
            now = self.now()
            due = [job for job in self._jobs.values() if job.next_at <= now]
            for job in due:
                job.next_at = job.schedule.next_after(now, job.started)
                try:
                    self.fire(job.rule)
                except Exception:
                    _log.exception("schedule %s failed", job.rule)
            upcoming = [job.next_at for job in self._jobs.values()]
            wait = ((min(upcoming) - self.now()).total_seconds() / self.time_scale) if upcoming else 60.0
            self._wake.wait(max(0.01, min(wait, 60.0)))
