"""Daily partitions in the organisation's time zone.

A partition is a calendar day; it exists once that day has ended in the organisation's time
zone. The first partition is the earliest day any key result reads (its baseline window).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from okr_definitions.resolve import Definitions

DATE_FORMAT = "%Y-%m-%d"


def daily_partitions(definitions: Definitions) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=definitions.earliest_date_needed().strftime(DATE_FORMAT),
        timezone=definitions.organisation.timezone,
        fmt=DATE_FORMAT,
    )


def window_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last day (inclusive) of the partitions this run materialises."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


def partition_range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make one run cover a range of partitions (single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": first.strftime(DATE_FORMAT),
        "dagster/asset_partition_range_end": last.strftime(DATE_FORMAT),
    }


def parse_day(value: str) -> date:
    return datetime.strptime(value, DATE_FORMAT).date()
