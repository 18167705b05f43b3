"""Where GA4's answers land besides raw.metric_rows: raw.ga4_responses (migration 0003), every
runReport answer with the request that produced it."""

from __future__ import annotations

from datetime import date
from typing import Any

RAW_TABLE = "raw.ga4_responses"


def raw_slice(_metric_ids: list[str], start: date, end: date) -> tuple[str, list[Any]]:
    """The raw rows a re-run of the same partitions replaces: (SQL predicate, parameters)."""
    return "partition_date BETWEEN ? AND ?", [start, end]
