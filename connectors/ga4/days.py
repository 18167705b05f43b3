"""Days in the property's time zone, and how they map to the organisation's partitions.

GA4's `date` dimension is a calendar day in the *property's* reporting time zone. GA4 cannot
re-cut its days at another zone's midnight (only hourly dimensions could, and users and rates
do not add up over hours), so the mapping is by calendar date:

    organisation partition D  ←→  GA4 property day D (same YYYY-MM-DD, property's zone)

`FetchResult.daily.date` is that property day. What differs between the zones is *when* day D
is over: a Los Angeles property's 2026-11-01 has 25 hours (DST ends) and ends at
2026-11-02 08:00 UTC, i.e. 09:00 in Berlin. Until then the day is incomplete: the connector
marks it with a `provisional` flag, and the schedule's lookback re-fetches it later (GA4 also
restates recent days while it processes data).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware (e.g. datetime.now(UTC))")
    return now


def property_today(time_zone: str, now: datetime | None = None) -> date:
    """The calendar day it is in the property's zone at `now` (default: the current time)."""
    return _aware(now).astimezone(ZoneInfo(time_zone)).date()


def last_complete_day(time_zone: str, now: datetime | None = None) -> date:
    """The latest property day that has ended at `now`."""
    return property_today(time_zone, now) - timedelta(days=1)


def day_bounds_utc(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of a property day in UTC; the end is the next day's local midnight."""
    zone = ZoneInfo(time_zone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def hours_in_day(day: date, time_zone: str) -> float:
    """23, 24 or 25 (or odd values for historic zones): the length of a property day."""
    start, end = day_bounds_utc(day, time_zone)
    return (end - start).total_seconds() / 3600


def partition_day(org_partition: date) -> date:
    """The property day an organisation partition reads: the same calendar date (see above)."""
    return org_partition
