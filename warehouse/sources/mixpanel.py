"""Where Mixpanel's requests land besides raw.metric_rows: raw.mixpanel_requests (migration
0045), one row per request with its parameters (and a saved report's answer verbatim)."""

from __future__ import annotations

from datetime import date
from typing import Any

RAW_TABLE = "raw.mixpanel_requests"


def raw_slice(_metric_ids: list[str], start: date, end: date) -> tuple[str, list[Any]]:
    """The raw rows a re-run of the same partitions replaces: (SQL predicate, parameters)."""
    return "partition_date BETWEEN ? AND ?", [start, end]
