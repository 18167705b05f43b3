"""The `file` source: CSV or Parquet exports with one row per day.

Real for tools that have no API (newsletter platforms' exports, spreadsheets). A file has a
date column and either a value column or numerator and denominator columns.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from connectors.base import DAILY_SCHEMA, FetchResult, MetricRequest, flag_table, request_hash
from connectors.errors import SourceError
from connectors.file.settings import SOURCE
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


def is_additive(query: FileQuery) -> bool:
    # Exports hold daily counts (sends, opens); a file of daily uniques would need a range file.
    return True


def resolve_path(base_dir: Path, query: FileQuery) -> Path:
    """The file's absolute path; refuses paths outside the project holding `base_dir`."""
    project = base_dir.resolve().parent
    path = (base_dir / query.path).resolve()
    if Path(query.path).is_absolute() or not path.is_relative_to(project):
        raise SourceError(SOURCE, f"path {query.path!r} leaves the project; use a relative path")
    return path


def _read(path: Path, query: FileQuery) -> pa.Table:
    fmt = query.format or path.suffix.lstrip(".").lower()
    try:
        if fmt == "parquet":
            return pq.read_table(path)
        return pacsv.read_csv(path)
    except FileNotFoundError:
        raise SourceError(SOURCE, f"{path.name}: file not found") from None
    except pa.ArrowInvalid as exc:
        raise SourceError(SOURCE, f"{path.name}: cannot read as {fmt}: {exc}") from None


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


def read_metric_file(base_dir: Path, metric: MetricRequest) -> tuple[pa.Table, str, Path]:
    """All days of one metric's file as DAILY_SCHEMA rows, with the file's SHA-256."""
    query: FileQuery = metric.query
    path = resolve_path(base_dir, query)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise SourceError(SOURCE, f"{query.path}: file not found") from None
    table = _read(path, query)
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
        },
        schema=DAILY_SCHEMA,
    )
    return rows, digest, path


def fetch_file(base_dir: Path, metrics: list[MetricRequest], start: date, end: date) -> FetchResult:
    """Read every metric's file and keep the days in [start, end]."""
    fetched_at = datetime.now(UTC)
    daily, flags, raw = [], [], []
    for metric in metrics:
        rows, digest, path = read_metric_file(base_dir, metric)
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
            in_window = _keep_last_per_date(in_window)
        daily.append(in_window)
        raw.append(
            {
                "request_hash": request_hash(
                    {"path": metric.query.path, "sha256": digest, "start": start, "end": end}
                ),
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


def _keep_last_per_date(table: pa.Table) -> pa.Table:
    indexed = table.append_column("_row", pa.array(range(table.num_rows)))
    last = indexed.group_by("date").aggregate([("_row", "max")])
    keep = pc.is_in(indexed["_row"], value_set=last["_row_max"])
    return indexed.filter(keep).drop_columns(["_row"])
