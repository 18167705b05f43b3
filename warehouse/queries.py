"""Read queries used by the CLI and reports (read-only connections)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from warehouse.db import connect

STATUS_ORDER = """CASE status WHEN 'off_track' THEN 1 WHEN 'at_risk' THEN 2 WHEN 'no_data' THEN 3
    WHEN 'stale' THEN 4 WHEN 'on_track' THEN 5 ELSE 6 END"""


def status_rows(
    warehouse: Path | str | None, team: str | None = None, day: date | None = None
) -> list[dict[str, Any]]:
    """Key-result rows for one day (default: the newest), grouped by team and objective."""
    con = connect(warehouse, read_only=True)
    try:
        cursor = con.execute(
            f"""
            SELECT p.*, k.title
            FROM okr.kr_progress_daily AS p
            JOIN okr.key_results AS k USING (kr_id)
            WHERE p.as_of_date = coalesce(?, (SELECT max(as_of_date) FROM okr.kr_progress_daily))
              AND (? IS NULL OR p.team = ?)
            ORDER BY p.team, p.objective_id, {STATUS_ORDER}, p.kr_id
            """,
            [day, team, team],
        )
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
