"""`okr export --format xlsx`: one scorecard workbook for people who live in Excel.

Sheets: "Scorecard" (each key result's newest day, status in its colour), "History" (the daily
table) and "Charts" (per objective the progress of its key results by day, with a native Excel
line chart beside it). Every value is written as a value, never a formula, so the workbook reads
the same in Excel, LibreOffice and Google Sheets and nobody types numbers into it by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from reports.formatting import STATUS_COLOUR, STATUS_LABEL
from warehouse.db import connect
from warehouse.status import status_rank_sql

WORKBOOK_NAME = "okr-scorecard.xlsx"
# The Scorecard's columns; `okr import` reads this sheet back (same header names).
SCORECARD_HEADERS = (
    "Team",
    "Objective",
    "Key Result",
    "Status",
    "Value",
    "Target",
    "Baseline",
    "Unit",
    "Progress",
    "Expected",
    "Data through",
    "Flags",
    "Period start",
    "Period end",
    "Objective ID",
    "KR ID",
)
HISTORY_HEADERS = (
    "Date",
    "Team",
    "Objective ID",
    "KR ID",
    "Status",
    "Value",
    "Target",
    "Baseline",
    "Unit",
    "Progress",
    "Expected",
    "Data through",
    "Flags",
)
_WIDTHS = {
    "Team": 14,
    "Objective": 40,
    "Key Result": 46,
    "Status": 11,
    "Flags": 18,
    "Objective ID": 24,
    "KR ID": 26,
    "Date": 12,
    "Data through": 13,
    "Period start": 12,
    "Period end": 12,
}
# A rate (unit `%`) is stored as a fraction; everything else as a plain number.
_PERCENT_UNITS = ("%",)


@dataclass(frozen=True)
class WrittenWorkbook:
    path: Path
    key_results: int
    history_rows: int
    charts: int


def export_workbook(warehouse: Path | str | None, out_dir: Path) -> WrittenWorkbook:
    """Write `out_dir/okr-scorecard.xlsx` from the warehouse, replacing an older one."""
    con = connect(warehouse, read_only=True)
    try:
        scorecard = _rows(
            con,
            "SELECT t.name, o.title, k.title, p.status, p.value, p.target, p.baseline, p.unit, "
            "p.progress, p.expected_progress, p.data_through, array_to_string(p.flags, ', '), "
            "p.period_start, p.period_end, p.objective_id, p.kr_id "
            "FROM okr.kr_progress_latest AS p "
            "JOIN okr.key_results AS k USING (kr_id) "
            "JOIN okr.objectives AS o ON o.objective_id = p.objective_id "
            "LEFT JOIN okr.teams AS t ON t.team_id = p.team "
            f"ORDER BY t.name, o.title, {status_rank_sql('p.status')}, k.title",
        )
        history = _rows(
            con,
            "SELECT as_of_date, team, objective_id, kr_id, status, value, target, baseline, unit, "
            "progress, expected_progress, data_through, array_to_string(flags, ', ') "
            "FROM okr.kr_progress_daily ORDER BY as_of_date, team, objective_id, kr_id",
        )
        objectives = _rows(
            con,
            "SELECT o.objective_id, o.title, list(k.kr_id ORDER BY k.kr_id), "
            "list(k.title ORDER BY k.kr_id) FROM okr.objectives AS o "
            "JOIN okr.key_results AS k USING (objective_id) "
            "GROUP BY o.team, o.objective_id, o.title ORDER BY o.team, o.title",
        )
    finally:
        con.close()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / WORKBOOK_NAME
    partial = out_dir / f".{WORKBOOK_NAME}.partial"
    book = xlsxwriter.Workbook(str(partial), {"remove_timezone": True})
    formats = _Formats(book)
    _write_table(book.add_worksheet("Scorecard"), SCORECARD_HEADERS, scorecard, formats)
    _colour_statuses(book.get_worksheet_by_name("Scorecard"), len(scorecard), formats)
    _write_table(book.add_worksheet("History"), HISTORY_HEADERS, history, formats)
    charts = _write_charts(book, objectives, history, formats)
    book.close()
    partial.replace(path)  # never half a workbook under the real name
    return WrittenWorkbook(path, len(scorecard), len(history), charts)


def _rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.header = book.add_format({"bold": True, "bg_color": "#e8e8e8", "bottom": 1})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.percent = book.add_format({"num_format": "0%"})
        self.rate = book.add_format({"num_format": "0.0%"})
        self.number = book.add_format({"num_format": "#,##0.00"})
        self.text = book.add_format({"text_wrap": False})
        self.status = {
            status: book.add_format({"bg_color": colour, "font_color": "#ffffff", "bold": True})
            for status, colour in STATUS_COLOUR.items()
        }


def _write_table(
    sheet: Worksheet, headers: tuple[str, ...], rows: list[tuple], formats: _Formats
) -> None:
    """Headers, values with number formats by column, frozen header, autofilter, widths."""
    sheet.write_row(0, 0, headers, formats.header)
    unit_column = headers.index("Unit")
    for row_index, row in enumerate(rows, start=1):
        is_rate = row[unit_column] in _PERCENT_UNITS
        for col, (header, cell) in enumerate(zip(headers, row, strict=True)):
            if cell is None:
                continue
            if isinstance(cell, date):
                sheet.write_datetime(row_index, col, cell, formats.date)
            elif header in ("Progress", "Expected"):
                sheet.write_number(row_index, col, cell, formats.percent)
            elif header in ("Value", "Target", "Baseline"):
                sheet.write_number(
                    row_index, col, cell, formats.rate if is_rate else formats.number
                )
            elif header == "Status":
                sheet.write_string(row_index, col, STATUS_LABEL.get(cell, cell))
            else:
                sheet.write(row_index, col, cell)
    sheet.freeze_panes(1, 0)
    # printed (or saved as PDF): landscape, all columns on one page wide, the header on each
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
    for col, header in enumerate(headers):
        sheet.set_column(col, col, _WIDTHS.get(header, 11))


def _colour_statuses(sheet: Worksheet, rows: int, formats: _Formats) -> None:
    """Conditional formats, so a status typed over in Excel takes its colour too."""
    column = SCORECARD_HEADERS.index("Status")
    for status, fmt in formats.status.items():
        sheet.conditional_format(
            1,
            column,
            max(rows, 1),
            column,
            {"type": "cell", "criteria": "==", "value": f'"{STATUS_LABEL[status]}"', "format": fmt},
        )


def _write_charts(
    book: xlsxwriter.Workbook, objectives: list[tuple], history: list[tuple], formats: _Formats
) -> int:
    """Per objective: a block of progress by day (one column per key result) and its chart."""
    sheet = book.add_worksheet("Charts")
    progress = {(row[0], row[3]): row[9] for row in history}  # (date, kr_id) → progress
    days = sorted({row[0] for row in history})
    top = 0
    for objective_id, title, kr_ids, kr_titles in objectives:
        sheet.write(top, 0, title, formats.header)
        sheet.write_row(top + 1, 0, ["Date", *kr_titles], formats.header)
        for offset, day in enumerate(days, start=top + 2):
            sheet.write_datetime(offset, 0, day, formats.date)
            for col, kr_id in enumerate(kr_ids, start=1):
                value = progress.get((day, kr_id))
                if value is not None:
                    sheet.write_number(offset, col, value, formats.percent)
        chart = book.add_chart({"type": "line"})
        last_row = top + 1 + max(len(days), 1)
        for col in range(1, len(kr_ids) + 1):
            chart.add_series(
                {
                    "name": ["Charts", top + 1, col],
                    "categories": ["Charts", top + 2, 0, last_row, 0],
                    "values": ["Charts", top + 2, col, last_row, col],
                }
            )
        chart.set_title({"name": f"{title} ({objective_id})"})
        chart.set_y_axis({"name": "Progress", "num_format": "0%", "min": 0})
        chart.set_x_axis({"date_axis": True, "num_format": "dd.mm."})
        chart.set_size({"width": 720, "height": 320})
        sheet.insert_chart(top, len(kr_ids) + 2, chart)
        top = max(last_row + 2, top + 18)  # the chart is about 16 rows tall
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 8, 16)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)  # a chart is never cut between two printed pages' columns
    return len(objectives)
