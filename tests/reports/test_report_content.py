"""`okr report` on the demo warehouse: order, numbers, check-ins, changes — and its errors."""

from __future__ import annotations

import html
import re
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from report_helpers import okr

from okr_definitions.checkins import iso_week
from reports.formatting import format_delta, format_value

ATTENTION = ("off_track", "at_risk")


@pytest.fixture(scope="module")
def report(demo_report: Path) -> dict[str, str]:
    return {
        "html": demo_report.read_text(encoding="utf-8"),
        "md": demo_report.with_suffix(".md").read_text(encoding="utf-8"),
    }


def latest_rows(warehouse: Path) -> dict[str, dict]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = con.execute(
            "SELECT * FROM okr.kr_progress_daily "
            "WHERE as_of_date = (SELECT max(as_of_date) FROM okr.kr_progress_daily)"
        )
        columns = [d[0] for d in cursor.description]
        return {r[1]: dict(zip(columns, r, strict=True)) for r in cursor.fetchall()}
    finally:
        con.close()


def cards(page: str) -> dict[str, str]:
    """kr_id → the HTML of its card in the objectives section, in document order."""
    parts = re.split(r'(?=<div class="kr" id="kr-)', page)
    found = {}
    for part in parts[1:]:
        kr_id = re.match(r'<div class="kr" id="kr-([^"]+)"', part)
        assert kr_id is not None
        found[kr_id.group(1)] = part
    return found


def attributes(card: str) -> dict[str, str]:
    head = card[: card.index(">")]
    return {k: html.unescape(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', head)}


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def test_key_results_needing_attention_come_first(report, demo_warehouse: Path) -> None:
    rows = latest_rows(demo_warehouse)
    expected = sorted(
        (r for r in rows.values() if r["status"] in ATTENTION),
        key=lambda r: (ATTENTION.index(r["status"]), r["progress"] - r["expected_progress"]),
    )
    # the demo is built to have something to talk about in the check-in
    assert expected, "the demo should have an at-risk or off-track key result"
    page = report["html"]
    listed = re.findall(r'data-attention-kr="([^"]+)"', page)
    assert listed == [r["kr_id"] for r in expected]
    # the attention list is the first thing after the header, before any chart or card
    assert page.index('id="attention"') < page.index("<svg") < page.index('class="kr"')
    # the first card of the detail section is the worst key result of the worst objective
    first_card = next(iter(cards(page)))
    assert rows[first_card]["status"] == expected[0]["status"]
    # the Markdown twin has the same order
    md = report["md"]
    attention_md = md[md.index("## Needs attention") : md.index("## What changed")]
    positions = [attention_md.index(f"`{r['kr_id']}`") for r in expected]
    assert positions == sorted(positions)
    assert md.index("## Needs attention") < md.index("## Objectives and key results")


def test_numbers_match_the_progress_table(report, demo_warehouse: Path) -> None:
    rows = latest_rows(demo_warehouse)
    found = cards(report["html"])
    assert set(found) == set(rows)
    for kr_id, card in found.items():
        row, data = rows[kr_id], attributes(card)
        assert data["status"] == row["status"]
        assert data["as-of"] == str(row["as_of_date"])
        for column in ("value", "target", "progress"):
            assert float(data[column]) == pytest.approx(row[column], rel=1e-12), (kr_id, column)
        assert float(data["expected"]) == pytest.approx(row["expected_progress"])
        # …and what people read is that number in its unit
        text = text_of(card)
        assert format_value(row["value"], row["unit"]) in text
        assert format_value(row["target"], row["unit"]) in text
        assert f"{row['progress'] * 100:.0f} %" in text
        # every card carries its chart
        assert "<svg" in card and "</svg>" in card
        assert f"`{kr_id}`" in report["md"]


def test_changes_since_last_week_compare_with_the_row_seven_days_earlier(
    report, demo_warehouse: Path
) -> None:
    rows = latest_rows(demo_warehouse)
    day = next(iter(rows.values()))["as_of_date"]
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        before = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT kr_id, value, progress, status FROM okr.kr_progress_daily "
                "WHERE as_of_date = ?",
                [day - timedelta(days=7)],
            ).fetchall()
        }
    finally:
        con.close()
    assert set(before) == set(rows)  # the demo's newest week has a week before it
    page_cards = cards(report["html"])
    for kr_id, row in rows.items():
        delta = format_delta(row["value"] - before[kr_id][0], row["unit"])
        assert delta in text_of(page_cards[kr_id]), kr_id
    md = report["md"]
    status_part = md[md.index("### Status changes") : md.index("### Biggest moves")]
    changed = {k for k, r in rows.items() if r["status"] != before[k][2]}
    assert set(re.findall(r"- `([^`]+)`", status_part)) == changed
    moves_part = md[md.index("### Biggest moves") : md.index("## Objectives")]
    biggest = max(rows, key=lambda k: abs(rows[k]["progress"] - before[k][1]))
    assert re.findall(r"\| `([^`]+)` \|", moves_part)[0] == biggest


def test_checkin_comments_appear_beside_their_key_result(
    report, demo_definitions: Path, demo_warehouse: Path
) -> None:
    from okr_definitions.checkins import load_checkins

    checkins, problems = load_checkins(demo_definitions)
    assert not problems
    day = next(iter(latest_rows(demo_warehouse).values()))["as_of_date"]
    this_week = [c for c in checkins if iso_week(c.week_start) == iso_week(day)]
    assert this_week, "the demo copies the example check-in into the current week"
    page_cards = cards(report["html"])
    for checkin in this_week:
        card = text_of(page_cards[checkin.kr_id])
        assert " ".join(checkin.comment.split()) in " ".join(card.split())
        assert f"{checkin.confidence}/10" in card
        assert checkin.comment.split()[0] in report["md"]
    # a key result without a check-in says so instead of leaving a blank
    without = set(page_cards) - {c.kr_id for c in this_week}
    for kr_id in without:
        assert "No check-in" in text_of(page_cards[kr_id])


def test_report_without_a_check_in_folder_still_renders(
    demo_warehouse: Path, tmp_path: Path
) -> None:
    from reports.weekly import build_weekly_report, latest_week

    week = latest_week(demo_warehouse)
    built = build_weekly_report(demo_warehouse, week, definitions_dir=tmp_path)
    assert built.checkins == [] and built.key_results
    assert all(kr.checkin is None for kr in built.key_results)


def test_invalid_check_in_fails_naming_file_line_and_field(
    demo_warehouse: Path, demo_definitions: Path, tmp_path: Path
) -> None:
    definitions = tmp_path / "defs"
    shutil.copytree(demo_definitions, definitions)
    bad = definitions / "checkins" / "broken.yaml"
    bad.write_text(
        "week: 2026-W40\n"
        "key_results:\n"
        "  won-revenue:\n"
        "    confidence: 12\n"
        "  won-revenu:\n"
        "    comment: typo in the id\n"
    )
    out = tmp_path / "r.html"
    result = okr("report", "-w", str(demo_warehouse), "-d", str(definitions), "--out", str(out))
    assert result.returncode == 1
    assert "broken.yaml:4" in result.stderr and "confidence" in result.stderr
    assert not out.exists()  # nothing half-written
    bad.write_text("week: 2026-W40\nkey_results:\n  won-revenu:\n    comment: typo\n")
    result = okr("report", "-w", str(demo_warehouse), "-d", str(definitions), "--out", str(out))
    assert result.returncode == 1
    assert "broken.yaml:3" in result.stderr and "did you mean `won-revenue`" in result.stderr


def test_week_option_and_a_week_without_data(demo_warehouse: Path, tmp_path: Path) -> None:
    result = okr(
        "report", "-w", str(demo_warehouse), "--week", "2020-W01", "--out", str(tmp_path / "x.html")
    )
    assert result.returncode == 1
    assert "no key-result rows in 2020-W01" in result.stderr
    assert okr("report", "-w", str(demo_warehouse), "--week", "last week").returncode == 2
