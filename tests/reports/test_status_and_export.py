"""`okr status` with and without colour, and `okr export` for BI tools, on the demo warehouse."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest
from report_helpers import okr

from destinations.files.export import PUBLIC_TABLES
from reports.formatting import format_value

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def latest(warehouse: Path) -> list[dict]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = con.execute(
            "SELECT p.*, k.title FROM okr.kr_progress_latest AS p JOIN okr.key_results AS k "
            "USING (kr_id) ORDER BY kr_id"
        )
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
    finally:
        con.close()


def test_status_piped_has_no_colour_and_cuts_nothing(demo_warehouse: Path) -> None:
    # piped, with room for the full table: one line per key result (narrower COLUMNS:
    # tests/cli/test_command_line.py::test_status_piped_honours_columns)
    result = okr("status", "-w", str(demo_warehouse), env={"COLUMNS": "250"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\x1b[" not in out
    assert "…" not in out
    for row in latest(demo_warehouse):
        line = next(ln for ln in out.splitlines() if f"  {row['kr_id']} " in ln)
        # id, status, value against target with its unit, on the key result's own line
        assert row["status"] in line
        value = format_value(row["value"], row["unit"])
        assert f"{value} → {format_value(row['target'], row['unit'])}" in line
        assert f"{row['progress'] * 100:.0f} % of {row['expected_progress'] * 100:.0f} %" in line
        assert row["title"] in out  # titles whole, not folded
    # grouped by team and objective
    assert out.index("Growth (growth)") < out.index("Sales (sales)")
    assert "(product-pages-convert)" in out and "(grow-new-business)" in out


def test_status_with_force_color_has_ansi_and_no_color_wins(demo_warehouse: Path) -> None:
    coloured = okr("status", "-w", str(demo_warehouse), env={"FORCE_COLOR": "1"})
    assert coloured.returncode == 0, coloured.stderr
    assert "\x1b[" in coloured.stdout
    # the colour is on the status: strip it and the words are still there
    plain = ANSI.sub("", coloured.stdout)
    assert "off_track" in plain or "at_risk" in plain
    no_color = okr("status", "-w", str(demo_warehouse), env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert no_color.returncode == 0
    assert "\x1b[" not in no_color.stdout
    assert "on_track" in no_color.stdout


def test_status_shows_the_change_over_seven_days_and_trust_flags(demo_warehouse: Path) -> None:
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        day, flagged = con.execute(
            "SELECT max(as_of_date), list(kr_id ORDER BY kr_id) FILTER (WHERE len(flags) > 0) "
            "FROM okr.kr_progress_latest"
        ).fetchone()
    finally:
        con.close()
    # Room for the full table: pytest-xdist's workers export COLUMNS=80, which a pipe honours
    result = okr("status", "-w", str(demo_warehouse), "--date", str(day), env={"COLUMNS": "250"})
    assert result.returncode == 0, result.stderr
    assert "7 days" in result.stdout and "trust" in result.stdout
    for kr_id in flagged or []:
        assert f"⚑ {kr_id}" in result.stdout  # the trust notes say why
    team = okr("status", "-w", str(demo_warehouse), "--team", "sales")
    assert "won-revenue" in team.stdout and "product-page-conversion" not in team.stdout
    assert okr("status", "-w", str(demo_warehouse), "--date", "tomorrow").returncode == 2


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_every_public_table(demo_warehouse: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "bi"
    result = okr("export", "--format", fmt, "--out", str(out), "-w", str(demo_warehouse))
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        for table in PUBLIC_TABLES:
            path = out / f"{table}.{fmt}"
            assert path.exists(), path
            (expected,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
            reader = "read_parquet" if fmt == "parquet" else "read_csv_auto"
            (rows,) = con.execute(f"SELECT count(*) FROM {reader}(?)", [str(path)]).fetchone()
            assert rows == expected, table
        assert not list(out.glob(".*partial"))
    finally:
        con.close()
    if fmt == "csv":
        with (out / "okr.kr_progress_daily.csv").open() as handle:
            first = next(csv.DictReader(handle))
        # a list column is flat text a spreadsheet can show, not DuckDB's [a, b]
        assert not first["flags"].startswith("[")


def test_export_refuses_an_unknown_format(demo_warehouse: Path, tmp_path: Path) -> None:
    result = okr("export", "--format", "xlsx", "--out", str(tmp_path), "-w", str(demo_warehouse))
    assert result.returncode == 2
    assert not list(tmp_path.iterdir())
