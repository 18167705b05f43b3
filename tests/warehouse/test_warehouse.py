"""Migrations, atomic partition replacement and the "busy" message of the warehouse."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from connectors.results import FetchResult, daily_table
from okr_definitions.loader import load_definitions
from warehouse.db import WarehouseBusyError, connect, migrate, migration_files
from warehouse.definitions import _same, definition_tables, write_definitions
from warehouse.load import checked_daily, replace_source_window

D1, D2 = date(2026, 10, 1), date(2026, 10, 2)


def test_migrations_create_the_public_schema_and_are_idempotent(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    assert migrate(wh) == []  # already applied by connect(): a second run does nothing
    versions = [v for (v,) in wh.execute("SELECT version FROM meta.schema_migrations").fetchall()]
    assert versions == [v for v, _ in migration_files()]
    tables = {
        f"{s}.{t}"
        for s, t in wh.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
    }
    assert {
        "okr.kr_progress_daily",
        "okr.objective_progress_daily",
        "okr.kr_progress_latest",
        "okr.key_results",
        "okr.objectives",
        "okr.metrics",
        "okr.teams",
        "staging.metric_daily",
    } <= tables


def _result(value: float) -> FetchResult:
    return FetchResult(
        daily=daily_table(
            [
                {"metric_id": "m", "date": D1, "value": value, "request_hash": "h"},
                {"metric_id": "m", "date": D2, "value": value, "request_hash": "h"},
            ]
        )
    )


def test_a_metric_day_sent_twice_keeps_the_last_and_is_flagged() -> None:
    """One row per (metric, date): the same date of two metrics is no repeat; a repeated
    metric-day keeps the row sent last, in the order sent, with one flag."""
    rows = [
        {"metric_id": "a", "date": D1, "value": 1.0, "request_hash": "h"},
        {"metric_id": "b", "date": D1, "value": 2.0, "request_hash": "h"},
        {"metric_id": "a", "date": D2, "value": 3.0, "request_hash": "h"},
    ]
    daily, flags = checked_daily(daily_table(rows))
    assert daily.to_pylist() == daily_table(rows).to_pylist()
    assert flags.num_rows == 0
    sent_twice = [*rows, {"metric_id": "b", "date": D1, "value": 4.0, "request_hash": "h"}]
    daily, flags = checked_daily(daily_table(sent_twice))
    assert [(r["metric_id"], r["value"]) for r in daily.to_pylist()] == [
        ("a", 1.0),
        ("a", 3.0),
        ("b", 4.0),
    ]
    assert [(f["metric_id"], f["date"], f["flag"]) for f in flags.to_pylist()] == [
        ("b", D1, "duplicate_rows")
    ]


def _values(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT date, value FROM raw.metric_rows ORDER BY date").fetchall()


def test_replacing_a_window_is_idempotent(wh: duckdb.DuckDBPyConnection) -> None:
    now = datetime.now(UTC)
    for _ in range(3):
        replace_source_window(wh, "file", ["m"], D1, D2, _result(5.0), "h", now, D2)
    assert _values(wh) == [(D1, 5.0), (D2, 5.0)]


def test_a_failed_replace_leaves_the_previous_rows_whole(wh: duckdb.DuckDBPyConnection) -> None:
    now = datetime.now(UTC)
    replace_source_window(wh, "file", ["m"], D1, D2, _result(5.0), "h", now, D2)
    broken_raw = pa.table({"no_such_column": [1]})
    with pytest.raises(duckdb.Error):
        replace_source_window(
            wh,
            "file",
            ["m"],
            D1,
            D2,
            _result(9.0),
            "h",
            now,
            D2,
            raw_tables={"raw.file_reads": ("true", [], broken_raw)},
        )
    # the delete and the new rows were rolled back together
    assert _values(wh) == [(D1, 5.0), (D2, 5.0)]


def test_a_locked_warehouse_gives_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    connect(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ready', flush=True); "
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError) as error:
            connect(path, wait_seconds=1.0)
        assert time.monotonic() - started >= 0.9  # it waited before giving up
        assert "busy" in str(error.value) and str(path) in str(error.value)
        assert "Traceback" not in str(error.value)
    finally:
        holder.kill()
        holder.wait()


def test_a_warehouse_named_like_a_schema_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ambiguous"):
        connect(tmp_path / "okr.duckdb")
    assert not (tmp_path / "okr.duckdb").exists()


def test_a_reader_of_a_file_an_older_version_wrote_is_told_to_run_okr_run(
    warehouse_file: Path,
) -> None:
    con = connect(warehouse_file)
    newest, file = migration_files()[-1]
    con.execute("DELETE FROM meta.schema_migrations WHERE version = ?", [newest])
    con.close()
    with pytest.raises(
        ValueError, match=rf"1 pending migration, from {file.name}\): run `okr run`"
    ):
        connect(warehouse_file, read_only=True)
    # `okr run` would apply it; here its row is put back, and readers open the file again
    with duckdb.connect(str(warehouse_file)) as raw:
        raw.execute("INSERT INTO meta.schema_migrations VALUES (?, ?, now())", [newest, file.name])
    connect(warehouse_file, read_only=True).close()


def test_definitions_already_stored_are_left_and_any_difference_is_written(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    """The definition tables are rewritten only where they differ from the definitions: the
    same rows in the same order are left (their row ids stay), a changed value is replaced."""
    definitions, problems = load_definitions()
    assert definitions is not None, problems
    tables = list(definition_tables(definitions))

    def stored() -> dict[str, list[tuple]]:
        return {
            t: wh.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall() for t in tables
        }

    counts = write_definitions(wh, definitions)
    first = stored()
    assert all(counts[t] == len(first[t]) > 0 for t in tables)
    assert write_definitions(wh, definitions) == counts
    assert stored() == first  # nothing rewritten: the same rows under the same row ids
    wh.execute(
        "UPDATE okr.teams SET name = 'renamed' WHERE rowid = (SELECT min(rowid) FROM okr.teams)"
    )
    write_definitions(wh, definitions)
    again = stored()
    assert [row[1:] for row in again["okr.teams"]] == [row[1:] for row in first["okr.teams"]]
    assert again["okr.teams"] != first["okr.teams"]  # rewritten: new row ids
    assert again["okr.key_results"] == first["okr.key_results"]


def test_stored_values_match_only_when_equal_to_the_bit() -> None:
    assert _same([("a", 1, 2.5, None)], [("a", 1, 2.5, None)])
    assert _same(1.0, 1)  # an integer stored in a DOUBLE column
    assert not _same(0.0, -0.0)
    assert not _same(float("nan"), float("nan"))
    assert not _same(True, 1)
    assert not _same("1", 1)
    assert not _same({"a": 0.0}, {"a": -0.0})
