"""Loading reads into raw.salesforce_records and raw.salesforce_record_history: one row per
record and one per version, kept by the loader (the tables have no primary-key index), and
the fields' struct stored as a map."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from connectors.salesforce.fetch import RecordRead
from connectors.salesforce.parse import records_schema
from warehouse.db import connection
from warehouse.sources.salesforce import load_read

FIELDS = ["Amount", "IsWon"]
T1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T3 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _read(rows: list[tuple[str, bool, datetime, str]], request: str) -> RecordRead:
    """A read of (record id, deleted, SystemModstamp, Amount) rows."""
    table = pa.Table.from_pylist(
        [
            {
                "object": "Opportunity",
                "record_id": record_id,
                "is_deleted": deleted,
                "system_modstamp": stamp,
                "fields": {"Amount": amount, "IsWon": "true"},
                "fetched_at": T3,
                "request_hash": request,
            }
            for record_id, deleted, stamp, amount in rows
        ],
        schema=records_schema(FIELDS),
    )
    return RecordRead(table, "REST", 1, max((r[2] for r in rows), default=None))


def _load(path: Path, read: RecordRead, *, full: bool, shape: str = "s1") -> int:
    with connection(path) as con:
        return load_read(
            con,
            "Opportunity",
            read,
            full_read=full,
            shape=shape,
            fetched_at=T3,
            run_id="run",
            api_usage=None,
        )


def _table(path: Path, table: str) -> list[tuple]:
    with connection(path) as con:
        return con.execute(
            f"SELECT record_id, is_deleted, system_modstamp, fields['Amount'], request_hash "
            f"FROM raw.{table} ORDER BY record_id, system_modstamp, is_deleted"
        ).fetchall()


def test_versions_are_stored_once_and_never_an_older_over_a_newer(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    assert _load(path, _read([("A", False, T1, "100"), ("B", False, T1, "200")], "r1"), full=True)
    # An incremental read: A edited (and seen twice, the overlap), B's old version again, C new.
    changes = [
        ("A", False, T2, "150"),
        ("A", False, T2, "150"),
        ("B", False, T1, "200"),
        ("C", False, T2, "300"),
    ]
    assert _load(path, _read(changes, "r2"), full=False) == 2  # A's new version and C
    # An older version of A arriving late, and B deleted.
    late = [("A", False, T1, "100"), ("B", True, T2, "200")]
    assert _load(path, _read(late, "r3"), full=False) == 1  # B deleted
    current = [
        ("A", False, T2, "150", "r2"),
        ("B", True, T2, "200", "r3"),
        ("C", False, T2, "300", "r2"),
    ]
    assert _table(path, "salesforce_records") == current
    history = [
        ("A", False, T1, "100", "r1"),
        ("A", False, T2, "150", "r2"),
        ("B", False, T1, "200", "r1"),
        ("B", True, T2, "200", "r3"),
        ("C", False, T2, "300", "r2"),
    ]
    assert _table(path, "salesforce_record_history") == history
    # The same read again changes nothing; a full read (other metrics) keeps the history and
    # replaces the current records with what it returns, each once.
    assert _load(path, _read(late, "r4"), full=False) == 0
    assert _table(path, "salesforce_records") == current
    again = [("A", False, T2, "150"), ("C", False, T2, "300"), ("C", False, T2, "300")]
    assert _load(path, _read(again, "r5"), full=True, shape="s2") == 0
    assert _table(path, "salesforce_records") == [
        ("A", False, T2, "150", "r5"),
        ("C", False, T2, "300", "r5"),
    ]
    assert _table(path, "salesforce_record_history") == history
