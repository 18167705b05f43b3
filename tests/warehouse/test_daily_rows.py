"""The daily key-result rows computed in arrays (warehouse/daily_rows.py) are the SQL chain's
rows (kr_days.sql -> window_values.sql -> kr_progress_daily.sql, which writes them where the
arrays do not cover the data): row for row, bit for bit, on a warehouse holding every case of
test_kr_math.py side by side, edge cases of their own and the benchmarks' synthetic key
results, over every day of their periods and under two sets of status margins."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_kr_math import CASES, START, add_days, add_kr, add_metric, d

import warehouse.daily_rows
import warehouse.running_totals
from warehouse.progress import ProgressSettings, compute_progress
from warehouse.running_totals import ExactSumOverflow

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks.synthetic import write_definitions, write_staging  # noqa: E402


def _all_cases(con: duckdb.DuckDBPyConnection) -> None:
    """test_kr_math.py's cases, each under its own ids (c<n>_<id>)."""
    for n, case in enumerate(CASES):

        def named(metric_id: str | None, n: int = n) -> str | None:
            return None if metric_id is None else f"c{n}_{metric_id}"

        for metric in case.metrics:
            add_metric(
                con,
                named(metric["id"]),
                kind=metric.get("kind", "source"),
                additive=metric.get("additive", True),
                lag=metric.get("lag", 2),
                numerator=named(metric.get("numerator")),
                denominator=named(metric.get("denominator")),
            )
        kr = dict(case.kr)
        metric_id = named(kr.pop("metric_id", case.metrics[0]["id"]))
        add_kr(con, f"c{n}_kr", metric_id, objective_id=f"c{n}", **kr)
        for day_metric, values in case.days.items():
            add_days(con, named(day_metric), values)


def _edge_cases(con: duckdb.DuckDBPyConnection) -> None:
    """What the cases leave out: a non-additive metric's range answers (one missing), flags
    of several kinds on a ratio's parts, a target equal to a measured baseline, declared
    directions, an aspirational key result, a source rate with a zero denominator, a unit,
    periods other than the cases' own."""
    add_metric(con, "users", additive=False)
    for first, last, value in ((d(1), d(3), 7.0), (d(1), d(4), 9.5), (d(2), d(5), 11.0)):
        con.execute(
            "INSERT INTO raw.metric_ranges VALUES "
            "('file', 'users', ?, ?, ?, NULL, NULL, 'h', now(), NULL)",
            [first, last, value],
        )
    add_days(con, "users", {d(i): 3.0 for i in range(1, 6)})
    add_kr(con, "users_total", "users", target_value=12.0)
    add_kr(con, "users_rolling", "users", measure="rolling", window_days=4, target_value=10.0)
    add_metric(con, "num")
    add_metric(con, "den")
    add_metric(con, "rate", kind="ratio", numerator="num", denominator="den")
    add_days(con, "num", {d(i): 0.1 * i for i in range(-4, 8)})
    add_days(con, "den", {d(i): float(i % 4) for i in range(-4, 7)})
    for metric, day, flag in (
        ("num", d(2), "sampled"),
        ("den", d(3), "thresholded"),
        ("num", d(6), "thresholded"),
        ("rate", d(8), "restated"),
    ):
        con.execute(
            "INSERT INTO raw.metric_flags VALUES ('file', ?, ?, ?, 'why', now())",
            [metric, day, flag],
        )
    add_kr(con, "rate_rolling", "rate", measure="rolling", window_days=2, target_value=0.5)
    add_kr(
        con,
        "rate_avg",
        "rate",
        measure="average",
        direction="decrease",
        baseline_value=1.0,
        target_value=0.2,
        commitment="aspirational",
        unit="%",
    )
    add_kr(
        con,
        "flat",
        "num",
        measure="rolling",
        window_days=3,
        baseline_kind="measured",
        target_kind="relative",
        target_value=0.0,
        direction="increase",
    )
    # A ratio whose numerator omits a day (a zero day, counted as 0) and has not delivered
    # its last days yet (not measured), over a denominator with a day without a value and
    # a day of 0 (measured: 0 over 0 adds nothing, but counts as a day).
    add_metric(con, "hits")
    add_metric(con, "visits")
    add_metric(con, "hit_rate", kind="ratio", numerator="hits", denominator="visits")
    add_days(con, "hits", {d(i): float(i) for i in (-1, 1, 3, 4)})
    add_days(con, "visits", {d(i): {2: 0.0, 3: None}.get(i, 5.0) for i in range(-2, 9)})
    add_kr(con, "hit_rate", "hit_rate", measure="rolling", window_days=3, target_value=1.0)
    add_kr(con, "hit_rate_total", "hit_rate", target_value=1.0)
    add_metric(con, "conv")
    add_days(con, "conv", {d(1): (2, 4), d(2): (3, 0), d(3): (0, 0), d(4): (1, 5)})
    add_kr(con, "conv", "conv", measure="latest", target_value=0.3, direction="at_most")
    add_kr(con, "conv_least", "conv", target_value=0.4, direction="at_least", weight=2.0)
    # A ratio whose denominator skips days and delivers again after the range: the
    # numerator's days in the gap lack a denominator (no_denominator) up to that later day.
    add_metric(con, "clicks")
    add_metric(con, "views")
    add_metric(con, "ctr", kind="ratio", numerator="clicks", denominator="views")
    add_days(con, "clicks", {d(i): 1.0 for i in range(1, 5)})
    add_days(con, "views", {d(i): 10.0 for i in (1, 2, 16)})
    add_kr(con, "ctr", "ctr", measure="rolling", window_days=3, target_value=0.2)
    # Periods of their own: one starting mid-range, one ending before the range does.
    add_kr(
        con,
        "later",
        "num",
        measure="rolling",
        window_days=2,
        period_start=d(4),
        period_end=d(20),
        target_value=1.5,
    )
    add_kr(con, "short", "den", period_start=d(-2), period_end=d(3), target_value=5.0)


def _rows(con: duckdb.DuckDBPyConnection, first: date, last: date, **kw: Any) -> list[tuple]:
    compute_progress(con, first, last, ProgressSettings(**kw))
    return con.execute("SELECT * FROM okr.kr_progress_daily ORDER BY kr_id, as_of_date").fetchall()


def _sql_chain(*args: Any, **kwargs: Any) -> None:
    raise ExactSumOverflow


@pytest.mark.parametrize(
    "margins",
    [{}, {"on_track_margin": 0.05, "at_risk_margin": 0.4, "aspirational_pace": 0.6}],
)
def test_the_arrays_write_the_sql_chains_rows(
    wh: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, margins: dict[str, float]
) -> None:
    _all_cases(wh)
    _edge_cases(wh)
    first, last = START - timedelta(days=3), START + timedelta(days=12)
    from_arrays = _rows(wh, first, last, **margins)
    statuses = {row[15] for row in from_arrays}
    assert statuses == {"achieved", "on_track", "at_risk", "off_track", "stale", "no_data"}
    assert any(len(row[21]) > 1 for row in from_arrays)  # flags of several kinds
    assert sum(row[16] is not None for row in from_arrays) > 50  # reasons
    by_key = {(row[1], row[0]): row for row in from_arrays}
    assert by_key[("users_total", d(3))][8] == 7.0  # the source's answer for d1..d3
    assert by_key[("users_total", d(5))][8] is None  # none for d1..d5
    assert by_key[("flat", d(5))][16].startswith("target equals the baseline, ")
    assert by_key[("ctr", d(4))][21] == ["no_denominator"]
    monkeypatch.setattr(warehouse.running_totals, "daily_window_sums", _sql_chain)
    assert _rows(wh, first, last, **margins) == from_arrays


@pytest.mark.parametrize("row_group_rows", [None, 200])
def test_the_synthetic_key_results_too(
    wh: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, row_group_rows: int | None
) -> None:
    """The benchmarks' key results (every measure, baselines measured and frozen, ratios,
    every tenth metric-day flagged) over a month; also inserted as several record batches,
    as a run of more than a row group's rows is (warehouse.daily_rows._batch_per_thread)."""
    if row_group_rows is not None:
        monkeypatch.setattr(warehouse.daily_rows, "_ROW_GROUP_ROWS", row_group_rows)
        wh.execute("SET threads = 3")
    period = (date(2026, 1, 1), date(2026, 1, 31))
    write_definitions(wh, 20, *period)
    write_staging(wh, date(2025, 12, 1), date(2026, 1, 25))
    wh.execute(
        "INSERT INTO raw.metric_flags SELECT 'file', metric_id, date, 'restated', 'why', "
        "TIMESTAMPTZ '2026-01-01 00:00:00+00' FROM staging.metric_daily WHERE day(date) = 7"
    )
    from_arrays = _rows(wh, *period)
    assert len(from_arrays) == 20 * 31
    monkeypatch.setattr(warehouse.running_totals, "daily_window_sums", _sql_chain)
    assert _rows(wh, *period) == from_arrays


@pytest.mark.parametrize("kinds", [{"sampled"}, {"sampled", "restated"}])
def test_one_kind_of_flag_per_metric(
    wh: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch, kinds: set[str]
) -> None:
    """Flag lists of at most one kind, which warehouse.daily_rows._flags builds without its
    combinations: the benchmarks' key results as their flags come (one kind), and with the
    source metrics' flags of another kind than the ratios' parts' (two kinds, one a metric)."""
    period = (date(2026, 1, 1), date(2026, 1, 31))
    write_definitions(wh, 20, *period)
    write_staging(wh, date(2025, 12, 1), date(2026, 1, 25))
    if "restated" in kinds:
        wh.execute("UPDATE raw.metric_flags SET flag = 'restated' WHERE metric_id LIKE 'm%'")
    from_arrays = _rows(wh, *period)
    assert {flag for row in from_arrays for flag in row[21] or []} == kinds
    assert max(len(row[21] or []) for row in from_arrays) == 1
    monkeypatch.setattr(warehouse.running_totals, "daily_window_sums", _sql_chain)
    assert _rows(wh, *period) == from_arrays
