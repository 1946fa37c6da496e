"""Schedule expressions: the examples of AWS's cron and rate references ("Cron expressions
reference", "Rate expressions reference", Scheduler's "Schedule types on EventBridge
Scheduler"), AWS's day-of-week numbering, L/W/#, the year field, and daylight saving in
America/New_York and Europe/London."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from durable.errors import ValidationError
from durable.events import Schedule, flexible_window, parse_schedule_expression


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def due(expression: str, after: datetime, n: int = 4, **kw: object) -> list[datetime]:
    schedule = Schedule(expression, **kw)  # type: ignore[arg-type]
    out: list[datetime] = []
    cursor: datetime | None = after
    for _ in range(n):
        cursor = schedule.next_due(cursor)  # type: ignore[arg-type]
        if cursor is None:
            break
        out.append(cursor)
    return out


MONDAY = utc(2026, 1, 5)  # a Monday, 00:00 UTC


# --- "Cron expressions reference": its examples ---------------------------------------------------


def test_10_am_every_day() -> None:
    assert due("cron(0 10 * * ? *)", MONDAY, 2) == [utc(2026, 1, 5, 10), utc(2026, 1, 6, 10)]


def test_12_15_every_day() -> None:
    assert due("cron(15 12 * * ? *)", MONDAY, 1) == [utc(2026, 1, 5, 12, 15)]


def test_6_pm_monday_to_friday() -> None:
    got = due("cron(0 18 ? * MON-FRI *)", MONDAY, 6)
    assert [d.day for d in got] == [5, 6, 7, 8, 9, 12]  # Saturday 10 and Sunday 11 skipped


def test_8_am_on_the_first_of_each_month() -> None:
    assert due("cron(0 8 1 * ? *)", MONDAY, 2) == [utc(2026, 2, 1, 8), utc(2026, 3, 1, 8)]


def test_every_15_minutes() -> None:
    assert due("cron(0/15 * * * ? *)", MONDAY, 3) == [
        utc(2026, 1, 5, 0, 15),
        utc(2026, 1, 5, 0, 30),
        utc(2026, 1, 5, 0, 45),
    ]


def test_every_10_minutes_monday_to_friday() -> None:
    friday_night = utc(2026, 1, 9, 23, 45)
    assert due("cron(0/10 * ? * MON-FRI *)", friday_night, 2) == [utc(2026, 1, 9, 23, 50), utc(2026, 1, 12)]


def test_every_5_minutes_from_8_to_5_55_pm_weekdays() -> None:
    got = due("cron(0/5 8-17 ? * MON-FRI *)", utc(2026, 1, 5, 17, 50), 3)
    assert got == [utc(2026, 1, 5, 17, 55), utc(2026, 1, 6, 8), utc(2026, 1, 6, 8, 5)]


def test_9_am_on_the_first_monday_of_each_month() -> None:
    assert due("cron(0 9 ? * 2#1 *)", MONDAY, 2) == [utc(2026, 1, 5, 9), utc(2026, 2, 2, 9)]


def test_increment_from_a_start() -> None:
    # "1/10 ... every tenth minute, starting from the first minute (the 11th, 21st, 31st ...)"
    assert [d.minute for d in due("cron(1/10 * * * ? *)", MONDAY, 4)] == [1, 11, 21, 31]


# --- AWS's day-of-week numbering and L / W / # --------------------------------------------------


def test_day_of_week_counts_1_to_7_from_sunday() -> None:
    assert due("cron(0 0 ? * 1 *)", MONDAY, 1) == [utc(2026, 1, 11)]  # 1 = Sunday
    assert due("cron(0 0 ? * 7 *)", MONDAY, 1) == [utc(2026, 1, 10)]  # 7 = Saturday
    assert due("cron(0 0 ? * 2 *)", MONDAY, 1) == [utc(2026, 1, 12)]  # 2 = Monday
    assert due("cron(0 0 ? * SUN *)", MONDAY, 1) == due("cron(0 0 ? * 1 *)", MONDAY, 1)


def test_last_day_of_month_and_of_week() -> None:
    assert due("cron(0 0 L * ? *)", MONDAY, 3) == [utc(2026, 1, 31), utc(2026, 2, 28), utc(2026, 3, 31)]
    assert due("cron(0 0 ? * L *)", MONDAY, 1) == [utc(2026, 1, 10)]  # the week's last day: Saturday


def test_last_friday_of_the_month() -> None:
    assert due("cron(0 22 ? * 6L *)", MONDAY, 2) == [utc(2026, 1, 30, 22), utc(2026, 2, 27, 22)]


def test_third_wednesday_with_a_name() -> None:
    assert due("cron(0 12 ? * WED#3 *)", MONDAY, 1) == [utc(2026, 1, 21, 12)]


def test_nearest_weekday() -> None:
    # 2026-02-15 is a Sunday -> Monday 16; 2026-03-15 a Sunday too; 2026-08-15 a Saturday -> Friday 14
    assert due("cron(0 0 15W * ? *)", utc(2026, 2, 1), 2) == [utc(2026, 2, 16), utc(2026, 3, 16)]
    assert due("cron(0 0 15W 8 ? *)", MONDAY, 1) == [utc(2026, 8, 14)]
    # 2026-08-01 is a Saturday: 1W does not leave the month, it is Monday the 3rd
    assert due("cron(0 0 1W 8 ? *)", MONDAY, 1) == [utc(2026, 8, 3)]
    # 2026-05-31 is a Sunday: the last weekday is Friday the 29th
    assert due("cron(0 0 LW 5 ? *)", MONDAY, 1) == [utc(2026, 5, 29)]
    # 31W never fires in a 30-day month
    assert [d.month for d in due("cron(0 0 31W * ? *)", utc(2026, 3, 31, 12), 2)] == [5, 7]


def test_year_field() -> None:
    assert due("cron(0 0 1 1 ? 2027,2030)", MONDAY, 3) == [utc(2027, 1, 1), utc(2030, 1, 1)]
    assert due("cron(0 0 1 1 ? 2020-2025)", MONDAY, 1) == []
    assert due("cron(0 0 29 2 ? 2026-2027)", MONDAY, 1) == []  # no leap day in those years
    assert due("cron(0 0 1 1 ? 2030/5)", MONDAY, 2) == [utc(2030, 1, 1), utc(2035, 1, 1)]
    assert due("cron(0 0 1 JAN ? 2199)", utc(2198, 6, 1), 2) == [utc(2199, 1, 1)]


def test_month_names_and_lists() -> None:
    got = due("cron(0 0 1 JAN,APR,JUL,OCT ? *)", MONDAY, 3)
    assert got == [utc(2026, 4, 1), utc(2026, 7, 1), utc(2026, 10, 1)]


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 10 * * * *)",  # * in both day fields
        "cron(0 10 ? * ? *)",  # ? in both
        "cron(0 10 1 * 1 *)",  # day-of-month and day-of-week both given
        "cron(0 10 * * ?)",  # five fields
        "cron(60 10 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 ? 13 * *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 ? * 0 *)",  # Unix cron's Sunday is not AWS's
        "cron(0 0 ? * 1/2 *)",  # no increments in day-of-week
        "cron(0 0 1 * ? 1969)",
        "cron(0 0 1 * ? 2200)",
        "cron(? 0 1 * ? *)",
        "cron(0 0 ? * 2#6 *)",
        "cron(0/0 * * * ? *)",
        "cron(0 0 ? * FOO *)",
    ],
)
def test_invalid_cron_expressions(expression: str) -> None:
    with pytest.raises(ValidationError, match=r"^Invalid Schedule Expression cron\("):
        parse_schedule_expression(expression)


# --- rate() and at() ----------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(2 days)"])
def test_valid_rates(expression: str) -> None:
    parse_schedule_expression(expression)


@pytest.mark.parametrize(
    "expression",
    ["rate(1 hours)", "rate(5 hour)", "rate(0 minutes)", "rate(5 weeks)", "rate(-1 day)", "rate(1.5 hours)"],
)
def test_invalid_rates(expression: str) -> None:
    # "Rate expressions reference": rate(1 hours) and rate(5 hour) aren't valid
    with pytest.raises(ValidationError, match="Invalid Schedule Expression"):
        parse_schedule_expression(expression)


def test_a_rate_starts_at_its_start_date_or_at_once() -> None:
    start = utc(2026, 1, 5, 10, 0, 30)
    assert due("rate(5 minutes)", utc(2026, 1, 1), 3, start_date=start) == [
        start,
        start + timedelta(minutes=5),
        start + timedelta(minutes=10),
    ]
    created = utc(2026, 1, 5, 9, 59, 0)
    assert due("rate(1 hour)", created - timedelta(seconds=1), 2, anchor=created) == [
        created,
        created + timedelta(hours=1),
    ]
    with pytest.raises(ValueError, match="start_date or anchor"):
        Schedule("rate(1 hour)")


def test_a_rate_of_days_is_24_hours_across_daylight_saving() -> None:
    start = utc(2026, 3, 7, 12)  # noon in New York the day before clocks spring forward
    got = due("rate(1 day)", start - timedelta(seconds=1), 3, start_date=start, timezone="America/New_York")
    assert [d - start for d in got] == [timedelta(0), timedelta(hours=24), timedelta(hours=48)]


def test_at_is_wall_clock_time_in_the_time_zone_and_ignores_start_and_end() -> None:
    schedule = Schedule(
        "at(2026-07-01T09:00:00)",
        timezone="Europe/London",
        start_date=utc(2027, 1, 1),
        end_date=utc(2027, 2, 1),
    )
    assert schedule.next_due(utc(2026, 1, 1)) == utc(2026, 7, 1, 8)  # BST
    assert schedule.next_due(utc(2026, 7, 1, 8)) is None
    with pytest.raises(ValidationError):
        parse_schedule_expression("at(2026-02-30T09:00:00)")
    with pytest.raises(ValidationError):
        parse_schedule_expression("at(2026-02-01 09:00:00)")


def test_unknown_time_zone() -> None:
    with pytest.raises(ValidationError, match="ScheduleExpressionTimezone"):
        Schedule("cron(0 0 * * ? *)", timezone="Mars/Olympus")


# --- time zones and daylight saving -------------------------------------------------------------


def test_cron_runs_in_the_schedule_time_zone() -> None:
    got = due("cron(0 9 * * ? *)", utc(2026, 1, 5), 1, timezone="America/New_York")
    assert got == [utc(2026, 1, 5, 14)]  # 09:00 EST
    got = due("cron(0 9 * * ? *)", utc(2026, 7, 6), 1, timezone="America/New_York")
    assert got == [utc(2026, 7, 6, 13)]  # 09:00 EDT


def test_spring_forward_skips_the_time_that_does_not_exist_new_york() -> None:
    # 2026-03-08: 02:00 EST becomes 03:00 EDT; 02:30 does not exist that day
    got = due("cron(30 2 * * ? *)", utc(2026, 3, 7), 3, timezone="America/New_York")
    assert got == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)]


def test_fall_back_runs_a_repeated_time_once_new_york() -> None:
    # 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens twice, runs once (the first)
    got = due("cron(30 1 * * ? *)", utc(2026, 10, 31, 12), 2, timezone="America/New_York")
    assert got == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    every_half_hour = due("cron(0/30 * * * ? *)", utc(2026, 11, 1, 4, 45), 4, timezone="America/New_York")
    assert every_half_hour == [
        utc(2026, 11, 1, 5, 0),  # 01:00 EDT
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT
        utc(2026, 11, 1, 7, 0),  # 02:00 EST: 01:00 and 01:30 EST do not run again
        utc(2026, 11, 1, 7, 30),
    ]


def test_daylight_saving_in_london() -> None:
    # 2026-03-29: 01:00 GMT becomes 02:00 BST; 2026-10-25: 02:00 BST becomes 01:00 GMT
    spring = due("cron(30 1 * * ? *)", utc(2026, 3, 28), 2, timezone="Europe/London")
    assert spring == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30)]
    autumn = due("cron(30 1 * * ? *)", utc(2026, 10, 24, 12), 2, timezone="Europe/London")
    assert autumn == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


# --- start and end dates, catch-up, flexible windows --------------------------------------------


def test_start_and_end_dates_bound_a_cron() -> None:
    kw = {"start_date": utc(2026, 1, 7, 10), "end_date": utc(2026, 1, 9, 10)}
    assert due("cron(0 10 * * ? *)", MONDAY, 5, **kw) == [utc(2026, 1, 7, 10), utc(2026, 1, 8, 10)]
    with pytest.raises(ValidationError, match="EndDate"):
        Schedule("cron(0 10 * * ? *)", start_date=utc(2026, 2, 1), end_date=utc(2026, 1, 1))


def test_due_between_lists_every_due_time_in_the_interval() -> None:
    schedule = Schedule("cron(0 * * * ? *)")
    got = schedule.due_between(utc(2026, 1, 5, 0), utc(2026, 1, 5, 3))
    assert got == [utc(2026, 1, 5, 1), utc(2026, 1, 5, 2), utc(2026, 1, 5, 3)]
    assert schedule.due_between(utc(2026, 1, 5, 0), utc(2026, 1, 5, 23), limit=2) == got[:2]


def test_missed_due_times_are_bounded_by_the_maximum_event_age() -> None:
    schedule = Schedule("cron(0 * * * ? *)")
    now = utc(2026, 1, 10, 12, 10)
    missed = schedule.missed(utc(2026, 1, 5), now)  # down for days: only the last 24 hours
    assert missed[0] == utc(2026, 1, 9, 13) and missed[-1] == utc(2026, 1, 10, 12) and len(missed) == 24
    short = schedule.missed(utc(2026, 1, 5), now, maximum_event_age=timedelta(hours=2))
    assert short == [utc(2026, 1, 10, 11), utc(2026, 1, 10, 12)]
    assert schedule.missed(utc(2026, 1, 10, 12), now) == []


def test_flexible_time_window() -> None:
    when = utc(2026, 1, 5, 10)
    assert flexible_window(when, {"Mode": "OFF"}) == (when, when)
    assert flexible_window(when, None) == (when, when)
    assert flexible_window(when, {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}) == (
        when,
        when + timedelta(minutes=15),
    )
    for bad in (
        {"Mode": "FLEXIBLE"},
        {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1441},
        {"Mode": "SOMETIMES"},
    ):
        with pytest.raises(ValidationError):
            flexible_window(when, bad)
