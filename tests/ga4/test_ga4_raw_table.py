"""The raw Arrow table loads as-is into raw.ga4_responses (migration 0003) and traces values."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from ga4_testkit import NOW, SHOP, metric, series

from connectors.ga4 import fetch_ga4

MIGRATION = Path(__file__).parents[2] / "warehouse" / "migrations" / "0003_ga4_raw.sql"


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    for statement in MIGRATION.read_text().split(";"):
        if statement.strip():
            con.execute(statement)
    return con


def test_raw_answers_load_and_trace_a_daily_value(con, settings_for):
    products = {"dimension": "pagePath", "begins_with": "/products/"}
    result = fetch_ga4(
        settings_for(SHOP, page_size=10),
        [metric("product_sessions", "sessions", products, dimensions=["deviceCategory"])],
        date(2026, 10, 1),
        date(2026, 10, 7),
        now=NOW,
        partition_date=date(2026, 10, 7),
    )
    con.register("fetched", result.raw)
    con.execute("INSERT INTO raw.ga4_responses SELECT * FROM fetched")
    pages = con.execute(
        "SELECT page_offset, rows_returned, row_count FROM raw.ga4_responses ORDER BY page_offset"
    ).fetchall()
    assert pages == [(0, 10, 21), (10, 10, 21), (20, 1, 21)]  # 7 days × 3 devices

    # A staged daily value is the sum of the answer rows of its day for the metric.
    traced = con.execute(
        """
        SELECT sum(CAST(metric_values[1] AS DOUBLE))
        FROM raw.ga4_response_rows
        WHERE list_contains(metric_ids, 'product_sessions')
          AND dimension_values[1] = '20261003'
          AND partition_date = DATE '2026-10-07'
        """
    ).fetchone()[0]
    assert traced == series(result.daily, "product_sessions")[date(2026, 10, 3)]
    quota = con.execute(
        "SELECT property_quota_json->>'$.tokensPerDay.remaining' FROM raw.ga4_responses "
        "ORDER BY page_offset LIMIT 1"
    ).fetchone()[0]
    assert quota == "199999"
