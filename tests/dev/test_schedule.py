"""Schedule expressions as EventBridge reads them: rate(...) and 6-field cron(...) in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lift.dev.schedule import ScheduleError, Scheduler, parse_expression

T0 = datetime(2026, 11, 22, 4, 7, 30, tzinfo=UTC)  # a Sunday


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(0 10 * * ? *)", at(2026, 11, 22, 10, 0)),
        ("cron(0/15 * * * ? *)", at(2026, 11, 22, 4, 15)),
        ("cron(0 8 1 * ? *)", at(2026, 12, 1, 8, 0)),
        ("cron(0 18 ? * MON-FRI *)", at(2026, 11, 23, 18, 0)),
        ("cron(15 10 ? * 6L 2026-2030)", at(2026, 11, 27, 10, 15)),  # last Friday of the month
        ("cron(0 12 ? * 3#2 *)", at(2026, 12, 8, 12, 0)),  # second Tuesday
        ("cron(0 0 L * ? *)", at(2026, 11, 30, 0, 0)),  # last day of the month
        ("cron(0 9 1W * ? *)", at(2026, 12, 1, 9, 0)),  # nearest weekday to the 1st
        ("cron(30 2 ? JAN,JUL SUN 2027)", at(2027, 1, 3, 2, 30)),
        ("cron(0 0 29 2 ? *)", at(2028, 2, 29, 0, 0)),
        ("rate(5 minutes)", at(2026, 11, 22, 4, 12, 30)),
        ("rate(1 hour)", at(2026, 11, 22, 5, 7, 30)),
        ("rate(2 days)", at(2026, 11, 24, 4, 7, 30)),
    ],
)
def test_next_fire_time(expression: str, expected: datetime) -> None:
    assert parse_expression(expression).next_after(T0, T0) == expected


def test_cron_never_returns_the_same_minute_twice() -> None:
    cron = parse_expression("cron(* * * * ? *)")
    first = cron.next_after(T0)
    assert first == at(2026, 11, 22, 4, 8)
    assert cron.next_after(first) == at(2026, 11, 22, 4, 9)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "singular"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 weeks)", "unit"),
        ("cron(0 10 * * *)", "6 fields"),
        ("cron(0 10 * * * *)", "exactly one"),
        ("cron(0 10 ? * ? *)", "exactly one"),
        ("cron(61 10 * * ? *)", "0-59"),
        ("cron(0 10 * FOO ? *)", "1-12"),
        ("every 5 minutes", "rate(...) or cron(...)"),
        ("cron(0 0 1 1 ? 1999)", "never fires"),
    ],
)
def test_bad_expressions_are_rejected_with_the_reason(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_expression(expression).next_after(T0, T0)


def test_scheduler_fires_with_an_accelerated_clock_and_reports_bad_expressions() -> None:
    import threading

    fired: list[str] = []
    done = threading.Event()

    def fire(rule: str) -> None:
        fired.append(rule)
        if fired.count("fast") >= 2:
            done.set()

    scheduler = Scheduler(lambda: {"fast": "rate(1 minute)", "broken": "rate(1 minutes)"}, fire, time_scale=600)
    scheduler.start()
    try:
        assert done.wait(10)
    finally:
        scheduler.stop()
    assert set(fired) == {"fast"}
    assert "singular" in scheduler.errors["broken"]
