"""Bulk loads into the warehouse. Every write replaces a slice in one transaction.

Rows arrive as Arrow tables and are inserted set-wise (`INSERT ... SELECT` from the registered
Arrow table), never row by row. A slice (a source's days, a partition's key results) is
deleted and re-inserted inside one transaction: re-running is idempotent, and a crash leaves
the previous rows whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.results import FLAG_SCHEMA, FetchResult
from warehouse.db import transaction

_names = itertools.count()
# About how much Arrow data one INSERT converts (see insert_arrow).
INSERT_BYTES = 32 * 1024 * 1024


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> Iterator[str]:
    """`rows` as a view of a fresh name for the statements inside the block, then dropped."""
    view = f"_incoming_{next(_names)}"
    con.register(view, rows)
    try:
        yield view
    finally:
        con.unregister(view)


def insert_arrow(
    con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, **constants: Any
) -> int:
    """Insert an Arrow table by column name, adding constant columns (provenance)."""
    if rows.num_rows == 0:
        return 0
    for name, value in constants.items():
        rows = rows.append_column(name, pa.array([value] * rows.num_rows))
    # Large tables go in slices: DuckDB converts each INSERT's Arrow input at once, so a raw
    # table of a few pages holding a million nested answer rows would otherwise need several
    # hundred MB of extra memory in one go. Same transaction, same result.
    per_insert = max(1, rows.num_rows * INSERT_BYTES // max(rows.nbytes, 1))
    for offset in range(0, rows.num_rows, per_insert):
        # DuckDB reads the slice from this local variable (its replacement scan: a name the
        # catalog does not know is looked up in the calling frame), not from a view made and
        # dropped for it: two statements fewer, ~0.8 ms of an insert's ~1.7, some 30 a run.
        # So `con.execute` must be DuckDB's own, called from here (WarehouseConnection hands
        # over DuckDB's); a wrapper with an `execute` of its own fails on `_arrow_rows`.
        _arrow_rows = rows.slice(offset, per_insert)  # noqa: F841
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _arrow_rows")
    return rows.num_rows


def _invalid(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """NaN, ±infinity or negative: what staging counts as not measured (NULL stays valid)."""
    finite = pc.is_finite(column)
    return pc.fill_null(pc.or_(pc.invert(finite), pc.less(column, 0.0)), False)


def checked_daily(daily: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The daily rows with one row per (metric_id, date), and flags (FLAG_SCHEMA) for what was
    wrong with them.

    - `duplicate_rows`: the source sent a metric-day more than once (a row repeated across
      pages, an overlapping answer). The last one is kept, so the day is counted once.
    - `invalid_value`: NaN, infinity or a negative count. The row stays in raw (it is what the
      source said); staging counts the day as not measured, and the flag tells the key
      results reading it why.
    """
    flags: list[dict[str, Any]] = []
    if daily.num_rows:
        if _repeats_a_day(daily):
            daily, flags = _last_of_each_day(daily)
        parts = [c for c in ("value", "numerator", "denominator") if c in daily.column_names]
        bad = [_invalid(daily[c]) for c in parts]
        mask = bad[0]
        for other in bad[1:]:
            mask = pc.or_(mask, other)
        for row in daily.filter(mask).select(["metric_id", "date", *parts]).to_pylist():
            sent = ", ".join(
                f"{c} {row[c]:g}"
                for c in parts
                if row[c] is not None and not (row[c] >= 0 and row[c] != float("inf"))
            )
            flags.append(
                {
                    "metric_id": row["metric_id"],
                    "date": row["date"],
                    "flag": "invalid_value",
                    "reason": f"the source sent {sent}; the day is not counted as measured",
                }
            )
    return daily, pa.Table.from_pylist(flags, schema=FLAG_SCHEMA)


def _repeats_a_day(daily: pa.Table) -> bool:
    """Whether some (metric_id, date) comes more than once (or either is NULL), told by
    sorting the keys: the usual answer, no, then costs no group-by, whose first use imports
    Arrow's query engine and its datasets (~12 ms CPU a process)."""
    keys = daily.select(["metric_id", "date"])
    if keys["metric_id"].null_count or keys["date"].null_count:
        return True
    n = keys.num_rows
    if n < 2:
        return False
    ordered = keys.take(
        pc.sort_indices(keys, sort_keys=[("metric_id", "ascending"), ("date", "ascending")])
    )
    metric, day = ordered["metric_id"], ordered["date"]
    repeated = pc.and_(
        pc.equal(metric.slice(1), metric.slice(0, n - 1)),
        pc.equal(day.slice(1), day.slice(0, n - 1)),
    )
    return bool(pc.any(repeated).as_py())


def _last_of_each_day(daily: pa.Table) -> tuple[pa.Table, list[dict[str, Any]]]:
    """The rows of `daily` with each (metric_id, date) once, the last one sent, and a
    `duplicate_rows` flag for each repeated one."""
    keyed = daily.append_column("_row", pa.array(range(daily.num_rows), pa.int64()))
    groups = keyed.group_by(["metric_id", "date"]).aggregate([("_row", "max"), ("_row", "count")])
    if groups.num_rows == daily.num_rows:
        return daily, []
    daily = keyed.filter(pc.is_in(keyed["_row"], value_set=groups["_row_max"]))
    daily = daily.drop_columns(["_row"])
    repeated = groups.filter(pc.greater(groups["_row_count"], 1))
    flags = [
        {
            "metric_id": g["metric_id"],
            "date": g["date"],
            "flag": "duplicate_rows",
            "reason": f"the source sent {g['_row_count']} rows for this day; "
            "the last one is counted",
        }
        for g in repeated.to_pylist()
    ]
    return daily, flags


def replace_source_window(
    con: duckdb.DuckDBPyConnection,
    source: str,
    metric_ids: Sequence[str],
    start: date,
    end: date,
    result: FetchResult,
    request_hash: str,
    fetched_at: datetime,
    partition_date: date,
    raw_tables: dict[str, tuple[str, list[Any], pa.Table]] | None = None,
) -> int:
    """Replace one source's metric rows, flags and ranges for [start, end] atomically.

    `raw_tables` maps a source-specific raw table to (delete predicate, its parameters, new rows),
    replaced in the same transaction so answers and mapped values never disagree. Repeated
    and invalid daily values are flagged (see `checked_daily`) whichever source sent them.
    Daily rows name their own request (DAILY_SCHEMA); `request_hash` is the batch's, for the
    range rows.
    """
    ids = list(metric_ids)
    daily, problems = checked_daily(result.daily)
    with transaction(con):
        con.execute(
            "DELETE FROM raw.metric_rows WHERE source = ? AND list_contains(?, metric_id) "
            "AND date BETWEEN ? AND ?",
            [source, ids, start, end],
        )
        con.execute(
            "DELETE FROM raw.metric_flags WHERE source = ? AND list_contains(?, metric_id) "
            "AND date BETWEEN ? AND ?",
            [source, ids, start, end],
        )
        if result.ranges.num_rows:
            con.execute(
                "DELETE FROM raw.metric_ranges WHERE source = ? AND list_contains(?, metric_id) "
                "AND range_end BETWEEN ? AND ?",
                [source, ids, start, end],
            )
        loaded = insert_arrow(
            con,
            "raw.metric_rows",
            daily,
            source=source,
            fetched_at=fetched_at,
            partition_date=partition_date,
        )
        insert_arrow(con, "raw.metric_flags", result.flags, source=source, fetched_at=fetched_at)
        insert_arrow(con, "raw.metric_flags", problems, source=source, fetched_at=fetched_at)
        insert_arrow(
            con,
            "raw.metric_ranges",
            result.ranges,
            source=source,
            request_hash=request_hash,
            fetched_at=fetched_at,
        )
        for table, (predicate, params, rows) in (raw_tables or {}).items():
            con.execute(f"DELETE FROM {table} WHERE {predicate}", params)
            insert_arrow(con, table, rows)
    return loaded
