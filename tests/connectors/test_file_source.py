"""The file source reads real CSV and Parquet files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.base import MetricRequest
from connectors.errors import SourceError
from connectors.file import fetch_file
from okr_definitions.sources.file import FileQuery


@pytest.fixture
def defs_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "project" / "okr_definitions"
    folder.mkdir(parents=True)
    return folder


def _fetch(defs_dir: Path, path: str, start: date, end: date, **query: str):
    return fetch_file(defs_dir, [MetricRequest("m", FileQuery(path=path, **query))], start, end)


def test_csv_values_in_the_window(defs_dir: Path) -> None:
    (defs_dir / "a.csv").write_text("date,value\n2026-10-01,5\n2026-10-02,7\n2026-10-03,9\n")
    result = _fetch(defs_dir, "a.csv", date(2026, 10, 2), date(2026, 10, 3))
    read = result.raw["request_hash"][0].as_py()  # each row names the read it came from
    assert result.daily.to_pylist() == [
        {
            "metric_id": "m",
            "date": date(2026, 10, 2),
            "value": 7.0,
            "numerator": None,
            "denominator": None,
            "request_hash": read,
        },
        {
            "metric_id": "m",
            "date": date(2026, 10, 3),
            "value": 9.0,
            "numerator": None,
            "denominator": None,
            "request_hash": read,
        },
    ]
    assert result.raw.column("rows_read").to_pylist() == [2]
    assert len(result.raw.column("file_sha256")[0].as_py()) == 64


def test_numerator_denominator_file_is_a_rate(defs_dir: Path) -> None:
    (defs_dir / "r.csv").write_text("date,numerator,denominator\n2026-10-01,1,4\n2026-10-02,3,0\n")
    rows = _fetch(defs_dir, "r.csv", date(2026, 10, 1), date(2026, 10, 2)).daily.to_pylist()
    assert [(r["value"], r["numerator"], r["denominator"]) for r in rows] == [
        (0.25, 1.0, 4.0),
        (None, 3.0, 0.0),  # no rate on a day without a denominator, but the counts are kept
    ]


def test_parquet(defs_dir: Path) -> None:
    pq.write_table(
        pa.table({"day": pa.array([date(2026, 10, 1)], pa.date32()), "n": [3]}),
        defs_dir / "p.parquet",
    )
    rows = _fetch(
        defs_dir,
        "p.parquet",
        date(2026, 10, 1),
        date(2026, 10, 1),
        date_column="day",
        value_column="n",
    ).daily.to_pylist()
    assert [(r["date"], r["value"]) for r in rows] == [(date(2026, 10, 1), 3.0)]


def test_duplicate_dates_keep_the_last_line_and_are_flagged(defs_dir: Path) -> None:
    (defs_dir / "d.csv").write_text("date,value\n2026-10-01,5\n2026-10-01,6\n")
    result = _fetch(defs_dir, "d.csv", date(2026, 10, 1), date(2026, 10, 1))
    assert [r["value"] for r in result.daily.to_pylist()] == [6.0]
    assert result.flags.to_pylist()[0]["flag"] == "duplicate_rows"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("when,value\n2026-10-01,5\n", "no `date` column"),
        ("date,value\n01.10.2026,5\n", "YYYY-MM-DD"),
        ("date,value\n2026-10-01,five\n", "must hold numbers"),
    ],
)
def test_bad_files_name_the_file_and_the_fix(defs_dir: Path, content: str, message: str) -> None:
    (defs_dir / "bad.csv").write_text(content)
    with pytest.raises(SourceError) as error:
        _fetch(defs_dir, "bad.csv", date(2026, 10, 1), date(2026, 10, 1))
    assert "bad.csv" in str(error.value) and message in str(error.value)


def test_paths_outside_the_project_are_refused(defs_dir: Path) -> None:
    with pytest.raises(SourceError, match="leaves the project"):
        _fetch(defs_dir, "../../../etc/passwd", date(2026, 10, 1), date(2026, 10, 1))
