"""Synthetic OKR warehouses for the transform and incremental-cost figures.

Definition rows and daily metric rows are generated in DuckDB itself (set-based SQL over
`range`), so building a warehouse of a thousand key results takes a moment, not minutes, and
the figures measure the models rather than the generator.

Key result k reads its own metric and cycles through the measures and baseline kinds the
product supports (okr_definitions/README.md, "How the numbers are computed"):

    k % 5 = 0  total, relative target +20 % over the previous period (measured)
    k % 5 = 1  rolling_28d, measured baseline, absolute target
    k % 5 = 2  latest, numeric baseline and target
    k % 5 = 3  average, measured baseline, relative target +10 %
    k % 5 = 4  a ratio metric (n_k / d_k) over rolling_7d, numeric baseline and target

so 1,000 key results read 1,200 source metrics (the ratios' two parts each).
"""

from __future__ import annotations

from datetime import date

import duckdb

from warehouse.db import transaction

# Daily values: weekly seasonality, a trend and a hash for noise, all deterministic.
_VALUE = (
    "(100 + CAST(hash(m.metric_id || CAST(CAST(d.day AS DATE) AS VARCHAR)) % 40 AS DOUBLE)) "
    "* CASE WHEN dayofweek(d.day) IN (0, 6) THEN 1.1 ELSE 1.0 END "
    "* (1 + 0.0005 * date_diff('day', DATE '2025-01-01', CAST(d.day AS DATE)))"
)

# Every tenth metric-day carries a flag, as GA4 answers sometimes do.
_FLAGGED = "hash(metric_id || CAST(date AS VARCHAR)) % 10 = 0"


def write_definitions(
    con: duckdb.DuckDBPyConnection, n_krs: int, period_start: date, period_end: date
) -> None:
    """okr.teams/objectives/metrics/key_results for `n_krs` key results (4 per objective)."""
    with transaction(con):
        for table in ("teams", "objectives", "metrics", "key_results", "kr_baselines"):
            con.execute(f"DELETE FROM okr.{table}")
        con.execute(
            "INSERT INTO okr.teams VALUES ('growth', 'Growth', 'growth@example.com'), "
            "('sales', 'Sales', 'sales@example.com')"
        )
        params = {"n": n_krs, "ps": period_start, "pe": period_end}
        con.execute(
            """
            INSERT INTO okr.objectives
            SELECT 'o' || o, CASE WHEN o % 2 = 0 THEN 'growth' ELSE 'sales' END,
                   'Objective ' || o, NULL, $ps, $pe, 'bench.yaml'
            FROM range(CAST(ceil($n / 4) AS BIGINT)) AS t(o)
            """,
            params,
        )
        # Source metrics: m<k> for k % 5 in (0..3); n<k> and d<k> for the ratios.
        con.execute(
            """
            INSERT INTO okr.metrics
            SELECT id, 'source', 'file', '{}', NULL, NULL, true, 2, NULL, NULL, 'h'
            FROM (
                SELECT 'm' || k AS id FROM range($n) AS t(k) WHERE k % 5 <> 4
                UNION ALL SELECT 'n' || k FROM range($n) AS t(k) WHERE k % 5 = 4
                UNION ALL SELECT 'd' || k FROM range($n) AS t(k) WHERE k % 5 = 4
            )
            UNION ALL
            SELECT 'r' || k, 'ratio', NULL, NULL, 'n' || k, 'd' || k, true, 2, '%', NULL, 'h'
            FROM range($n) AS t(k) WHERE k % 5 = 4
            """,
            {"n": n_krs},
        )
        con.execute(
            """
            INSERT INTO okr.key_results BY NAME
            SELECT
                'kr' || k AS kr_id,
                'o' || (k // 4) AS objective_id,
                CASE WHEN (k // 4) % 2 = 0 THEN 'growth' ELSE 'sales' END AS team,
                'Key result ' || k AS title,
                CASE WHEN k % 5 = 4 THEN 'r' ELSE 'm' END || k AS metric_id,
                ['total', 'rolling', 'latest', 'average', 'rolling'][k % 5 + 1] AS measure,
                CASE k % 5 WHEN 1 THEN 28 WHEN 4 THEN 7 END AS window_days,
                CAST($ps AS DATE) AS period_start,
                CAST($pe AS DATE) AS period_end,
                ['zero', 'measured', 'number', 'measured', 'number'][k % 5 + 1] AS baseline_kind,
                CASE k % 5 WHEN 0 THEN 0 WHEN 2 THEN 100 WHEN 4 THEN 0.9 END AS baseline_value,
                ['relative', 'absolute', 'absolute', 'relative', 'absolute'][k % 5 + 1]
                    AS target_kind,
                [0.2, 4000, 160, 0.1, 1.2][k % 5 + 1] AS target_value,
                NULL AS direction,
                CASE WHEN k % 3 = 0 THEN 'aspirational' ELSE 'committed' END AS commitment,
                1.0 AS weight,
                NULL AS unit,
                'h' || k AS definition_hash,
                'bench.yaml' AS source_file
            FROM range($n) AS t(k)
            """,
            params,
        )


def daily_rows_sql(first: str, last: str) -> str:
    """SELECT of one row per (source metric, day) in [first, last] (SQL date expressions)."""
    return f"""
        SELECT m.metric_id, CAST(d.day AS DATE) AS date, {_VALUE} AS value,
               CAST(NULL AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator
        FROM okr.metrics AS m
        CROSS JOIN generate_series({first}, {last}, INTERVAL 1 DAY) AS d(day)
        WHERE m.kind = 'source'
    """


def write_staging(con: duckdb.DuckDBPyConnection, first: date, last: date) -> int:
    """staging.metric_daily rows for every source metric and day in [first, last] (no ratio
    parts delivered by the source: numerator and denominator stay NULL), and a flag (sampled
    data) on every tenth metric-day, as in write_raw_history."""
    with transaction(con):
        con.execute("DELETE FROM staging.metric_daily")
        con.execute("DELETE FROM raw.metric_flags")
        # With each value's exact decimal, as staging_metric_daily.sql stages it.
        con.execute(
            "INSERT INTO staging.metric_daily BY NAME SELECT *, 'file' AS source, "
            "'bench' AS request_hash, TIMESTAMPTZ '2026-01-01 06:00:00+00' AS fetched_at, "
            "TRY_CAST(CAST(value AS VARCHAR) AS DECIMAL(38, 15)) AS value_exact "
            "FROM (" + daily_rows_sql("CAST($first AS DATE)", "CAST($last AS DATE)") + ")",
            {"first": first, "last": last},
        )
        con.execute(
            f"""
            INSERT INTO raw.metric_flags BY NAME
            SELECT 'file' AS source, metric_id, date, 'sampled' AS flag,
                   'GA4 sampled this report' AS reason, fetched_at
            FROM staging.metric_daily
            WHERE {_FLAGGED}
            """
        )
    (count,) = con.execute("SELECT count(*) FROM staging.metric_daily").fetchone()
    return int(count)


def write_raw_history(
    con: duckdb.DuckDBPyConnection, first: date, last: date, lookback_days: int
) -> int:
    """raw.metric_rows and raw.metric_flags as a year of daily runs would have left them.

    Day x was last fetched by the run of day x + lookback + 1 (06:00 UTC), or by the newest
    run for the newest days; so fetch times follow the calendar, as in production. Every
    tenth metric-day carries a flag (sampled data), as GA4 answers sometimes do.
    """
    with transaction(con):
        con.execute("DELETE FROM raw.metric_rows")
        con.execute("DELETE FROM raw.metric_flags")
        fetched = (
            "CAST(least(date + $lookback + 1, CAST($last AS DATE) + 1) AS TIMESTAMP) "
            "+ INTERVAL 6 HOUR"
        )
        con.execute(
            f"""
            INSERT INTO raw.metric_rows BY NAME
            SELECT *, 'file' AS source, 'bench' AS request_hash,
                   CAST({fetched} AS TIMESTAMPTZ) AS fetched_at,
                   least(date + $lookback, CAST($last AS DATE)) AS partition_date
            FROM ({daily_rows_sql("CAST($first AS DATE)", "CAST($last AS DATE)")})
            ORDER BY fetched_at, metric_id
            """,
            {"first": first, "last": last, "lookback": lookback_days},
        )
        con.execute(
            f"""
            INSERT INTO raw.metric_flags BY NAME
            SELECT 'file' AS source, metric_id, date, 'sampled' AS flag,
                   'GA4 sampled this report' AS reason,
                   CAST({fetched} AS TIMESTAMPTZ) AS fetched_at
            FROM raw.metric_rows
            WHERE {_FLAGGED}
            ORDER BY fetched_at
            """,
            {"last": last, "lookback": lookback_days},
        )
    (count,) = con.execute("SELECT count(*) FROM raw.metric_rows").fetchone()
    return int(count)


def freeze_baselines(con: duckdb.DuckDBPyConnection) -> int:
    """Frozen baselines for every key result that measures one, as if measured long ago.

    Lets a warehouse with a short history compute the same work as one with a long history,
    where the baselines were measured from the data.
    """
    con.execute(
        """
        INSERT INTO okr.kr_baselines (kr_id, definition_hash, baseline, target, measured_at)
        SELECT kr_id, definition_hash,
               CASE WHEN baseline_kind = 'measured' THEN 3000 ELSE baseline_value END,
               CASE WHEN target_kind = 'relative' THEN 3000 * (1 + target_value)
                    ELSE target_value END,
               TIMESTAMPTZ '2026-01-01 06:00:00+00'
        FROM okr.key_results AS k
        WHERE (baseline_kind = 'measured' OR (target_kind = 'relative' AND measure = 'total'))
          AND NOT EXISTS (SELECT 1 FROM okr.kr_baselines AS b WHERE b.kr_id = k.kr_id)
        """
    )
    (count,) = con.execute("SELECT count(*) FROM okr.kr_baselines").fetchone()
    return int(count)
