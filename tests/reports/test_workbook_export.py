"""`okr export --format xlsx` on the demo warehouse: read back with a reader, and opened by
headless LibreOffice (Debian `libreoffice-calc`), converted once to PDF and then to pictures."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import duckdb
import fastexcel
import pytest
from report_helpers import okr

from reports.formatting import STATUS_COLOUR, STATUS_LABEL


@pytest.fixture(scope="module")
def workbook(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("xlsx-export")
    result = okr("export", "--format", "xlsx", "--out", str(out), "-w", str(demo_warehouse))
    assert result.returncode == 0, result.stderr
    assert "13 key results" in result.stdout
    return out / "okr-scorecard.xlsx"


@pytest.fixture(scope="module")
def pages(workbook: Path) -> list[tuple[int, int, bytes]]:
    """Every printed page of the workbook as (width, height, RGB bytes): one LibreOffice run."""
    soffice = shutil.which("libreoffice") or shutil.which("soffice")
    assert soffice, "install Debian's libreoffice-calc (see .ci/run)"
    out = workbook.parent / "pdf"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{out / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    pdf = out / "okr-scorecard.pdf"
    assert pdf.stat().st_size > 0
    subprocess.run(
        ["pdftoppm", "-r", "40", "-f", "1", "-l", "3", str(pdf), str(out / "page")],
        check=True,
        timeout=120,
    )
    return [_read_ppm(path) for path in sorted(out.glob("page*.ppm"))]


def _read_ppm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    match = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    assert match, path
    width, height = int(match.group(1)), int(match.group(2))
    return width, height, data[match.end() :]


def _pixels_near(rgb: bytes, colour: str, tolerance: int = 24) -> int:
    target = bytes.fromhex(colour.lstrip("#"))
    return sum(
        1
        for i in range(0, len(rgb) - 2, 3)
        if all(abs(rgb[i + c] - target[c]) <= tolerance for c in range(3))
    )


def _latest(warehouse: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT kr_id, status, value, target, progress, expected_progress "
            "FROM okr.kr_progress_latest"
        ).fetchall()
    finally:
        con.close()
    return {row[0]: row[1:] for row in rows}


def test_scorecard_cells_read_back_as_the_warehouse_has_them(
    workbook: Path, demo_warehouse: Path
) -> None:
    reader = fastexcel.read_excel(workbook)
    assert reader.sheet_names == ["Scorecard", "History", "Charts"]
    scorecard = reader.load_sheet("Scorecard").to_arrow().to_pylist()
    expected = _latest(demo_warehouse)
    assert sorted(row["KR ID"] for row in scorecard) == sorted(expected)
    for row in scorecard:
        status, value, target, progress, expected_progress = expected[row["KR ID"]]
        assert row["Status"] == STATUS_LABEL[status]
        assert row["Value"] == pytest.approx(value)
        assert row["Target"] == pytest.approx(target)
        assert row["Progress"] == pytest.approx(progress)
        assert row["Expected"] == pytest.approx(expected_progress)
    history = reader.load_sheet("History").to_arrow()
    # every key result on every day of the demo so far (it runs through yesterday, so the
    # count grows by one day a day)
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        ((key_results, days, rows),) = con.execute(
            "SELECT count(DISTINCT kr_id), count(DISTINCT as_of_date), count(*) "
            "FROM okr.kr_progress_daily"
        ).fetchall()
    finally:
        con.close()
    assert key_results == 13 and days >= 64 and rows == key_results * days
    assert history.num_rows == rows


def test_workbook_has_charts_frozen_headers_filters_and_formats(workbook: Path) -> None:
    with zipfile.ZipFile(workbook) as archive:
        names = archive.namelist()
        scorecard = archive.read("xl/worksheets/sheet1.xml").decode()
        styles = archive.read("xl/styles.xml").decode()
        charts = [archive.read(n).decode() for n in names if n.startswith("xl/charts/chart")]
    assert len(charts) == 5  # one per demo objective
    assert all("<c:lineChart>" in chart for chart in charts)
    assert 'ySplit="1"' in scorecard and 'state="frozen"' in scorecard
    assert "<autoFilter ref=" in scorecard
    assert scorecard.count("<cfRule ") == len(STATUS_COLOUR)  # a colour per status
    assert 'formatCode="0%"' in styles and 'formatCode="yyyy-mm-dd"' in styles


def test_libreoffice_prints_the_scorecard_with_status_colours(pages) -> None:
    assert pages, "LibreOffice printed no page"
    width, height, first = pages[0]
    assert width > 100 and height > 100
    # not blank: a good share of the page is ink, not white
    ink = sum(1 for i in range(0, len(first), 3) if first[i : i + 3] != b"\xff\xff\xff")
    assert ink > len(first) // 3 // 100
    # the demo has on-track, at-risk and achieved key results: their cells are filled
    for status in ("on_track", "at_risk", "achieved"):
        assert _pixels_near(first, STATUS_COLOUR[status]) > 5, status


def test_round_trip_export_then_import_gives_the_same_objectives_and_key_results(
    workbook: Path, demo_warehouse: Path, tmp_path: Path
) -> None:
    import yaml

    out = tmp_path / "imported"
    result = okr("import", str(workbook), "--out", str(out))
    assert result.returncode == 0, result.stderr
    imported = yaml.safe_load((out / "okr.yaml").read_text())["objectives"]
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        objectives = con.execute(
            "SELECT objective_id, title, team, period_start::VARCHAR, period_end::VARCHAR "
            "FROM okr.objectives ORDER BY objective_id"
        ).fetchall()
        key_results = con.execute(
            "SELECT objective_id, kr_id, title, unit FROM okr.key_results ORDER BY kr_id"
        ).fetchall()
    finally:
        con.close()
    assert (
        sorted(
            (o["id"], o["title"], o["team"], o["period"]["start"], o["period"]["end"])
            for o in imported
        )
        == objectives
    )
    assert sorted(
        (o["id"], kr["id"], kr["title"], kr.get("unit"))
        for o in imported
        for kr in o["key_results"]
    ) == sorted(key_results, key=lambda row: (row[0], row[1]))
