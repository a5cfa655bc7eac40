"""Opening hours: is a schedule open at an instant, and when does that next change.

A schedule is written in wall-clock time in its own IANA time zone, so "09:00"
stays 09:00 across daylight-saving changes. The YAML form (see ``ivr.model``)::

    {timezone: Europe/London,
     weekly: {mon-fri: ["09:00-12:00", "13:00-17:30"], sat: ["10:00-14:00"], sun: closed},
     holidays: ["2026-12-25"]}

- Days are ``mon`` .. ``sun`` or a range ``mon-fri``; a range may wrap the week
  (``sun-thu``). A day not named is closed; ``closed`` or ``[]`` says so explicitly.
- A range is open at its open time and closed at its close time. ``24:00`` closes at
  the end of the day (stored as ``time.max``).
- An overnight range ("22:00-02:00") is refused: split it at midnight, "22:00-24:00"
  on one day and "00:00-02:00" on the next, so every day reads on its own.
- Holidays are closed all day, in the schedule's time zone.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from .model import Schedule

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = time.max  # "24:00"
CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])|24:00")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
HORIZON_DAYS = 400  # holidays are listed per date, so look a little over a year ahead


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # 'localtime' is the host's zone, not a place; 'Factory' is a placeholder.
    return (frozenset(available_timezones()) | {"UTC"}) - {"localtime", "Factory"}


def zone(name: str) -> ZoneInfo:
    """The IANA zone; ValueError for anything else (including the host's 'localtime')."""
    if not isinstance(name, str) or name not in _zone_names():
        raise ValueError(f"timezone {name!r} is not an IANA time zone like Europe/London")
    return ZoneInfo(name)


# -- parsing -------------------------------------------------------------


def parse_schedule(name: str, data: dict) -> Schedule:
    """A Schedule from its YAML mapping; ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("a schedule is a mapping with timezone, weekly and holidays")
    unknown = set(data) - {"timezone", "weekly", "holidays"}
    if unknown:
        raise ValueError(f"unknown key {sorted(map(str, unknown))[0]!r} "
                         "(a schedule has timezone, weekly, holidays)")
    if "timezone" not in data:
        raise ValueError("timezone is required")
    zone(data["timezone"])
    if "weekly" not in data:
        raise ValueError("weekly is required (e.g. weekly: {mon-fri: [\"09:00-17:00\"]})")
    return Schedule(name=name, timezone=data["timezone"], weekly=_weekly(data["weekly"]),
                    holidays=_holidays(data.get("holidays") or []))


def _weekly(data) -> dict[int, tuple[tuple[time, time], ...]]:
    if not isinstance(data, dict):
        raise ValueError("weekly is a mapping of days to opening ranges")
    weekly: dict[int, tuple[tuple[time, time], ...]] = {}
    for key, ranges in data.items():
        days = _days(key)
        parsed = _day_ranges(key, ranges)
        for day in days:
            if day in weekly:
                raise ValueError(f"weekly: {DAYS[day]} is given twice")
            weekly[day] = parsed
    return {day: weekly.get(day, ()) for day in range(7)}


def _days(key) -> list[int]:
    if not isinstance(key, str):
        raise ValueError(f"weekly: {key!r} is not a day (mon..sun or a range like mon-fri)")
    names = key.strip().lower().split("-")
    if len(names) > 2 or any(name not in DAYS for name in names):
        raise ValueError(f"weekly: {key!r} is not a day (mon..sun or a range like mon-fri)")
    start, end = DAYS.index(names[0]), DAYS.index(names[-1])
    return [(start + i) % 7 for i in range((end - start) % 7 + 1)]


def _day_ranges(key, ranges) -> tuple[tuple[time, time], ...]:
    if ranges is None or ranges == "closed":
        return ()
    if isinstance(ranges, str):
        ranges = [ranges]
    if not isinstance(ranges, list):
        raise ValueError(f"weekly.{key}: a list of ranges like \"09:00-17:30\", or closed")
    parsed = sorted(_range(key, text) for text in ranges)
    for (_, close), (opens, _) in zip(parsed, parsed[1:]):
        if opens < close:
            raise ValueError(f"weekly.{key}: ranges overlap")
    return tuple(parsed)


def _range(key, text) -> tuple[time, time]:
    bad = ValueError(f"weekly.{key}: {text!r} is not a range like \"09:00-17:30\"")
    if not isinstance(text, str):
        raise bad
    opens, sep, closes = (part.strip() for part in text.partition("-"))
    if not sep or not CLOCK.fullmatch(opens) or not CLOCK.fullmatch(closes) or opens == "24:00":
        raise bad
    start, end = _clock(opens), _clock(closes)
    if end <= start:
        raise ValueError(f"weekly.{key}: {text!r} closes before it opens; split an overnight "
                         "range at midnight (\"22:00-24:00\" and \"00:00-02:00\" the next day)")
    return start, end


def _clock(text: str) -> time:
    if text == "24:00":
        return END_OF_DAY
    return time(int(text[:2]), int(text[3:]))


def _holidays(values) -> frozenset[date]:
    if not isinstance(values, list):
        raise ValueError("holidays is a list of dates like \"2026-12-25\"")
    days = set()
    for value in values:
        # YAML reads an unquoted 2026-12-25 as a date already.
        if isinstance(value, date) and not isinstance(value, datetime):
            days.add(value)
        elif isinstance(value, str) and ISO_DATE.fullmatch(value.strip()):
            try:
                days.add(date.fromisoformat(value.strip()))
            except ValueError:
                raise ValueError(f"holidays: {value!r} is not a date") from None
        else:
            raise ValueError(f"holidays: {value!r} is not a date like \"2026-12-25\"")
    return frozenset(days)


# -- questions -----------------------------------------------------------


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Open at the instant ``at`` (aware), read on the schedule's wall clock."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("is_open needs an aware datetime")
    local = at.astimezone(zone(schedule.timezone))
    if local.date() in schedule.holidays:
        return False
    now = local.time().replace(tzinfo=None, fold=0)
    return any(opens <= now and (now < closes or closes == END_OF_DAY)
               for opens, closes in schedule.weekly.get(local.weekday(), ()))


def next_change(schedule: Schedule, at: datetime,
                horizon_days: int = HORIZON_DAYS) -> datetime | None:
    """The first instant after ``at`` when the schedule opens (if closed now) or
    closes (if open), in the schedule's time zone; None if not within the horizon."""
    tz = zone(schedule.timezone)
    first_day = at.astimezone(tz).date() - timedelta(days=1)
    now = is_open(schedule, at)
    for days in (8, horizon_days):  # a week ahead answers nearly every question
        limit = _instant(first_day + timedelta(days=days), time(0), tz, fold=0)
        candidates = sorted({c for c in _candidates(schedule, tz, first_day, days + 2)
                             if at < c < limit})
        for candidate in candidates:
            if is_open(schedule, candidate) != now:
                return candidate.astimezone(tz)
    return None


def _candidates(schedule: Schedule, tz: ZoneInfo, first_day: date, days: int):
    """Every instant at which the schedule may change state: each day's midnight
    (holidays), open and close times (both readings of a time the clocks repeat),
    and the clock change itself (an opening inside the skipped hour happens then)."""
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        times = {time(0)} | {t for pair in schedule.weekly.get(day.weekday(), ())
                             for t in pair if t != END_OF_DAY}
        for wall in times:
            yield _instant(day, wall, tz, fold=0)
            yield _instant(day, wall, tz, fold=1)
        change = _clock_change(day, tz)
        if change is not None:
            yield change


def _instant(day: date, wall: time, tz: ZoneInfo, fold: int) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).replace(fold=fold).astimezone(timezone.utc)


def _clock_change(day: date, tz: ZoneInfo) -> datetime | None:
    """The instant the UTC offset changes during ``day``, found by bisection."""
    low = int(_instant(day, time(0), tz, 0).timestamp())
    high = int(_instant(day + timedelta(days=1), time(0), tz, 0).timestamp())

    def offset(ts: int):
        return datetime.fromtimestamp(ts, tz).utcoffset()

    if offset(low) == offset(high):
        return None
    while high - low > 1:
        middle = (low + high) // 2
        if offset(middle) == offset(low):
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, timezone.utc)
