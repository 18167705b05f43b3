"""The asset definitions' declared column schemas come from the checked-in
pipelines/declared_columns.json while it matches the migrations, and from the migrations
themselves when it does not (never stale)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from pipelines import metadata
from pipelines.metadata import (
    DECLARED_COLUMNS_PATH,
    column_schema,
    columns_from_migrations,
    migrations_digest,
    table_metadata,
    write_declared_columns,
)
from warehouse.db import connection


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    metadata._declared_columns.cache_clear()
    yield
    metadata._declared_columns.cache_clear()


def test_checked_in_columns_are_current() -> None:
    document = json.loads(DECLARED_COLUMNS_PATH.read_text())
    assert document["migrations_sha256"] == migrations_digest(), (
        "pipelines/declared_columns.json is out of date: run `python -m pipelines.metadata`"
    )
    assert {
        table: [tuple(column) for column in columns]
        for table, columns in document["tables"].items()
    } == columns_from_migrations()


def test_a_current_file_is_what_the_assets_declare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "declared_columns.json"
    write_declared_columns(path)
    document = json.loads(path.read_text())
    document["tables"]["okr.kr_progress_daily"] = [["only_column", "VARCHAR", True]]
    path.write_text(json.dumps(document))
    monkeypatch.setattr(metadata, "DECLARED_COLUMNS_PATH", path)
    schema = column_schema("okr.kr_progress_daily")
    assert [(c.name, c.type, c.constraints.nullable) for c in schema.columns] == [
        ("only_column", "VARCHAR", True)
    ]


def test_a_file_older_than_the_migrations_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "declared_columns.json"
    path.write_text(
        json.dumps(
            {
                "migrations_sha256": "0" * 64,
                "tables": {"okr.kr_progress_daily": [["x", "INTEGER", 1]]},
            }
        )
    )
    monkeypatch.setattr(metadata, "DECLARED_COLUMNS_PATH", path)
    names = [c.name for c in column_schema("okr.kr_progress_daily").columns]
    assert names == [name for name, _, _ in columns_from_migrations()["okr.kr_progress_daily"]]
    assert "kr_id" in names and "x" not in names


def test_a_materialisation_describes_each_table_as_the_migrations_declare_it(
    tmp_path: Path,
) -> None:
    """table_metadata reads a table's columns as it is (DESCRIBE): on a freshly migrated
    warehouse, for every table, the names, types and nullability DuckDB's catalogue gives
    the declared schema; the row count and the last date (of all rows, or of some) come with
    them."""
    declared = columns_from_migrations()
    with connection(tmp_path / "warehouse.duckdb") as con:
        for table, columns in declared.items():
            schema = table_metadata(con, table)["dagster/column_schema"]
            described = [(c.name, c.type, c.constraints.nullable) for c in schema.columns]
            assert described == columns, table
        con.execute(
            "INSERT INTO staging.metric_daily (metric_id, date, value, source, request_hash, "
            "fetched_at) VALUES ('m', ?, 1.0, 'file', 'h', now()), ('m', ?, 2.0, 'file', 'h', "
            "now()), ('n', ?, 3.0, 'ga4', 'h', now())",
            [date(2026, 10, 2), date(2026, 10, 1), date(2026, 10, 5)],
        )
        staged = table_metadata(con, "staging.metric_daily", date_column="date")
        of_file = table_metadata(
            con, "staging.metric_daily", "date", last_date_where=("source = ?", ["file"])
        )
        of_none = table_metadata(
            con, "staging.metric_daily", "date", last_date_where=("source = ?", ["matomo"])
        )
        empty = table_metadata(con, "okr.kr_progress_daily", date_column="as_of_date")
    assert (staged["dagster/row_count"].value, staged["last_data_date"].value) == (3, "2026-10-05")
    assert (of_file["dagster/row_count"].value, of_file["last_data_date"].value) == (
        3,
        "2026-10-02",
    )
    assert of_none["last_data_date"].value == "none"
    assert (empty["dagster/row_count"].value, empty["last_data_date"].value) == (0, "none")
