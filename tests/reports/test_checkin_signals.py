"""The check-in signals' rules (reports/checkin_trends.py, README "Confidence over time") on
hand-made rows and check-ins: each rule fires at its boundary and not one step short of it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from okr_definitions.checkins import Checkin
from reports.checkin_trends import build_trends

WEEK = date(2026, 10, 19)  # Monday of 2026-W43
PERIOD_START = date(2026, 10, 1)


def _row(status: str, period_start: date = PERIOD_START) -> dict:
    return {"kr_id": "kr", "status": status, "period_start": period_start}


def _note(weeks_ago: int, confidence: int) -> Checkin:
    week = WEEK - timedelta(days=7 * weeks_ago)
    return Checkin(week, "kr", confidence, None, None, Path("c.yaml"), 1)


def _signals(status: str, notes: list[Checkin], period_start: date = PERIOD_START) -> list[str]:
    trends = build_trends([_row(status, period_start)], notes, [], WEEK)
    return [name for name, _ in trends["kr"].signals]


@pytest.mark.parametrize(
    ("status", "before", "now", "expected"),
    [
        ("on_track", 8, 6, ["confidence_falling"]),  # 2 points down: the rule's boundary
        ("achieved", 9, 3, ["confidence_falling"]),
        ("on_track", 8, 7, []),  # 1 point is noise
        ("at_risk", 8, 5, []),  # falling with the numbers: they agree
        ("at_risk", 6, 7, ["numbers_behind"]),  # 7 and rising while behind
        ("off_track", 7, 7, ["numbers_behind"]),
        ("at_risk", 6, 6, []),  # below 7: not confident
        ("at_risk", 9, 8, []),  # already falling: the owner sees it
        ("on_track", 6, 9, []),
    ],
)
def test_mixed_signals(status: str, before: int, now: int, expected: list[str]) -> None:
    assert _signals(status, [_note(1, before), _note(0, now)]) == expected


def test_numbers_behind_with_a_first_check_in() -> None:
    assert _signals("off_track", [_note(0, 8)]) == ["numbers_behind"]


def test_missing_check_in_from_the_second_week_without_one() -> None:
    assert _signals("on_track", [_note(1, 6)]) == []  # last week's counts
    assert _signals("on_track", [_note(2, 6)]) == ["missing_checkin"]
    trend = build_trends([_row("on_track")], [_note(3, 6)], [], WEEK)["kr"]
    assert trend.weeks_without == 3
    assert trend.signals == [("missing_checkin", "no check-in for 3 weeks; the last was 2026-W40")]
    # weeks before the period do not count: a period that began last Wednesday has had two
    # weeks (last week and this one), both without a check-in
    assert _signals("on_track", [], period_start=date(2026, 10, 14)) == ["missing_checkin"]
    assert _signals("on_track", [], period_start=date(2026, 10, 19)) == []


def test_trend_lines_up_confidence_by_week() -> None:
    trend = build_trends(
        [_row("on_track")],
        [_note(3, 4), _note(1, 6)],
        [{"kr_id": "kr", "week_start": WEEK - timedelta(days=7), "value": 12.0}],
        WEEK,
    )["kr"]
    assert trend.labels == ["2026-W40", "2026-W41", "2026-W42", "2026-W43"]
    assert trend.confidences == [4, None, 6, None]
    assert trend.values == [None, None, 12.0, None]
    assert trend.previous is not None and trend.previous.week_start == WEEK - timedelta(days=7)
    assert trend.this_week is None
