"""What every table asset tells the Dagster UI: column schema, row count, last data date."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb


def table_metadata(
    con: duckdb.DuckDBPyConnection, table: str, date_column: str | None = None
) -> dict[str, Any]:
    schema, name = table.split(".")
    columns = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    metadata: dict[str, Any] = {
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=col,
                    type=dtype,
                    constraints=dg.TableColumnConstraints(nullable=nullable == "YES"),
                )
                for col, dtype, nullable in columns
            ]
        ),
        "dagster/row_count": dg.MetadataValue.int(int(rows)),
        "dagster/table_name": table,
    }
    if date_column:
        (last,) = con.execute(f"SELECT max({date_column}) FROM {table}").fetchone()
        metadata["last_data_date"] = dg.MetadataValue.text(str(last) if last else "none")
    return metadata
