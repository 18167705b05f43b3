"""Where Amplitude's answers land besides raw.metric_rows: raw.amplitude_answers (migration
0048), every Dashboard REST API answer with the request that produced it and its cost."""

from __future__ import annotations

from datetime import date
from typing import Any

RAW_TABLE = "raw.amplitude_answers"


def raw_slice(_metric_ids: list[str], start: date, end: date) -> tuple[str, list[Any]]:
    """The raw rows a re-run of the same partitions replaces: (SQL predicate, parameters)."""
    return "partition_date BETWEEN ? AND ?", [start, end]
