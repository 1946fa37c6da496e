"""EventBridge Scheduler schedules: when is a schedule due?

Three expressions (Scheduler user guide, "Schedule types on EventBridge Scheduler"):

- ``rate(value unit)``: every ``value`` minutes, hours or days (``minute``/``hour``/``day`` when
  the value is 1, the plural otherwise). A rate is a fixed duration: a day is 24 hours, whatever
  daylight saving does. It starts at ``StartDate``, or at once when there is none (the caller
  passes the schedule's creation time as ``anchor``).
- ``cron(minutes hours day-of-month month day-of-week year)``: wall-clock times in
  ``ScheduleExpressionTimezone`` (IANA names, UTC by default). AWS's daylight saving rule:
  a time that does not exist when clocks spring forward is skipped; a time that occurs twice
  when they fall back runs once (the first time).
- ``at(yyyy-mm-ddThh:mm:ss)``: once, at that wall-clock time in the time zone. ``StartDate``
  and ``EndDate`` do not apply to one-time schedules (AWS ignores them).

``StartDate``/``EndDate`` bound recurring schedules: due times are on or after the start and
before the end. ``FlexibleTimeWindow`` ``OFF`` invokes at the due time; ``FLEXIBLE`` with
``MaximumWindowInMinutes`` (1-1440) anywhere in ``[due, due + window)``: :func:`flexible_window`
computes the window and the runtime picks the time in it.

Missed due times: AWS documents no catch-up for a scheduler that was down. What it documents is
the target ``RetryPolicy``: an invocation is retried until ``MaximumEventAgeInSeconds`` (60 to
86,400, default 86,400) or ``MaximumRetryAttempts`` (0 to 185, default 185), then dropped or
sent to the dead-letter queue. :meth:`Schedule.missed` applies that bound: the due times since
the last one fired that are not older than the maximum event age.

Pure: every instant comes in as an aware ``datetime`` and goes out in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from durable.errors import ValidationError
from durable.events.cron import CronExpression, CronSyntaxError, parse_cron

__all__ = [
    "DEFAULT_MAXIMUM_EVENT_AGE",
    "AtExpression",
    "RateExpression",
    "Schedule",
    "ScheduleExpression",
    "flexible_window",
    "parse_schedule_expression",
]

DEFAULT_MAXIMUM_EVENT_AGE = timedelta(seconds=86_400)
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_CRON = re.compile(r"cron\((.*)\)")
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass(frozen=True, slots=True)
class RateExpression:
    text: str
    interval: timedelta


@dataclass(frozen=True, slots=True)
class AtExpression:
    text: str
    local: datetime  # naive wall-clock time in the schedule's time zone


ScheduleExpression = RateExpression | AtExpression | CronExpression


def _invalid(expression: str, reason: str) -> ValidationError:
    return ValidationError(f"Invalid Schedule Expression {expression}. {reason}")


def parse_schedule_expression(expression: str) -> ScheduleExpression:
    """Parse ``rate(...)``, ``cron(...)`` or ``at(...)``; raises ``ValidationError``."""
    text = expression.strip() if isinstance(expression, str) else ""
    if m := _RATE.fullmatch(text):
        value, unit = int(m.group(1)), m.group(2)
        if value <= 0:
            raise _invalid(expression, "The rate value must be a positive integer.")
        if (value == 1) != (not unit.endswith("s")):
            raise _invalid(expression, "The unit must be singular when the value is 1 and plural otherwise.")
        return RateExpression(text, value * _UNITS[unit.rstrip("s")])
    if m := _AT.fullmatch(text):
        try:
            local = datetime.fromisoformat(m.group(1))
        except ValueError:
            raise _invalid(expression, "The date is not a valid date and time.") from None
        return AtExpression(text, local)
    if m := _CRON.fullmatch(text):
        try:
            cron = parse_cron(m.group(1))
        except CronSyntaxError as exc:
            raise _invalid(expression, str(exc)[:1].upper() + str(exc)[1:] + ".") from None
        return cron
    raise _invalid(expression, "Use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields).")


def _zone(name: str) -> tzinfo:
    if name in ("UTC", "Etc/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Invalid ScheduleExpressionTimezone: {name}") from None


def _aware(when: datetime, what: str) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"{what} must be an aware datetime")
    return when.astimezone(UTC)


def _to_utc(local: datetime, zone: tzinfo) -> datetime | None:
    """A wall-clock time in ``zone`` as UTC: ``None`` when it does not exist (the clocks
    sprang over it); the first of the two instants when it happens twice (fold=0)."""
    aware = local.replace(tzinfo=zone, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local:
        return None
    return utc


class Schedule:
    """An expression with its time zone and date bounds.

    ``anchor`` is where a rate starts when there is no ``start_date`` (the schedule's creation
    time: AWS starts such a schedule at once); it is ignored by cron and at().
    """

    __slots__ = ("anchor", "end_date", "expression", "start_date", "zone")

    def __init__(
        self,
        expression: str | ScheduleExpression,
        *,
        timezone: str = "UTC",
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        anchor: datetime | None = None,
    ) -> None:
        self.expression = parse_schedule_expression(expression) if isinstance(expression, str) else expression
        self.zone = _zone(timezone)
        self.start_date = _aware(start_date, "start_date") if start_date is not None else None
        self.end_date = _aware(end_date, "end_date") if end_date is not None else None
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValidationError("The EndDate must be after the StartDate.")
        self.anchor = _aware(anchor, "anchor") if anchor is not None else None
        if isinstance(self.expression, RateExpression) and (self.start_date or self.anchor) is None:
            raise ValueError("a rate schedule needs start_date or anchor (its creation time)")

    def next_due(self, after: datetime) -> datetime | None:
        """The first due time strictly after ``after`` (UTC), or ``None`` if there is none."""
        after = _aware(after, "after")
        expr = self.expression
        if isinstance(expr, AtExpression):
            due = _to_utc(expr.local, self.zone)
            if due is None:  # an at() inside a spring-forward gap: the wall clock reads it later
                due = expr.local.replace(tzinfo=self.zone).astimezone(UTC)
            return due if due > after else None
        if self.start_date is not None and after < self.start_date:
            after = self.start_date - timedelta(microseconds=1)  # "on, or after, the StartDate"
        due = (
            self._next_rate(expr, after) if isinstance(expr, RateExpression) else self._next_cron(expr, after)
        )
        if due is None or (self.end_date is not None and due >= self.end_date):
            return None
        return due

    def _next_rate(self, expr: RateExpression, after: datetime) -> datetime:
        first = self.start_date or self.anchor
        assert first is not None
        if after < first:
            return first
        return first + ((after - first) // expr.interval + 1) * expr.interval

    def _next_cron(self, expr: CronExpression, after: datetime) -> datetime | None:
        local = after.astimezone(self.zone).replace(tzinfo=None)
        while True:
            candidate = expr.next_after(local)
            if candidate is None:
                return None
            due = _to_utc(candidate, self.zone)
            # skipped: a time the clocks jumped over; or, in the hour that repeats, a wall
            # time that already ran (it runs once)
            if due is not None and due > after:
                return due
            local = candidate

    def due_between(self, after: datetime, until: datetime, *, limit: int | None = None) -> list[datetime]:
        """Every due time in ``(after, until]``, oldest first (at most ``limit``)."""
        until = _aware(until, "until")
        out: list[datetime] = []
        cursor: datetime | None = _aware(after, "after")
        while cursor is not None and (limit is None or len(out) < limit):
            cursor = self.next_due(cursor)
            if cursor is None or cursor > until:
                break
            out.append(cursor)
        return out

    def missed(
        self, last_fired: datetime, now: datetime, *, maximum_event_age: timedelta = DEFAULT_MAXIMUM_EVENT_AGE
    ) -> list[datetime]:
        """Due times in ``(last_fired, now]`` still within ``maximum_event_age`` of ``now``
        (the RetryPolicy bound); older ones are given up, as AWS gives up a delivery."""
        now = _aware(now, "now")
        oldest = now - maximum_event_age
        start = max(_aware(last_fired, "last_fired"), oldest - timedelta(microseconds=1))
        return self.due_between(start, now)


def flexible_window(
    due: datetime, flexible_time_window: dict[str, object] | None
) -> tuple[datetime, datetime]:
    """``[earliest, latest)`` in which to invoke a ``due`` time: the due time alone for mode
    ``OFF``, up to ``MaximumWindowInMinutes`` (1-1440) later for ``FLEXIBLE``."""
    spec = flexible_time_window or {"Mode": "OFF"}
    mode = spec.get("Mode")
    if mode == "OFF":
        if spec.get("MaximumWindowInMinutes") is not None:
            raise ValidationError("MaximumWindowInMinutes is only allowed when Mode is FLEXIBLE.")
        return due, due
    if mode != "FLEXIBLE":
        raise ValidationError(f"Invalid FlexibleTimeWindow Mode: {mode}. Use OFF or FLEXIBLE.")
    window = spec.get("MaximumWindowInMinutes")
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 1440:
        raise ValidationError("MaximumWindowInMinutes must be between 1 and 1440 when Mode is FLEXIBLE.")
    return due, due + timedelta(minutes=window)
