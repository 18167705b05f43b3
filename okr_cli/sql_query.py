"""`okr sql`: read-only in fact, and its output as written.

The warehouse is opened read-only with DuckDB's external access turned off (no file is read
or written, no database attached, no extension installed or loaded) and the configuration
locked so a query cannot turn it back on. Statements other than queries are refused before
anything runs, with one line that says why.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from warehouse.db import connect

READ_ONLY_CONFIG: dict[str, object] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,  # last: the settings above are applied first
}
# SELECT covers WITH, VALUES, DESCRIBE, SHOW and SUMMARIZE as well.
QUERY_TYPES = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
FORMATS = ("table", "csv", "json")


class EmptyQuery(ValueError):
    pass


class RefusedStatement(ValueError):
    pass


def check_query(query: str) -> None:
    """Raise EmptyQuery or RefusedStatement; DuckDB's ParserException for bad SQL."""
    statements = duckdb.extract_statements(query)
    if not statements:
        raise EmptyQuery('the query is empty: okr sql "SELECT …"')
    for statement in statements:
        if statement.type not in QUERY_TYPES:
            kind = statement.type.name.replace("_", " ")
            raise RefusedStatement(
                f"okr sql only reads: a {kind} statement is refused (the warehouse is opened "
                "read-only, without access to files); `okr export` writes the tables as files"
            )


def run_query(warehouse: Path | None, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    check_query(query)
    con = connect(warehouse, read_only=True, config=READ_ONLY_CONFIG)
    try:
        cursor = con.execute(query)
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
    finally:
        con.close()


def default_format(stream: TextIO = sys.stdout) -> str:
    """A table for people at a terminal, CSV (with a header) for pipes and files."""
    return "table" if stream.isatty() else "csv"


def write_result(
    columns: list[str], rows: list[tuple[Any, ...]], fmt: str, console: Console
) -> None:
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        print(json.dumps(records, default=str, indent=1))
    else:
        # Text cells: what the warehouse holds is shown as written, never as Rich markup.
        table = Table()
        for name in columns:
            table.add_column(Text(name), overflow="fold")
        for row in rows:
            table.add_row(*(Text("NULL" if v is None else str(v)) for v in row))
        console.print(table)
