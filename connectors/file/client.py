"""Reads a metric's file from disk: CSV, Parquet, or one sheet of an `.xlsx`/`.xlsm` workbook
(workbook.py), as the table of columns the file holds."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from connectors.errors import SourceError
from connectors.file.requests import file_format
from connectors.file.settings import SOURCE
from okr_definitions.sources.file import FileQuery


def read_table(path: Path, query: FileQuery) -> pa.Table:
    fmt = file_format(path, query)
    if fmt == "xlsx":
        return _read_workbook(path, query)
    try:
        if fmt == "parquet":
            # imported for a Parquet file only: with Arrow's filesystems (S3, GCS, Azure, HDFS)
            # it is ~20 ms that `okr validate` and `okr run` of CSV exports need not pay
            import pyarrow.parquet as pq

            return pq.read_table(path)
        return pacsv.read_csv(path)
    except FileNotFoundError:
        raise SourceError(SOURCE, f"{path.name}: file not found") from None
    except pa.ArrowInvalid as exc:
        raise SourceError(SOURCE, f"{path.name}: cannot read as {fmt}: {exc}") from None


def _read_workbook(path: Path, query: FileQuery) -> pa.Table:
    if not path.is_file():
        raise SourceError(SOURCE, f"{path.name}: file not found")
    # fastexcel and the workbook checks load for a workbook only
    from connectors.file.workbook import read_sheet

    return read_sheet(
        path,
        query.sheet,
        query.header_row,
        query.date_column,
        query.value_column,
        (query.numerator_column, query.denominator_column),
    )
