"""The asset definitions' declared column schemas come from the checked-in
pipelines/declared_columns.json while it matches the migrations, and from the migrations
themselves when it does not (never stale)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines import metadata
from pipelines.metadata import (
    DECLARED_COLUMNS_PATH,
    column_schema,
    columns_from_migrations,
    migrations_digest,
    write_declared_columns,
)


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
