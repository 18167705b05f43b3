"""What the warehouse holds, for error messages that list it (`okr status --team nope`, a
`--date` outside its days) and the one-line hint that points at the demo's warehouse."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb

from warehouse.db import ENV_VAR, warehouse_path
from warehouse.queries import data_range

# Where `okr demo` writes by default (its --dir), relative to where it was run.
DEMO_WAREHOUSE = Path("okr-demo") / "okr_sync.duckdb"


def what_exists(con: duckdb.DuckDBPyConnection, team: str | None, day: date | None) -> str | None:
    """Why `okr status` found no rows, listing what exists; None when the warehouse holds no
    key-result rows at all."""
    first, last = data_range(con)
    if last is None:
        return None
    teams = [
        t
        for (t,) in con.execute(
            "SELECT DISTINCT team FROM okr.kr_progress_daily ORDER BY team"
        ).fetchall()
    ]
    if team is not None and team not in teams:
        return f"no team {team!r} in the warehouse; its teams: {', '.join(teams)}"
    if day is not None:
        return f"no key-result rows on {day}; the warehouse holds {first}..{last}"
    return None


def demo_hint(warehouse: Path | None) -> str | None:
    """When no warehouse was named and the default one does not exist, but `okr demo` left
    one here: the flag to use, in one line."""
    if warehouse is not None or os.environ.get(ENV_VAR) or warehouse_path().exists():
        return None
    if not DEMO_WAREHOUSE.is_file():
        return None
    return (
        f"no warehouse at {warehouse_path()}; `okr demo` wrote {DEMO_WAREHOUSE}: "
        f"add -w {DEMO_WAREHOUSE} (and -d {DEMO_WAREHOUSE.parent / 'okr_definitions'} "
        "for okr report)"
    )
