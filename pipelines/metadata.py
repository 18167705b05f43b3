"""What every table asset tells the Dagster UI: column schema, row count, last data date."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from connectors.scratch import scratch_connection
from warehouse.columns import COLUMN_DESCRIPTIONS
from warehouse.db import migration_files

# The declared columns, generated from the migrations and checked in: running the migrations'
# SQL in a scratch database cost every process ~35 ms (some twenty scripts, then the catalogue).
# The file carries the digest of the migrations it came from; should they differ (a migration
# added and the file not regenerated) the columns are computed as before, so the metadata is
# never stale. tests/pipelines/test_declared_columns.py checks the file is current.
# Regenerate: python -m pipelines.metadata
DECLARED_COLUMNS_PATH = Path(__file__).with_name("declared_columns.json")

Columns = dict[str, list[tuple[str, str, bool]]]


def migrations_digest() -> str:
    """SHA-256 of the migrations' names and SQL, in order."""
    digest = hashlib.sha256()
    for _, file in migration_files():
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def columns_from_migrations() -> Columns:
    """(name, type, nullable) of every table's columns (views have none to declare), from the
    migrations applied to a scratch database: the schema an asset declares is the one its
    table will have."""
    con = scratch_connection()
    try:
        # The migrations' SQL in order, as one script: their bookkeeping (a transaction and a
        # row of meta.schema_migrations each, warehouse.db.migrate) would double the cost.
        con.execute(";\n".join(file.read_text() for _, file in migration_files()))
        # The tables' columns only: information_schema would also bind every view, DuckDB's
        # own catalogue views included (a few times the cost).
        rows = con.execute(
            "SELECT c.schema_name || '.' || c.table_name, c.column_name, c.data_type, "
            "c.is_nullable FROM duckdb_columns() c JOIN duckdb_tables() t USING (table_oid) "
            # the scratch database's own (connectors/scratch.py: one instance per process)
            "WHERE c.database_name = current_database() "
            "ORDER BY c.schema_name, c.table_name, c.column_index"
        ).fetchall()
    finally:
        con.close()
    columns: Columns = {}
    for table, name, dtype, nullable in rows:
        columns.setdefault(table, []).append((name, dtype, nullable))
    return columns


def write_declared_columns(path: Path = DECLARED_COLUMNS_PATH) -> None:
    """Write the declared columns with the digest of the migrations they come from."""
    tables = [
        f"  {json.dumps(table)}: [\n"
        + ",\n".join(f"   {json.dumps(list(column))}" for column in columns)
        + "\n  ]"
        for table, columns in columns_from_migrations().items()
    ]
    # JSON, one column a line (a reviewer reads a migration's effect in the diff)
    path.write_text(
        f'{{\n "migrations_sha256": "{migrations_digest()}",\n "tables": {{\n'
        + ",\n".join(tables)
        + "\n }\n}\n"
    )


@cache
def _declared_columns() -> Columns:
    """The checked-in declared columns when they match the migrations, else computed."""
    try:
        document = json.loads(DECLARED_COLUMNS_PATH.read_text())
    except FileNotFoundError:
        return columns_from_migrations()
    if document["migrations_sha256"] != migrations_digest():
        return columns_from_migrations()
    return {
        table: [(name, dtype, nullable) for name, dtype, nullable in columns]
        for table, columns in document["tables"].items()
    }


def column_schema(table: str) -> dg.TableSchema:
    """The table's columns with their descriptions (warehouse/columns.py)."""
    return _schema(table, _declared_columns()[table])


def _schema(table: str, columns: list[tuple[str, str, bool]]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=dtype,
                description=COLUMN_DESCRIPTIONS.get(table, {}).get(name),
                constraints=dg.TableColumnConstraints(nullable=nullable),
            )
            for name, dtype, nullable in columns
        ]
    )


def definition_metadata(table: str, lineage: dg.TableColumnLineage | None = None) -> dict[str, Any]:
    """An asset's definition metadata for the table it writes: the column schema and column
    lineage the UI's Columns view shows before (and whatever) a materialisation."""
    metadata: dict[str, Any] = {
        "dagster/column_schema": column_schema(table),
        "dagster/table_name": table,
    }
    if lineage is not None:
        metadata["dagster/column_lineage"] = lineage
    return metadata


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    table: str,
    date_column: str | None = None,
    last_date_where: tuple[str, list[Any]] | None = None,
    row_count: int | None = None,
) -> dict[str, Any]:
    """The table's column schema and row count, with `date_column` its last date: of every
    row, or with `last_date_where` (an SQL condition and its parameters) of the rows it
    matches (a source's own rows in raw.metric_rows). `row_count`: the rows the caller has
    just written or found in the table, on this connection, not counted again when no
    `date_column` is asked for (with one, the query that reads its last date counts too)."""
    # DESCRIBE looks the one table up (a third of the time of filtering DuckDB's catalogue
    # function duckdb_columns(), which lists every column of every table; information_schema
    # would bind every view first): the same names, types and nullability.
    columns = [
        (name, dtype, null == "YES")
        for name, dtype, null, *_ in con.execute(f"DESCRIBE {table}").fetchall()
    ]
    # The row count and the last date in one query (its fixed cost is most of either).
    where, parameters = last_date_where or (None, [])
    last_date = f"max({date_column})" if date_column else "NULL"
    if date_column and where:
        last_date += f" FILTER (WHERE {where})"
    if row_count is None or date_column:
        rows, last = con.execute(
            f"SELECT count(*), {last_date} FROM {table}", parameters
        ).fetchone()
    else:
        rows, last = row_count, None
    metadata: dict[str, Any] = {
        "dagster/column_schema": _schema(table, columns),
        "dagster/row_count": dg.MetadataValue.int(int(rows)),
        "dagster/table_name": table,
    }
    if date_column:
        metadata["last_data_date"] = dg.MetadataValue.text(str(last) if last else "none")
    return metadata


# Small entries that say what the run did; every day of a ranged run carries them.
EVERY_DAY = frozenset(
    {
        "dagster/row_count",
        "last_data_date",
        "window",
        "rows_in_window",
        "rows_loaded",
        "requests",
        "flags",
    }
)


def materialize_result(
    context: dg.AssetExecutionContext,
    metadata: Mapping[str, Any],
    asset_key: dg.AssetKey | None = None,
) -> dg.MaterializeResult:
    """The result of a partitioned table asset, its metadata placed per day.

    The metadata goes to the materialisations only (`add_asset_metadata`): metadata on the
    result itself would also be copied into the step's output event (STEP_OUTPUT), which the
    UI shows nowhere else and the instance stores, serialised, beside the materialisation
    (~150 kB of a daily run's events).

    A run over a range of days records one materialisation per day, each with its own copy of
    the result's metadata (148 copies in the demo's run). Most of it describes the table after
    the run, or the run's last day (column schema, column lineage, status previews, summary):
    it goes on the newest day's event only, which is the one the UI shows as the asset's
    latest materialisation. The other days keep the small entries of EVERY_DAY.
    """
    keys = context.partition_keys
    if len(keys) <= 1:
        context.add_asset_metadata(metadata, asset_key=asset_key)
        return dg.MaterializeResult(asset_key=asset_key)
    every_day = {k: v for k, v in metadata.items() if k in EVERY_DAY}
    newest_day = {k: v for k, v in metadata.items() if k not in EVERY_DAY}
    context.add_asset_metadata(every_day, asset_key=asset_key)
    context.add_asset_metadata(newest_day, asset_key=asset_key, partition_key=keys[-1])
    return dg.MaterializeResult(asset_key=asset_key)


if __name__ == "__main__":
    write_declared_columns()
    print(f"wrote {DECLARED_COLUMNS_PATH}")
