"""A workbook metric through a real Dagster materialisation into a real DuckDB file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import xlsxwriter
from conftest import PERIOD_END, signups
from pipeline_testkit import warehouse_rows

from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import run_range


def _signups_workbook(path: Path, error_on: date | None = None) -> None:
    """Sheet "Export": a title row, headers in row 3, real date cells, values as formulas."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Export")
    as_date = book.add_format({"num_format": "dd.mm.yyyy"})
    sheet.write(0, 0, "Newsletter signups")
    sheet.write_row(2, 0, ["Datum", "Anmeldungen"])
    day, row = date(2026, 9, 1), 3
    while day <= PERIOD_END:
        sheet.write_datetime(row, 0, datetime(day.year, day.month, day.day), as_date)
        if day == error_on:
            sheet.write_formula(row, 1, "=1/0", None, "#DIV/0!")
        else:
            sheet.write_formula(row, 1, f"={signups(day)}*1", None, signups(day))
        day, row = day + timedelta(days=1), row + 1
    book.close()


def test_a_workbook_metric_gives_the_same_key_result_as_the_csv(
    project: Path, instance: dg.DagsterInstance
) -> None:
    _signups_workbook(project / "data" / "signups.xlsx")
    metrics = project / "metrics.yaml"
    metrics.write_text(
        metrics.read_text().replace(
            "query: {path: data/signups.csv}",
            "query: {path: data/signups.xlsx, sheet: Export, header_row: 3, "
            "date_column: Datum, value_column: Anmeldungen}",
        )
    )
    (project / "data" / "signups.csv").unlink()  # the workbook is the only source
    defs = build_definitions(load_valid_definitions(project))
    outcome = run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance)
    assert outcome.succeeded, outcome.errors
    # previous 10 days 10 × 10 = 100 → target 150; 10-01..10-05 5 × 12 = 60 → 0.4
    assert warehouse_rows(
        "SELECT value, target, progress FROM okr.kr_progress_daily "
        "WHERE as_of_date = '2026-10-05' AND kr_id = 'signups-total'"
    ) == [(60.0, 150.0, 0.4)]

    # A #DIV/0! in the sheet fails the source with the cell's reference; nothing of the
    # failed window is loaded (the KR goes stale on the data through 10-05).
    _signups_workbook(project / "data" / "signups.xlsx", error_on=date(2026, 10, 7))
    outcome = run_range(defs, date(2026, 10, 6), date(2026, 10, 8), instance)
    assert not outcome.succeeded
    # 2026-10-07 is data row 37 after the header in row 3 → sheet row 40
    assert any("signups.xlsx: Export!B40: #DIV/0!" in e for e in outcome.errors), outcome.errors
    assert warehouse_rows(
        "SELECT max(date) FROM staging.metric_daily WHERE metric_id = 'signups'"
    ) == [(date(2026, 10, 5),)]


def test_okr_validate_names_the_error_cell_and_exits_1(project: Path) -> None:
    _signups_workbook(project / "data" / "signups.xlsx", error_on=date(2026, 9, 2))
    metrics = project / "metrics.yaml"
    metrics.write_text(
        metrics.read_text().replace(
            "query: {path: data/signups.csv}",
            "query: {path: data/signups.xlsx, header_row: 3, date_column: Datum, "
            "value_column: Anmeldungen}",
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "validate", str(project)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=120,
    )
    assert result.returncode == 1
    # 2026-09-02 is the second data row below the header in row 3 → row 5
    assert "signups.xlsx: Export!B5: #DIV/0!" in result.stdout + result.stderr
