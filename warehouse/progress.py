"""Build staging.metric_daily and the key-result progress tables for a range of days.

Each function replaces its slice in one transaction. The math lives in the SQL models under
`warehouse/models/`; this module runs them in order with their parameters. One part is not SQL:
the daily key-result rows are computed in arrays (warehouse/running_totals.py: the window sums,
differences of running totals; warehouse/daily_rows.py: values, progress, statuses and flags),
by the same rules as the SQL chain kr_days.sql -> window_values.sql -> kr_progress_daily.sql,
which writes them where the arrays do not cover the data (sums beyond 64-bit whole parts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from warehouse.db import read_model, transaction
from warehouse.status import status_rank_sql


@dataclass(frozen=True)
class ProgressSettings:
    """The organisation's status thresholds (okr_definitions/README.md, "How the numbers are
    computed")."""

    on_track_margin: float = 0.10
    at_risk_margin: float = 0.25
    aspirational_pace: float = 0.7


# How long before the newest fetch staging holds a raw row may have been fetched and still be
# unseen by staging: a source takes its fetch time before it waits for the warehouse lock
# (warehouse.db.BUSY_WAIT_SECONDS) while a model run writes. A day is ample.
CHANGED_ROWS_MARGIN = timedelta(days=1)


def build_staging(con: duckdb.DuckDBPyConnection, start: date, end: date) -> int:
    """Replace staging.metric_daily for [start, end] from the raw metric rows.

    Days before the window whose raw rows changed since staging last saw them (a CRM deal
    restated into an old day) are rebuilt too, so staging never disagrees with raw.

    Finding them reads only the raw rows fetched since shortly before the newest fetch staging
    holds (every earlier build already staged what came before it), and the staged days from
    the oldest of those on: the cost follows what was loaded since the last build, not the
    length of the history.
    """
    with transaction(con):
        first_changed = _first_changed_day(con, start)
        if first_changed is not None and first_changed < start:
            start = first_changed
        con.execute(
            "CREATE OR REPLACE TEMP TABLE staging_new AS " + read_model("staging_metric_daily"),
            {"from_date": start, "to_date": end},
        )
        con.execute(
            "INSERT INTO staging.metric_revisions BY NAME " + read_model("metric_revisions"),
            {"from_date": start, "to_date": end, "seen_at": datetime.now(UTC)},
        )
        con.execute("DELETE FROM staging.metric_daily WHERE date BETWEEN ? AND ?", [start, end])
        # Stored in date order, so the date-range scans of later runs (this delete, the
        # revisions, the models) skip the row groups of older days by their min/max dates,
        # even after a first backfill of a whole year.
        con.execute(
            "INSERT INTO staging.metric_daily BY NAME SELECT * FROM staging_new ORDER BY date"
        )
        con.execute("DROP TABLE staging_new")
        (count,) = con.execute(
            "SELECT count(*) FROM staging.metric_daily WHERE date BETWEEN ? AND ?", [start, end]
        ).fetchone()
    return int(count)


def _first_changed_day(con: duckdb.DuckDBPyConnection, start: date) -> date | None:
    """The earliest day before `start` whose raw rows differ from staging (None if none)."""
    oldest_recent, newer = con.execute(
        """
        WITH recent AS (
            SELECT metric_id, date, fetched_at FROM raw.metric_rows
            WHERE date < $start
              AND fetched_at > coalesce(
                  (SELECT max(fetched_at) FROM staging.metric_daily) - $margin,
                  TIMESTAMPTZ '-infinity')
        )
        SELECT
            (SELECT min(date) FROM recent),
            (SELECT min(r.date) FROM recent AS r
             LEFT JOIN staging.metric_daily AS s USING (metric_id, date)
             WHERE s.metric_id IS NULL OR r.fetched_at > s.fetched_at)
        """,
        {"start": start, "margin": CHANGED_ROWS_MARGIN},
    ).fetchone()
    if oldest_recent is None:
        return None
    # A day a recent load deleted and did not deliver again: staged, but gone from raw. Both
    # sides are cut to the recent loads' days by constants, so DuckDB skips older row groups.
    (vanished,) = con.execute(
        """
        SELECT min(s.date) FROM staging.metric_daily AS s
        ANTI JOIN (
            SELECT metric_id, date FROM raw.metric_rows WHERE date >= $lo AND date < $start
        ) AS r USING (metric_id, date)
        WHERE s.date >= $lo AND s.date < $start
        """,
        {"lo": oldest_recent, "start": start},
    ).fetchone()
    days = [d for d in (newer, vanished) if d is not None]
    return min(days) if days else None


# A key result of `k` (okr.key_results) whose baseline is still to be measured: one measured
# (or a relative total target's), not yet frozen in okr.kr_baselines for its definition.
_BASELINE_PENDING = """
    (k.baseline_kind = 'measured' OR (k.target_kind = 'relative' AND k.measure = 'total'))
    AND NOT EXISTS (
        SELECT 1 FROM okr.kr_baselines AS b
        WHERE b.kr_id = k.kr_id AND b.definition_hash = k.definition_hash)
"""


def _calendar_bounds(
    con: duckdb.DuckDBPyConnection, from_date: date, to_date: date
) -> tuple[date, date, bool] | None:
    """The days the key results active in [from_date, to_date] can read: their periods, the
    rolling window before a period's first days, and — only while a baseline is still to be
    measured — the previous period (a named period's previous quarter or month can be longer
    than the period: Q4 before Q1). Bounded by the period length, not by the history, so a
    daily run costs the same after a month or after years; once the baselines are frozen the
    previous period is no longer read (the running totals then cover half the days).
    The third value says whether any baseline is still to be measured."""
    row = con.execute(
        f"""
        WITH active AS (
            SELECT
                k.*,
                ({_BASELINE_PENDING}) AS pending
            FROM okr.key_results AS k
            WHERE k.period_start <= ? AND k.period_end >= ?
        )
        SELECT
            min(period_start - CAST(CASE
                WHEN pending THEN greatest(
                    coalesce(period_start - previous_start, period_end - period_start + 1),
                    coalesce(window_days, 0))
                ELSE coalesce(window_days, 0)
            END AS INTEGER) - 1),
            coalesce(bool_or(pending), false)
        FROM active
        """,
        [to_date, from_date],
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], to_date, bool(row[1])


def _baselines_measurable(con: duckdb.DuckDBPyConnection, from_date: date, to_date: date) -> bool:
    """Whether a baseline still to be measured (`_calendar_bounds`) may be measured now: its
    window, which ends before its period starts (baseline_windows.sql), can only have a value
    when staging holds a day of its metric (or of a ratio's part) before the period, or a range
    answer ending before it. False means kr_baselines_frozen.sql would freeze nothing, so its
    SQL running totals need not be built: a workspace whose history starts inside the period
    (the demo's, a source added mid-quarter) would otherwise build them on every run."""
    (measurable,) = con.execute(
        f"""
        WITH pending AS (
            SELECT k.metric_id, k.period_start
            FROM okr.key_results AS k
            WHERE k.period_start <= $to_date AND k.period_end >= $from_date
              AND {_BASELINE_PENDING}
        )
        SELECT EXISTS (
            SELECT 1 FROM pending AS p
            JOIN okr.metrics AS m USING (metric_id)
            JOIN staging.metric_daily AS s
                ON s.metric_id IN (m.metric_id, m.numerator_metric_id, m.denominator_metric_id)
               AND s.date < p.period_start
        ) OR EXISTS (
            SELECT 1 FROM pending AS p
            JOIN staging.metric_range AS r
                ON r.metric_id = p.metric_id AND r.range_end < p.period_start
        )
        """,
        {"from_date": from_date, "to_date": to_date},
    ).fetchone()
    return bool(measurable)


def _prepare_series(
    con: duckdb.DuckDBPyConnection,
    calendar_start: date,
    calendar_end: date,
    from_date: date,
    running_totals: bool = True,
) -> None:
    """The macro status_reason and, with `running_totals`, the SQL running totals the window
    models read (`_running_totals`)."""
    # the status reasons' words, read by both writers of the daily rows
    con.execute(read_model("status_reason"))
    if running_totals:
        _running_totals(con, calendar_start, calendar_end, from_date)


def _running_totals(
    con: duckdb.DuckDBPyConnection, calendar_start: date, calendar_end: date, from_date: date
) -> None:
    """The temp view metric_series and the temp tables metric_flag_days and
    metric_cumulative, the SQL running totals (the arrays read the staged rows and the flags
    on their own: warehouse.running_totals)."""
    # metric_series reads it: a view cannot take parameters.
    con.execute("SET VARIABLE okr_calendar_start = ?", [calendar_start])
    con.execute("CREATE OR REPLACE TEMP VIEW metric_series AS " + read_model("metric_series"))
    calendar = {"calendar_start": calendar_start, "calendar_end": calendar_end}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE metric_flag_days AS SELECT DISTINCT * FROM ("
        + read_model("metric_flag_days")
        + ")",
        {**calendar, "ratio_no_denominator": True},
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE metric_cumulative AS " + read_model("metric_cumulative"),
        {"calendar_start": calendar_start, "calendar_end": calendar_end, "from_date": from_date},
    )


def _drop_series(con: duckdb.DuckDBPyConnection) -> None:
    for temp in ("metric_cumulative", "metric_flag_days", "metric_index"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    con.execute("DROP VIEW IF EXISTS metric_series")
    con.execute("DROP MACRO IF EXISTS status_reason")


def _chained(model: str, windows: str) -> str:
    """One statement: `model` over window_values.sql over window_sums.sql over the `windows`
    model, as CTEs.

    One statement rather than temp tables in between, so the (key result, day) rows stream
    from the running totals into the insert without being written twice on the way.
    """
    return (
        f"WITH windows AS (\n{read_model(windows)}\n),\n"
        f"window_sums AS (\n{read_model('window_sums')}\n),\n"
        f"window_value AS (\n{read_model('window_values')}\n)\n"
        f"SELECT * FROM (\n{read_model(model)}\n)"
    )


def compute_progress(
    con: duckdb.DuckDBPyConnection,
    from_date: date,
    to_date: date,
    settings: ProgressSettings = ProgressSettings(),
) -> int:
    """Replace okr.kr_progress_daily for [from_date, to_date].

    Measured baselines not yet frozen are measured and frozen first. Returns the number of
    key-result rows written.
    """
    # Deferred: numpy and pyarrow, which `okr status` (not_started_rows) does not need.
    from warehouse.daily_rows import key_result_facts, write_daily_rows
    from warehouse.running_totals import ArraysUnsuitable, daily_window_sums

    bounds = _calendar_bounds(con, from_date, to_date)
    with transaction(con):
        con.execute(
            "DELETE FROM okr.kr_progress_daily WHERE as_of_date BETWEEN ? AND ?",
            [from_date, to_date],
        )
        if bounds is None:
            return 0
        calendar_start, calendar_end, baselines_pending = bounds
        # The calendar stays the one a pending baseline needs (it decides which metrics count
        # as ratios), but the baselines are measured only when their windows can hold data.
        baselines_pending = baselines_pending and _baselines_measurable(con, from_date, to_date)
        # The SQL running totals only while a baseline is to be measured: the daily rows'
        # windows are summed in arrays (warehouse.running_totals).
        _prepare_series(
            con, calendar_start, calendar_end, from_date, running_totals=baselines_pending
        )
        if baselines_pending:
            con.execute(
                "INSERT INTO okr.kr_baselines BY NAME "
                + _chained("kr_baselines_frozen", windows="baseline_windows"),
                {
                    "calendar_end": calendar_end,
                    "from_date": from_date,
                    "measured_at": datetime.now(UTC),
                },
            )
        params = {
            "from_date": from_date,
            "to_date": to_date,
            "on_track_margin": settings.on_track_margin,
            "at_risk_margin": settings.at_risk_margin,
            "aspirational_pace": settings.aspirational_pace,
        }
        try:
            # The key results' facts are read alongside the window sums, on a second cursor,
            # unless this transaction has just frozen baselines they read.
            windows = daily_window_sums(
                con,
                from_date,
                to_date,
                calendar_start,
                calendar_end,
                read_facts=None if baselines_pending else key_result_facts,
            )
            # The rows written are the arrays' rows: counted without reading them back.
            count = write_daily_rows(
                con,
                windows,
                settings.on_track_margin,
                settings.at_risk_margin,
                settings.aspirational_pace,
            )
        except ArraysUnsuitable:
            # Whole parts beyond 64 bits and the like: the SQL models cover any data.
            if not baselines_pending:
                _running_totals(con, calendar_start, calendar_end, from_date)
            con.execute(
                "INSERT INTO okr.kr_progress_daily BY NAME "
                + _chained("kr_progress_daily", windows="kr_days"),
                params,
            )
            (count,) = con.execute(
                "SELECT count(*) FROM okr.kr_progress_daily WHERE as_of_date BETWEEN ? AND ?",
                [from_date, to_date],
            ).fetchone()
        _drop_series(con)
    return int(count)


def not_started_rows(
    con: duckdb.DuckDBPyConnection, as_of: date, team: str | None = None
) -> list[dict[str, Any]]:
    """The key results whose period starts after `as_of`, as they would stand today: baseline
    and target resolved from the data delivered so far (nothing is frozen or written), the
    window measured, and the source metrics without any data (`metrics_without_data`).

    Runs on a read-only connection too: the running totals are temp tables.
    """
    bounds = con.execute(
        """
        SELECT
            min(least(
                coalesce(previous_start,
                         period_start - CAST(period_end - period_start + 1 AS INTEGER)),
                period_start - coalesce(window_days, 0))) - 1,
            max(period_start)
        FROM okr.key_results
        WHERE period_start > ? AND (? IS NULL OR team = ?)
        """,
        [as_of, team, team],
    ).fetchone()
    if bounds is None or bounds[0] is None:
        return []
    calendar_start, calendar_end = bounds
    # The calendar reaches each period's first day, so metric_cumulative counts these key
    # results as active; the days after today hold no data and add nothing.
    _prepare_series(con, calendar_start, calendar_end, as_of)
    try:
        cursor = con.execute(
            _chained("not_started", windows="not_started_windows"),
            {"as_of_date": as_of, "team": team},
        )
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return sorted(rows, key=lambda r: (r["team"], r["period_start"], r["kr_id"]))
    finally:
        _drop_series(con)


def compute_objective_progress(
    con: duckdb.DuckDBPyConnection,
    from_date: date,
    to_date: date,
    settings: ProgressSettings = ProgressSettings(),
) -> int:
    """Replace okr.objective_progress_daily for [from_date, to_date] from the key results;
    `pace_status` compares the score with the expected progress using the same margins as
    the key results' statuses."""
    with transaction(con):
        con.execute(
            "DELETE FROM okr.objective_progress_daily WHERE as_of_date BETWEEN ? AND ?",
            [from_date, to_date],
        )
        con.execute(
            "INSERT INTO okr.objective_progress_daily BY NAME "
            + read_model("objective_progress_daily").format(status_rank=status_rank_sql("status")),
            {
                "from_date": from_date,
                "to_date": to_date,
                "on_track_margin": settings.on_track_margin,
                "at_risk_margin": settings.at_risk_margin,
            },
        )
        (count,) = con.execute(
            "SELECT count(*) FROM okr.objective_progress_daily WHERE as_of_date BETWEEN ? AND ?",
            [from_date, to_date],
        ).fetchone()
    return int(count)


def delete_rows_before(con: duckdb.DuckDBPyConnection, table: str, first_day: date) -> int:
    """Delete the rows of a progress table (`okr.kr_progress_daily`,
    `okr.objective_progress_daily`) dated before `first_day`, the first day of any key result's
    period. None belongs there: a run under earlier definitions, whose period started earlier,
    left them, and no progress run covers those days any more (their partitions start at the
    periods). Returns how many were deleted."""
    if table not in ("okr.kr_progress_daily", "okr.objective_progress_daily"):
        raise ValueError(f"{table} is not a progress table")
    (deleted,) = con.execute(f"DELETE FROM {table} WHERE as_of_date < ?", [first_day]).fetchone()
    return int(deleted)
