"""Weekly partitions for the check-in report: Monday to Sunday in the organisation's time
zone, from the week the first key-result period starts."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.partitions import DATE_FORMAT, first_progress_day


def first_report_week(definitions: Definitions) -> date:
    first = first_progress_day(definitions)
    return first - timedelta(days=first.weekday())


def weekly_partitions(definitions: Definitions) -> dg.WeeklyPartitionsDefinition:
    return dg.WeeklyPartitionsDefinition(
        start_date=first_report_week(definitions).strftime(DATE_FORMAT),
        timezone=definitions.organisation.timezone,
        day_offset=1,  # Monday: check-ins follow the working week
        fmt=DATE_FORMAT,
        # The week in progress is a partition too: teams check in mid-week on the numbers
        # so far, not a week late.
        end_offset=1,
    )


def weeks_between(first: date, last: date) -> list[date]:
    """The Mondays of every week that [first, last] touches."""
    monday = first - timedelta(days=first.weekday())
    weeks = []
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks
