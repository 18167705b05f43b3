"""Confidence over time: each key result's check-ins of the last weeks beside its numbers.

Shared by the report and `okr status` (README, "The weekly check-in report"). For every key
result it lines up, week by week, the confidence written in `checkins/` and the value the
warehouse held at the end of that week, and raises two kinds of signals:

- **missing check-in**: no check-in in this week nor the one before (`MISSING_WEEKS` or more
  weeks of the key result's period in a row, counted back from this week);
- **mixed signals**, where the owner's confidence and the numbers disagree:
  `confidence_falling` — the confidence fell by `CONFIDENCE_DROP` points or more since the
  previous check-in while the status is on_track or achieved; `numbers_behind` — the status is
  at_risk or off_track while this week's confidence is `HIGH_CONFIDENCE` or more and no lower
  than the previous check-in's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from okr_definitions.checkins import Checkin, iso_week, load_checkins
from okr_definitions.problems import Problem
from warehouse.queries import known_key_results, weekly_rows

TREND_WEEKS = 4  # this week and the three before: a month of check-ins at a glance
MISSING_WEEKS = 2
CONFIDENCE_DROP = 2
HIGH_CONFIDENCE = 7
FINE = ("on_track", "achieved")
BEHIND = ("at_risk", "off_track")


@dataclass
class CheckinTrend:
    kr_id: str
    weeks: list[date]  # Mondays, oldest first; the last is the week shown
    confidences: list[int | None]
    values: list[float | None]
    this_week: Checkin | None
    previous: Checkin | None  # the newest check-in before the week shown
    weeks_without: int  # weeks of the period in a row without a check-in, up to this week
    signals: list[tuple[str, str]] = field(default_factory=list)  # (name, in words)

    @property
    def labels(self) -> list[str]:
        return [iso_week(w) for w in self.weeks]


def trend_weeks(week: date) -> list[date]:
    return [week - timedelta(days=7 * i) for i in range(TREND_WEEKS - 1, -1, -1)]


def _weeks_without(
    week: date, period_start: date, checked_weeks: set[date], limit: int = 52
) -> int:
    """Weeks in a row without a check-in, counted back from `week`, within the period."""
    first_week = period_start - timedelta(days=period_start.weekday())
    count, monday = 0, week
    while monday >= first_week and monday not in checked_weeks and count < limit:
        count += 1
        monday -= timedelta(days=7)
    return count


def _signals(row: dict[str, Any], trend: CheckinTrend) -> list[tuple[str, str]]:
    signals = []
    if trend.weeks_without >= MISSING_WEEKS:
        since = (
            f"; the last was {iso_week(trend.previous.week_start)}"
            if trend.previous
            else "; none this period"
        )
        signals.append(("missing_checkin", f"no check-in for {trend.weeks_without} weeks{since}"))
    now = trend.this_week.confidence if trend.this_week else None
    before = trend.previous.confidence if trend.previous else None
    status = row["status"]
    falling = now is not None and before is not None and before - now >= CONFIDENCE_DROP
    if falling and status in FINE:
        signals.append(
            (
                "confidence_falling",
                f"confidence fell from {before} to {now} while the numbers are {status}",
            )
        )
    if (
        now is not None
        and now >= HIGH_CONFIDENCE
        and (before is None or now >= before)
        and status in BEHIND
    ):
        signals.append(
            ("numbers_behind", f"the numbers are {status} while the confidence is {now}/10")
        )
    return signals


def build_trends(
    rows: list[dict[str, Any]],
    checkins: list[Checkin],
    weekly: list[dict[str, Any]],
    week: date,
) -> dict[str, CheckinTrend]:
    """kr_id → its trend for the week starting `week`.

    `rows` are the key results' current rows (warehouse.queries.current_rows), `checkins` every
    check-in there is, `weekly` each key result's newest row per week
    (warehouse.queries.weekly_rows)."""
    weeks = trend_weeks(week)
    notes: dict[str, dict[date, Checkin]] = {}
    for note in checkins:
        notes.setdefault(note.kr_id, {})[note.week_start] = note
    values: dict[tuple[str, date], float | None] = {
        (r["kr_id"], r["week_start"]): r["value"] for r in weekly
    }
    trends = {}
    for row in rows:
        kr_id = row["kr_id"]
        mine = notes.get(kr_id, {})
        earlier = [w for w in mine if w < week]
        trend = CheckinTrend(
            kr_id=kr_id,
            weeks=weeks,
            confidences=[mine[w].confidence if w in mine else None for w in weeks],
            values=[values.get((kr_id, w)) for w in weeks],
            this_week=mine.get(week),
            previous=mine[max(earlier)] if earlier else None,
            weeks_without=_weeks_without(week, row["period_start"], set(mine)),
        )
        trend.signals = _signals(row, trend)
        trends[kr_id] = trend
    return trends


def status_trends(
    con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], definitions_dir: Path
) -> tuple[dict[str, CheckinTrend], list[Problem]]:
    """The trends for `okr status`'s rows (one day), with the check-ins' problems. A broken
    check-in file does not hide the numbers: the problems come back to be printed, and the
    trends are left out."""
    if not rows:
        return {}, []
    day = max(r["as_of_date"] for r in rows)
    week = day - timedelta(days=day.weekday())
    known = known_key_results(con)
    weekly = weekly_rows(con, trend_weeks(week)[0], day)
    checkins, problems = load_checkins(definitions_dir, known)
    if problems:
        return {}, problems
    return build_trends(rows, checkins, weekly, week), []
