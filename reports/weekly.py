"""The weekly check-in report: what it holds, gathered from the warehouse and the check-ins.

A report covers one week, Monday to Sunday. Its numbers are each key result's newest row in
that week (the week so far, for the current one), compared with the row 7 days earlier. The
renderers (`reports.html`, `reports.markdown`) only lay out what is decided here: the order
(key results that need attention first), what changed, what to trust less, and the retro
when a period ended in the week.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from okr_definitions.checkins import Checkin, iso_week, load_checkins, week_start
from okr_definitions.loader import load_definitions
from okr_definitions.problems import Problem
from reports.formatting import NEEDS_ATTENTION, pace_gap
from warehouse.db import connect, warehouse_path
from warehouse.progress import not_started_rows
from warehouse.queries import (
    current_rows,
    data_range,
    final_grades,
    flag_reasons,
    known_key_results,
    progress_series,
)
from warehouse.status import STATUS_ORDER, status_rank

REPORTS_ENV = "OKR_REPORTS"
BIGGEST_MOVES = 3  # a check-in has minutes, not an hour: the three largest moves are enough


class NoReportData(LookupError):
    """The warehouse has no key-result rows for the requested week."""


class CheckinError(ValueError):
    """Check-in files with errors; `problems` says where and how to fix them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("invalid check-ins:\n" + "\n".join(p.format() for p in problems))


@dataclass
class KeyResultReport:
    row: dict[str, Any]
    series: list[dict[str, Any]] = field(default_factory=list)
    checkin: Checkin | None = None
    flag_notes: list[tuple[str, str | None]] = field(default_factory=list)

    def __getitem__(self, column: str) -> Any:
        return self.row[column]

    @property
    def kr_id(self) -> str:
        return self.row["kr_id"]

    @property
    def status(self) -> str:
        return self.row["status"]

    @property
    def gap(self) -> float | None:
        return pace_gap(self.row["progress"], self.row["expected_progress"])

    @property
    def has_previous(self) -> bool:
        return self.row["prev_as_of_date"] is not None

    @property
    def value_change(self) -> float | None:
        if self.row["value"] is None or self.row["prev_value"] is None:
            return None
        return self.row["value"] - self.row["prev_value"]

    @property
    def progress_change(self) -> float | None:
        if self.row["progress"] is None or self.row["prev_progress"] is None:
            return None
        return self.row["progress"] - self.row["prev_progress"]

    @property
    def status_changed(self) -> bool:
        return self.has_previous and self.row["prev_status"] != self.status

    @property
    def trust_flags(self) -> list[str]:
        """What to weigh the number by: stale/no_data first, then the source's flags."""
        own = [self.status] if self.status in ("stale", "no_data") else []
        return own + [f for f in self.row["flags"] if f not in own]

    def trust_reasons(self) -> list[tuple[str, str]]:
        """(flag, why) for every trust flag: status_reason for stale/no_data, the source's
        words for its flags."""
        reasons = dict(self.flag_notes)
        out = []
        for flag in self.trust_flags:
            if flag in ("stale", "no_data"):
                out.append((flag, self.row["status_reason"] or "no reason recorded"))
            else:
                out.append((flag, reasons.get(flag) or "the source flagged the data it read"))
        return out


@dataclass
class ObjectiveReport:
    objective_id: str
    title: str
    team: str
    team_name: str
    status: str | None
    score: float | None
    expected: float | None
    period_start: date
    period_end: date
    key_results: list[KeyResultReport]


@dataclass
class WeeklyReport:
    organisation: str
    week_start: date
    as_of: date
    objectives: list[ObjectiveReport]
    retro: list[dict[str, Any]]
    checkins: list[Checkin]
    generated_at: datetime
    # the organisation's on_track / at_risk margins below the expected pace
    thresholds: tuple[float, float] = (0.10, 0.25)
    # key results whose period starts after `as_of` (warehouse.progress.not_started_rows)
    not_started: list[dict[str, Any]] = field(default_factory=list)

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def week_label(self) -> str:
        return iso_week(self.week_start)

    @property
    def key_results(self) -> list[KeyResultReport]:
        return [kr for objective in self.objectives for kr in objective.key_results]

    @property
    def status_counts(self) -> list[tuple[str, int]]:
        counts = Counter(kr.status for kr in self.key_results)
        return [(s, counts[s]) for s in STATUS_ORDER if counts[s]]

    @property
    def attention(self) -> list[KeyResultReport]:
        """off_track, then at_risk; within each the furthest behind pace first."""
        krs = [kr for kr in self.key_results if kr.status in NEEDS_ATTENTION]
        return sorted(krs, key=lambda kr: (status_rank(kr.status), kr.gap or 0.0, kr.kr_id))

    @property
    def status_changes(self) -> list[KeyResultReport]:
        changed = [kr for kr in self.key_results if kr.status_changed]
        return sorted(changed, key=lambda kr: (status_rank(kr.status), kr.kr_id))

    @property
    def biggest_moves(self) -> list[KeyResultReport]:
        moved = [kr for kr in self.key_results if kr.progress_change]
        moved.sort(key=lambda kr: (-abs(kr.progress_change or 0.0), kr.kr_id))
        return moved[:BIGGEST_MOVES]

    @property
    def flagged(self) -> list[KeyResultReport]:
        return [kr for kr in self.key_results if kr.trust_flags]

    @property
    def period(self) -> tuple[date, date]:
        """The period most key results are in (the quarter the check-in is about)."""
        periods = Counter((o.period_start, o.period_end) for o in self.objectives)
        return periods.most_common(1)[0][0]

    @property
    def committed_misses(self) -> list[dict[str, Any]]:
        return [g for g in self.retro if g["committed_miss"]]


def reports_dir(warehouse: Path | str | None = None) -> Path:
    """Where reports go: OKR_REPORTS, else `reports/` beside the warehouse file."""
    configured = os.environ.get(REPORTS_ENV)
    if configured:
        return Path(configured)
    return warehouse_path(warehouse).resolve().parent / "reports"


def report_path(folder: Path, week: date) -> Path:
    return Path(folder) / f"okr-checkin-{iso_week(week)}.html"


def markdown_twin(html_path: Path) -> Path:
    return Path(html_path).with_suffix(".md")


def parse_week(text: str) -> date:
    """`2026-W48`, or any day of the week as YYYY-MM-DD → the week's Monday."""
    text = text.strip()
    if "-W" not in text.upper():
        day = date.fromisoformat(text)
        return day - timedelta(days=day.weekday())
    return week_start(text)


def latest_week(warehouse: Path | str | None) -> date:
    """The Monday of the newest day with key-result rows."""
    con = connect(warehouse, read_only=True)
    try:
        _, last = data_range(con)
    finally:
        con.close()
    if last is None:
        raise NoReportData("the warehouse has no key-result rows yet; run `okr run` first")
    return last - timedelta(days=last.weekday())


def _organisation(definitions_dir: Path | None) -> tuple[str, tuple[float, float]]:
    """The organisation's name and status margins; the report still renders from the
    warehouse alone (defaults) when the definitions cannot be read."""
    default = ("", (0.10, 0.25))
    if definitions_dir is None:
        return default

    definitions, _ = load_definitions(definitions_dir)
    if definitions is None:
        return default
    org = definitions.organisation
    return org.name, (org.thresholds.on_track, org.thresholds.at_risk)


def _objectives(krs: list[KeyResultReport]) -> list[ObjectiveReport]:
    grouped: dict[str, list[KeyResultReport]] = {}
    for kr in krs:
        grouped.setdefault(kr["objective_id"], []).append(kr)
    objectives = []
    for objective_id, items in grouped.items():
        items.sort(key=lambda kr: (status_rank(kr.status), kr.gap or 0.0, kr.kr_id))
        first = items[0].row
        objectives.append(
            ObjectiveReport(
                objective_id=objective_id,
                title=first["objective_title"],
                team=first["team"],
                team_name=first["team_name"],
                status=first["objective_status"],
                score=first["objective_score"],
                expected=first["objective_expected"],
                period_start=first["period_start"],
                period_end=first["period_end"],
                key_results=items,
            )
        )
    # worst objective first, so the check-in starts where help is needed
    objectives.sort(key=lambda o: (status_rank(o.status), o.team, o.objective_id))
    return objectives


def build_weekly_report(
    warehouse: Path | str | None,
    week: date,
    definitions_dir: Path | None = None,
) -> WeeklyReport:
    """Everything the report shows for the week starting Monday `week`.

    Check-ins are read from `definitions_dir/checkins/`; any problem in them raises
    CheckinError (a silently dropped note is worse than a failed report).
    """
    start, end = week, week + timedelta(days=6)
    con = connect(warehouse, read_only=True)
    try:
        rows = current_rows(con, start, end)
        if not rows:
            first, last = data_range(con)
            covered = f"the data covers {first}..{last}" if first else "the warehouse is empty"
            raise NoReportData(
                f"no key-result rows in {iso_week(week)} ({start}..{end}); {covered}"
            )
        series = progress_series(con, start, end)
        notes = flag_reasons(con, start, end)
        try:
            retro = final_grades(con, start, end)
        except duckdb.CatalogException:
            # read-only connections do not migrate; the next pipeline run will
            raise ValueError(
                f"the warehouse {warehouse_path(warehouse)} predates okr.kr_final_grades: "
                "run `okr run` once (it applies the pending migrations), then report again"
            ) from None
        known = known_key_results(con)
        not_started = not_started_rows(con, max(r["as_of_date"] for r in rows))
    finally:
        con.close()

    checkins: list[Checkin] = []
    if definitions_dir is not None:
        all_checkins, problems = load_checkins(definitions_dir, known)
        if problems:
            raise CheckinError(problems)
        checkins = [c for c in all_checkins if c.week_start == week]
    by_kr = {c.kr_id: c for c in checkins}

    krs = [KeyResultReport(row=row, checkin=by_kr.get(row["kr_id"])) for row in rows]
    index = {kr.kr_id: kr for kr in krs}
    for point in series:
        index[point["kr_id"]].series.append(point)
    for note in notes:
        index[note["kr_id"]].flag_notes.append((note["flag"], note["reason"]))

    name, thresholds = _organisation(definitions_dir)
    return WeeklyReport(
        organisation=name,
        thresholds=thresholds,
        week_start=week,
        as_of=max(r["as_of_date"] for r in rows),
        objectives=_objectives(krs),
        retro=retro,
        checkins=checkins,
        generated_at=datetime.now(UTC),
        not_started=not_started,
    )
