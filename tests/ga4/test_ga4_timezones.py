"""Days are the property's days; how they meet an organisation in another zone around DST.

The flat properties have exactly 100 sessions per hour of their own day, so a day's sessions
show its length: 2,500 on a 25-hour day (DST ends), 2,300 on a 23-hour day (DST begins).
In 2026 Europe/Berlin leaves summer time on 25 October, America/Los_Angeles on 1 November.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from ga4_testkit import BERLIN_FLAT, LA_FLAT, flags_of, metric, series

from connectors.errors import SourceError
from connectors.ga4 import (
    day_bounds_utc,
    fetch_ga4,
    hours_in_day,
    last_complete_day,
    partition_day,
    property_timezone,
    property_today,
)

BERLIN = ZoneInfo("Europe/Berlin")
LATER = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # every day below is over in both zones


def _sessions(settings, start: date, end: date, now: datetime) -> dict[date, float]:
    return series(fetch_ga4(settings, [metric("s", "sessions")], start, end, now=now).daily, "s")


def test_los_angeles_days_are_los_angeles_days(ga4_sandbox, settings_for):
    ga4_sandbox.set_now(LATER)
    days = _sessions(settings_for(LA_FLAT), date(2026, 10, 24), date(2026, 11, 2), LATER)
    # Berlin's 25-hour day (25 Oct) is an ordinary day in Los Angeles; LA's own is 1 Nov.
    assert days == {
        date(2026, 10, 24): 2400.0,
        date(2026, 10, 25): 2400.0,
        date(2026, 10, 26): 2400.0,
        date(2026, 10, 27): 2400.0,
        date(2026, 10, 28): 2400.0,
        date(2026, 10, 29): 2400.0,
        date(2026, 10, 30): 2400.0,
        date(2026, 10, 31): 2400.0,
        date(2026, 11, 1): 2500.0,
        date(2026, 11, 2): 2400.0,
    }


def test_berlin_days_are_berlin_days(ga4_sandbox, settings_for):
    ga4_sandbox.set_now(LATER)
    days = _sessions(settings_for(BERLIN_FLAT), date(2026, 10, 24), date(2026, 11, 2), LATER)
    assert days[date(2026, 10, 25)] == 2500.0
    assert days[date(2026, 11, 1)] == 2400.0
    assert sum(days.values()) == 10 * 2400 + 100


def test_spring_forward_day_has_23_hours(ga4_sandbox, settings_for):
    ga4_sandbox.set_now(LATER)
    days = _sessions(settings_for(LA_FLAT), date(2026, 3, 7), date(2026, 3, 9), LATER)
    assert days == {date(2026, 3, 7): 2400.0, date(2026, 3, 8): 2300.0, date(2026, 3, 9): 2400.0}


def test_berlin_partition_of_la_property_is_complete_only_after_la_midnight(
    ga4_sandbox, settings_for
):
    """The organisation (Berlin) reads partition 2026-11-01 from the LA property's day 11-01.

    That day has 25 hours and ends at 2026-11-02 08:00 UTC = 09:00 in Berlin. At 08:30 Berlin
    time, 24.5 of its hours have passed: the value is partial and flagged provisional, and LA's
    2026-11-02 has not begun. At 09:30 Berlin time the day is whole.
    """
    settings = settings_for(LA_FLAT)
    partition = date(2026, 11, 1)
    assert partition_day(partition) == date(2026, 11, 1)

    before = datetime(2026, 11, 2, 8, 30, tzinfo=BERLIN)
    ga4_sandbox.set_now(before)
    result = fetch_ga4(
        settings, [metric("s", "sessions")], date(2026, 10, 31), date(2026, 11, 2), now=before
    )
    assert series(result.daily, "s") == {date(2026, 10, 31): 2400.0, date(2026, 11, 1): 2450.0}
    assert flags_of(result.flags, "s") == {(date(2026, 11, 1), "provisional")}
    assert last_complete_day("America/Los_Angeles", before) == date(2026, 10, 31)
    assert last_complete_day("Europe/Berlin", before) == date(2026, 11, 1)

    after = datetime(2026, 11, 2, 9, 30, tzinfo=BERLIN)
    ga4_sandbox.set_now(after)
    result = fetch_ga4(
        settings, [metric("s", "sessions")], date(2026, 10, 31), date(2026, 11, 2), now=after
    )
    assert series(result.daily, "s") == {
        date(2026, 10, 31): 2400.0,
        date(2026, 11, 1): 2500.0,
        date(2026, 11, 2): 50.0,  # 30 minutes of LA's 2 November
    }
    assert flags_of(result.flags, "s") == {(date(2026, 11, 2), "provisional")}
    assert last_complete_day("America/Los_Angeles", after) == date(2026, 11, 1)


def test_day_arithmetic_around_dst():
    assert hours_in_day(date(2026, 11, 1), "America/Los_Angeles") == 25
    assert hours_in_day(date(2026, 10, 25), "Europe/Berlin") == 25
    assert hours_in_day(date(2026, 3, 29), "Europe/Berlin") == 23
    assert day_bounds_utc(date(2026, 11, 1), "America/Los_Angeles") == (
        datetime(2026, 11, 1, 7, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
    )
    # Between the two switches Berlin is 8 hours ahead of Los Angeles instead of 9.
    assert property_today("America/Los_Angeles", datetime(2026, 10, 28, 7, 59, tzinfo=UTC)) == date(
        2026, 10, 28
    )
    assert property_today("America/Los_Angeles", datetime(2026, 10, 28, 6, 59, tzinfo=UTC)) == date(
        2026, 10, 27
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        property_today("UTC", datetime(2026, 1, 1))


def test_settings_zone_must_match_the_property(settings_for):
    settings = settings_for(LA_FLAT, timezone="Europe/Berlin")
    with pytest.raises(SourceError) as info:
        fetch_ga4(
            settings, [metric("s", "sessions")], date(2026, 9, 1), date(2026, 9, 2), now=LATER
        )
    message = str(info.value)
    assert "America/Los_Angeles" in message and "timezone=Europe/Berlin" in message


def test_property_timezone_from_an_answer(ga4_server, settings_for):
    assert property_timezone(settings_for(LA_FLAT)) == "America/Los_Angeles"
    assert ga4_server.total_requests == 1
    assert (
        property_timezone(settings_for(LA_FLAT, timezone="America/Los_Angeles"))
        == "America/Los_Angeles"
    )
    assert ga4_server.total_requests == 1  # a configured zone needs no request


def test_unknown_zone_is_refused(settings_for):
    with pytest.raises(ValueError, match="not an IANA time zone"):
        settings_for(LA_FLAT, timezone="Pacific Time")
