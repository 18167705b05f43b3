"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from warehouse.db import connect

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "okr_definitions"


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries keep their logic but not their sleeps, so fault tests stay fast."""
    monkeypatch.setenv("OKR_RETRY_WAIT_SCALE", "0")


@pytest.fixture
def warehouse_file(tmp_path: Path) -> Path:
    return tmp_path / "test_okr_sync.duckdb"


@pytest.fixture
def wh(warehouse_file: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated warehouse in a real DuckDB file."""
    con = connect(warehouse_file)
    yield con
    con.close()
