"""Writers in one process share one DuckDB instance (warehouse/db.py `_SharedInstance`) and
still hold the file only while a connection is open: other processes read and write between
writes (README, "Two runs at once"). Inside `held_between_writes` (a run's jobs) the file stays
attached for the next connection until it has been idle a while."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.db import (
    WarehouseConnection,
    connect,
    held_between_writes,
    holds_the_file,
    migration_files,
)

# Another process: for each line read, it opens the file for writing and answers "ok", or
# "locked" when another process holds it.
_OTHER_WRITER = """
import sys, duckdb
for line in sys.stdin:
    try:
        duckdb.connect(sys.argv[1]).close()
        print("ok", flush=True)
    except duckdb.IOException as exc:
        print("locked" if "lock" in str(exc).lower() else f"error: {exc}", flush=True)
"""


@contextmanager
def _other_process(path: Path) -> Iterator[Callable[[], str]]:
    """A function that has another process open `path` for writing: "ok" or "locked"."""
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER_WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def other_process_opens() -> str:
        assert other.stdin is not None and other.stdout is not None
        other.stdin.write("open\n")
        other.stdin.flush()
        return other.stdout.readline().strip()

    try:
        yield other_process_opens
    finally:
        other.communicate(timeout=60)


def _attachment(con: duckdb.DuckDBPyConnection) -> int:
    """Which attachment of the file `con` uses: DuckDB numbers each ATTACH anew."""
    ((oid,),) = con.execute(
        "SELECT database_oid FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    return oid


def test_writers_share_the_file_and_let_it_go_when_the_last_closes(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    with _other_process(path) as other_process_opens:
        _share_and_let_go(path, other_process_opens)
    # and it is a plain DuckDB file afterwards
    with duckdb.connect(str(path), read_only=True) as plain:
        assert plain.execute("SELECT n FROM main.numbers").fetchall() == [(42,)]


def _share_and_let_go(path: Path, other_process_opens: Callable[[], str]) -> None:
    first = connect(path)
    second = connect(path)
    assert isinstance(first, WarehouseConnection) and isinstance(second, WarehouseConnection)
    first.execute("CREATE TABLE main.numbers AS SELECT 42 AS n")
    # the same file: a write of one connection is read by the other, under the file's name
    assert second.execute("SELECT n FROM shared.main.numbers").fetchall() == [(42,)]
    first.close()
    try:
        assert other_process_opens() == "locked"  # `second` still holds it
        second.close()
        assert other_process_opens() == "ok"
    finally:
        second.close()


def test_between_a_runs_writes_the_file_stays_attached_and_is_let_go_at_the_end(
    tmp_path: Path,
) -> None:
    path = tmp_path / "held.duckdb"
    with _other_process(path) as other_process_opens:
        with connect(path) as con:  # created and migrated
            outside = _attachment(con)
        with connect(path) as con:  # outside the block, each connection attaches it anew
            assert _attachment(con) != outside
        assert not holds_the_file() and other_process_opens() == "ok"

        with held_between_writes(idle_seconds=60):
            with connect(path) as con:
                con.execute("CREATE TABLE main.numbers AS SELECT 42 AS n")
                first = _attachment(con)
            # closed, yet still attached (the lock kept) for the next step's connection
            assert holds_the_file() and other_process_opens() == "locked"
            with connect(path) as con:
                assert _attachment(con) == first
                assert con.execute("SELECT n FROM main.numbers").fetchall() == [(42,)]
            with held_between_writes(idle_seconds=60):  # a block inside another
                connect(path).close()
            assert holds_the_file()  # the outer block still holds it
        assert not holds_the_file()  # let go when the block ends
        assert other_process_opens() == "ok"


def test_a_file_idle_longer_than_the_hold_is_let_go_within_the_block(tmp_path: Path) -> None:
    path = tmp_path / "idle.duckdb"
    with _other_process(path) as other_process_opens, held_between_writes(idle_seconds=0.05):
        connect(path).close()
        deadline = time.monotonic() + 30
        while holds_the_file() and time.monotonic() < deadline:
            time.sleep(0.01)
        # a step that waits on a source longer than the hold does not keep others out
        assert not holds_the_file()
        assert other_process_opens() == "ok"
        with connect(path) as con:  # and the next connection attaches it again
            assert con.execute("SELECT count(*) FROM meta.schema_migrations").fetchall()[0][0]


def test_a_held_file_gives_way_to_a_reader_or_another_file_of_this_process(
    tmp_path: Path,
) -> None:
    """DuckDB refuses a file on a second instance of the process while the shared one has it
    attached: a reader's own instance (`okr status` after a run in one process) and another
    file first have the idle one detached."""
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    with held_between_writes(idle_seconds=60):
        with connect(one) as con:
            con.execute("CREATE TABLE main.t AS SELECT 1 AS n")
        with connect(one, read_only=True) as reader:
            assert not isinstance(reader, WarehouseConnection)
            assert reader.execute("SELECT n FROM main.t").fetchall() == [(1,)]
        connect(one).close()
        with connect(two) as other:  # the shared instance's now: `one` was idle
            assert isinstance(other, WarehouseConnection)
            assert other.execute("SELECT current_database()").fetchall() == [("two",)]
    assert not holds_the_file()


def test_a_second_file_or_one_held_open_plainly_gets_its_own_instance(tmp_path: Path) -> None:
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    first = connect(one)
    other = connect(two)  # attached: `one`; this one opens as before
    assert isinstance(first, WarehouseConnection)
    assert not isinstance(other, WarehouseConnection)
    other.execute("CREATE TABLE main.t AS SELECT 2 AS n")
    assert other.execute("SELECT current_database()").fetchall() == [("two",)]
    other.close()
    first.close()

    held = duckdb.connect(str(one))  # this process's own instance on the file
    try:
        con = connect(one)
        assert not isinstance(con, WarehouseConnection)
        con.execute("CREATE TABLE main.t AS SELECT 1 AS n")
        assert held.execute("SELECT n FROM main.t").fetchall() == [(1,)]
        con.close()
    finally:
        held.close()


def _tables(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as plain:
        return {
            f"{schema}.{name}"
            for schema, name in plain.execute(
                "SELECT schema_name, table_name FROM duckdb_tables()"
            ).fetchall()
        }


def test_a_file_changed_since_this_process_let_it_go_is_checked_for_migrations_again(
    tmp_path: Path,
) -> None:
    """A file this process let go with its migrations applied is not asked again while it is
    unchanged; once another file takes its place (here copied over it: the same path and
    inode), its pending migrations are applied."""
    path = tmp_path / "warehouse.duckdb"
    connect(path).close()
    migrated = _tables(path)
    assert {"meta.schema_migrations", "okr.key_results", "raw.metric_rows"} <= migrated
    connect(path).close()  # unchanged: nothing to do, nothing lost
    assert _tables(path) == migrated

    # A file an older okr-sync wrote: every migration but the newest.
    older = tmp_path / "older.duckdb"
    *before, (newest, _) = migration_files()
    with duckdb.connect(str(older)) as plain:
        plain.execute("CREATE SCHEMA meta")
        plain.execute(
            "CREATE TABLE meta.schema_migrations "
            "(version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        for version, file in before:
            plain.execute(file.read_text())
            plain.execute(
                "INSERT INTO meta.schema_migrations VALUES (?, ?, now())", [version, file.name]
            )
    shutil.copyfile(older, path)
    connect(path).close()
    assert _tables(path) == migrated
    with duckdb.connect(str(path), read_only=True) as plain:
        (applied,) = plain.execute("SELECT max(version) FROM meta.schema_migrations").fetchone()
    assert applied == newest

    # A blank file copied over it: the whole schema is applied.
    blank = tmp_path / "blank.duckdb"
    duckdb.connect(str(blank)).close()
    shutil.copyfile(blank, path)
    with connect(path) as con:
        assert con.execute("SELECT count(*) FROM okr.key_results").fetchall() == [(0,)]
    assert _tables(path) == migrated
