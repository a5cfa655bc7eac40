"""Opening hours on the schedule's own wall clock: day ranges, closed days,
holidays, and the daylight-saving changes in London and New York."""
from datetime import date, datetime, time, timedelta, timezone

import pytest

from ivr.hours import is_open, next_change, parse_schedule

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


LONDON = parse_schedule("office", {
    "timezone": "Europe/London",
    "weekly": {"mon-fri": ["09:00-12:00", "13:00-17:30"], "sat": ["10:00-14:00"], "sun": "closed"},
    "holidays": ["2026-12-25", date(2026, 12, 28)],
})
NEW_YORK = parse_schedule("ny", {"timezone": "America/New_York",
                                 "weekly": {"mon-fri": ["09:00-17:00"], "sat-sun": []}})


def test_parse_schedule_builds_the_model():
    assert LONDON.name == "office" and LONDON.timezone == "Europe/London"
    assert LONDON.weekly[0] == LONDON.weekly[4] == ((time(9), time(12)), (time(13), time(17, 30)))
    assert LONDON.weekly[5] == ((time(10), time(14)),)
    assert LONDON.weekly[6] == ()
    assert LONDON.holidays == {date(2026, 12, 25), date(2026, 12, 28)}
    assert NEW_YORK.weekly[5] == NEW_YORK.weekly[6] == ()


def test_a_range_may_wrap_the_week_and_unnamed_days_are_closed():
    schedule = parse_schedule("gulf", {"timezone": "Asia/Dubai",
                                       "weekly": {"sun-thu": "08:00-16:00"}})
    assert [bool(schedule.weekly[d]) for d in range(7)] == [True, True, True, True,
                                                            False, False, True]


@pytest.mark.parametrize("at, expected", [
    (utc(2026, 1, 12, 8, 59), False),  # Monday, GMT
    (utc(2026, 1, 12, 9, 0), True),  # open at the open time
    (utc(2026, 1, 12, 11, 59, 59), True),
    (utc(2026, 1, 12, 12, 0), False),  # closed at the close time (lunch)
    (utc(2026, 1, 12, 13, 0), True),
    (utc(2026, 1, 12, 17, 29), True),
    (utc(2026, 1, 12, 17, 30), False),
    (utc(2026, 1, 17, 11, 0), True),  # Saturday
    (utc(2026, 1, 17, 14, 0), False),
    (utc(2026, 1, 18, 11, 0), False),  # Sunday: closed
    (utc(2026, 12, 25, 10, 0), False),  # holiday, a Friday
    (utc(2026, 12, 28, 10, 0), False),  # holiday given as a YAML date
    (utc(2026, 12, 29, 10, 0), True),
])
def test_london_in_winter(at, expected):
    assert is_open(LONDON, at) is expected


def test_london_summer_time_moves_the_utc_hours():
    # 08:30 UTC: 08:30 GMT in March before the change, 09:30 BST after it.
    assert is_open(LONDON, utc(2026, 3, 27, 8, 30)) is False  # Friday, GMT
    assert is_open(LONDON, utc(2026, 3, 30, 8, 30)) is True  # Monday, BST
    assert is_open(LONDON, utc(2026, 3, 30, 16, 30)) is False  # 17:30 BST
    # and back in October
    assert is_open(LONDON, utc(2026, 10, 23, 16, 45)) is False  # Friday 17:45 BST
    assert is_open(LONDON, utc(2026, 10, 26, 16, 45)) is True  # Monday 16:45 GMT


def test_new_york_across_its_changes():
    assert is_open(NEW_YORK, utc(2026, 3, 6, 13, 30)) is False  # Fri 08:30 EST
    assert is_open(NEW_YORK, utc(2026, 3, 9, 13, 30)) is True  # Mon 09:30 EDT
    assert is_open(NEW_YORK, utc(2026, 3, 9, 21, 30)) is False  # 17:30 EDT
    assert is_open(NEW_YORK, utc(2026, 11, 2, 21, 30)) is True  # Mon 16:30 EST
    assert is_open(NEW_YORK, utc(2026, 11, 2, 22, 0)) is False  # 17:00 EST


def test_any_aware_timezone_works_and_naive_is_refused():
    shanghai = timezone(timedelta(hours=8))
    assert is_open(LONDON, datetime(2026, 1, 12, 17, 0, tzinfo=shanghai)) is True  # 09:00 GMT
    with pytest.raises(ValueError, match="aware"):
        is_open(LONDON, datetime(2026, 1, 12, 10, 0))


def test_24_00_means_the_end_of_the_day():
    always = parse_schedule("always", {"timezone": "UTC", "weekly": {"mon-sun": "00:00-24:00"}})
    assert is_open(always, utc(2026, 1, 12, 23, 59, 59, 999999)) is True
    assert is_open(always, utc(2026, 1, 13, 0, 0)) is True
    assert next_change(always, utc(2026, 1, 12, 12)) is None


# -- next_change -----------------------------------------------------------


def test_next_change_while_open_and_at_lunch():
    assert next_change(LONDON, utc(2026, 1, 12, 10)) == utc(2026, 1, 12, 12)
    assert next_change(LONDON, utc(2026, 1, 12, 12)) == utc(2026, 1, 12, 13)


def test_next_change_is_in_the_schedule_zone():
    change = next_change(LONDON, utc(2026, 6, 1, 10))
    assert change.tzinfo.key == "Europe/London" and change.hour == 12


def test_next_change_over_the_weekend_into_summer_time():
    # Friday 27 March 18:00 GMT -> Saturday 10:00 GMT (clocks go forward Sunday)
    assert next_change(LONDON, utc(2026, 3, 27, 18)) == utc(2026, 3, 28, 10)
    # Saturday 15:00 -> Monday 09:00 BST = 08:00 UTC
    assert next_change(LONDON, utc(2026, 3, 28, 15)) == utc(2026, 3, 30, 8)


def test_next_change_over_christmas_holidays():
    # Thursday 24 Dec closing; 25th (Fri) holiday, Sat open, Sun closed, 28th holiday
    assert next_change(LONDON, utc(2026, 12, 24, 18)) == utc(2026, 12, 26, 10)
    assert next_change(LONDON, utc(2026, 12, 26, 15)) == utc(2026, 12, 29, 9)


def test_next_change_new_york_in_the_autumn():
    # Friday 30 Oct 17:00 EDT closes; opens Monday 2 Nov 09:00 EST = 14:00 UTC
    assert next_change(NEW_YORK, utc(2026, 10, 30, 20)) == utc(2026, 10, 30, 21)
    assert next_change(NEW_YORK, utc(2026, 10, 30, 22)) == utc(2026, 11, 2, 14)


def test_an_opening_in_the_skipped_hour_happens_when_the_clocks_jump():
    # New York skips 02:00-03:00 on Sunday 8 March 2026 (07:00 UTC).
    night = parse_schedule("night", {"timezone": "America/New_York",
                                     "weekly": {"sun": ["02:30-05:00"]}})
    assert next_change(night, utc(2026, 3, 8, 5)) == utc(2026, 3, 8, 7)  # 03:00 EDT
    assert is_open(night, utc(2026, 3, 8, 7)) is True


def test_a_repeated_hour_opens_twice():
    # London repeats 01:00-02:00 on Sunday 25 October 2026; open 00:00-01:30.
    # (A time in a repeated hour never compares equal across zones: compare in UTC.)
    early = parse_schedule("early", {"timezone": "Europe/London",
                                     "weekly": {"sun": ["00:00-01:30"]}})

    def change(*at):
        return next_change(early, utc(*at)).astimezone(UTC)

    assert change(2026, 10, 25, 0, 15) == utc(2026, 10, 25, 0, 30)  # 01:30 BST
    assert change(2026, 10, 25, 0, 30) == utc(2026, 10, 25, 1, 0)  # 01:00 GMT
    assert change(2026, 10, 25, 1, 0) == utc(2026, 10, 25, 1, 30)  # 01:30 GMT
    assert next_change(early, utc(2026, 10, 25, 0, 15)).fold == 0
    assert next_change(early, utc(2026, 10, 25, 1, 0)).fold == 1


def test_a_schedule_that_never_opens_has_no_next_change():
    never = parse_schedule("never", {"timezone": "UTC", "weekly": {}})
    assert next_change(never, utc(2026, 1, 1)) is None


def test_a_long_closure_is_found_beyond_a_week():
    shut = [f"2026-08-{d:02d}" for d in range(1, 32)]
    summer = parse_schedule("summer", {"timezone": "Europe/London",
                                       "weekly": {"mon-fri": "09:00-17:00"}, "holidays": shut})
    assert next_change(summer, utc(2026, 7, 31, 17)) == utc(2026, 9, 1, 8)  # Tue 09:00 BST


# -- refused -----------------------------------------------------------------


@pytest.mark.parametrize("data, problem", [
    ({"timezone": "Mars/Olympus", "weekly": {}}, "not an IANA time zone"),
    ({"timezone": "localtime", "weekly": {}}, "not an IANA time zone"),
    ({"timezone": "../../etc/passwd", "weekly": {}}, "not an IANA time zone"),
    ({"weekly": {}}, "timezone is required"),
    ({"timezone": "UTC"}, "weekly is required"),
    ({"timezone": "UTC", "weekly": {}, "hols": []}, "unknown key 'hols'"),
    ({"timezone": "UTC", "weekly": ["mon"]}, "weekly is a mapping"),
    ({"timezone": "UTC", "weekly": {"monday": []}}, "'monday' is not a day"),
    ({"timezone": "UTC", "weekly": {"mon-": []}}, "'mon-' is not a day"),
    ({"timezone": "UTC", "weekly": {"mon-wed-fri": []}}, "is not a day"),
    ({"timezone": "UTC", "weekly": {"mon-fri": [], "wed": []}}, "wed is given twice"),
    ({"timezone": "UTC", "weekly": {"mon": ["9:00-17:00"]}}, "is not a range"),
    ({"timezone": "UTC", "weekly": {"mon": ["09:00"]}}, "is not a range"),
    ({"timezone": "UTC", "weekly": {"mon": [540]}}, "is not a range"),
    ({"timezone": "UTC", "weekly": {"mon": ["09:00-25:00"]}}, "is not a range"),
    ({"timezone": "UTC", "weekly": {"mon": ["24:00-24:00"]}}, "is not a range"),
    ({"timezone": "UTC", "weekly": {"mon": ["22:00-02:00"]}}, "split an overnight range"),
    ({"timezone": "UTC", "weekly": {"mon": ["09:00-09:00"]}}, "closes before it opens"),
    ({"timezone": "UTC", "weekly": {"mon": ["09:00-13:00", "12:00-17:00"]}}, "ranges overlap"),
    ({"timezone": "UTC", "weekly": {"mon": {"open": "09:00"}}}, "a list of ranges"),
    ({"timezone": "UTC", "weekly": {}, "holidays": "2026-12-25"}, "holidays is a list"),
    ({"timezone": "UTC", "weekly": {}, "holidays": ["2026-02-30"]}, "is not a date"),
    ({"timezone": "UTC", "weekly": {}, "holidays": ["25/12/2026"]}, "is not a date"),
    ({"timezone": "UTC", "weekly": {}, "holidays": [datetime(2026, 12, 25)]}, "is not a date"),
    ("closed", "a schedule is a mapping"),
])
def test_bad_schedules_are_refused_with_a_clear_message(data, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(")):
        parse_schedule("office", data)


def test_touching_ranges_are_one_opening():
    split = parse_schedule("s", {"timezone": "UTC",
                                 "weekly": {"mon": ["09:00-12:00", "12:00-17:00"]}})
    assert is_open(split, utc(2026, 1, 12, 12)) is True
    assert next_change(split, utc(2026, 1, 12, 10)) == utc(2026, 1, 12, 17)
