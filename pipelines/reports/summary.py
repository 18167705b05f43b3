"""The Markdown summary and report path on okr/kr_progress_daily materialisations.

Separate from `assets.py` so the okr assets can import it without importing the report
asset (which itself depends on the okr asset keys).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from reports.summary import progress_summary_markdown
from reports.weekly import report_path, reports_dir
from warehouse.progress import not_started_rows
from warehouse.queries import current_rows


def progress_summary_metadata(
    con: duckdb.DuckDBPyConnection, day: date, warehouse_file: Path
) -> dict[str, Any]:
    """`summary` (counts by status, the at-risk list, the key results not started yet) and
    `report_path`: where the weekly
    check-in report of `day`'s week is written (by reports/weekly_checkin)."""
    path = report_path(reports_dir(warehouse_file), day - timedelta(days=day.weekday()))
    rows = current_rows(con, day, day)
    not_started = not_started_rows(con, day)
    return {
        "summary": dg.MetadataValue.md(progress_summary_markdown(rows, path, not_started)),
        "report_path": dg.MetadataValue.path(str(path)),
    }
