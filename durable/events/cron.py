"""AWS's six-field cron: ``cron(minutes hours day-of-month month day-of-week year)``.

Fields and wildcards (EventBridge "Cron expressions reference"):

=============  ===============  ==================
minutes        0-59             ``, - * /``
hours          0-23             ``, - * /``
day-of-month   1-31             ``, - * ? / L W``
month          1-12 or JAN-DEC  ``, - * /``
day-of-week    1-7 or SUN-SAT   ``, - * ? L #``
year           1970-2199        ``, - * /``
=============  ===============  ==================

``?`` stands in exactly one of day-of-month and day-of-week (AWS: "You can't use * in both ...
If you use it in one, you must use ? in the other"). ``L`` is the last day of the month, or
alone in day-of-week the last day of the week (Saturday); ``6L`` the month's last Friday;
``3W`` the weekday nearest the 3rd, never leaving the month; ``2#1`` the first Monday.

Split of work: the grammar is parsed and validated here (AWS's, not Unix cron's: day-of-week
counts 1-7 from Sunday where croniter counts 0-6, and ``?``/``L``/``#`` are spelled
differently), each field expanded to explicit values, and croniter (on naive local times) does
the calendar search over minutes, hours, days of month, months and days of week, ``L`` and
``#``. croniter has no year field (its sixth/seventh fields are seconds and a 1970-2099 year)
and silently ignores ``W`` (``15W`` fires on the 15th), so the year filter and ``W`` are
implemented here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from croniter import CroniterBadDateError, croniter

__all__ = ["MAX_YEAR", "MIN_YEAR", "CronExpression", "CronSyntaxError", "parse_cron"]

MIN_YEAR, MAX_YEAR = 1970, 2199
# English names, whatever the locale (calendar.month_abbr follows the locale)
_MONTHS = {n: i for i, n in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MINUTE = timedelta(minutes=1)


class CronSyntaxError(ValueError):
    """Why a cron expression is refused (wrapped into a ValidationError by the schedule)."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]
    step: bool  # "/" allowed


_FIELDS = (
    _Field("minutes", 0, 59, {}, True),
    _Field("hours", 0, 23, {}, True),
    _Field("day-of-month", 1, 31, {}, True),
    _Field("month", 1, 12, _MONTHS, True),
    _Field("day-of-week", 1, 7, _DAYS, False),
    _Field("year", MIN_YEAR, MAX_YEAR, {}, True),
)


def _value(text: str, field: _Field) -> int:
    upper = text.upper()
    if upper in field.names:
        return field.names[upper]
    if not text.isdigit():
        raise CronSyntaxError(f"invalid value {text!r} in the {field.name} field")
    value = int(text)
    if not field.low <= value <= field.high:
        raise CronSyntaxError(f"{value} is out of range {field.low}-{field.high} in the {field.name} field")
    return value


def _expand(spec: str, field: _Field) -> frozenset[int]:
    """``*``, ``a``, ``a-b`` (wrapping past the end, as Quartz does), each with an optional
    ``/step``, and comma lists of those."""
    values: set[int] = set()
    for part in spec.split(","):
        if not part:
            raise CronSyntaxError(f"empty list item in the {field.name} field")
        base, slash, step_text = part.partition("/")
        if slash and not field.step:
            raise CronSyntaxError(f"'/' is not allowed in the {field.name} field")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronSyntaxError(f"invalid increment {step_text!r} in the {field.name} field")
            step = int(step_text)
        if base == "*":
            low, high = field.low, field.high
        elif "-" in base:
            a, _, b = base.partition("-")
            low, high = _value(a, field), _value(b, field)
        else:
            low = _value(base, field)
            high = field.high if slash else low  # "5/15": from 5 to the end, every 15
        span = (
            range(low, high + 1)
            if low <= high
            else [*range(low, field.high + 1), *range(field.low, high + 1)]
        )
        values.update(list(span)[::step])
    return frozenset(values)


def _csv(values: frozenset[int], shift: int = 0) -> str:
    return ",".join(str(v + shift) for v in sorted(values))


@dataclass(frozen=True, slots=True)
class CronExpression:
    """A parsed AWS cron. ``next_after(local)`` is the first firing strictly after ``local``,
    both naive wall-clock times in the schedule's time zone; ``None`` when it never fires again."""

    text: str
    croniter_spec: str  # five fields for croniter, the year and W left out
    months: frozenset[int]
    years: frozenset[int]
    weekday_nearest: int | None  # the n of "nW" (0 for "LW")

    def next_after(self, local: datetime) -> datetime | None:
        if self.weekday_nearest is not None:
            return self._next_weekday_nearest(local)
        start = local
        while True:
            try:
                found: datetime = croniter(self.croniter_spec, start).get_next(datetime)
            except CroniterBadDateError:
                return None  # e.g. the 30th of February: croniter gives up, so do we
            if found.year > MAX_YEAR:
                return None
            if found.year in self.years:
                return found
            later = [y for y in self.years if y > found.year]
            if not later:
                return None
            start = datetime(min(later), 1, 1) - _MINUTE  # so 00:00 on 1 January can fire

    def _next_weekday_nearest(self, local: datetime) -> datetime | None:
        minutes, hours = self.croniter_spec.split()[:2]
        year, month = local.year, local.month
        while year <= MAX_YEAR:
            if year in self.years and month in self.months:
                day = _nearest_weekday(year, month, self.weekday_nearest or 0)
                if day is not None:
                    day_start = datetime(year, month, day)
                    start = max(local, day_start - _MINUTE)
                    found: datetime = croniter(f"{minutes} {hours} * * *", start).get_next(datetime)
                    if found.date() == day_start.date():
                        return found
            month += 1
            if month > 12:
                year, month = year + 1, 1
        return None


def _nearest_weekday(year: int, month: int, n: int) -> int | None:
    """The weekday (Mon-Fri) nearest day ``n`` (0: the last day), without leaving the month
    (Quartz: "1W" on a Saturday fires on Monday the 3rd). ``None`` if the month has no day n."""
    last = calendar.monthrange(year, month)[1]
    day = last if n == 0 else n
    if day > last:
        return None
    weekday = date(year, month, day).weekday()  # Monday = 0
    if weekday == 5:  # Saturday
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday
        return day + 1 if day < last else day - 2
    return day


def _day_of_month(spec: str) -> tuple[str, int | None]:
    """croniter's day-of-month and the n of ``nW``."""
    field = _FIELDS[2]
    if spec == "L":
        return "L", None
    if spec.upper() == "LW":
        return "*", 0
    if spec.upper().endswith("W"):
        day = _value(spec[:-1], field)
        return "*", day
    if "L" in spec.upper() or "W" in spec.upper():
        raise CronSyntaxError("L and W stand alone in the day-of-month field (L, LW or nW)")
    return _csv(_expand(spec, field)), None


def _day_of_week(spec: str) -> str:
    """croniter's day-of-week: AWS's 1-7 (SUN-SAT) become 0-6, ``L`` Saturday, ``nL`` ``L{n-1}``."""
    field = _FIELDS[4]
    out: list[str] = []
    for part in spec.split(","):
        upper = part.upper()
        if upper == "L":
            out.append("6")
        elif upper.endswith("L"):
            out.append(f"L{_value(part[:-1], field) - 1}")
        elif "#" in part:
            day, _, nth = part.partition("#")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise CronSyntaxError(f"invalid occurrence {nth!r} after '#' in the day-of-week field")
            out.append(f"{_value(day, field) - 1}#{nth}")
        else:
            out.append(_csv(_expand(part, field), shift=-1))
    return ",".join(out)


def parse_cron(fields_text: str) -> CronExpression:
    """Parse the text inside ``cron(...)``; raises :class:`CronSyntaxError`."""
    fields = fields_text.split()
    if len(fields) != 6:
        raise CronSyntaxError(f"a cron expression has six fields, not {len(fields)}")
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise CronSyntaxError("use '?' in exactly one of the day-of-month and day-of-week fields")
    for text, field in ((minutes, _FIELDS[0]), (hours, _FIELDS[1]), (month, _FIELDS[3]), (year, _FIELDS[5])):
        if "?" in text:
            raise CronSyntaxError(f"'?' is not allowed in the {field.name} field")
    if dom == "?":
        croniter_dom, nearest = "*", None
        croniter_dow = _day_of_week(dow)
    else:
        croniter_dom, nearest = _day_of_month(dom)
        croniter_dow = "*"
    months = _expand(month, _FIELDS[3])
    spec = " ".join(
        [
            _csv(_expand(minutes, _FIELDS[0])),
            _csv(_expand(hours, _FIELDS[1])),
            croniter_dom,
            _csv(months),
            croniter_dow,
        ]
    )
    if not croniter.is_valid(spec):  # a construct croniter cannot search (should not happen)
        raise CronSyntaxError(f"unsupported cron expression {fields_text!r}")
    return CronExpression(fields_text, spec, months, _expand(year, _FIELDS[5]), nearest)
