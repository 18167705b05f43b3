"""What every reader of Excel workbooks checks first (the file source and `okr import`).

Refuses what is not an `.xlsx`/`.xlsm` workbook before a reader sees it: calamine would read a
legacy `.xls`, and an encrypted workbook fails inside the readers with unrelated zip errors.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted OOXML workbook is an OLE container holding this stream (UTF-16 name).
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class WorkbookFileError(ValueError):
    """Not a readable .xlsx/.xlsm workbook; the message starts with the file's name."""


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def check_workbook_file(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(_OLE_MAGIC):
        if _ENCRYPTION_STREAM in path.read_bytes():
            raise WorkbookFileError(
                f"{path.name}: the workbook is encrypted (password-protected); "
                "save a copy without a password"
            )
        raise WorkbookFileError(
            f"{path.name}: a legacy .xls workbook; save it as .xlsx (Excel 2007 or later)"
        )
    if not head.startswith(_ZIP_MAGIC) or not zipfile.is_zipfile(path):
        raise WorkbookFileError(f"{path.name}: not an .xlsx workbook (not a zip file)")


def sheet_xml_bytes(path: Path, sheet_name: str) -> int:
    """The uncompressed size of the sheet's XML, from the zip's directory (nothing unpacked
    but the two small files that say which part holds the sheet): what a reader that holds the
    sheet will need, known before it starts (0 when the package is laid out unusually)."""
    with zipfile.ZipFile(path) as archive:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        rel_id = next(
            (
                node.get(f"{_REL_NS}id")
                for node in book.iter(f"{_MAIN_NS}sheet")
                if node.get("name") == sheet_name
            ),
            None,
        )
        target = next(
            (
                node.get("Target", "")
                for node in rels.iter(f"{_PACKAGE_REL_NS}Relationship")
                if node.get("Id") == rel_id
            ),
            "",
        )
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        try:
            return archive.getinfo(part).file_size
        except KeyError:  # an unusual package layout: calamine finds the sheet its own way
            return 0
