"""Bulk loads into the warehouse. Every write replaces a slice in one transaction.

Rows arrive as Arrow tables and are inserted set-wise (`INSERT ... SELECT` from the registered
Arrow table), never row by row. A slice (a source's days, a partition's key results) is
deleted and re-inserted inside one transaction: re-running is idempotent, and a crash leaves
the previous rows whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import FetchResult
from warehouse.db import transaction

_names = itertools.count()


def insert_arrow(
    con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, **constants: Any
) -> int:
    """Insert an Arrow table by column name, adding constant columns (provenance)."""
    if rows.num_rows == 0:
        return 0
    for name, value in constants.items():
        if name not in rows.column_names:
            rows = rows.append_column(name, pa.array([value] * rows.num_rows))
        elif rows[name].null_count:  # a per-row value (e.g. request_hash) wins where given
            filled = pc.fill_null(rows[name], pa.scalar(value, rows.schema.field(name).type))
            rows = rows.set_column(rows.schema.get_field_index(name), name, filled)
    view = f"_incoming_{next(_names)}"
    con.register(view, rows)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
    finally:
        con.unregister(view)
    return rows.num_rows


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
    replaced in the same transaction so answers and mapped values never disagree.
    """
    ids = list(metric_ids)
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
            result.daily,
            source=source,
            request_hash=request_hash,
            fetched_at=fetched_at,
            partition_date=partition_date,
        )
        insert_arrow(con, "raw.metric_flags", result.flags, source=source, fetched_at=fetched_at)
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


def replace_table(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> int:
    """Replace a whole table's content (definition tables) atomically."""
    with transaction(con):
        con.execute(f"DELETE FROM {table}")
        return insert_arrow(con, table, rows)
