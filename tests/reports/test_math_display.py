"""What people read about the math of issue 21: the numbers a relative target was derived
from, a level's met/breached verdict with its days in breach (and no pace ramp), and the key
results of a period that has not started — in `okr status`, the check-in report and the
Dagster UI summary.

One real DuckDB file, written as the pipeline writes it (definition rows, staging rows, then
the SQL models), shared by the module; the expected numbers are worked out by hand below.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from report_helpers import okr
from rich.console import Console

from reports.charts import kr_chart_spec
from reports.html import render_html
from reports.markdown import render_markdown
from reports.summary import progress_summary_markdown
from reports.terminal import print_status
from reports.weekly import build_weekly_report
from warehouse.db import connect, connection
from warehouse.progress import compute_objective_progress, compute_progress, not_started_rows
from warehouse.queries import current_rows, not_started_status_rows, status_rows

AS_OF = date(2026, 9, 2)  # a Wednesday, day 64 of Q3
WEEK = date(2026, 8, 31)
Q3 = (date(2026, 7, 1), date(2026, 9, 30))
Q4 = (date(2026, 10, 1), date(2026, 12, 31))


def _key_result(kr_id: str, objective: str, metric: str, period: tuple[date, date], **kw: Any):
    previous = {Q3: (date(2026, 4, 1), date(2026, 6, 30)), Q4: Q3}[period]
    row = {
        "kr_id": kr_id,
        "objective_id": objective,
        "team": "growth",
        "title": kw.pop("title", kr_id),
        "metric_id": metric,
        "measure": "total",
        "window_days": None,
        "period_start": period[0],
        "period_end": period[1],
        "previous_start": previous[0],
        "previous_end": previous[1],
        "baseline_kind": "zero",
        "baseline_value": 0.0,
        "target_kind": "absolute",
        "target_value": 100.0,
        "direction": "increase",
        "commitment": "committed",
        "weight": 1.0,
        "unit": None,
        "definition_hash": "v1",
        "source_file": "growth.yaml",
    }
    return {**row, **kw}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("math-display") / "okr_sync.duckdb"
    con = connect(path)
    con.execute("INSERT INTO okr.teams VALUES ('growth', 'Growth', NULL)")
    for objective, title, (start, end) in (("grow", "Grow", Q3), ("next", "Next quarter", Q4)):
        con.execute(
            "INSERT INTO okr.objectives VALUES (?, 'growth', ?, NULL, ?, ?, 'growth.yaml')",
            [objective, title, start, end],
        )
    for metric, kind, num, den in (
        ("sessions", "source", None, None),
        ("revenue", "source", None, None),
        ("purchases", "source", None, None),
        ("conversion", "ratio", "purchases", "sessions"),
    ):
        con.execute(
            "INSERT INTO okr.metrics VALUES (?, ?, ?, '{}', ?, ?, true, 7, NULL, NULL, 'h')",
            [metric, kind, None if kind == "ratio" else "file", num, den],
        )
    key_results = [
        # +40 % over Q2: 91 days × 10 = 910 → 1,274
        _key_result(
            "sessions-up", "grow", "sessions", Q3, target_kind="relative", target_value=0.4
        ),
        # at least €40,000 a week: 6,000 a day (42,000) through 26 August, then 4,988.57… a
        # day (34,920 a week: 0.873 of the level on 2 September). The rolling week ending 27
        # August still holds 6 × 6,000 + 4,988.57 = 40,988.57; from 28 August (5 × 6,000 +
        # 2 × 4,988.57 = 39,977.14) it is below: 6 days in breach, 28 August..2 September, of
        # the 64 days of Q3 so far
        _key_result(
            "revenue-floor",
            "grow",
            "revenue",
            Q3,
            measure="rolling",
            window_days=7,
            baseline_kind="none",
            baseline_value=None,
            direction="at_least",
            target_value=40_000.0,
            unit="€",
        ),
        # Q4 has not started: +10 % over Q3 so far (sessions 10 a day) ...
        _key_result(
            "q4-sessions", "next", "sessions", Q4, target_kind="relative", target_value=0.1
        ),
        # ... and a conversion rate whose purchases have never been delivered
        _key_result(
            "q4-conversion",
            "next",
            "conversion",
            Q4,
            baseline_kind="number",
            baseline_value=0.02,
            target_value=0.03,
            unit="%",
        ),
    ]
    for row in key_results:
        columns = ", ".join(row)
        con.execute(
            f"INSERT INTO okr.key_results ({columns}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    fetched = datetime(2026, 9, 3, tzinfo=UTC)
    day = date(2026, 4, 1)
    while day <= AS_OF:
        revenue = 6_000.0 if day <= date(2026, 8, 26) else 34_920.0 / 7
        for metric, value in (("sessions", 10.0), ("revenue", revenue)):
            con.execute(
                "INSERT INTO staging.metric_daily (metric_id, date, value, source, request_hash, "
                "fetched_at) VALUES (?, ?, ?, 'file', 'r', ?)",
                [metric, day, value, fetched],
            )
        day += timedelta(days=1)
    compute_progress(con, Q3[0], AS_OF)
    compute_objective_progress(con, Q3[0], AS_OF)
    con.close()
    yield path


def test_the_numbers_behind_a_target_and_a_levels_verdict_are_in_okr_status(
    warehouse: Path,
) -> None:
    with connection(warehouse, read_only=True) as con:
        rows = status_rows(con, day=AS_OF)
        not_started = not_started_status_rows(con, day=AS_OF)
    by_id = {r["kr_id"]: r for r in rows}
    assert set(by_id) == {"sessions-up", "revenue-floor"}  # no rows before Q4 starts
    floor = by_id["revenue-floor"]
    assert (floor["status"], floor["level_days"], floor["breach_days"]) == ("at_risk", 64, 6)
    assert floor["progress"] == pytest.approx(0.873, rel=1e-12)
    assert floor["expected_progress"] == 1.0
    out = io.StringIO()
    console = Console(file=out, width=240, no_color=True)
    print_status(console, rows, not_started)
    text = out.getvalue()
    assert "target +40 % on 910 over 2026-04-01..2026-06-30 → 1,274" in text
    assert "breached · in breach on 6 of 64 days" in text
    assert "Not started (2)" in text
    assert "◌ not_started q4-sessions" in text
    # Q3 so far: 64 days × 10 = 640 → +10 % = 704
    assert "target +10 % on 640 over 2026-07-01..2026-09-30 → 704 (as of today)" in text
    assert "every metric has data (through 2026-09-02)" in text
    assert "no data yet from purchases: check its source before day one" in text


def test_okr_status_lists_not_started_key_results(warehouse: Path) -> None:
    result = okr("status", "-w", str(warehouse), "--date", str(AS_OF))
    assert result.returncode == 0, result.stderr
    assert "q4-conversion" in result.stdout
    assert "no data yet from purchases" in result.stdout


def test_the_report_shows_verdict_derivation_and_not_started(warehouse: Path) -> None:
    report = build_weekly_report(warehouse, WEEK)
    assert [r["kr_id"] for r in report.not_started] == ["q4-conversion", "q4-sessions"]
    markdown = render_markdown(report)
    assert "## Not started yet" in markdown
    assert "no data yet from purchases" in markdown
    assert "target +40 % on 910 over 2026-04-01..2026-06-30 → 1,274" in markdown
    assert "breached · in breach on 6 of 64 days" in markdown
    html = render_html(report)
    assert 'data-not-started="q4-sessions"' in html
    assert "breached · in breach on 6 of 64 days" in html
    floor = next(kr for kr in report.key_results if kr.kr_id == "revenue-floor")
    # no pace ramp for a level: the 100 % line is the level
    spec = kr_chart_spec(floor, WEEK)
    assert "expected" not in spec["datasets"]
    assert spec["datasets"]["target_label"][0]["label"] == "level"
    growth = next(kr for kr in report.key_results if kr.kr_id == "sessions-up")
    assert "expected" in kr_chart_spec(growth, WEEK)["datasets"]


def test_the_ui_summary_lists_not_started_key_results(warehouse: Path) -> None:
    con = connect(warehouse, read_only=True)
    try:
        summary = progress_summary_markdown(
            current_rows(con, AS_OF, AS_OF), None, not_started_rows(con, AS_OF)
        )
        before = progress_summary_markdown([], None, not_started_rows(con, date(2026, 6, 1)))
    finally:
        con.close()
    assert "- `sessions-up`: target +40 % on 910 over 2026-04-01..2026-06-30 → 1,274" in summary
    assert "**2 ◌ not_started**" in summary
    assert "`q4-conversion` (growth)" in summary
    assert "no data yet from purchases" in summary
    # before Q3 starts, all four are listed although the day has no rows
    assert before.startswith("No key-result rows for this day.")
    assert "**4 ◌ not_started**" in before
