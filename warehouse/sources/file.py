"""Where the file source's rows land besides raw.metric_rows: raw.file_reads, one row per
metric and read (which file version, by SHA-256, each window came from)."""

from __future__ import annotations

from datetime import date
from typing import Any

RAW_TABLE = "raw.file_reads"


def raw_slice(metric_ids: list[str], start: date, end: date) -> tuple[str, list[Any]]:
    """The raw rows a re-run of the same window replaces: (SQL predicate, parameters)."""
    return "list_contains(?, metric_id) AND window_start = ? AND window_end = ?", [
        metric_ids,
        start,
        end,
    ]
