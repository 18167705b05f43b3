"""A file's columns read as the daily rows: the date column as days, the value (or numerator
and denominator) columns as numbers, each cell that is neither reported with its column; the
raw rows record which file (and which SHA-256 of it) each fetch read."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import MetricRequest, request_hash
from connectors.errors import SourceError
from connectors.file.client import read_table
from connectors.file.requests import resolve_path
from connectors.file.settings import SOURCE
from connectors.results import DAILY_SCHEMA
from okr_definitions.sources.file import FileQuery

RAW_SCHEMA = pa.schema(
    [
        ("request_hash", pa.string()),
        ("metric_id", pa.string()),
        ("path", pa.string()),
        ("file_sha256", pa.string()),
        ("rows_read", pa.int64()),
        ("window_start", pa.date32()),
        ("window_end", pa.date32()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _column(table: pa.Table, name: str, path: Path, what: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise SourceError(
            SOURCE,
            f"{path.name}: no `{name}` column for the {what} (columns: "
            f"{', '.join(table.column_names)}); rename the column or set query.{what}_column",
        )
    return table[name]


def _as_dates(column: pa.ChunkedArray, path: Path) -> pa.ChunkedArray:
    try:
        if pa.types.is_date32(column.type):
            return column
        if pa.types.is_timestamp(column.type):
            return pc.cast(column, pa.date32())
        return pc.cast(pc.strptime(pc.cast(column, pa.string()), "%Y-%m-%d", unit="s"), pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SourceError(SOURCE, f"{path.name}: dates must be YYYY-MM-DD ({exc})") from None


def _as_numbers(column: pa.ChunkedArray, path: Path, name: str) -> pa.ChunkedArray:
    try:
        return pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise SourceError(SOURCE, f"{path.name}: column `{name}` must hold numbers") from None


def read_hash(path: str, digest: str, start: date | None, end: date | None) -> str:
    """The hash of one read of a file for a window (raw.file_reads.request_hash): which file,
    which version of it (SHA-256), which days."""
    return request_hash({"path": path, "sha256": digest, "start": start, "end": end})


def read_metric_file(
    base_dir: Path, metric: MetricRequest, start: date | None = None, end: date | None = None
) -> tuple[pa.Table, str, Path]:
    """All days of one metric's file as DAILY_SCHEMA rows, with the file's SHA-256; the rows
    name the read of the window [start, end] (`read_hash`)."""
    query: FileQuery = metric.query
    path = resolve_path(base_dir, query)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise SourceError(SOURCE, f"{query.path}: file not found") from None
    table = read_table(path, query)
    dates = _as_dates(_column(table, query.date_column, path, "date"), path)
    n = table.num_rows
    if (
        query.numerator_column in table.column_names
        or query.denominator_column in table.column_names
    ):
        numerator = _as_numbers(
            _column(table, query.numerator_column, path, "numerator"), path, query.numerator_column
        )
        denominator = _as_numbers(
            _column(table, query.denominator_column, path, "denominator"),
            path,
            query.denominator_column,
        )
        value = pc.divide(numerator, pc.if_else(pc.equal(denominator, 0), None, denominator))
    else:
        value = _as_numbers(
            _column(table, query.value_column, path, "value"), path, query.value_column
        )
        numerator = denominator = pa.nulls(n, pa.float64())
    rows = pa.table(
        {
            "metric_id": pa.array([metric.metric_id] * n, pa.string()),
            "date": dates,
            "value": value,
            "numerator": numerator,
            "denominator": denominator,
            "request_hash": pa.array([read_hash(query.path, digest, start, end)] * n, pa.string()),
        },
        schema=DAILY_SCHEMA,
    )
    return rows, digest, path


def keep_last_per_date(table: pa.Table) -> pa.Table:
    indexed = table.append_column("_row", pa.array(range(table.num_rows)))
    last = indexed.group_by("date").aggregate([("_row", "max")])
    keep = pc.is_in(indexed["_row"], value_set=last["_row_max"])
    return indexed.filter(keep).drop_columns(["_row"])
