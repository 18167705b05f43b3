"""The file source reads real .xlsx/.xlsm workbooks, built here with xlsxwriter."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import fastexcel
import pytest
import xlsxwriter
from msoffcrypto.format.ooxml import OOXMLFile
from xlsxwriter.worksheet import Worksheet

from connectors.base import MetricRequest
from connectors.errors import SourceError
from connectors.file import fetch_file, workbook
from okr_definitions.sources.file import FileQuery
from okr_definitions.workbook_files import sheet_xml_bytes

WINDOW = (date(2026, 1, 1), date(2026, 1, 31))


@pytest.fixture(autouse=True, params=["held", "streamed"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every case runs through both readers: calamine holding the sheet, and the row stream a
    sheet over the size bound gets (the bound lowered so these small sheets take that path;
    calamine's sheet loader then refuses to be used, so the case cannot pass through it)."""
    if request.param == "streamed":
        monkeypatch.setattr(workbook, "STREAM_ABOVE_XML_BYTES", 0)

        def refuse(*_args: object, **_kwargs: object) -> None:
            raise AssertionError("a streamed sheet must not be loaded whole")

        monkeypatch.setattr(fastexcel.ExcelReader, "load_sheet", refuse)
    return request.param


@pytest.fixture
def defs_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "project" / "okr_definitions"
    folder.mkdir(parents=True)
    return folder


def _workbook(
    path: Path, fill: Callable[[xlsxwriter.Workbook, Worksheet], None], **options: object
) -> Path:
    book = xlsxwriter.Workbook(str(path), options)
    fill(book, book.add_worksheet("Daily"))
    book.close()
    return path


def _rows(defs_dir: Path, name: str, **query: object) -> list[tuple]:
    result = fetch_file(defs_dir, [MetricRequest("m", FileQuery(path=name, **query))], *WINDOW)
    return [
        (r["date"], r["value"], r["numerator"], r["denominator"]) for r in result.daily.to_pylist()
    ]


def _error(defs_dir: Path, name: str, **query: object) -> str:
    with pytest.raises(SourceError) as caught:
        _rows(defs_dir, name, **query)
    return str(caught.value)


@pytest.mark.parametrize("date_1904", [False, True])
def test_dates_serials_text_dates_and_cached_formulas(defs_dir: Path, date_1904: bool) -> None:
    def fill(book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        as_date = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, ["date", "value"])
        sheet.write_datetime(1, 0, datetime(2026, 1, 5), as_date)
        sheet.write(1, 1, 40)
        sheet.write_string(2, 0, "2026-01-06")
        sheet.write_formula(2, 1, "=B2/2", None, 20)  # read by its cached value
        # 2026-01-07 as a bare serial: 46029 days after 1899-12-30, 44567 after 1904-01-01
        sheet.write_number(3, 0, 44567 if date_1904 else 46029)
        sheet.write(3, 1, 3.5)
        sheet.write_string(4, 0, "08.01.2026")
        sheet.write(4, 1, 0)

    _workbook(defs_dir / "daily.xlsx", fill, date_1904=date_1904)
    assert _rows(defs_dir, "daily.xlsx") == [
        (date(2026, 1, 5), 40.0, None, None),
        (date(2026, 1, 6), 20.0, None, None),
        (date(2026, 1, 7), 3.5, None, None),
        (date(2026, 1, 8), 0.0, None, None),
    ]


def test_named_sheet_header_row_and_ratio_columns_in_an_xlsm(defs_dir: Path) -> None:
    book = xlsxwriter.Workbook(str(defs_dir / "rates.xlsm"))
    book.add_worksheet("Notes").write(0, 0, "not this sheet")
    sheet = book.add_worksheet("Signups")
    sheet.write(0, 0, "Exported from the newsletter tool")
    sheet.write_row(2, 0, ["Tag", "ignored", "Versendet", "Geöffnet"])
    sheet.write_row(3, 0, ["2026-01-02", "x", 200, 50])
    sheet.write_row(4, 0, ["2026-01-03", "y", 0, 0])
    book.close()
    rows = _rows(
        defs_dir,
        "rates.xlsm",
        sheet="Signups",
        header_row=3,
        date_column="Tag",
        numerator_column="Geöffnet",
        denominator_column="Versendet",
    )
    assert rows == [
        (date(2026, 1, 2), 0.25, 50.0, 200.0),  # 50 / 200
        (date(2026, 1, 3), None, 0.0, 0.0),
    ]


@pytest.mark.parametrize(
    ("formula", "cached", "shown"), [("=B2/0", "#DIV/0!", "#DIV/0!"), ("=#REF!", "#REF!", "#REF!")]
)
def test_an_error_cell_is_an_error_naming_sheet_and_cell(
    defs_dir: Path, formula: str, cached: str, shown: str
) -> None:
    def fill(_book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["date", "value"])
        sheet.write_row(1, 0, ["2026-01-05", 4])
        sheet.write_string(2, 0, "2026-01-06")
        sheet.write_formula(2, 1, formula, None, cached)

    _workbook(defs_dir / "e.xlsx", fill)
    message = _error(defs_dir, "e.xlsx")
    assert f"e.xlsx: Daily!B3: {shown}" in message
    assert "never read as zero" in message


def test_text_in_a_value_cell_names_the_cell(defs_dir: Path) -> None:
    def fill(_book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["date", "value"])
        sheet.write_row(1, 0, ["2026-01-05", "about 40"])

    _workbook(defs_dir / "t.xlsx", fill)
    assert "Daily!B2: `about 40` is not a number" in _error(defs_dir, "t.xlsx")


def test_an_unreadable_date_names_the_cell(defs_dir: Path) -> None:
    def fill(_book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["value", "date"])
        sheet.write_row(1, 0, [1, "2026-01-05"])
        sheet.write_row(2, 0, [2, "next Monday"])

    _workbook(defs_dir / "d.xlsx", fill)
    assert "Daily!B3: `next Monday` is not a date" in _error(defs_dir, "d.xlsx")


def test_an_empty_row_between_data_rows_is_an_error(defs_dir: Path) -> None:
    def fill(_book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["date", "value"])
        sheet.write_row(1, 0, ["2026-01-05", 1])
        sheet.write_row(3, 0, ["2026-01-07", 3])

    _workbook(defs_dir / "gap.xlsx", fill)
    assert "sheet `Daily` row 3 is empty between data rows" in _error(defs_dir, "gap.xlsx")


def test_a_header_that_cannot_be_found(defs_dir: Path) -> None:
    def fill(_book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(0, 0, ["Day", "Sends"])
        sheet.write_row(1, 0, ["2026-01-05", 1])

    _workbook(defs_dir / "h.xlsx", fill)
    message = _error(defs_dir, "h.xlsx")
    assert "h.xlsx: sheet `Daily` row 1 has no `date`, `value` header (found: Day, Sends)" in (
        message
    )
    assert "query.header_row" in message


def test_a_missing_sheet_lists_the_sheets(defs_dir: Path) -> None:
    _workbook(defs_dir / "s.xlsx", lambda _b, sheet: sheet.write_row(0, 0, ["date", "value"]))
    assert "no sheet `Weekly` (sheets: Daily)" in _error(defs_dir, "s.xlsx", sheet="Weekly")


def test_encrypted_legacy_and_non_workbooks_are_refused(defs_dir: Path) -> None:
    plain = _workbook(
        defs_dir / "plain.xlsx",
        lambda _b, sheet: sheet.write_row(0, 0, ["date", "value"]),
    )
    encrypted = io.BytesIO()
    with plain.open("rb") as source:
        office = OOXMLFile(source)
        office.encrypt("secret", encrypted)
    (defs_dir / "locked.xlsx").write_bytes(encrypted.getvalue())
    assert "locked.xlsx: the workbook is encrypted" in _error(defs_dir, "locked.xlsx")

    # The header every Excel 97-2003 file starts with (an OLE compound document).
    ole_header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    (defs_dir / "old.xls").write_bytes(ole_header)
    assert "old.xls: a legacy .xls workbook; save it as .xlsx" in _error(
        defs_dir, "old.xls", format="xlsx"
    )

    (defs_dir / "notes.xlsx").write_text("date,value\n2026-01-05,1\n")
    assert "notes.xlsx: not an .xlsx workbook" in _error(defs_dir, "notes.xlsx")


def test_cell_references_hold_when_the_table_starts_right_of_column_a(defs_dir: Path) -> None:
    def fill(_book: xlsxwriter.Workbook, sheet: Worksheet) -> None:
        sheet.write_row(1, 2, ["note", "date", "other", "value"])  # headers in C2:F2
        sheet.write_row(2, 2, ["", "2026-01-05", "x", 1])
        sheet.write_row(3, 2, ["", "2026-01-06", "y"])
        sheet.write_formula(3, 5, "=1/0", None, "#DIV/0!")

    _workbook(defs_dir / "c.xlsx", fill)
    assert "c.xlsx: Daily!F4: #DIV/0!" in _error(defs_dir, "c.xlsx", header_row=2)


def test_the_size_bound_reads_the_named_sheets_part(defs_dir: Path) -> None:
    book = xlsxwriter.Workbook(str(defs_dir / "two.xlsx"))
    book.add_worksheet("Small").write(0, 0, "date")
    big = book.add_worksheet("Big")
    for row in range(2_000):
        big.write_row(row, 0, [row, row * 2, "text"])
    book.close()
    small = sheet_xml_bytes(defs_dir / "two.xlsx", "Small")
    large = sheet_xml_bytes(defs_dir / "two.xlsx", "Big")
    assert 0 < small < 2_000 < 50_000 < large
