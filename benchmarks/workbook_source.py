"""The file source on a one-million-row .xlsx sheet: wall time and peak memory of a read.

    python -m benchmarks.workbook_source [--rows 1000000] [--extra-columns 6]

A workbook of `rows` days (date cells and a value column) is written once with xlsxwriter in
its constant-memory mode; then a fresh child process reads it the way a run does
(`connectors.file.parse.read_metric_file`) and reports its wall time and peak RSS, next to
the same child reading the same rows from a CSV file (the reference). Not part of `run_all`:
it answers one question of the spreadsheet issue (does a million-row sheet stay within
bounded memory?).

It also reads the sheet held whole by calamine whatever its size (`--hold` in the child), so a
sheet over the streaming bound shows both readers. Figures: benchmarks/RESULTS.md, "xlsx file
source" (a two-column million-row sheet is held: 1.93 s, 276 MiB; with six more columns it is
streamed: 222 MiB where calamine needs 636 MiB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import xlsxwriter


def write_files(folder: Path, rows: int, extra_columns: int = 0) -> None:
    """big.xlsx and big.csv with the same rows; `extra_columns` unused columns widen the sheet
    (an export with more than the metric's two columns), which only the xlsx gets."""
    book = xlsxwriter.Workbook(str(folder / "big.xlsx"), {"constant_memory": True})
    sheet = book.add_worksheet("Daily")
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["date", "value", *(f"note {n}" for n in range(extra_columns))])
    first = date(1900, 3, 1)
    with (folder / "big.csv").open("w") as csv:
        csv.write("date,value\n")
        for index in range(rows):
            day = first + timedelta(days=index)
            sheet.write_datetime(index + 1, 0, day, as_date)
            sheet.write_number(index + 1, 1, index % 97)
            for column in range(extra_columns):
                sheet.write_number(index + 1, 2 + column, index * 7 + column)
            csv.write(f"{day.isoformat()},{index % 97}\n")
    book.close()


def child(folder: Path, name: str, hold: bool) -> None:
    from connectors.file import workbook

    if hold:  # the sheet read whole by calamine, whatever its size (the reference for memory)
        workbook.STREAM_ABOVE_XML_BYTES = 2**62
    from connectors.base import MetricRequest
    from connectors.file.parse import read_metric_file
    from okr_definitions.sources.file import FileQuery

    began = time.perf_counter()
    table, _, _ = read_metric_file(folder, MetricRequest("m", FileQuery(path=name)))
    seconds = time.perf_counter() - began
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": table.num_rows, "seconds": seconds, "peak_rss_mib": peak_mib}))


def sheet_xml_mib(folder: Path) -> float:
    from okr_definitions.workbook_files import sheet_xml_bytes

    return sheet_xml_bytes(folder / "big.xlsx", "Daily") / 2**20


def measure(folder: Path, name: str, hold: bool = False) -> dict:
    command = [sys.executable, "-m", "benchmarks.workbook_source", "--child", str(folder), name]
    out = subprocess.run(
        [*command, *(["--hold"] if hold else [])],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rows", type=int, default=1_000_000)
    args.add_argument("--extra-columns", type=int, default=0)
    args.add_argument("--child", nargs=2, metavar=("FOLDER", "FILE"))
    args.add_argument("--hold", action="store_true")
    parsed = args.parse_args()
    if parsed.child:
        child(Path(parsed.child[0]), parsed.child[1], parsed.hold)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "okr_definitions"
        folder.mkdir()
        began = time.perf_counter()
        write_files(folder, parsed.rows, parsed.extra_columns)
        print(
            f"wrote {parsed.rows:,} rows x {2 + parsed.extra_columns} columns in "
            f"{time.perf_counter() - began:.1f} s; xlsx "
            f"{(folder / 'big.xlsx').stat().st_size / 2**20:.1f} MiB, sheet XML "
            f"{sheet_xml_mib(folder):.0f} MiB"
        )
        print("big.xlsx as a run reads it", measure(folder, "big.xlsx"))
        print("big.xlsx held whole by calamine", measure(folder, "big.xlsx", hold=True))
        print("big.csv (reference)", measure(folder, "big.csv"))


if __name__ == "__main__":
    main()
