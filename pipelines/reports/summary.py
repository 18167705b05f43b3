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

from pipelines.reports.keys import REPORT
from reports.summary import progress_summary_markdown
from reports.weekly import report_path, reports_dir
from warehouse.progress import not_started_rows
from warehouse.queries import current_rows


def progress_summary_metadata(
    con: duckdb.DuckDBPyConnection, day: date, warehouse_file: Path
) -> dict[str, Any]:
    """`summary` (counts by status, the at-risk list, the key results not started yet) and
    where the check-in report of `day`'s week is: `report_path` only when that file exists
    (a link to a missing file helps no one); always the asset and week that render it
    (reports/weekly_checkin, after this run)."""
    monday = day - timedelta(days=day.weekday())
    path = report_path(reports_dir(warehouse_file), monday)
    rows = current_rows(con, day, day)
    not_started = not_started_rows(con, day)
    exists = path.exists()
    metadata: dict[str, Any] = {
        "summary": dg.MetadataValue.md(
            progress_summary_markdown(rows, path if exists else None, not_started)
            + ("" if exists else _not_rendered(monday))
        ),
        "weekly_report": dg.MetadataValue.asset(REPORT),
        "weekly_report_partition": monday.isoformat(),
    }
    if exists:
        metadata["report_path"] = dg.MetadataValue.path(str(path))
    return metadata


def _not_rendered(monday: date) -> str:
    return (
        f"\n\n**Weekly check-in report**: not written yet for the week of {monday}; the asset "
        f"reports/weekly_checkin (partition {monday}) renders it after this run, or `okr report`."
    )
