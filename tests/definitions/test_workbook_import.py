"""`okr import`: tracker workbooks (built here with xlsxwriter) → definitions YAML."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import xlsxwriter
import yaml
from click.testing import Result
from typer.testing import CliRunner

from okr_cli.main import app
from okr_definitions import workbook_import
from okr_definitions.lint import activity_reason
from okr_definitions.workbook_import import ImportError_, parse_target, read_workbook


def okr(*args: str) -> Result:
    """`okr` in this process (typer's runner): what is tested is the import, not the process,
    and a subprocess would pay the CLI's imports again for every call."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250", "NO_COLOR": "1"})


@pytest.mark.parametrize(
    ("text", "german", "expected"),
    [
        ("ca. 40 %", True, ("40%", "%")),
        ("+40 % ggü. Q2", True, ("+40%", "%")),
        ("1,5 s", True, (1.5, "s")),
        ("€600k", True, (600000.0, "€")),
        ("3.200", True, (3200.0, None)),
        ("2,5 Mio. €", True, (2500000.0, "€")),
        ("1.5 s", False, (1.5, "s")),
        ("3,200", False, (3200.0, None)),
        ("1,50", False, (None, None)),  # neither an English decimal nor a thousands group
        ("about double", False, (None, None)),
        (40, False, (40.0, None)),
    ],
)
def test_text_targets_are_parsed_only_where_unambiguous(
    text: object, german: bool, expected: tuple
) -> None:
    assert parse_target(text, german) == expected


@pytest.mark.parametrize(
    ("title", "activity"),
    [
        ("10 Blogartikel veröffentlichen", True),
        ("Neues CRM einführen", True),
        ("Kundenbefragung durchführen", True),
        ("Landingpage erstellen", True),
        ("Feature X launchen", True),
        ("Publish 10 blog posts", True),
        ("Organische Sitzungen +40 %", False),
        ("Newsletter-Öffnungsrate von 30 % auf 35 %", False),
    ],
)
def test_the_activity_check_knows_german(title: str, activity: bool) -> None:
    assert (activity_reason(title) is not None) is activity


def _german_tracker(path: Path) -> None:
    """The layout teams keep: a title row, German headers in row 2, merged objective cells."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Tracker")
    sheet.write(0, 0, "OKR Q3 2026 – Marketing")
    sheet.write_row(
        1,
        0,
        [
            "Ziel",
            "Schlüsselergebnis",
            "Verantwortlich",
            "Quartal",
            "Ausgangswert",
            "Zielwert",
            "Aktueller Wert",
            "Einheit",
        ],
    )
    sheet.merge_range(2, 0, 4, 0, "Mehr Menschen finden uns")
    sheet.write_row(
        2, 1, ["Organische Sitzungen +40 %", "Growth", "Q3 2026", "", "+40 % ggü. Q2", 5120]
    )
    sheet.write_row(
        3, 1, ["Ladezeit der Startseite unter 1,5 s", "Growth", "Q3 2026", "1,9 s", "1,5 s", "1,7"]
    )
    sheet.write_row(4, 1, ["10 Blogartikel veröffentlichen", "Growth", "Q3 2026", "", 10])
    sheet.write_row(
        5,
        0,
        [
            "Neue Kunden wählen uns",
            "Gewonnener Umsatz erreicht 600k",
            "Sales",
            "Q3 2026",
            "",
            "€600k",
            "",
            "€",
        ],
    )
    sheet.write_row(6, 1, ["Neue MQLs", "Sales", "Q3 2026", "", "etwa das Doppelte"])
    book.close()


def test_import_a_german_tracker_then_validate_asks_to_bind_each_metric(tmp_path: Path) -> None:
    workbook = tmp_path / "okr.xlsx"
    _german_tracker(workbook)
    out = tmp_path / "defs"
    result = okr("import", str(workbook), "--out", str(out), "--organisation", "Acme")
    assert result.exit_code == 0, result.stderr
    written = yaml.safe_load((out / "okr.yaml").read_text())
    assert written["organisation"] == {"name": "Acme", "timezone": "UTC"}
    assert [t["id"] for t in written["teams"]] == ["growth", "sales"]
    assert written["metrics"] == []
    first, second = written["objectives"]
    assert (first["id"], first["team"], first["period"]) == (
        "mehr-menschen-finden-uns",
        "growth",
        "2026-Q3",
    )
    # the merged objective cell covers all three key-result rows
    assert [
        (kr["title"], kr["target"], kr.get("baseline"), kr.get("unit"))
        for kr in first["key_results"]
    ] == [
        ("Organische Sitzungen +40 %", "+40%", None, "%"),
        ("Ladezeit der Startseite unter 1,5 s", 1.5, 1.9, "s"),
        ("10 Blogartikel veröffentlichen", 10.0, None, None),
    ]
    assert [(kr["id"], kr["metric"], kr["target"]) for kr in second["key_results"]] == [
        ("gewonnener-umsatz-erreicht-600k", "gewonnener-umsatz-erreicht-600k", 600000.0),
        ("neue-mqls", "neue-mqls", None),
    ]
    report = result.stdout
    assert "2 typed-in current value(s) not imported" in report
    assert "left for you: Tracker!F7: `etwa das Doppelte` (target)" in report
    # the activity check in German, reported once by the lint
    assert report.count("10 Blogartikel veröffentlichen") == 1 and "activity" in report

    # one validate names everything left to do: the target the import could not read and
    # every metric to bind
    validate = okr("validate", str(out), "--offline")
    assert validate.exit_code == 1
    assert "key result `neue-mqls` has no target yet" in validate.stderr
    assert "bind `neue-mqls` to a source metric" in validate.stderr
    assert "bind `organische-sitzungen-40` to a source metric" in validate.stderr
    defs = out / "okr.yaml"
    defs.write_text(defs.read_text().replace("target: null", "target: 200"))
    validate = okr("validate", str(out), "--offline")
    assert validate.exit_code == 1
    assert "has no target yet" not in validate.stderr
    assert "bind `neue-mqls` to a source metric" in validate.stderr


def test_import_never_overwrites_without_force(tmp_path: Path) -> None:
    workbook = tmp_path / "okr.xlsx"
    _german_tracker(workbook)
    out = tmp_path / "defs"
    out.mkdir()
    (out / "okr.yaml").write_text("# mine\n")
    result = okr("import", str(workbook), "--out", str(out))
    assert result.exit_code == 1
    assert "exists; use --force" in result.stderr
    assert (out / "okr.yaml").read_text() == "# mine\n"
    assert okr("import", str(workbook), "--out", str(out), "--force").exit_code == 0
    assert "Mehr Menschen finden uns" in (out / "okr.yaml").read_text()


def _english_tracker(path: Path, rows: list[list[object]], header: list[str]) -> None:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("KRs")
    sheet.write_row(3, 0, header)
    for index, row in enumerate(rows, start=4):
        sheet.write_row(index, 0, row)
    book.close()


def test_header_row_and_column_map(tmp_path: Path) -> None:
    workbook = tmp_path / "t.xlsx"
    _english_tracker(
        workbook,
        [["Grow", "Sessions reach 3,200 a day", "Q4/2026", "3,200"]],
        ["Objective", "Key result", "Quarter", "Goal value"],
    )
    out = tmp_path / "defs"
    result = okr(
        "import",
        str(workbook),
        "--out",
        str(out),
        "--header-row",
        "4",
        "--map",
        "Goal value=target",
    )
    assert result.exit_code == 0, result.stderr
    (objective,) = yaml.safe_load((out / "okr.yaml").read_text())["objectives"]
    assert objective["period"] == "2026-Q4"
    assert objective["key_results"][0]["target"] == 3200.0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [["Grow", "Sessions up", "Q4 2026", 5], ["Grow", "Sessions up", "Q4 2026", 6]],
            "t.xlsx: KRs!B6: key result `Sessions up` appears twice (also KRs!B5)",
        ),
        (
            [["Grow", "Sessions up", "Q4 2026", 5], [], ["Grow", "Leads up", "Q4 2026", 6]],
            "t.xlsx: sheet `KRs` row 6 is empty between key-result rows",
        ),
    ],
)
def test_bad_trackers_name_the_cell_and_write_nothing(
    tmp_path: Path, rows: list, message: str
) -> None:
    workbook = tmp_path / "t.xlsx"
    _english_tracker(workbook, rows, ["Objective", "Key Result", "Quarter", "Target"])
    out = tmp_path / "defs"
    result = okr("import", str(workbook), "--out", str(out))
    assert result.exit_code == 1
    assert message in result.stderr.replace("\n", " ")
    assert not (out / "okr.yaml").exists()


def test_a_header_that_cannot_be_found_and_a_legacy_xls(tmp_path: Path) -> None:
    workbook = tmp_path / "t.xlsx"
    _english_tracker(workbook, [["a", "b"]], ["Thing", "Other thing"])
    result = okr("import", str(workbook), "--out", str(tmp_path / "defs"))
    assert result.exit_code == 1
    assert "t.xlsx: sheet `KRs` rows 1-20: no header row with an Objective" in result.stderr
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    result = okr("import", str(legacy), "--out", str(tmp_path / "defs"))
    assert result.exit_code == 1
    assert "old.xls: a legacy .xls workbook; save it as .xlsx" in result.stderr
    assert not (tmp_path / "defs").exists()


def test_period_dates_from_the_scorecard_columns(tmp_path: Path) -> None:
    workbook = tmp_path / "s.xlsx"
    book = xlsxwriter.Workbook(str(workbook))
    sheet = book.add_worksheet("Scorecard")
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["Objective", "Key Result", "Target", "Period start", "Period end"])
    sheet.write_row(1, 0, ["Grow", "Sessions 500", 500])
    sheet.write_datetime(1, 3, datetime(2026, 10, 1), as_date)
    sheet.write_datetime(1, 4, datetime(2026, 12, 31), as_date)
    book.close()
    out = tmp_path / "defs"
    assert okr("import", str(workbook), "--out", str(out)).exit_code == 0
    (objective,) = yaml.safe_load((out / "okr.yaml").read_text())["objectives"]
    assert objective["period"] == {"start": "2026-10-01", "end": "2026-12-31"}


def test_a_sheet_far_larger_than_a_tracker_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A million-row export picked by mistake is refused from the zip's directory, before
    calamine would hold it (the bound lowered so that a small sheet stands in for it)."""
    workbook = tmp_path / "t.xlsx"
    rows = [["Grow", f"Sessions up {n}", "Q4 2026", n] for n in range(400)]
    _english_tracker(workbook, rows, ["Objective", "Key Result", "Quarter", "Target"])
    assert len(read_workbook(workbook).objectives[0].key_results) == 400
    monkeypatch.setattr(workbook_import, "MAX_TRACKER_XML_BYTES", 10_000)
    with pytest.raises(ImportError_) as refused:
        read_workbook(workbook)
    message = str(refused.value)
    assert message.startswith("t.xlsx: sheet `KRs` holds ")
    assert "far more than an OKR tracker" in message and "--sheet" in message
