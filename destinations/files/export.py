"""Exports of the public tables for BI tools that cannot read a DuckDB file.

One file per table, written by DuckDB's COPY (columnar, no rows pass through Python). File
names are the table's SQL name (`okr.kr_progress_daily.csv`), so a dataset in Looker Studio
or a sheet is named like the table the README's queries use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.db import connect

# The public tables (README, "The tables you query"; names stable across versions), in reading
# order.
PUBLIC_TABLES = (
    "okr.kr_progress_daily",
    "okr.kr_progress_latest",
    "okr.objective_progress_daily",
    "okr.kr_final_grades",
    "okr.key_results",
    "okr.objectives",
    "okr.metrics",
    "okr.teams",
    "staging.metric_daily",
)
FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class ExportedTable:
    table: str
    path: Path
    rows: int


def _select(con: duckdb.DuckDBPyConnection, table: str, fmt: str) -> str:
    """SELECT for one table; for CSV, list columns (the trust `flags`) become `a;b` text,
    because a CSV cell cannot hold a list and BI tools would show DuckDB's `[a, b]`."""
    if fmt != "csv":
        return f"SELECT * FROM {table}"
    schema, name = table.split(".")
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    parts = [
        f"array_to_string({column}, ';') AS {column}" if dtype.endswith("[]") else column
        for column, dtype in columns
    ]
    return f"SELECT {', '.join(parts)} FROM {table}"


def export_tables(
    warehouse: Path | str | None, out_dir: Path, fmt: str = "parquet"
) -> list[ExportedTable]:
    """Write every public table to `out_dir/<schema>.<table>.<fmt>`, replacing old files."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = "(FORMAT parquet, COMPRESSION zstd)" if fmt == "parquet" else "(FORMAT csv, HEADER)"
    con = connect(warehouse, read_only=True)
    written = []
    try:
        for table in PUBLIC_TABLES:
            path = out_dir / f"{table}.{fmt}"
            partial = out_dir / f".{table}.{fmt}.partial"
            # COPY's target is a SQL string literal: double any quote in the path
            target = str(partial).replace("'", "''")
            con.execute(f"COPY ({_select(con, table, fmt)}) TO '{target}' {options}")
            partial.replace(path)  # a BI tool polling the folder never reads half a file
            (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
            written.append(ExportedTable(table, path, int(rows)))
    finally:
        con.close()
    return written
