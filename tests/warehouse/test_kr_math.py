"""The key-result math of DESIGN.md, table-driven, against hand-computed values.

Each case writes definition rows and daily metric values straight into a real DuckDB file,
runs the SQL models for one as-of day and compares the row with numbers computed by hand in
the case's comment. The period is 2026-10-01..2026-10-10 (10 days) unless a case says else,
so on 2026-10-05 the expected progress of a committed key result is 5/10 = 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pytest

from warehouse.progress import ProgressSettings, compute_objective_progress, compute_progress

START = date(2026, 10, 1)
END = date(2026, 10, 10)


def d(n: int) -> date:
    """Day n of the period (1-based); 0 and negatives are the days before it."""
    return START + timedelta(days=n - 1)


def add_metric(
    con: duckdb.DuckDBPyConnection,
    metric_id: str,
    *,
    kind: str = "source",
    additive: bool = True,
    lag: int = 2,
    numerator: str | None = None,
    denominator: str | None = None,
) -> None:
    con.execute(
        "INSERT INTO okr.metrics VALUES (?, ?, ?, '{}', ?, ?, ?, ?, NULL, NULL, 'h')",
        [
            metric_id,
            kind,
            None if kind == "ratio" else "file",
            numerator,
            denominator,
            additive,
            lag,
        ],
    )


def add_kr(con: duckdb.DuckDBPyConnection, kr_id: str, metric_id: str, **kw: Any) -> None:
    row = {
        "kr_id": kr_id,
        "objective_id": kw.pop("objective_id", "obj"),
        "team": "growth",
        "title": kr_id,
        "metric_id": metric_id,
        "measure": "total",
        "window_days": None,
        "period_start": START,
        "period_end": END,
        "baseline_kind": "zero",
        "baseline_value": 0.0,
        "target_kind": "absolute",
        "target_value": 100.0,
        "direction": None,
        "commitment": "committed",
        "weight": 1.0,
        "unit": None,
        "definition_hash": "v1",
        "source_file": "test.yaml",
    }
    row.update(kw)
    columns = ", ".join(row)
    con.execute(
        f"INSERT INTO okr.key_results ({columns}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def add_days(con: duckdb.DuckDBPyConnection, metric_id: str, values: dict[date, Any]) -> None:
    """values: day → number, or (numerator, denominator) for a rate the source delivers."""
    for day, value in values.items():
        num = den = None
        if isinstance(value, tuple):
            num, den = value
            value = num / den if den else None
        con.execute(
            "INSERT INTO staging.metric_daily (metric_id, date, value, numerator, denominator, "
            "source, request_hash, fetched_at) VALUES (?, ?, ?, ?, ?, 'file', 'req', ?)",
            [metric_id, day, value, num, den, datetime(2026, 1, 1, tzinfo=UTC)],
        )


def progress_row(
    con: duckdb.DuckDBPyConnection,
    kr_id: str,
    as_of: date,
    settings: ProgressSettings | None = None,
) -> dict[str, Any]:
    compute_progress(con, as_of, as_of, settings or ProgressSettings())
    cursor = con.execute(
        "SELECT * FROM okr.kr_progress_daily WHERE kr_id = ? AND as_of_date = ?", [kr_id, as_of]
    )
    columns = [c[0] for c in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == 1, f"expected one row for {kr_id} on {as_of}, got {len(rows)}"
    return dict(zip(columns, rows[0], strict=True))


@dataclass
class Case:
    name: str
    metrics: list[dict[str, Any]]
    kr: dict[str, Any]
    days: dict[str, dict[date, Any]]
    as_of: date
    expect: dict[str, Any]
    settings: ProgressSettings = field(default_factory=ProgressSettings)


CASES = [
    # total: 5 days × 10 = 50 of 100 → progress 0.5 = expected 0.5 → on_track
    Case(
        "total_on_pace",
        [{"id": "m"}],
        {"target_value": 100.0},
        {"m": {d(i): 10 for i in range(1, 6)}},
        d(5),
        {
            "value": 50.0,
            "baseline": 0.0,
            "target": 100.0,
            "progress": 0.5,
            "score": 0.5,
            "expected_progress": 0.5,
            "status": "on_track",
            "data_through": d(5),
            "direction": "increase",
        },
    ),
    # only days 1-3 measured: v = 30, data_through d3, lag 2 days allowed: 2 ≤ 2 → not stale;
    # progress 0.3 < 0.5 − 0.10 but ≥ 0.5 − 0.25 → at_risk
    Case(
        "total_lagging_at_risk",
        [{"id": "m", "lag": 2}],
        {},
        {"m": {d(i): 10 for i in range(1, 4)}},
        d(5),
        {"value": 30.0, "progress": 0.3, "data_through": d(3), "status": "at_risk"},
    ),
    # the same with a source allowed 1 day of lag: 5 − 3 = 2 > 1 → stale
    Case(
        "stale",
        [{"id": "m", "lag": 1}],
        {},
        {"m": {d(i): 10 for i in range(1, 4)}},
        d(5),
        {
            "value": 30.0,
            "status": "stale",
            "data_through": d(3),
            # the reason names the source whose data stopped
            "status_reason": f"data from file through {d(3)}, 2 days old; the source allows 1",
        },
    ),
    # nothing measured since the start → no_data, no value, no progress
    Case(
        "no_data",
        [{"id": "m"}],
        {},
        {"m": {d(-3): 10}},
        d(5),
        {"value": None, "progress": None, "score": None, "status": "no_data", "data_through": None},
    ),
    # rolling_3d on d5: d3..d5 = 30 + 40 + 50 = 120; (120 − 60) / (180 − 60) = 0.5
    Case(
        "rolling_3d",
        [{"id": "m"}],
        {
            "measure": "rolling",
            "window_days": 3,
            "baseline_kind": "number",
            "baseline_value": 60.0,
            "target_value": 180.0,
        },
        {"m": {d(1): 10, d(2): 20, d(3): 30, d(4): 40, d(5): 50}},
        d(5),
        {"value": 120.0, "progress": 0.5, "status": "on_track"},
    ),
    # latest on d5 with data through d4: v = 8; (8 − 4) / (12 − 4) = 0.5
    Case(
        "latest",
        [{"id": "m"}],
        {
            "measure": "latest",
            "baseline_kind": "number",
            "baseline_value": 4.0,
            "target_value": 12.0,
        },
        {"m": {d(1): 5, d(2): 6, d(3): 7, d(4): 8}},
        d(5),
        {"value": 8.0, "progress": 0.5, "data_through": d(4)},
    ),
    # average of measured days: (10 + 20 + 30) / 3 = 20; (20 − 10) / (30 − 10) = 0.5
    Case(
        "average",
        [{"id": "m", "lag": 5}],
        {
            "measure": "average",
            "baseline_kind": "number",
            "baseline_value": 10.0,
            "target_value": 30.0,
        },
        {"m": {d(1): 10, d(2): 20, d(3): 30}},
        d(5),
        {"value": 20.0, "progress": 0.5, "status": "on_track"},
    ),
    # decrease (inferred from b > t): load time 2.0 → 1.5, now 1.8: (1.8 − 2) / (1.5 − 2) = 0.4
    Case(
        "decrease",
        [{"id": "m"}],
        {
            "measure": "latest",
            "baseline_kind": "number",
            "baseline_value": 2.0,
            "target_value": 1.5,
        },
        {"m": {d(5): 1.8}},
        d(5),
        {"value": 1.8, "direction": "decrease", "progress": pytest.approx(0.4)},
    ),
    # below the baseline is visibly negative: (40 − 50) / (100 − 50) = −0.2, score 0
    Case(
        "below_baseline",
        [{"id": "m"}],
        {
            "measure": "latest",
            "baseline_kind": "number",
            "baseline_value": 50.0,
            "target_value": 100.0,
        },
        {"m": {d(5): 40}},
        d(5),
        {"progress": pytest.approx(-0.2), "score": 0.0, "status": "off_track"},
    ),
    # at_least 100 over 3 days, v = 20 + 30 + 30 = 80: partial credit 80/100 = 0.8; a level
    # has no pace (expected 1.0 every day), and 0.8 is below the floor but ≥ 1 − 0.25 → at_risk
    Case(
        "at_least_partial",
        [{"id": "m"}],
        {
            "measure": "rolling",
            "window_days": 3,
            "baseline_kind": "none",
            "baseline_value": None,
            "direction": "at_least",
            "target_value": 100.0,
        },
        {"m": {d(3): 20, d(4): 30, d(5): 30}},
        d(5),
        {
            "value": 80.0,
            "progress": 0.8,
            "score": 0.8,
            "expected_progress": 1.0,
            "status": "at_risk",
            "baseline": None,
        },
    ),
    # at_least holds: v = 120 ≥ 100 → progress 1 → achieved
    Case(
        "at_least_holds",
        [{"id": "m"}],
        {
            "measure": "rolling",
            "window_days": 3,
            "baseline_kind": "none",
            "baseline_value": None,
            "direction": "at_least",
            "target_value": 100.0,
        },
        {"m": {d(3): 40, d(4): 40, d(5): 40}},
        d(5),
        {"value": 120.0, "progress": 1.0, "status": "achieved"},
    ),
    # at_most 1.5 s, v = 2.0: partial credit t/v = 0.75 ≥ 1 − 0.25 → at_risk (not on_track:
    # above the ceiling)
    Case(
        "at_most_partial",
        [{"id": "m"}],
        {
            "measure": "latest",
            "baseline_kind": "none",
            "baseline_value": None,
            "direction": "at_most",
            "target_value": 1.5,
        },
        {"m": {d(5): 2.0}},
        d(5),
        {"progress": 0.75, "expected_progress": 1.0, "status": "at_risk"},
    ),
    # at_most holds: 1.2 ≤ 1.5 → achieved
    Case(
        "at_most_holds",
        [{"id": "m"}],
        {
            "measure": "latest",
            "baseline_kind": "none",
            "baseline_value": None,
            "direction": "at_most",
            "target_value": 1.5,
        },
        {"m": {d(5): 1.2}},
        d(5),
        {"progress": 1.0, "status": "achieved"},
    ),
    # ratio of two metrics: (1 + 30) / (10 + 100) = 0.281818..., not the mean of daily rates
    # (0.1 + 0.3) / 2 = 0.2; progress (0.281818 − 0.1) / (0.5 − 0.1) = 0.454545...
    Case(
        "ratio_of_sums",
        [
            {"id": "purchases"},
            {"id": "sessions"},
            {"id": "rate", "kind": "ratio", "numerator": "purchases", "denominator": "sessions"},
        ],
        {
            "metric_id": "rate",
            "baseline_kind": "number",
            "baseline_value": 0.1,
            "target_value": 0.5,
        },
        {"purchases": {d(1): 1, d(2): 30}, "sessions": {d(1): 10, d(2): 100}},
        d(2),
        {"value": pytest.approx(31 / 110), "progress": pytest.approx((31 / 110 - 0.1) / 0.4)},
    ),
    # a rate the source delivers as numerator/denominator: same ratio of sums 31/110
    Case(
        "source_rate_ratio_of_sums",
        [{"id": "conv"}],
        {
            "measure": "average",
            "baseline_kind": "number",
            "baseline_value": 0.1,
            "target_value": 0.5,
        },
        {"conv": {d(1): (1, 10), d(2): (30, 100)}},
        d(2),
        {"value": pytest.approx(31 / 110)},
    ),
    # measured baseline for rolling_2d: the 2 days before the start, 10 + 20 = 30;
    # v on d3 = d2 + d3 = 20 + 25 = 45; (45 − 30) / (60 − 30) = 0.5
    Case(
        "measured_baseline_rolling",
        [{"id": "m"}],
        {
            "measure": "rolling",
            "window_days": 2,
            "baseline_kind": "measured",
            "baseline_value": None,
            "target_value": 60.0,
        },
        {"m": {d(-1): 10, d(0): 20, d(1): 5, d(2): 20, d(3): 25}},
        d(3),
        {"baseline": 30.0, "value": 45.0, "progress": 0.5},
    ),
    # relative total: previous 10 days 09-21..09-30 hold 10 × 10 = 100, target +40 % → 140;
    # this period d1..d5 × 14 = 70 → progress 70 / 140 = 0.5
    Case(
        "relative_total_target",
        [{"id": "m"}],
        {"target_kind": "relative", "target_value": 0.4},
        {"m": {**{d(i): 10 for i in range(-9, 1)}, **{d(i): 14 for i in range(1, 6)}}},
        d(5),
        {
            "baseline": 0.0,
            "target": pytest.approx(140.0),
            "value": 70.0,
            "progress": pytest.approx(0.5),
        },
    ),
    # average with measured baseline = previous period's average 20, +50 % → 30;
    # average of d1..d5 (20, 20, 25, 30, 30) = 25 → (25 − 20) / (30 − 20) = 0.5
    Case(
        "relative_level_target",
        [{"id": "m"}],
        {
            "measure": "average",
            "baseline_kind": "measured",
            "baseline_value": None,
            "target_kind": "relative",
            "target_value": 0.5,
        },
        {
            "m": {
                **{d(i): 20 for i in range(-9, 1)},
                d(1): 20,
                d(2): 20,
                d(3): 25,
                d(4): 30,
                d(5): 30,
            }
        },
        d(5),
        {
            "baseline": 20.0,
            "target": pytest.approx(30.0),
            "value": 25.0,
            "progress": pytest.approx(0.5),
        },
    ),
    # aspirational: expected = 0.5 × 0.7 = 0.35; progress 0.3 ≥ 0.35 − 0.10 → on_track
    Case(
        "aspirational_pace",
        [{"id": "m"}],
        {"commitment": "aspirational"},
        {"m": {d(i): 6 for i in range(1, 6)}},
        d(5),
        {
            "progress": pytest.approx(0.3),
            "expected_progress": pytest.approx(0.35),
            "status": "on_track",
        },
    ),
    # the same progress committed: 0.3 < 0.4 → at_risk
    Case(
        "committed_pace",
        [{"id": "m"}],
        {},
        {"m": {d(i): 6 for i in range(1, 6)}},
        d(5),
        {"progress": pytest.approx(0.3), "status": "at_risk"},
    ),
    # 0.41 ≥ 0.5 − 0.10 → on_track
    Case(
        "threshold_on_track",
        [{"id": "m"}],
        {},
        {"m": {d(5): 41}},
        d(5),
        {"progress": pytest.approx(0.41), "status": "on_track"},
    ),
    # 0.39 < 0.40 → at_risk
    Case("threshold_at_risk", [{"id": "m"}], {}, {"m": {d(5): 39}}, d(5), {"status": "at_risk"}),
    # 0.24 < 0.5 − 0.25 → off_track
    Case(
        "threshold_off_track", [{"id": "m"}], {}, {"m": {d(5): 24}}, d(5), {"status": "off_track"}
    ),
    # configurable: with an on_track margin of 0.05, 0.41 < 0.45 → at_risk
    Case(
        "threshold_configured",
        [{"id": "m"}],
        {},
        {"m": {d(5): 41}},
        d(5),
        {"status": "at_risk"},
        ProgressSettings(on_track_margin=0.05, at_risk_margin=0.25),
    ),
    # day 46 of a 92-day quarter: expected 46/92 = 0.5
    Case(
        "expected_day_46_of_92",
        [{"id": "m"}],
        {"period_start": date(2026, 7, 1), "period_end": date(2026, 9, 30)},
        {"m": {date(2026, 8, 15): 50}},
        date(2026, 8, 15),
        {"expected_progress": 0.5, "value": 50.0},
    ),
    # reaching the target is achieved whatever the pace: 100 of 100 on day 2
    Case(
        "achieved_early",
        [{"id": "m"}],
        {},
        {"m": {d(1): 60, d(2): 40}},
        d(2),
        {"progress": 1.0, "status": "achieved"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_key_result_math(wh: duckdb.DuckDBPyConnection, case: Case) -> None:
    for metric in case.metrics:
        add_metric(
            wh,
            metric["id"],
            kind=metric.get("kind", "source"),
            additive=metric.get("additive", True),
            lag=metric.get("lag", 2),
            numerator=metric.get("numerator"),
            denominator=metric.get("denominator"),
        )
    kr = dict(case.kr)
    metric_id = kr.pop("metric_id", case.metrics[0]["id"])
    add_kr(wh, "kr", metric_id, **kr)
    for metric_id, values in case.days.items():
        add_days(wh, metric_id, values)
    row = progress_row(wh, "kr", case.as_of, case.settings)
    for column, expected in case.expect.items():
        assert row[column] == expected, f"{column}: {row[column]!r} != {expected!r}"


def test_non_additive_metric_uses_the_range_answer(wh: duckdb.DuckDBPyConnection) -> None:
    """Unique users are never summed: 5 days × 10 daily users, but the source says 30
    distinct users over d1..d5, and 30 is the value."""
    add_metric(wh, "users", additive=False)
    add_kr(wh, "kr", "users")
    add_days(wh, "users", {d(i): 10 for i in range(1, 6)})
    wh.execute(
        "INSERT INTO raw.metric_ranges VALUES "
        "('file', 'users', ?, ?, 30, NULL, NULL, 'r', now(), NULL)",
        [d(1), d(5)],
    )
    row = progress_row(wh, "kr", d(5))
    assert row["value"] == 30.0
    assert row["progress"] == pytest.approx(0.3)


def test_non_additive_metric_without_range_answer_is_not_summed(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    add_metric(wh, "users", additive=False)
    add_kr(wh, "kr", "users")
    add_days(wh, "users", {d(i): 10 for i in range(1, 6)})
    row = progress_row(wh, "kr", d(5))
    assert row["value"] is None
    assert row["status"] == "no_data"
    assert "no value" in row["status_reason"]


def test_measured_baseline_is_frozen_until_the_definition_changes(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    add_metric(wh, "m")
    add_kr(
        wh,
        "kr",
        "m",
        measure="latest",
        baseline_kind="measured",
        baseline_value=None,
        target_value=100.0,
    )
    add_days(wh, "m", {d(0): 20, d(3): 60})
    assert progress_row(wh, "kr", d(3))["baseline"] == 20.0
    # The source restates the day before the period: the frozen baseline does not move.
    wh.execute("UPDATE staging.metric_daily SET value = 50 WHERE date = ?", [d(0)])
    row = progress_row(wh, "kr", d(3))
    assert row["baseline"] == 20.0
    assert row["progress"] == pytest.approx((60 - 20) / (100 - 20))
    # Editing the key result (a new definition hash) measures it again.
    wh.execute("UPDATE okr.key_results SET definition_hash = 'v2'")
    assert progress_row(wh, "kr", d(3))["baseline"] == 50.0


def test_baseline_not_measurable_is_no_data_with_reason(wh: duckdb.DuckDBPyConnection) -> None:
    add_metric(wh, "m")
    add_kr(wh, "kr", "m", measure="latest", baseline_kind="measured", baseline_value=None)
    add_days(wh, "m", {d(1): 5})
    row = progress_row(wh, "kr", d(1))
    assert row["baseline"] is None
    assert row["status"] == "no_data"
    assert "baseline not measurable" in row["status_reason"]


def test_baselines_without_data_before_the_period_are_left_to_a_later_run(
    wh: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A history that starts inside the period (the demo's, a source added mid-quarter):
    the baselines still to be measured cannot be, so the SQL running totals are not built for
    them, and every row is the one measuring them in full writes. The first day staged before
    the period makes them measurable, and they are frozen."""
    import warehouse.progress
    from warehouse.progress import _baselines_measurable

    for metric in ("a", "n", "den", "users"):
        add_metric(wh, metric, additive=metric != "users")
    add_metric(wh, "r", kind="ratio", numerator="n", denominator="den")
    add_days(wh, "a", {d(i): 1.5 * i for i in range(1, 6)})
    add_days(wh, "n", {d(i): 2.0 for i in range(2, 6)})
    add_days(wh, "den", {d(i): 4.0 for i in range(1, 5)})
    add_days(wh, "users", {d(i): 3.0 for i in range(1, 6)})
    add_kr(wh, "total", "a", baseline_kind="measured", target_kind="relative", target_value=0.1)
    add_kr(wh, "rolling", "a", measure="rolling", window_days=3, baseline_kind="measured")
    add_kr(wh, "latest", "a", measure="latest", baseline_kind="measured")
    add_kr(wh, "ratio", "r", measure="average", baseline_kind="measured", target_value=0.6)
    add_kr(wh, "users", "users", baseline_kind="measured", target_kind="relative")
    add_kr(wh, "plain", "a", target_value=20.0)
    assert not _baselines_measurable(wh, d(1), d(10))

    def written() -> list[tuple[Any, ...]]:
        compute_progress(wh, d(1), d(10))
        return wh.execute(
            "SELECT * FROM okr.kr_progress_daily ORDER BY kr_id, as_of_date"
        ).fetchall()

    left = written()
    assert len(left) == 60
    assert wh.execute("SELECT count(*) FROM okr.kr_baselines").fetchone() == (0,)
    monkeypatch.setattr(warehouse.progress, "_baselines_measurable", lambda *args: True)
    assert written() == left
    assert wh.execute("SELECT count(*) FROM okr.kr_baselines").fetchone() == (0,)
    monkeypatch.undo()

    # A day of a ratio's part before the period, or a range answer ending before it, may
    # make a baseline measurable.
    add_days(wh, "den", {d(0): 4.0})
    assert _baselines_measurable(wh, d(1), d(10))
    wh.execute("DELETE FROM staging.metric_daily WHERE date < ?", [d(1)])
    wh.execute(
        "INSERT INTO raw.metric_ranges VALUES "
        "('file', 'users', ?, ?, 7.0, NULL, NULL, 'h', now(), NULL)",
        [d(-9), d(0)],
    )
    assert _baselines_measurable(wh, d(1), d(10))
    add_days(wh, "a", {d(0): 6.0})
    written()
    frozen = wh.execute("SELECT kr_id FROM okr.kr_baselines ORDER BY kr_id").fetchall()
    assert ("rolling",) in frozen and ("latest",) in frozen
    assert progress_row(wh, "latest", d(5))["baseline"] == 6.0


def test_flags_reach_the_key_result_row(wh: duckdb.DuckDBPyConnection) -> None:
    add_metric(wh, "m")
    add_kr(wh, "kr", "m")
    add_days(wh, "m", {d(1): 10, d(2): 10})
    wh.execute(
        "INSERT INTO raw.metric_flags VALUES ('file', 'm', ?, 'sampled', '12 % sample', now())",
        [d(2)],
    )
    assert progress_row(wh, "kr", d(2))["flags"] == ["sampled"]
    # outside the value's window (a later day) the flag does not apply
    assert progress_row(wh, "kr", d(1))["flags"] == []


def test_flags_of_a_ratio_come_from_both_parts_sorted_once(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    add_metric(wh, "purchases")
    add_metric(wh, "sessions")
    add_metric(wh, "rate", kind="ratio", numerator="purchases", denominator="sessions")
    add_kr(wh, "kr", "rate", target_value=0.5)
    add_days(wh, "purchases", {d(1): 1, d(2): 2, d(3): 3})
    add_days(wh, "sessions", {d(1): 10, d(2): 10, d(3): 10})
    flags = [
        ("sessions", d(2), "thresholded"),
        ("purchases", d(2), "sampled"),
        # the same flag from a second load: listed once
        ("purchases", d(3), "sampled"),
        # a later day than the value reads on day 2
        ("sessions", d(4), "provisional"),
    ]
    for metric, day, flag in flags:
        wh.execute(
            "INSERT INTO raw.metric_flags VALUES ('file', ?, ?, ?, 'why', now())",
            [metric, day, flag],
        )
    assert progress_row(wh, "kr", d(1))["flags"] == []
    assert progress_row(wh, "kr", d(2))["flags"] == ["sampled", "thresholded"]
    assert progress_row(wh, "kr", d(3))["flags"] == ["sampled", "thresholded"]


def test_flags_follow_a_rolling_window(wh: duckdb.DuckDBPyConnection) -> None:
    add_metric(wh, "m")
    add_kr(wh, "kr", "m", measure="rolling", window_days=2)
    add_days(wh, "m", {d(n): 10 for n in range(1, 6)})
    wh.execute(
        "INSERT INTO raw.metric_flags VALUES ('file', 'm', ?, 'sampled', 'why', now())", [d(2)]
    )
    # windows [d1, d2] and [d2, d3] read the flagged day, [d3, d4] no longer does
    assert progress_row(wh, "kr", d(2))["flags"] == ["sampled"]
    assert progress_row(wh, "kr", d(3))["flags"] == ["sampled"]
    assert progress_row(wh, "kr", d(4))["flags"] == []
    # a second kind of flag: each window is checked day by day
    wh.execute(
        "INSERT INTO raw.metric_flags VALUES ('file', 'm', ?, 'thresholded', 'why', now())",
        [d(4)],
    )
    assert progress_row(wh, "kr", d(3))["flags"] == ["sampled"]
    assert progress_row(wh, "kr", d(4))["flags"] == ["thresholded"]
    assert progress_row(wh, "kr", d(5))["flags"] == ["thresholded"]


def test_a_flagged_day_after_the_newest_measured_one_is_shown(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    # Day 3 came back invalid (flagged, not measured): the day-3 row still reads through day
    # 2, and says why day 3 is missing.
    add_metric(wh, "m", lag=5)
    add_kr(wh, "kr", "m")
    add_days(wh, "m", {d(1): 10, d(2): 10})
    wh.execute(
        "INSERT INTO raw.metric_flags VALUES ('file', 'm', ?, 'invalid_value', 'NaN', now())",
        [d(3)],
    )
    row = progress_row(wh, "kr", d(3))
    assert row["data_through"] == d(2)
    assert row["value"] == 20.0
    assert row["flags"] == ["invalid_value"]
    assert progress_row(wh, "kr", d(2))["flags"] == []


def _objective(wh: duckdb.DuckDBPyConnection, day: date) -> dict[str, Any]:
    compute_progress(wh, day, day)
    compute_objective_progress(wh, day, day)
    cursor = wh.execute("SELECT * FROM okr.objective_progress_daily WHERE as_of_date = ?", [day])
    columns = [c[0] for c in cursor.description]
    return dict(zip(columns, cursor.fetchone(), strict=True))


def test_objective_score_is_weighted_mean_and_status_the_worst(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    add_metric(wh, "a")
    add_metric(wh, "b")
    add_kr(wh, "kr-a", "a", weight=1.0)  # 50 of 100 → score 0.5, on_track
    add_kr(wh, "kr-b", "b", weight=3.0)  # 100 of 100 → score 1.0, achieved
    add_days(wh, "a", {d(5): 50})
    add_days(wh, "b", {d(5): 100})
    row = _objective(wh, d(5))
    # (1 × 0.5 + 3 × 1.0) / (1 + 3) = 0.875
    assert row["score"] == pytest.approx(0.875)
    assert row["status"] == "on_track"
    assert row["kr_count"] == 2


@pytest.mark.parametrize(
    ("statuses_data", "expected"),
    [
        # a: 10/100 on d5 → off_track; b: 100/100 → achieved; worst = off_track
        ({"a": {d(5): 10}, "b": {d(5): 100}}, "off_track"),
        # a: 30/100 → at_risk (0.3 ≥ 0.25); b no data → no_data; at_risk is worse
        ({"a": {d(5): 30}, "b": {}}, "at_risk"),
        # a: no data, b: stale (data through d1 with lag 2 on d5) → no_data before stale
        ({"a": {}, "b": {d(1): 100}}, "no_data"),
    ],
)
def test_objective_status_order(
    wh: duckdb.DuckDBPyConnection, statuses_data: dict[str, dict[date, Any]], expected: str
) -> None:
    add_metric(wh, "a")
    add_metric(wh, "b")
    add_kr(wh, "kr-a", "a")
    add_kr(wh, "kr-b", "b")
    for metric_id, values in statuses_data.items():
        add_days(wh, metric_id, values)
    assert _objective(wh, d(5))["status"] == expected


def test_one_query_computes_many_days(wh: duckdb.DuckDBPyConnection) -> None:
    """A range of as-of days in one call: one row per (day, key result) inside the period."""
    add_metric(wh, "m")
    add_kr(wh, "kr", "m")
    add_days(wh, "m", {d(i): 10 for i in range(1, 11)})
    written = compute_progress(wh, d(-5), d(15))
    assert written == 10  # only the 10 days of the period
    values = wh.execute("SELECT value FROM okr.kr_progress_daily ORDER BY as_of_date").fetchall()
    assert [v for (v,) in values] == [10.0 * i for i in range(1, 11)]


def test_the_arrays_and_the_sql_running_totals_write_the_same_rows(
    wh: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daily rows' window sums come from arrays (warehouse/running_totals.py); the SQL
    running totals (metric_cumulative.sql, kr_days.sql) stay for sums beyond 64-bit parts.
    Both must write the same rows, bit for bit: gaps, a day measured without a value, ratios
    with a zero and a missing denominator, a source rate, flags of two kinds, a key result
    with nothing measured since its start, every measure."""
    import warehouse.running_totals
    from warehouse.running_totals import ExactSumOverflow

    for metric in ("a", "b", "n", "den", "rate"):
        add_metric(wh, metric)
    add_metric(wh, "r", kind="ratio", numerator="n", denominator="den")
    add_days(wh, "a", {d(i): 0.1 * i + 1234567.89 for i in range(-6, 9) if i % 4})
    add_days(wh, "b", {d(-2): 5, d(-1): 7})
    add_days(wh, "n", {d(i): 3.3 for i in range(-3, 8)})
    add_days(wh, "den", {d(i): 10 * (i % 3) for i in range(-3, 6)})
    add_days(wh, "rate", {d(1): (1, 4), d(2): (2, 0), d(3): (0, 0), d(4): (0.7, 7)})
    for day, flag in ((d(2), "sampled"), (d(3), "thresholded"), (d(9), "sampled")):
        wh.execute(
            "INSERT INTO raw.metric_flags VALUES ('file', 'a', ?, ?, 'why', now())", [day, flag]
        )
    add_kr(wh, "total", "a", baseline_kind="measured", target_kind="relative", target_value=0.1)
    add_kr(wh, "rolling", "a", measure="rolling", window_days=3, target_value=4e6)
    add_kr(wh, "latest", "a", measure="latest", target_value=1234568.0, direction="at_least")
    add_kr(wh, "average", "a", measure="average", baseline_kind="measured", target_value=1.3e6)
    add_kr(wh, "ratio", "r", measure="rolling", window_days=2, target_value=0.5)
    add_kr(wh, "rate", "rate", target_value=0.2, direction="at_most")
    add_kr(wh, "quiet", "b", measure="rolling", window_days=2, baseline_value=1.0)

    def written() -> list[tuple[Any, ...]]:
        compute_progress(wh, d(1), d(10))
        return wh.execute(
            "SELECT * FROM okr.kr_progress_daily ORDER BY kr_id, as_of_date"
        ).fetchall()

    from_arrays = written()
    assert len(from_arrays) == 70

    def overflow(*args: Any, **kwargs: Any) -> None:
        raise ExactSumOverflow

    monkeypatch.setattr(warehouse.running_totals, "daily_window_sums", overflow)
    assert written() == from_arrays


# -- Issue 21: numbers people can take at face value ------------------------------------------


def _frozen(wh: duckdb.DuckDBPyConnection, kr_id: str = "kr") -> dict[str, Any]:
    cursor = wh.execute("SELECT * FROM okr.kr_baselines WHERE kr_id = ?", [kr_id])
    columns = [c[0] for c in cursor.description]
    return dict(zip(columns, cursor.fetchone(), strict=True))


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        # Q3 (92 days) compares with Q2: 1 April..30 June, 91 days
        ("2026-Q3", (date(2026, 4, 1), date(2026, 6, 30))),
        # Q1 (90 days) compares with the Q4 before it: 92 days
        ("2027-Q1", (date(2026, 10, 1), date(2026, 12, 31))),
        # a leap-year February (29 days) compares with January (31 days) ...
        ("2028-02", (date(2028, 1, 1), date(2028, 1, 31))),
        # ... and March 2028 with that February of 29 days
        ("2028-03", (date(2028, 2, 1), date(2028, 2, 29))),
        ("2026-01", (date(2025, 12, 1), date(2025, 12, 31))),
    ],
)
def test_a_named_period_compares_with_the_previous_calendar_period(
    period: str, expected: tuple[date, date]
) -> None:
    from okr_definitions.resolve import previous_period

    assert previous_period(period) == expected


def test_explicit_dates_compare_with_the_same_number_of_days_before() -> None:
    from okr_definitions.model import ExplicitPeriod
    from okr_definitions.resolve import parse_period, previous_period

    explicit = ExplicitPeriod(start=date(2026, 7, 1), end=date(2026, 9, 30))
    assert parse_period(explicit) == parse_period("2026-Q3")
    # 92 days before 1 July: 31 March..30 June, unlike the quarter's 91-day Q2
    assert previous_period(explicit) == (date(2026, 3, 31), date(2026, 6, 30))
    assert parse_period("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))


Q3 = {"period_start": date(2026, 7, 1), "period_end": date(2026, 9, 30)}


def test_relative_total_of_q3_reads_q2_not_31_march(wh: duckdb.DuckDBPyConnection) -> None:
    # Q2 holds 91 days × 10 = 910; +40 % → 1,274. The 1,000 sessions of 31 March are outside
    # Q2 (an equal-length window would read them: (910 + 1,000) × 1.4 = 2,674).
    add_metric(wh, "m")
    add_kr(
        wh,
        "kr",
        "m",
        target_kind="relative",
        target_value=0.4,
        previous_start=date(2026, 4, 1),
        previous_end=date(2026, 6, 30),
        **Q3,
    )
    q2 = {date(2026, 4, 1) + timedelta(days=i): 10 for i in range(91)}
    add_days(wh, "m", {date(2026, 3, 31): 1000, **q2, date(2026, 7, 1): 637})
    row = progress_row(wh, "kr", date(2026, 7, 1))
    assert row["target"] == pytest.approx(1274.0, rel=1e-12)
    assert row["progress"] == pytest.approx(637 / 1274, rel=1e-12)
    frozen = _frozen(wh)
    assert frozen["measured_value"] == 910.0
    assert (frozen["window_start"], frozen["window_end"]) == (date(2026, 4, 1), date(2026, 6, 30))


def test_relative_total_of_q1_reads_the_whole_92_day_q4(wh: duckdb.DuckDBPyConnection) -> None:
    # Q4 2026: 92 days × 10 = 920, +50 % → 1,380 (equal length, 90 days from 3 October, would
    # read 900 → 1,350). The running totals must reach back past the period's own length.
    add_metric(wh, "m")
    add_kr(
        wh,
        "kr",
        "m",
        target_kind="relative",
        target_value=0.5,
        period_start=date(2027, 1, 1),
        period_end=date(2027, 3, 31),
        previous_start=date(2026, 10, 1),
        previous_end=date(2026, 12, 31),
    )
    q4 = {date(2026, 10, 1) + timedelta(days=i): 10 for i in range(92)}
    add_days(wh, "m", {**q4, date(2027, 1, 1): 69})
    row = progress_row(wh, "kr", date(2027, 1, 1))
    assert row["target"] == pytest.approx(1380.0, rel=1e-12)
    assert _frozen(wh)["measured_value"] == 920.0
    assert row["progress"] == pytest.approx(69 / 1380, rel=1e-12)


def test_average_baseline_of_a_leap_year_march_reads_february(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    # March 2028's measured average baseline is February 2028's 29 days: 28 days of 10 and
    # 29 February at 39 → (280 + 39) / 29 = 11. The 31 January at 1,000 is outside it.
    add_metric(wh, "m")
    add_kr(
        wh,
        "kr",
        "m",
        measure="average",
        baseline_kind="measured",
        baseline_value=None,
        target_kind="relative",
        target_value=1.0,
        period_start=date(2028, 3, 1),
        period_end=date(2028, 3, 31),
        previous_start=date(2028, 2, 1),
        previous_end=date(2028, 2, 29),
    )
    february = {date(2028, 2, 1) + timedelta(days=i): 10 for i in range(28)}
    add_days(
        wh,
        "m",
        {date(2028, 1, 31): 1000, **february, date(2028, 2, 29): 39, date(2028, 3, 1): 16.5},
    )
    row = progress_row(wh, "kr", date(2028, 3, 1))
    assert row["baseline"] == 11.0
    assert row["target"] == 22.0  # +100 %
    assert row["progress"] == 0.5  # (16.5 − 11) / (22 − 11)
    assert _frozen(wh)["window_start"] == date(2028, 2, 1)


def test_the_definitions_resolve_the_previous_period(tmp_path: Any) -> None:
    """The YAML's `period: 2026-Q3` reaches okr.key_results with Q2 as its previous period,
    and the pipeline fetches from the first day of Q2's 91 days on."""
    import textwrap

    from okr_definitions.loader import load_definitions

    (tmp_path / "okr.yaml").write_text(
        textwrap.dedent(
            """\
            organisation: {name: Acme}
            sources: {ga4: {property_id: "123"}}
            teams: [{id: growth, name: Growth}]
            metrics:
              - {id: m, source: file, query: {path: m.csv}}
              - {id: users, source: ga4, query: {metric: totalUsers}}
            objectives:
              - id: grow
                title: Grow
                team: growth
                period: 2026-Q3
                key_results:
                  - {id: a, title: Sessions +40 %, metric: m, target: +40%}
                  - {id: b, title: Sessions 1000, metric: m, target: 1000}
                  - {id: u, title: Users +10 %, metric: users, target: +10%}
              - id: feb
                title: February
                team: growth
                period: 2028-02
                key_results:
                  - {id: c, title: Sessions +10 %, metric: m, target: +10%}
                  - {id: e, title: Sessions 100, metric: m, target: 100}
            """
        )
    )
    (tmp_path / "m.csv").write_text("date,value\n2026-07-01,1\n")
    definitions, problems = load_definitions(tmp_path)
    assert [p for p in problems if p.severity == "error"] == []
    resolved = {kr.id: kr for kr in definitions.resolved_key_results()}
    assert (resolved["a"].previous_start, resolved["a"].previous_end) == (
        date(2026, 4, 1),
        date(2026, 6, 30),
    )
    assert (resolved["c"].period_start, resolved["c"].period_end) == (
        date(2028, 2, 1),
        date(2028, 2, 29),
    )
    assert resolved["c"].previous_start == date(2028, 1, 1)
    assert definitions.earliest_date_needed() == date(2026, 4, 1)
    # unique users are never summed: GA4 is asked for all of Q2 as one range, the window the
    # previous-period target reads (not the 92 days from 31 March)
    from connectors.base import range_requests
    from connectors.ga4.requests import is_additive

    day = date(2026, 7, 1)
    ranges = {(r.start, r.end) for r in range_requests(definitions, "ga4", is_additive, day, day)}
    assert ranges == {(date(2026, 4, 1), date(2026, 6, 30)), (day, day)}


YEAR = date(2025, 10, 1)  # a year of days before the period: the running totals start here


def _a_year_of_revenue() -> dict[date, float]:
    """365 days of revenue with cents (1,234,567.89 + day × 0.01): running sums near 4.5e8,
    where a double keeps only about seven digits after the point."""
    return {YEAR + timedelta(days=i): 1_234_567.89 + i / 100 for i in range(365)}


def test_latest_is_the_days_value_itself_after_a_year_of_large_values(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    add_metric(wh, "m")
    add_kr(
        wh,
        "kr",
        "m",
        measure="latest",
        baseline_kind="number",
        baseline_value=0.0,
        target_value=0.05,
        period_start=YEAR,
    )
    days = _a_year_of_revenue()
    day = YEAR + timedelta(days=365)
    for value in (0.025, 1.784, 0.1):
        wh.execute("DELETE FROM staging.metric_daily WHERE date = ?", [day])
        add_days(wh, "m", {**days, day: value} if value == 0.025 else {day: value})
        assert progress_row(wh, "kr", day)["value"] == value


def test_sums_are_the_exact_decimal_result(wh: duckdb.DuckDBPyConnection) -> None:
    from decimal import Decimal

    add_metric(wh, "m")
    add_metric(wh, "ten")
    # total of ten days of 0.1 in a 10-day period with target 1: exactly 1.0, so achieved with
    # progress exactly 1.0 (binary doubles add up to 0.9999999999999999)
    add_kr(wh, "tenths", "ten", target_value=1.0)
    add_days(wh, "ten", {d(i): 0.1 for i in range(1, 11)})
    row = progress_row(wh, "tenths", d(10))
    assert (row["value"], row["progress"], row["status"]) == (1.0, 1.0, "achieved")
    # a 7-day rolling sum after a year of revenue: equal to the exact decimal sum
    add_kr(
        wh,
        "week",
        "m",
        measure="rolling",
        window_days=7,
        baseline_kind="number",
        baseline_value=0.0,
        target_value=10_000_000.0,
        period_start=YEAR,
        period_end=YEAR + timedelta(days=364),
    )
    days = _a_year_of_revenue()
    add_days(wh, "m", days)
    last = YEAR + timedelta(days=364)
    exact = sum(Decimal(repr(v)) for day, v in days.items() if day > last - timedelta(days=7))
    assert progress_row(wh, "week", last)["value"] == float(exact)


def test_a_day_computed_in_another_range_of_days_is_bit_for_bit_the_same(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    """The sums are exact, so a day's row does not depend on which range of days it was
    computed in (the running totals start on another day): README, "The same days run
    again". Sixty days of about 98.7 million with cents: in doubles, running totals near 6e9
    would leave the last digits to the day they started on."""
    add_metric(wh, "m")
    add_metric(wh, "orders")
    add_metric(wh, "per_order", kind="ratio", numerator="m", denominator="orders")
    first, last = YEAR, YEAR + timedelta(days=59)
    period = {"period_start": first, "period_end": last, "target_value": 1e10}
    add_kr(wh, "week", "m", measure="rolling", window_days=7, **period)
    add_kr(wh, "ratio", "per_order", measure="rolling", window_days=3, **period)
    add_kr(wh, "average", "m", measure="average", **period)
    revenue = {first + timedelta(days=i): 98_765_432.1 + i / 100 for i in range(60)}
    add_days(wh, "m", revenue)
    add_days(wh, "orders", {day: 3 for day in revenue})
    tail = last - timedelta(days=2)
    rows = "SELECT * FROM okr.kr_progress_daily WHERE as_of_date >= ? ORDER BY ALL"

    compute_progress(wh, first, last)  # all sixty days: running totals from the first
    in_all_days = wh.execute(rows, [tail]).fetchall()
    wh.execute("DELETE FROM okr.kr_progress_daily")
    compute_progress(wh, tail, last)  # three days: the week's totals start days before them
    alone = wh.execute(rows, [tail]).fetchall()
    assert len(alone) == 9
    assert alone == in_all_days


def test_sums_beyond_64_bit_whole_parts_stay_exact(wh: duckdb.DuckDBPyConnection) -> None:
    """Sums reach 10^23 (okr_definitions/README.md): whole parts beyond 64 bits are summed by
    the SQL running totals, with the same exact result."""
    from decimal import Decimal

    add_metric(wh, "big")
    add_kr(wh, "big", "big", target_value=1e23)
    days = {d(1): 9e21, d(2): 0.1, d(3): 9e21, d(4): 0.25, d(5): 4.5e18}
    add_days(wh, "big", days)
    exact = sum(Decimal(repr(v)) for v in days.values())
    assert exact == Decimal("18004500000000000000000.35")
    row = progress_row(wh, "big", d(5))
    assert row["value"] == float(exact)
    assert row["progress"] == float(exact) / 1e23


def test_a_ratio_is_the_exact_ratio_of_sums(wh: duckdb.DuckDBPyConnection) -> None:
    from decimal import Decimal

    add_metric(wh, "revenue")
    add_metric(wh, "orders")
    add_metric(wh, "per_order", kind="ratio", numerator="revenue", denominator="orders")
    add_kr(wh, "kr", "per_order", measure="rolling", window_days=2, period_start=YEAR)
    revenue = _a_year_of_revenue()
    add_days(wh, "revenue", revenue)
    add_days(wh, "orders", {day: 3 for day in revenue})
    last = YEAR + timedelta(days=364)
    exact = (Decimal(repr(revenue[last])) + Decimal(repr(revenue[last - timedelta(days=1)]))) / 6
    value = progress_row(wh, "kr", last)["value"]
    assert abs(Decimal(value) - exact) / exact < Decimal("1e-15")


@pytest.mark.parametrize(
    ("direction", "target", "value"),
    [("at_least", 1.784, 1.784), ("at_most", 0.025, 0.025), ("at_least", 0.3, 0.3)],
)
def test_a_level_exactly_on_its_target_scores_exactly_one(
    wh: duckdb.DuckDBPyConnection, direction: str, target: float, value: float
) -> None:
    add_metric(wh, "m")
    measure = {"measure": "latest"} if value != 0.3 else {"measure": "rolling", "window_days": 3}
    add_kr(
        wh,
        "kr",
        "m",
        baseline_kind="none",
        baseline_value=None,
        direction=direction,
        target_value=target,
        **measure,
    )
    # 0.1 + 0.1 + 0.1 is 0.30000000000000004 in doubles; three days of 0.1 are 0.3 here
    days = {d(3): 0.1, d(4): 0.1, d(5): 0.1} if value == 0.3 else {d(5): value}
    add_days(wh, "m", {d(-5): 987_654.321, **days})
    row = progress_row(wh, "kr", d(5))
    assert (row["value"], row["progress"], row["score"], row["status"]) == (
        value,
        1.0,
        1.0,
        "achieved",
    )


def _flag_reasons(wh: duckdb.DuckDBPyConnection, metric_id: str) -> list[tuple[Any, ...]]:
    return wh.execute(
        "SELECT date, flag, reason FROM staging.metric_flags WHERE metric_id = ? ORDER BY date",
        [metric_id],
    ).fetchall()


def test_a_ratio_day_without_a_denominator_is_not_measured_and_flagged(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    add_metric(wh, "purchases")
    add_metric(wh, "sessions")
    add_metric(wh, "rate", kind="ratio", numerator="purchases", denominator="sessions")
    add_kr(wh, "kr", "rate", target_value=0.5)
    # d2: 3 purchases on 0 sessions; d3: 4 purchases and no sessions row although sessions
    # has d4 — neither day counts: (1 + 5) / (10 + 20) = 0.2, not (1 + 3 + 4 + 5) / 30
    add_days(wh, "purchases", {d(1): 1, d(2): 3, d(3): 4, d(4): 5})
    add_days(wh, "sessions", {d(1): 10, d(2): 0, d(4): 20})
    row = progress_row(wh, "kr", d(4))
    assert row["value"] == 0.2
    assert row["flags"] == ["no_denominator"]
    assert _flag_reasons(wh, "rate") == [
        (
            d(2),
            "no_denominator",
            "purchases 3.0 with sessions 0: the day is not counted in the ratio",
        ),
        (
            d(3),
            "no_denominator",
            "purchases 4.0 with no sessions: the day is not counted in the ratio",
        ),
    ]


def test_a_source_rate_with_a_zero_denominator_is_not_measured(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    add_metric(wh, "conv")
    add_kr(wh, "kr", "conv", measure="average", baseline_kind="number", baseline_value=0.1)
    # d2 reports 2 conversions of 0 sessions: (1 + 4) / (10 + 40) = 0.1
    add_days(wh, "conv", {d(1): (1, 10), d(2): (2, 0), d(3): (4, 40)})
    row = progress_row(wh, "kr", d(3))
    assert row["value"] == 0.1
    assert row["flags"] == ["no_denominator"]
    assert _flag_reasons(wh, "conv") == [
        (
            d(2),
            "no_denominator",
            "numerator 2.0 with denominator 0: the day is not counted in the ratio",
        )
    ]


def test_a_window_whose_denominator_is_zero_says_so(wh: duckdb.DuckDBPyConnection) -> None:
    add_metric(wh, "purchases")
    add_metric(wh, "sessions")
    add_metric(wh, "rate", kind="ratio", numerator="purchases", denominator="sessions")
    add_kr(wh, "kr", "rate", measure="rolling", window_days=2, target_value=0.5)
    add_days(wh, "purchases", {d(1): 2, d(2): 0, d(3): 0})
    add_days(wh, "sessions", {d(1): 10, d(2): 0, d(3): 0})
    row = progress_row(wh, "kr", d(3))
    assert (row["value"], row["status"]) == (None, "no_data")
    assert row["status_reason"] == f"the denominator is 0 for {d(2)}..{d(3)}"


LEVEL = {
    "measure": "rolling",
    "window_days": 7,
    "baseline_kind": "none",
    "baseline_value": None,
    "direction": "at_least",
    "target_value": 40_000.0,
    "period_start": date(2026, 7, 1),
    "period_end": date(2026, 9, 30),
}


@pytest.mark.parametrize(
    ("weekly", "progress", "status"),
    [
        # €34,920 a week against a floor of €40,000: 0.873 ≥ 1 − 0.25 → at_risk (the old pace
        # comparison said on_track, +18 points, against a time pace of 0.70)
        (34_920.0, 0.873, "at_risk"),
        # €29,000: 0.725 < 0.75 → off_track
        (29_000.0, 0.725, "off_track"),
        # €40,000: the level holds → achieved
        (40_000.0, 1.0, "achieved"),
    ],
)
def test_a_level_is_judged_against_the_level_not_a_pace(
    wh: duckdb.DuckDBPyConnection, weekly: float, progress: float, status: str
) -> None:
    add_metric(wh, "revenue", lag=7)
    add_kr(wh, "kr", "revenue", **LEVEL)
    as_of = date(2026, 9, 2)  # day 64 of 92: a time pace would be 0.696
    add_days(wh, "revenue", {as_of - timedelta(days=i): weekly / 7 for i in range(7)})
    row = progress_row(wh, "kr", as_of)
    assert row["expected_progress"] == 1.0
    assert row["progress"] == pytest.approx(progress, rel=1e-12)
    assert row["status"] == status


def test_a_level_expects_one_from_the_first_day(wh: duckdb.DuckDBPyConnection) -> None:
    add_metric(wh, "m")
    add_kr(wh, "kr", "m", **{**LEVEL, "direction": "at_most", "commitment": "aspirational"})
    add_days(wh, "m", {date(2026, 7, 1): 50_000.0})
    row = progress_row(wh, "kr", date(2026, 7, 1))
    # a ceiling of 40,000 and 50,000: 0.8 → at_risk on day 1, where a pace would be 0.008
    assert (row["expected_progress"], row["progress"], row["status"]) == (1.0, 0.8, "at_risk")


def test_a_previous_period_of_zeros_scores_the_value_against_target_zero(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    # previous 10 days all 0 → target 0 × 1.4 = 0 = baseline; this period 7 so far: the
    # target is met (progress 1.0, achieved), and the reason gives the numbers
    add_metric(wh, "m")
    add_kr(wh, "kr", "m", target_kind="relative", target_value=0.4, direction="increase")
    add_days(wh, "m", {**{d(i): 0 for i in range(-9, 1)}, d(1): 7})
    row = progress_row(wh, "kr", d(1))
    assert (row["baseline"], row["target"], row["progress"], row["status"]) == (
        0.0,
        0.0,
        1.0,
        "achieved",
    )
    assert row["status_reason"] == (
        f"target equals the baseline, 0.0 (measured 0.0 over {d(-9)}..{d(0)}): "
        "met while the value is at least 0.0 (it is 7.0)"
    )


def test_a_measured_baseline_of_zero_with_a_decrease_target(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    # average errors per day measured 0 before the period, −10 % → target 0; now 2 a day:
    # not met, progress 0 → on day 5 0 < 0.5 − 0.25 → off_track, with the numbers
    add_metric(wh, "errors")
    add_kr(
        wh,
        "kr",
        "errors",
        measure="average",
        baseline_kind="measured",
        baseline_value=None,
        target_kind="relative",
        target_value=-0.1,
        direction="decrease",
    )
    add_days(wh, "errors", {**{d(i): 0 for i in range(-9, 1)}, **{d(i): 2 for i in range(1, 6)}})
    row = progress_row(wh, "kr", d(5))
    assert (row["value"], row["target"], row["progress"], row["status"]) == (
        2.0,
        0.0,
        0.0,
        "off_track",
    )
    assert row["status_reason"] == (
        f"target equals the baseline, 0.0 (measured 0.0 over {d(-9)}..{d(0)}): "
        "met while the value is at most 0.0 (it is 2.0)"
    )


def test_a_key_result_before_its_period_is_shown_as_it_would_be_measured_today(
    wh: duckdb.DuckDBPyConnection,
) -> None:
    """Q4 has not started on 2026-09-20: no progress rows, but its +40 % target over Q3 so
    far (20 days × 10 = 200 → 280) and which of its metrics have no data at all."""
    from warehouse.progress import not_started_rows

    add_metric(wh, "sessions")
    add_metric(wh, "purchases")
    add_metric(wh, "rate", kind="ratio", numerator="purchases", denominator="sessions")
    q4 = {
        "period_start": date(2026, 10, 1),
        "period_end": date(2026, 12, 31),
        "previous_start": date(2026, 7, 1),
        "previous_end": date(2026, 9, 30),
    }
    add_kr(wh, "grow", "sessions", target_kind="relative", target_value=0.4, **q4)
    add_kr(
        wh, "convert", "rate", baseline_kind="number", baseline_value=0.01, target_value=0.02, **q4
    )
    add_days(wh, "sessions", {date(2026, 9, 1) + timedelta(days=i): 10 for i in range(20)})
    as_of = date(2026, 9, 20)
    assert compute_progress(wh, as_of, as_of) == 0  # no rows before the period
    rows = {r["kr_id"]: r for r in not_started_rows(wh, as_of)}
    assert set(rows) == {"grow", "convert"}
    grow = rows["grow"]
    assert (grow["baseline"], grow["measured_value"], grow["target"]) == (0.0, 200.0, 280.0)
    assert (grow["measured_from"], grow["measured_through"]) == (
        date(2026, 7, 1),
        date(2026, 9, 30),
    )
    assert (grow["metrics_without_data"], grow["data_through"]) == ([], date(2026, 9, 20))
    convert = rows["convert"]
    assert (convert["baseline"], convert["target"], convert["measured_value"]) == (0.01, 0.02, None)
    assert convert["metrics_without_data"] == ["purchases"]
    assert not_started_rows(wh, as_of, team="nope") == []
    assert not_started_rows(wh, date(2026, 10, 1)) == []
