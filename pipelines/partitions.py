"""Daily partitions in the organisation's time zone.

A partition is a calendar day; it exists once that day has ended in the organisation's time
zone. Two sets of them, built from the definitions when the code location loads (so they
follow the definitions when periods move):

- the sources' and staging's start at the earliest day any key result reads (its baseline
  window);
- the progress assets' (the key-result and objective progress tables, the objectives) start
  at the earliest day of any key result's period: no progress row exists before it, so no
  partition does either, and the UI shows none of those days as missing.
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


def first_progress_day(definitions: Definitions) -> date:
    """The first day of any key result's period: the first progress partition."""
    starts = [kr.period_start for kr in definitions.resolved_key_results()]
    return min(starts) if starts else definitions.earliest_date_needed()


def progress_partitions(definitions: Definitions) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=first_progress_day(definitions).strftime(DATE_FORMAT),
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
