"""Read one sheet of an `.xlsx`/`.xlsm` workbook into the columns the file source needs.

fastexcel (calamine underneath) reads formula cells by their cached values and never runs
macros; it reports each cell it cannot convert with its position, which is how an error cell
(`#DIV/0!`) becomes an error naming sheet and cell instead of an empty value or a zero.
Dates are read as text and converted here: fastexcel turns a bare serial into a date in the
1900 system only, so the workbook's date system is read from `xl/workbook.xml` first.

calamine holds every cell of the sheet while it reads (1.2 to 2.2 bytes of memory per byte of
the sheet's XML, whichever columns are used), so a sheet whose XML is over
`STREAM_ABOVE_XML_BYTES` is streamed instead, row by row with openpyxl's read-only reader
(cached values, no macros), keeping only the used columns as Arrow arrays: memory stays bounded
whatever the sheet's size, at several times calamine's time. Both readers give the same rows and
the same errors (tests/connectors/test_file_workbook.py runs every case through each).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import fastexcel
import openpyxl
import pyarrow as pa
import pyarrow.compute as pc

from connectors.errors import SourceError
from connectors.file.settings import SOURCE
from okr_definitions.workbook_files import WorkbookFileError, column_letter, sheet_xml_bytes
from okr_definitions.workbook_files import check_workbook_file as check_file

_EXCEL_ERRORS = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
    "GettingData": "#GETTING_DATA",
}
_ERROR_TEXTS = frozenset(_EXCEL_ERRORS.values()) | {"#SPILL!", "#CALC!", "#FIELD!"}
# A full-height sheet (1,048,576 rows) of about four columns is still held (under 0.5 GiB);
# anything larger is streamed, at about 14x the time, with memory near a CSV read's
# (benchmarks/RESULTS.md, "xlsx file source").
STREAM_ABOVE_XML_BYTES = 192 * 1024 * 1024
_STREAM_BATCH_ROWS = 65_536
# Serial 0 in each system; the 1900 system's epoch absorbs Lotus' phantom 1900-02-29.
_EPOCH_1900 = date(1899, 12, 30)
_EPOCH_1904 = date(1904, 1, 1)


def check_workbook_file(path: Path) -> None:
    """Refuse what is not an `.xlsx`/`.xlsm` workbook before the reader sees it."""
    try:
        check_file(path)
    except WorkbookFileError as exc:
        raise SourceError(SOURCE, str(exc)) from None


def uses_1904_dates(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            workbook_xml = archive.read("xl/workbook.xml").decode("utf-8", "replace")
    except KeyError:
        raise SourceError(
            SOURCE, f"{path.name}: not an .xlsx workbook (no xl/workbook.xml)"
        ) from None
    except zipfile.BadZipFile as exc:
        raise SourceError(SOURCE, f"{path.name}: not an .xlsx workbook ({exc})") from None
    return (
        re.search(r"<(?:\w+:)?workbookPr\b[^>]*\bdate1904=\"(?:1|true)\"", workbook_xml) is not None
    )


def read_sheet(
    path: Path,
    sheet: str | None,
    header_row: int,
    date_column: str,
    value_column: str,
    ratio_columns: tuple[str, str],
) -> pa.Table:
    """The date column as date32 and, as float64, the ratio's two columns when the sheet has
    either of them, else the value column; one row per sheet row, read in one pass.

    `header_row` is the sheet's row number (1 = first row). Every problem names the cell.
    """
    check_workbook_file(path)
    date_1904 = uses_1904_dates(path)
    reader, sheet_name = _open(path, sheet)
    if sheet_xml_bytes(path, sheet_name) > STREAM_ABOVE_XML_BYTES:
        return _stream_sheet(
            path, sheet_name, header_row, date_column, value_column, ratio_columns, date_1904
        )
    candidates = {date_column, value_column, *ratio_columns}
    try:
        loaded = reader.load_sheet(
            sheet_name,
            header_row=header_row - 1,
            use_columns=lambda column: column.name in candidates,
            dtypes={date_column: "string", **dict.fromkeys(candidates - {date_column}, "float")},
            skip_whitespace_tail_rows=True,
            whitespace_as_null=True,
        )
        found = [info.name for info in loaded.selected_columns]
        headers = [str(info.name) for info in loaded.available_columns()]
    except Exception:  # fastexcel's own errors: a header row beyond the sheet, an empty sheet
        found, headers = [], []
    wanted = _wanted_columns(
        found, headers, path, sheet_name, header_row, date_column, value_column, ratio_columns
    )
    letters = {info.name: column_letter(info.absolute_index) for info in loaded.selected_columns}
    # An error's position is (rows after the header row, the column's index in the sheet's used
    # range); the used range may start right of column A, so map it to the column's letter.
    letter_by_index = {
        info.index: column_letter(info.absolute_index)
        for info in loaded.selected_columns
        if info.name in wanted
    }
    table, errors = loaded.to_arrow_with_errors()
    first_data_row = header_row + 1
    # only the columns this metric uses: an error in an unused value column is not its problem
    cell_errors = [e for e in (errors.errors if errors else []) if e.position[1] in letter_by_index]
    if cell_errors:
        problems = []
        for error in cell_errors[:5]:
            rows_below_header, col = error.position
            cell = f"{sheet_name}!{letter_by_index[col]}{header_row + rows_below_header}"
            problems.append(f"{cell}: {_describe(error.detail)}")
        more = len(cell_errors) - len(problems)
        raise SourceError(
            SOURCE,
            f"{path.name}: {'; '.join(problems)}{f' (and {more} more)' if more > 0 else ''}; "
            "correct the cells (an error cell is never read as zero)",
        )
    table = pa.table(
        {name: table.column(name) for name in wanted}  # fastexcel keeps the sheet's order
    )
    _refuse_empty_rows(table, path, sheet_name, letters[date_column], first_data_row)
    dates = _dates(
        table.column(date_column),
        date_1904,
        path,
        f"{sheet_name}!{letters[date_column]}",
        first_data_row,
    )
    return table.set_column(0, date_column, dates)


def _wanted_columns(
    found: list[str],
    headers: list[str],
    path: Path,
    sheet_name: str,
    header_row: int,
    date_column: str,
    value_column: str,
    ratio_columns: tuple[str, str],
) -> list[str]:
    """The date column and the ratio's two columns when the sheet has either, else the value
    column; an error naming the row when the header row lacks one."""
    ratio = any(name in found for name in ratio_columns)
    wanted = [date_column, *(ratio_columns if ratio else (value_column,))]
    missing = [name for name in wanted if name not in found]
    if missing:
        raise SourceError(
            SOURCE,
            f"{path.name}: sheet `{sheet_name}` row {header_row} has no "
            f"{', '.join(f'`{name}`' for name in missing)} header (found: "
            f"{', '.join(headers) or 'an empty row'}); set query.header_row or the column names",
        )
    return wanted


def _stream_sheet(
    path: Path,
    sheet_name: str,
    header_row: int,
    date_column: str,
    value_column: str,
    ratio_columns: tuple[str, str],
    date_1904: bool,
) -> pa.Table:
    """`read_sheet` for a sheet too large to hold: rows streamed with openpyxl, converted to
    Arrow every `_STREAM_BATCH_ROWS` rows, with the same results and errors as calamine's."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        worksheet = book[sheet_name]
        # a wrong `<dimension>` (some writers leave A1) would otherwise cut the rows short
        worksheet.reset_dimensions()
        rows = worksheet.iter_rows(min_row=header_row, values_only=True)
        header = next(rows, ())
        position = {}
        for index, name in enumerate(header):
            if name is not None and str(name).strip():
                position.setdefault(str(name), index)
        wanted = _wanted_columns(
            [name for name in (date_column, value_column, *ratio_columns) if name in position],
            list(position),
            path,
            sheet_name,
            header_row,
            date_column,
            value_column,
            ratio_columns,
        )
        indexes = [position[name] for name in wanted]
        letters = [column_letter(index) for index in indexes]
        chunks = [
            _stream_batch(batch, wanted, letters, path, sheet_name, date_1904)
            for batch in _data_batches(rows, indexes, header_row + 1, path, sheet_name, letters)
        ]
    finally:
        book.close()
    if not chunks:
        return pa.table(
            {
                name: pa.array([], pa.date32() if name == date_column else pa.float64())
                for name in wanted
            }
        )
    return pa.concat_tables(chunks)


def _data_batches(
    rows: Iterator[tuple], indexes: list[int], first_row: int, path: Path, sheet: str, letters
) -> Iterator[tuple[int, list[tuple]]]:
    """(sheet row of the batch's first row, the used cells of each row); trailing empty rows
    dropped, an empty row or a row without a date between data rows refused."""
    batch: list[tuple] = []
    batch_start = first_row
    blank_since: int | None = None
    for row_number, row in enumerate(rows, start=first_row):
        cells = tuple(_blank_to_none(row[i]) if i < len(row) else None for i in indexes)
        if all(cell is None for cell in cells):
            blank_since = blank_since or row_number
            continue
        if blank_since is not None:
            raise SourceError(
                SOURCE,
                f"{path.name}: sheet `{sheet}` row {blank_since} is empty between data rows; "
                "delete the empty row",
            )
        if cells[0] is None:
            raise SourceError(
                SOURCE, f"{path.name}: {sheet}!{letters[0]}{row_number} has no date; fill it in"
            )
        if not batch:
            batch_start = row_number
        batch.append(cells)
        if len(batch) == _STREAM_BATCH_ROWS:
            yield batch_start, batch
            batch = []
    if batch:
        yield batch_start, batch


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _stream_batch(
    numbered: tuple[int, list[tuple]],
    wanted: list[str],
    letters: list[str],
    path: Path,
    sheet: str,
    date_1904: bool,
) -> pa.Table:
    first_row, cells = numbered
    for offset, row in enumerate(cells):  # error cells first, as calamine's read reports them
        for letter, value in zip(letters, row, strict=True):
            if isinstance(value, str) and value.strip() in _ERROR_TEXTS:
                raise SourceError(
                    SOURCE,
                    f"{path.name}: {sheet}!{letter}{first_row + offset}: {value.strip()}; "
                    "correct the cells (an error cell is never read as zero)",
                )
    columns: dict[str, pa.Array] = {
        wanted[0]: _dates(
            pa.chunked_array([pa.array([_date_text(row[0]) for row in cells], pa.string())]),
            date_1904,
            path,
            f"{sheet}!{letters[0]}",
            first_row,
        )
    }
    for position, name in enumerate(wanted[1:], start=1):
        columns[name] = pa.array(
            [
                _number(row[position], f"{sheet}!{letters[position]}{first_row + offset}", path)
                for offset, row in enumerate(cells)
            ],
            pa.float64(),
        )
    return pa.table(columns)


def _date_text(value: object) -> str:
    """A date cell as calamine's text of it; serials and text dates as they are."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _number(value: object, cell: str, path: Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise SourceError(
        SOURCE,
        f"{path.name}: {cell}: `{str(value)[:40]}` is not a number; correct the cells "
        "(an error cell is never read as zero)",
    )


def _open(path: Path, sheet: str | None) -> tuple[fastexcel.ExcelReader, str]:
    """The reader and the sheet's name (the first sheet when none is named)."""
    try:
        reader = fastexcel.read_excel(path)
    except Exception as exc:  # fastexcel raises its own hierarchy; all mean "cannot open"
        raise SourceError(SOURCE, f"{path.name}: cannot open the workbook ({exc})") from None
    sheet_name = sheet if sheet is not None else reader.sheet_names[0]
    if sheet_name not in reader.sheet_names:
        raise SourceError(
            SOURCE,
            f"{path.name}: no sheet `{sheet_name}` (sheets: {', '.join(reader.sheet_names)}); "
            "set query.sheet",
        )
    return reader, sheet_name


def _describe(detail: str) -> str:
    kind = re.search(r"Error\((\w+)\)", detail)
    if kind:
        return _EXCEL_ERRORS.get(kind.group(1), kind.group(1))
    text = re.search(r"String\(\"(.*)\"\)", detail)
    if text:
        return f"`{text.group(1)[:40]}` is not a number"
    return detail


def _refuse_empty_rows(
    table: pa.Table, path: Path, sheet_name: str, date_letter: str, first_data_row: int
) -> None:
    """An empty row or a row without a date in the middle of the data is an error."""
    missing_date = pc.is_null(table.column(0))
    if not pc.any(missing_date).as_py():
        return
    index = pc.index(missing_date, True).as_py()
    row = first_data_row + index
    if all(table.column(i)[index].as_py() is None for i in range(table.num_columns)):
        raise SourceError(
            SOURCE,
            f"{path.name}: sheet `{sheet_name}` row {row} is empty between data rows; "
            "delete the empty row",
        )
    raise SourceError(
        SOURCE, f"{path.name}: {sheet_name}!{date_letter}{row} has no date; fill it in"
    )


def _dates(
    text: pa.ChunkedArray, date_1904: bool, path: Path, column_ref: str, first_data_row: int
) -> pa.Array:
    """Date cells (read as `YYYY-MM-DD hh:mm:ss`), text dates and bare serials → date32."""
    text = pc.utf8_trim_whitespace(text.combine_chunks())
    iso = pc.strptime(
        pc.utf8_slice_codeunits(text, 0, 10), "%Y-%m-%d", unit="s", error_is_null=True
    )
    german = pc.strptime(text, "%d.%m.%Y", unit="s", error_is_null=True)
    is_serial = pc.match_substring_regex(text, r"^\d+(\.\d+)?$")
    epoch = _EPOCH_1904 if date_1904 else _EPOCH_1900
    serial_days = pc.cast(
        pc.floor(pc.cast(pc.if_else(is_serial, text, None), pa.float64())), pa.int64()
    )
    epoch_seconds = (epoch - date(1970, 1, 1)).days * 86_400
    serial = pc.cast(pc.add(pc.multiply(serial_days, 86_400), epoch_seconds), pa.timestamp("s"))
    combined = pc.coalesce(pc.cast(iso, pa.timestamp("s")), german, serial)
    unreadable = pc.is_null(combined)
    if pc.any(unreadable).as_py():
        index = pc.index(unreadable, True).as_py()
        raise SourceError(
            SOURCE,
            f"{path.name}: {column_ref}{first_data_row + index}: `{text[index].as_py()[:40]}` "
            "is not a date; use a date cell, YYYY-MM-DD or DD.MM.YYYY",
        )
    return pc.cast(combined, pa.date32())
