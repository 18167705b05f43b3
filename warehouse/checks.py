"""The numbers behind the progress tables' checks and their status preview (read-only SQL).

The Dagster assets turn these into AssetCheckResults and metadata; the verdicts' rules are
here, next to the tables they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from warehouse.status import status_rank_sql


@dataclass(frozen=True)
class RowCoverage:
    expected: int  # key-result days in [start, end] inside their periods
    actual: int  # rows okr.kr_progress_daily has in [start, end]
    missing: int  # expected (kr, day) pairs without a row

    @property
    def complete(self) -> bool:
        return self.missing == 0 and self.expected == self.actual


def status_rows(con: duckdb.DuckDBPyConnection, day: date) -> list[tuple]:
    """(kr_id, team, status, progress, expected progress, data_through) on `day`, worst first."""
    return con.execute(
        f"""
        SELECT kr_id, team, status, round(progress, 3), round(expected_progress, 3), data_through
        FROM okr.kr_progress_daily WHERE as_of_date = ?
        ORDER BY {status_rank_sql("status")}, kr_id
        """,
        [day],
    ).fetchall()


def row_coverage(con: duckdb.DuckDBPyConnection, start: date, end: date) -> RowCoverage:
    """One row per key result and day of its period: how many are expected, present, missing."""
    expected, actual, missing = con.execute(
        """
        WITH expected AS (
            SELECT k.kr_id, CAST(g.d AS DATE) AS as_of_date
            FROM okr.key_results AS k,
                 generate_series(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 DAY) AS g(d)
            WHERE CAST(g.d AS DATE) BETWEEN k.period_start AND k.period_end
        )
        SELECT
            (SELECT count(*) FROM expected),
            (SELECT count(*) FROM okr.kr_progress_daily WHERE as_of_date BETWEEN ? AND ?),
            (SELECT count(*) FROM expected AS e ANTI JOIN okr.kr_progress_daily AS p
                 USING (kr_id, as_of_date))
        """,
        [start, end, start, end],
    ).fetchone()
    return RowCoverage(expected, actual, missing)


def rows_not_finite(con: duckdb.DuckDBPyConnection, start: date, end: date) -> int:
    """Rows whose value, progress or score is NaN or infinite (a division the math forbids)."""
    (bad,) = con.execute(
        """
        SELECT count(*) FROM okr.kr_progress_daily
        WHERE as_of_date BETWEEN ? AND ?
          AND (isnan(value) OR isinf(value) OR isnan(progress) OR isinf(progress)
               OR isnan(score) OR isinf(score))
        """,
        [start, end],
    ).fetchone()
    return bad


def flagged_key_results(
    con: duckdb.DuckDBPyConnection, start: date, end: date
) -> list[tuple[str, str]]:
    """(kr_id, its distinct trust flags joined by ", ") for key results flagged in the range."""
    return con.execute(
        """
        SELECT kr_id, string_agg(DISTINCT f, ', ') FROM (
            SELECT kr_id, unnest(flags) AS f FROM okr.kr_progress_daily
            WHERE as_of_date BETWEEN ? AND ?
        ) GROUP BY kr_id ORDER BY kr_id
        """,
        [start, end],
    ).fetchall()
