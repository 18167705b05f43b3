"""Read queries used by the CLI and reports (read-only connections).

The `*_rows` functions taking a connection share one idea: "the current row" of a key result
is its newest okr.kr_progress_daily row inside a range of days ($start..$end; one day for
`okr status`, a week for the check-in report). Everything else — the row 7 days earlier, the
objective's row, the titles, the daily series for charts — is joined to that row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from warehouse.progress import not_started_rows
from warehouse.status import status_rank_sql

# Each key result's newest row in [$start, $end]. A key result whose period ended inside the
# range keeps its last row, so a report for the quarter's last week still shows it.
_CURRENT = """
current_rows AS (
    SELECT * FROM okr.kr_progress_daily
    WHERE as_of_date BETWEEN $start AND $end AND ($team IS NULL OR team = $team)
    QUALIFY row_number() OVER (PARTITION BY kr_id ORDER BY as_of_date DESC) = 1
)"""


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """First and last as_of_date in okr.kr_progress_daily (None, None when empty)."""
    first, last = con.execute(
        "SELECT min(as_of_date), max(as_of_date) FROM okr.kr_progress_daily"
    ).fetchone()
    return first, last


def current_rows(
    con: duckdb.DuckDBPyConnection, start: date, end: date, team: str | None = None
) -> list[dict[str, Any]]:
    """Each key result's newest row in [start, end], with what a reader needs beside it.

    Added columns: `title`, `objective_title`, `team_name`, `window_days`; the row 7 days
    earlier in the same period as `prev_*` (NULL in the period's first week); the objective's
    row of the same day as `objective_status`, `objective_score`, `objective_expected`,
    `objective_pace` (its own pace) and `objective_weakest` (its weakest key result); what a
    relative target or measured baseline was derived from (`target_kind`, `target_change`,
    `baseline_kind`, `measured_value` over `measured_from`..`measured_through`); for a level
    (at_least / at_most) the days of the period so far with a value and those in breach
    (`level_days`, `breach_days`).
    Ordered by team, objective (worst status first), key result (worst status first).
    """
    cursor = con.execute(
        f"""
        WITH {_CURRENT}
        SELECT
            c.*,
            coalesce(k.title, c.kr_id) AS title,
            coalesce(o.title, c.objective_id) AS objective_title,
            coalesce(t.name, c.team) AS team_name,
            k.window_days,
            w.as_of_date AS prev_as_of_date,
            w.value AS prev_value,
            w.progress AS prev_progress,
            w.score AS prev_score,
            w.status AS prev_status,
            w.flags AS prev_flags,
            op.status AS objective_status,
            op.score AS objective_score,
            op.expected_progress AS objective_expected,
            op.pace_status AS objective_pace,
            op.weakest_kr_id AS objective_weakest,
            k.target_kind,
            CASE WHEN k.target_kind = 'relative' THEN k.target_value END AS target_change,
            k.baseline_kind,
            b.measured_value,
            b.window_start AS measured_from,
            b.window_end AS measured_through,
            coalesce(lv.level_days, 0) AS level_days,
            coalesce(lv.breach_days, 0) AS breach_days
        FROM current_rows AS c
        LEFT JOIN okr.key_results AS k ON k.kr_id = c.kr_id
        LEFT JOIN okr.kr_baselines AS b
            ON b.kr_id = c.kr_id AND b.definition_hash = c.definition_hash
        LEFT JOIN (
            -- a level's days so far: grouped per current row (a lateral join cost more to plan)
            SELECT
                cl.kr_id,
                count(l.progress) AS level_days,
                count(*) FILTER (WHERE l.progress < 1.0 - 1e-9) AS breach_days
            FROM current_rows AS cl
            JOIN okr.kr_progress_daily AS l
              ON l.kr_id = cl.kr_id AND l.period_start = cl.period_start
             AND l.as_of_date <= cl.as_of_date
            WHERE cl.direction IN ('at_least', 'at_most')
            GROUP BY cl.kr_id
        ) AS lv ON lv.kr_id = c.kr_id
        LEFT JOIN okr.objectives AS o ON o.objective_id = c.objective_id
        LEFT JOIN okr.teams AS t ON t.team_id = c.team
        LEFT JOIN okr.kr_progress_daily AS w
            ON w.kr_id = c.kr_id AND w.as_of_date = c.as_of_date - 7
           AND w.period_start = c.period_start
        LEFT JOIN okr.objective_progress_daily AS op
            ON op.objective_id = c.objective_id AND op.as_of_date = c.as_of_date
        ORDER BY c.team, {status_rank_sql("op.status")}, c.objective_id,
                 {status_rank_sql("c.status")}, c.kr_id
        """,
        {"start": start, "end": end, "team": team},
    )
    return _dicts(cursor)


def progress_series(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[dict[str, Any]]:
    """The daily rows (kr_id, as_of_date, value, progress, expected_progress, status) of
    each key result's current period, from its start through its current row."""
    cursor = con.execute(
        f"""
        WITH {_CURRENT}
        SELECT p.kr_id, p.as_of_date, p.value, p.progress, p.expected_progress, p.status
        FROM okr.kr_progress_daily AS p
        JOIN current_rows AS c
          ON c.kr_id = p.kr_id AND c.period_start = p.period_start
         AND p.as_of_date <= c.as_of_date
        ORDER BY p.kr_id, p.as_of_date
        """,
        {"start": start, "end": end, "team": None},
    )
    return _dicts(cursor)


def flag_reasons(
    con: duckdb.DuckDBPyConnection, start: date, end: date, team: str | None = None
) -> list[dict[str, Any]]:
    """Why each current row carries its trust flags: (kr_id, flag, reason, last_day).

    A flag's reason comes from the source (staging.metric_flags) on the days the key result
    reads — its metric or a ratio's parts, from the period start (minus a rolling window)
    through the row's day; the newest reason wins when a source worded it differently.
    """
    cursor = con.execute(
        f"""
        WITH {_CURRENT}
        SELECT c.kr_id, f.flag, arg_max(f.reason, f.date) AS reason, max(f.date) AS last_day
        FROM current_rows AS c
        JOIN okr.metrics AS m ON m.metric_id = c.metric_id
        LEFT JOIN okr.key_results AS k ON k.kr_id = c.kr_id
        JOIN staging.metric_flags AS f
          ON f.metric_id IN (c.metric_id, m.numerator_metric_id, m.denominator_metric_id)
         AND f.date BETWEEN c.period_start - coalesce(k.window_days, 0) AND c.as_of_date
         AND list_contains(c.flags, f.flag)
        GROUP BY c.kr_id, f.flag
        ORDER BY c.kr_id, f.flag
        """,
        {"start": start, "end": end, "team": team},
    )
    return _dicts(cursor)


def final_grades(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[dict[str, Any]]:
    """okr.kr_final_grades of the periods that ended in [start, end], with titles and the
    objective's final score; committed misses first."""
    cursor = con.execute(
        f"""
        SELECT
            g.*,
            coalesce(k.title, g.kr_id) AS title,
            coalesce(o.title, g.objective_id) AS objective_title,
            op.score AS objective_score,
            op.status AS objective_status
        FROM okr.kr_final_grades AS g
        LEFT JOIN okr.key_results AS k ON k.kr_id = g.kr_id
        LEFT JOIN okr.objectives AS o ON o.objective_id = g.objective_id
        LEFT JOIN okr.objective_progress_daily AS op
            ON op.objective_id = g.objective_id AND op.as_of_date = g.period_end
        WHERE g.period_end BETWEEN $start AND $end
        ORDER BY g.committed_miss DESC, NOT g.met DESC, g.team, g.objective_id,
                 {status_rank_sql("g.final_status")}, g.kr_id
        """,
        {"start": start, "end": end},
    )
    return _dicts(cursor)


def known_key_results(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every kr_id the warehouse knows (declared now, or with progress rows from before)."""
    rows = con.execute(
        "SELECT kr_id FROM okr.key_results UNION SELECT kr_id FROM okr.kr_progress_daily"
    ).fetchall()
    return {kr_id for (kr_id,) in rows}


def status_rows(
    con: duckdb.DuckDBPyConnection, team: str | None = None, day: date | None = None
) -> list[dict[str, Any]]:
    """Key-result rows for one day (default: the newest), grouped by team and objective,
    with the row 7 days earlier (see `current_rows`) and `flag_notes`, a list of
    (flag, reason) per row."""
    if day is None:
        _, day = data_range(con)
        if day is None:
            return []
    rows = current_rows(con, day, day, team)
    notes: dict[str, list[tuple[str, str | None]]] = {}
    for note in flag_reasons(con, day, day, team):
        notes.setdefault(note["kr_id"], []).append((note["flag"], note["reason"]))
    for row in rows:
        row["flag_notes"] = notes.get(row["kr_id"], [])
    return rows


def not_started_status_rows(
    con: duckdb.DuckDBPyConnection, team: str | None = None, day: date | None = None
) -> list[dict[str, Any]]:
    """The key results whose period starts after `day` (default: the newest day with rows,
    else today), as they would be measured today (warehouse.progress.not_started_rows)."""
    if day is None:
        _, day = data_range(con)
    return not_started_rows(con, day or date.today(), team)


def team_owners(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """team id → the owner declared for it (okr.teams)."""
    return dict(con.execute("SELECT team_id, owner FROM okr.teams").fetchall())


def weekly_rows(
    con: duckdb.DuckDBPyConnection, first: date, last: date, team: str | None = None
) -> list[dict[str, Any]]:
    """Each key result's newest row of every week (Monday to Sunday) in [first, last]:
    kr_id, week_start, as_of_date, value, progress, status."""
    cursor = con.execute(
        """
        SELECT kr_id, CAST(date_trunc('week', as_of_date) AS DATE) AS week_start, as_of_date,
               value, progress, status
        FROM okr.kr_progress_daily
        WHERE as_of_date BETWEEN $first AND $last AND ($team IS NULL OR team = $team)
        QUALIFY row_number() OVER (
            PARTITION BY kr_id, date_trunc('week', as_of_date) ORDER BY as_of_date DESC) = 1
        ORDER BY kr_id, week_start
        """,
        {"first": first, "last": last, "team": team},
    )
    return _dicts(cursor)
