"""Where Matomo's answers land besides raw.metric_rows: raw.matomo_answers (migration 0004), one
row per sub-request and day (or exact range) as Matomo answered it."""

from __future__ import annotations

from datetime import date
from typing import Any

RAW_TABLE = "raw.matomo_answers"


def raw_slice(_metric_ids: list[str], start: date, end: date) -> tuple[str, list[Any]]:
    """The raw rows a re-run of the same partitions replaces: (SQL predicate, parameters)."""
    return "partition_date BETWEEN ? AND ?", [start, end]
