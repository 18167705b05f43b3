"""The `file` source: CSV, Parquet or Excel exports with one row per day (no Dagster, no
warehouse).

Real for tools that have no API (newsletter platforms' exports, spreadsheets). A file has a
date column and either a value column or numerator and denominator columns. `fetch_file` asks
for the file requests.py names, reads it with client.py and its rows with parse.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import Connector, MetricRequest
from connectors.file.parse import RAW_SCHEMA, keep_last_per_date, read_hash, read_metric_file
from connectors.file.requests import is_additive
from connectors.file.settings import settings_from_env
from connectors.file.validate import FileProblem, validate_file_metrics
from connectors.results import DAILY_SCHEMA, FetchResult, flag_table


def fetch_file(base_dir: Path, metrics: list[MetricRequest], start: date, end: date) -> FetchResult:
    """Read every metric's file and keep the days in [start, end]."""
    fetched_at = datetime.now(UTC)
    daily, flags, raw = [], [], []
    for metric in metrics:
        rows, digest, path = read_metric_file(base_dir, metric, start, end)
        in_window = rows.filter(
            pc.and_(
                pc.greater_equal(rows["date"], pa.scalar(start, pa.date32())),
                pc.less_equal(rows["date"], pa.scalar(end, pa.date32())),
            )
        )
        # A date written twice in an export is ambiguous: keep the last line, and say so.
        unique_dates = pc.unique(in_window["date"])
        if len(unique_dates) < in_window.num_rows:
            counts = pc.value_counts(in_window["date"])
            for item in counts.to_pylist():
                if item["counts"] > 1:
                    flags.append(
                        {
                            "metric_id": metric.metric_id,
                            "date": item["values"],
                            "flag": "duplicate_rows",
                            "reason": f"{path.name} has {item['counts']} rows for this day",
                        }
                    )
            in_window = keep_last_per_date(in_window)
        daily.append(in_window)
        raw.append(
            {
                "request_hash": read_hash(metric.query.path, digest, start, end),
                "metric_id": metric.metric_id,
                "path": metric.query.path,
                "file_sha256": digest,
                "rows_read": in_window.num_rows,
                "window_start": start,
                "window_end": end,
                "fetched_at": fetched_at,
            }
        )
    return FetchResult(
        daily=pa.concat_tables(daily) if daily else DAILY_SCHEMA.empty_table(),
        flags=flag_table(flags),
        raw=pa.Table.from_pylist(raw, schema=RAW_SCHEMA),
        request_count=len(metrics),
    )


CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=lambda definitions: settings_from_env(definitions.base_dir),
    validate=validate_file_metrics,
)

__all__ = [
    "CONNECTOR",
    "RAW_SCHEMA",
    "FileProblem",
    "fetch_file",
    "is_additive",
    "read_metric_file",
    "validate_file_metrics",
]
