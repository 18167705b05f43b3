"""metric_flag_days.sql lists the flags of staging.metric_flags (the view that gives their
reasons), cut to a calendar and mapped to the metrics that read them: every kind of flag the
view derives, on days inside, at the edges of and outside the calendar."""

from __future__ import annotations

from datetime import date

import duckdb
from test_daily_rows import _all_cases, _edge_cases
from test_kr_math import add_days, add_kr, add_metric, d

from warehouse.db import read_model


def _currencies(con: duckdb.DuckDBPyConnection) -> None:
    """Amounts in another currency than the key result's, a ratio of two currencies, a sum
    of several, and a ratio of two metrics whose denominator is missing, 0, or not delivered
    yet."""
    add_metric(con, "eur_sales")
    add_metric(con, "usd_costs")
    add_metric(con, "margin", kind="ratio", numerator="eur_sales", denominator="usd_costs")
    add_days(con, "eur_sales", {d(i): 10.0 * i for i in range(-3, 9)})
    add_days(con, "usd_costs", {d(i): float(i % 3) for i in range(-3, 6) if i != 2})
    add_kr(con, "margin_kr", "margin", currency="USD")
    add_kr(con, "sales_kr", "eur_sales", currency="USD")
    con.execute("UPDATE staging.metric_daily SET currency = 'EUR' WHERE metric_id = 'eur_sales'")
    con.execute("UPDATE staging.metric_daily SET currency = 'USD' WHERE metric_id = 'usd_costs'")
    con.execute(
        "UPDATE staging.metric_daily SET currency = 'EUR+USD' "
        "WHERE metric_id = 'eur_sales' AND date = ?",
        [d(4)],
    )
    for day in (d(-1), d(3), d(9)):
        con.execute(
            "INSERT INTO staging.metric_revisions (metric_id, date, old_value, new_value, "
            "source, seen_at) VALUES ('usd_costs', ?, 1, 2, 'file', now())",
            [day],
        )


def _flag_days(con: duckdb.DuckDBPyConnection, first: date, last: date) -> set[tuple]:
    return set(
        con.execute(
            read_model("metric_flag_days"),
            {"calendar_start": first, "calendar_end": last, "ratio_no_denominator": True},
        ).fetchall()
    )


def _from_the_view(con: duckdb.DuckDBPyConnection, first: date, last: date) -> set[tuple]:
    return set(
        con.execute(
            """
            SELECT DISTINCT p.metric_id, f.date, f.flag
            FROM okr.metrics AS p
            JOIN staging.metric_flags AS f
                ON f.metric_id IN (p.metric_id, p.numerator_metric_id, p.denominator_metric_id)
            WHERE f.date BETWEEN ? AND ?
            """,
            [first, last],
        ).fetchall()
    )


def test_the_flag_days_are_the_views_flags(wh: duckdb.DuckDBPyConnection) -> None:
    _all_cases(wh)
    _edge_cases(wh)
    _currencies(wh)
    everything = _from_the_view(wh, d(-10), d(30))
    kinds = {flag for _, _, flag in everything}
    assert kinds >= {"sampled", "restated", "no_denominator", "currency_mismatch"}
    # The ratio's numerator without a denominator: on d2 (none) and d3 (0), not on d6 and
    # later (the denominator's source has not delivered them yet).
    assert ("margin", d(2), "no_denominator") in everything
    assert ("margin", d(3), "no_denominator") in everything
    assert ("margin", d(6), "no_denominator") not in everything
    for first, last in ((d(-10), d(30)), (d(2), d(4)), (d(-2), d(1)), (d(5), d(5))):
        assert _flag_days(wh, first, last) == _from_the_view(wh, first, last)
