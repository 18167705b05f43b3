"""The warehouse in production: a file the previous release wrote opens with this code and
upgrades with its data kept; `okr backup` and `okr restore` (README, "Deploy")."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from warehouse.backup import backup
from warehouse.db import connect, migration_files

REPO = Path(__file__).resolve().parents[2]
PREVIOUS_RELEASE = REPO / "tests" / "fixtures" / "warehouse_4af4265"


def okr(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "okr_cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})},
        cwd=REPO,
        timeout=120,
    )


def _previous_release_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute(f"IMPORT DATABASE '{PREVIOUS_RELEASE}'")
    con.close()


def _columns(path: Path) -> dict[str, list[str]]:
    """Every base table outside `meta` and its columns."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT schema_name || '.' || table_name, list(column_name ORDER BY column_index) "
            "FROM duckdb_columns() WHERE NOT internal AND schema_name <> 'meta' "
            "AND table_name IN (SELECT table_name FROM duckdb_tables()) GROUP BY 1"
        ).fetchall()
        return dict(rows)
    finally:
        con.close()


def _table_checksums(
    path: Path, columns: dict[str, list[str]] | None = None
) -> dict[str, tuple[int, int]]:
    """Every table: (row count, an order-independent hash of its rows over `columns`)."""
    columns = columns or _columns(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        sums = {}
        for table, names in columns.items():
            schema, name = table.split(".")
            fields = ", ".join(f'"{column}"' for column in names)
            count, digest = con.execute(
                f"SELECT count(*), coalesce(sum(hash(row({fields})::VARCHAR)), 0) "
                f'FROM "{schema}"."{name}"'
            ).fetchall()[0]
            sums[table] = (count, int(digest))
        return sums
    finally:
        con.close()


@pytest.fixture
def old_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "okr_sync.duckdb"
    _previous_release_warehouse(path)
    return path


def test_a_warehouse_of_the_previous_release_upgrades_with_its_data_kept(
    old_warehouse: Path,
) -> None:
    old_columns = _columns(old_warehouse)
    before = _table_checksums(old_warehouse, old_columns)
    assert before["raw.hubspot_objects"][0] > 1000 and before["okr.kr_progress_daily"][0] > 100
    con = duckdb.connect(str(old_warehouse), read_only=True)
    written_by_old = con.execute("SELECT max(version) FROM meta.schema_migrations").fetchall()
    con.close()
    assert written_by_old == [(30,)]  # the previous release's newest migration

    con = connect(old_warehouse)  # what every run does when it opens the file
    applied = con.execute("SELECT version FROM meta.schema_migrations ORDER BY 1").fetchall()
    con.close()
    assert [v for (v,) in applied] == [version for version, _ in migration_files()]
    # every row of every table the old release wrote is still there, value for value (a
    # migration may add columns; the old ones are compared)
    assert _table_checksums(old_warehouse, old_columns) == before
    # and the upgraded file serves readers (a reader refuses a file with pending migrations)
    result = okr(
        "sql",
        "SELECT count(*) FROM okr.kr_progress_latest",
        "-w",
        str(old_warehouse),
        "--format",
        "csv",
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.splitlines()[1]) > 0


def test_backup_keeps_the_newest_copies_and_restore_puts_one_back(
    old_warehouse: Path, tmp_path: Path
) -> None:
    connect(old_warehouse).close()
    folder = tmp_path / "backups"
    made = []
    for _ in range(3):
        result = okr("backup", "-w", str(old_warehouse), "--to", str(folder), "--keep", "2")
        assert result.returncode == 0, result.stderr
        made.append(Path(result.stdout.split("backup written: ")[1].split(" (")[0]))
    assert sorted(folder.iterdir()) == sorted(made[1:])  # --keep 2: the oldest removed
    assert "removed the older backup" in result.stdout
    assert _table_checksums(made[-1]) == _table_checksums(old_warehouse)

    expected = _table_checksums(old_warehouse)
    con = connect(old_warehouse)
    con.execute("DELETE FROM okr.kr_progress_daily")  # a bad day: the numbers are gone
    con.close()
    result = okr("restore", str(made[-1]), "-w", str(old_warehouse))
    assert result.returncode == 0, result.stderr
    assert _table_checksums(old_warehouse) == expected
    kept = old_warehouse.with_name("okr_sync.duckdb.before-restore")
    assert _table_checksums(kept)["okr.kr_progress_daily"][0] == 0


def test_backup_waits_for_a_writer_and_says_the_warehouse_is_busy(
    old_warehouse: Path, tmp_path: Path
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); "
            "print('locked', flush=True); time.sleep(60)",
            str(old_warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = okr(
            "backup",
            "-w",
            str(old_warehouse),
            "--to",
            str(tmp_path / "b"),
            env={"OKR_WAREHOUSE_BUSY_WAIT": "1"},
        )
        assert time.monotonic() - started >= 1  # it waited before giving up
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert "is busy: another okr-sync process is writing to it" in result.stderr
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())


def test_restore_refuses_a_file_that_is_not_a_warehouse(
    old_warehouse: Path, tmp_path: Path
) -> None:
    before = _table_checksums(old_warehouse)
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE t AS SELECT 1 AS x").close()
    result = okr("restore", str(other), "-w", str(old_warehouse))
    assert result.returncode == 1
    assert "not an okr-sync warehouse (no meta.schema_migrations)" in result.stderr
    assert _table_checksums(old_warehouse) == before
    assert not old_warehouse.with_name("okr_sync.duckdb.before-restore").exists()


def test_backups_within_one_second_are_kept_in_the_order_they_were_taken(
    old_warehouse: Path, tmp_path: Path
) -> None:
    connect(old_warehouse).close()
    same_second = datetime(2026, 12, 4, 19, 5, 50, tzinfo=UTC)
    folder = tmp_path / "backups"
    made = [backup(old_warehouse, folder, keep=2, now=same_second)[0] for _ in range(3)]
    assert [p.name for p in made] == [
        "okr_sync-20261204T190550Z.duckdb",
        "okr_sync-20261204T190550Z-1.duckdb",
        "okr_sync-20261204T190550Z-2.duckdb",
    ]
    assert sorted(folder.iterdir()) == sorted(made[1:])  # the first one taken is the oldest


def test_okr_run_brings_a_warehouse_of_the_previous_release_up_to_date(
    old_warehouse: Path, tmp_path: Path
) -> None:
    """README "Deploy": the first run after an upgrade migrates an older file. `okr run` checks
    the file before it starts (a folder or a corrupt file is said once); that check must not
    refuse the pending migrations the run is about to apply."""
    definitions = tmp_path / "okr_definitions"
    (definitions / "data").mkdir(parents=True)
    (definitions / "data" / "signups.csv").write_text(
        "date,value\n" + "".join(f"2026-07-{day:02d},{day}\n" for day in range(1, 11))
    )
    (definitions / "okr.yaml").write_text(
        "organisation: {name: Acme, timezone: Europe/Berlin}\n"
        "teams: [{id: growth, name: Growth}]\n"
        "metrics:\n"
        "  - {id: signups, source: file, query: {path: data/signups.csv}}\n"
        "objectives:\n"
        "  - id: grow\n"
        "    title: Grow\n"
        "    team: growth\n"
        "    period: 2026-Q3\n"
        "    key_results:\n"
        "      - {id: signups-up, title: Signups, metric: signups, baseline: 0, target: 100}\n"
    )
    result = okr(
        "run", "--from", "2026-07-01", "--to", "2026-07-10",
        "-d", str(definitions), "-w", str(old_warehouse),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    con = duckdb.connect(str(old_warehouse), read_only=True)
    applied = con.execute("SELECT version FROM meta.schema_migrations ORDER BY 1").fetchall()
    (value,) = con.execute(
        "SELECT value FROM okr.kr_progress_daily "
        "WHERE kr_id = 'signups-up' AND as_of_date = '2026-07-10'"
    ).fetchall()
    con.close()
    assert [v for (v,) in applied] == [version for version, _ in migration_files()]
    assert value == (55.0,)  # 1 + 2 + … + 10: the quarter so far, summed
