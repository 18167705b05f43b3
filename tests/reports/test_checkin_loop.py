"""The weekly check-in loop, week after week: `okr checkin` writes the week's file from the
warehouse and the last check-in, people change what changed, and the report and `okr status`
show confidence beside the numbers over the weeks, with the signals.

One real pipeline run (Dagster, DuckDB, the file source) over a quarter's first 25 days:
- `signups-total`: 10 a day towards 920 in the 92-day quarter — exactly on pace, on_track;
- `visits-total`: 5 a day towards 900 — half the pace, at_risk.
On 2026-10-25 (day 25): signups progress = 250/920 = 0.271739, expected = 25/92 = 0.271739;
visits 125/900 = 0.138889 (−0.1329 behind: at_risk, within the 0.25 margin). The objective's
score is their mean, 0.205314, 0.0664 behind its expected 0.271739: its own pace is on_track
(within 0.10) while its weakest key result, visits-total, is at_risk — the two facts the report
must show under their own names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from report_helpers import write_series
from typer.testing import CliRunner

from okr_cli import main as cli
from okr_cli.main import app

DEFINITIONS = """
organisation:
  name: Loop Shop
  timezone: Europe/Berlin
  lookback_days: 2
sources:
  file: {allowed_lag_days: 2}
teams:
  - {id: growth, name: Growth, owner: growth-lead@example.com}
metrics:
  - {id: signups, source: file, query: {path: data/signups.csv}}
  - {id: visits, source: file, query: {path: data/visits.csv}}
objectives:
  - id: grow
    title: More people sign up
    team: growth
    period: 2026-Q4
    key_results:
      - id: signups-total
        title: 920 signups this quarter
        metric: signups
        measure: total
        target: 920
      - id: visits-total
        title: 900 visits this quarter
        metric: visits
        measure: total
        target: 900
"""
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 25)
W41, W42, W43 = "2026-W41", "2026-W42", "2026-W43"


@dataclass
class LoopProject:
    definitions: Path
    warehouse: Path
    instance: dg.DagsterInstance

    def okr(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        """`okr` in-process (the subprocess start-up would dominate the test's time)."""
        common = ["-d", str(self.definitions)]
        if args[0] != "validate":
            common += ["-w", str(self.warehouse)]
        # the command's console measured its width when it was imported; pin it, so the
        # tables do not wrap differently with the terminal the tests run in
        saved, cli.console.width = cli.console.width, 200
        try:
            result = CliRunner().invoke(
                app, [*args, *common], env={"COLUMNS": "200", **(env or {})}
            )
        finally:
            cli.console.width = saved
        return result.exit_code, result.output

    def checkin_file(self, week: str) -> Path:
        return self.definitions / "checkins" / f"{week}.yaml"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopProject]:
    from pipelines.definitions import build_definitions
    from pipelines.resources import load_valid_definitions
    from pipelines.runner import run_range

    root = tmp_path_factory.mktemp("loop")
    definitions = root / "okr_definitions"
    definitions.mkdir()
    (definitions / "okr.yaml").write_text(DEFINITIONS)
    write_series(definitions / "data" / "signups.csv", FIRST, LAST, 10)
    write_series(definitions / "data" / "visits.csv", FIRST, LAST, 5)
    warehouse = root / "okr_sync.duckdb"
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.setenv("OKR_DEFINITIONS", str(definitions))
        mp.setenv("OKR_WAREHOUSE", str(warehouse))
        mp.setenv("OKR_REPORTS", str(root / "reports"))
        defs = build_definitions(load_valid_definitions(definitions))
        outcome = run_range(defs, FIRST, LAST, instance, log_level="ERROR")
        assert outcome.succeeded, outcome.errors
        yield LoopProject(definitions, warehouse, instance)


def _edit(path: Path, entries: dict[str, dict]) -> None:
    """What an owner does in the editor: set the week's entries (others removed)."""
    data = yaml.safe_load(path.read_text())
    data["key_results"] = entries
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _objective_pace_and_weakest_key_result_in_the_table(project: LoopProject) -> None:
    con = duckdb.connect(str(project.warehouse), read_only=True)
    try:
        row = con.execute(
            "SELECT score, expected_progress, status, pace_status, weakest_kr_id "
            "FROM okr.objective_progress_daily WHERE objective_id = 'grow' AND as_of_date = ?",
            [LAST],
        ).fetchone()
    finally:
        con.close()
    score, expected, status, pace, weakest = row
    assert score == pytest.approx((250 / 920 + 125 / 900) / 2)
    assert expected == pytest.approx(25 / 92)
    assert (status, pace, weakest) == ("at_risk", "on_track", "visits-total")
    # the UI summary of the objective's asset names both facts
    event = project.instance.get_latest_materialization_event(
        dg.AssetKey(["okr", "objective", "grow"])
    )
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    assert metadata["pace"].value == "on_track"
    assert metadata["weakest_key_result"].value == "visits-total (at_risk)"


def _edit_opens_the_editor_and_checks_the_result(project: LoopProject) -> None:
    # the "editor" sets a confidence out of range, as a typo would
    editor = "sed -i 's/^key_results: {}.*/key_results: {signups-total: {confidence: 11}}/'"
    code, out = project.okr("checkin", "--week", "2026-W40", "--edit", env={"EDITOR": editor})
    written = project.checkin_file("2026-W40")
    try:
        assert code == 1
        assert f"{written.name}:6" in out and "confidence" in out and "1 (won't make it)" in out
        assert "confidence: 11" in written.read_text()  # the edit is kept, to be fixed
    finally:
        written.unlink()


def test_the_weekly_loop(project: LoopProject) -> None:
    """One test, so one xdist worker builds the project (a module fixture runs per worker)."""
    _objective_pace_and_weakest_key_result_in_the_table(project)
    _an_unknown_team_is_named_with_the_teams_there_are(project)
    _a_broken_checkin_file_stops_checkin_and_names_it(project)
    _edit_opens_the_editor_and_checks_the_result(project)
    _week_to_week_checkins_trends_and_signals(project)


def _week_to_week_checkins_trends_and_signals(project: LoopProject) -> None:
    # Week 41: nothing earlier, so every entry is written commented out — and the file as
    # written already validates.
    code, out = project.okr("checkin", "--week", W41)
    assert code == 0, out
    first = project.checkin_file(W41).read_text()
    assert "key_results: {}" in first
    assert "# owner growth-lead@example.com (Growth)" in first
    # Sunday 2026-10-11, day 11: signups 110 of 920, progress 12 % against 12 % expected
    assert "# as of 2026-10-11: on_track · 110 → 920 · progress 12 % of 12 % expected" in first
    assert "#   confidence: 5" in first
    code, out = project.okr("checkin", "--week", W41)
    assert code == 1 and "exists" in out and "--force" in out
    assert project.checkin_file(W41).read_text() == first  # untouched
    _edit(
        project.checkin_file(W41),
        {
            "signups-total": {"confidence": 8, "comment": "Launch went well."},
            "visits-total": {"confidence": 6, "comment": "SEO fixes next week."},
        },
    )

    # Week 42: last week's confidence and comment are the starting point.
    code, out = project.okr("checkin", "--week", W42)
    assert code == 0, out
    assert "2 with the last check-in carried over" in " ".join(out.split())
    carried = yaml.safe_load(project.checkin_file(W42).read_text())
    assert carried["week"] == W42
    assert carried["key_results"] == {
        "signups-total": {"confidence": 8, "comment": "Launch went well."},
        "visits-total": {"confidence": 6, "comment": "SEO fixes next week."},
    }
    # the owner lowers the confidence (the numbers are still on pace) and skips visits
    _edit(
        project.checkin_file(W42),
        {"signups-total": {"confidence": 5, "comment": "The partner campaign slipped."}},
    )
    code, out = project.okr(
        "report", "--week", W42, "--out", str(project.warehouse.parent / "w42.html")
    )
    assert code == 0, out
    html = (project.warehouse.parent / "w42.html").read_text()
    assert 'data-signal-kr="signups-total" data-signal="confidence_falling"' in html
    assert "confidence fell from 8 to 5 while the numbers are on_track" in html

    # Week 43: the newest check-in of each key result carries over (visits: week 41's).
    code, out = project.okr("checkin", "--week", W43, "--force")
    assert code == 0, out
    text = project.checkin_file(W43).read_text()
    assert "# from the check-in of 2026-W41" in text  # visits-total
    carried = yaml.safe_load(text)["key_results"]
    assert carried["signups-total"] == {"confidence": 5, "comment": "The partner campaign slipped."}
    _edit(project.checkin_file(W43), {"signups-total": carried["signups-total"]})
    code, out = project.okr("validate", "--offline")
    assert code == 0, out

    out_file = project.warehouse.parent / "w43.html"
    code, out = project.okr("report", "--week", W43, "--out", str(out_file))
    assert code == 0, out
    html = out_file.read_text()
    # confidence by week (W40 → W43) beside the value at the end of each week: days 4, 11,
    # 18 and 25 of the quarter at 10 signups a day
    assert "confidence <b>— → 8 → 5 → 5</b>" in html
    assert "value <b>40 → 110 → 180 → 250</b>" in html
    # last week's comment beside this week's
    assert "Last check-in · 2026-W42" in html
    # visits-total: checked in in week 41 only — no check-in in weeks 42 and 43
    assert 'data-signal-kr="visits-total" data-signal="missing_checkin"' in html
    assert "no check-in for 2 weeks; the last was 2026-W41" in html
    assert 'data-signal-kr="signups-total"' not in html  # 5 → 5 while on track: no signal
    # the objective's own pace and its weakest key result, each named
    assert 'data-pace="on_track"' in html and 'data-weakest="visits-total"' in html
    markdown = out_file.with_suffix(".md").read_text()
    assert "**pace** ● on_track" in markdown and "**weakest key result** ▲ at_risk" in markdown
    assert "| `signups-total` | — → 8 → 5 → 5 | 40 → 110 → 180 → 250 |" in markdown

    # okr status (as of the newest day, in week 43) shows the same trends and signals
    code, out = project.okr("status")
    assert code == 0, out
    assert "signups-total  confidence — → 8 → 5 → 5 · value 40 → 110 → 180 → 250" in out
    assert "⚑ no check-in for 2 weeks; the last was 2026-W41" in out
    assert "pace ● on_track" in out and "weakest key result:" in out


def _an_unknown_team_is_named_with_the_teams_there_are(project: LoopProject) -> None:
    code, out = project.okr("checkin", "--week", W43, "--team", "growht")
    assert code == 1 and "no team `growht`; the teams are growth" in out
    assert not project.checkin_file(f"{W43}-growht").exists()


def _a_broken_checkin_file_stops_checkin_and_names_it(project: LoopProject) -> None:
    broken = project.definitions / "checkins" / "broken.yaml"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text("week: 2026-W40\nkey_results:\n  signups-totl: {confidence: 4}\n")
    try:
        code, out = project.okr("checkin", "--week", "2026-W40")
        assert code == 1
        assert "broken.yaml:3" in out and "did you mean `signups-total`" in out
        assert not project.checkin_file("2026-W40").exists()  # nothing half-written
    finally:
        broken.unlink()
