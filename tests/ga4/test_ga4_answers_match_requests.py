"""Every GA4 answer is checked against its request before a value is read from it: its
dimension and metric headers (names and order), and one row per requested date range, matched
by its label. A mismatch fails the fetch naming the request; it never becomes a number."""

from __future__ import annotations

from datetime import date

import pytest
from ga4_testkit import NOW, SHOP, metric

from connectors.base import RangeRequest
from connectors.errors import SourceError
from connectors.ga4 import fetch_ga4, fetch_ga4_ranges
from okr_definitions.sources.ga4 import GA4Query
from sandbox.ga4.server import (
    answer_with_extra_dimension,
    answer_with_metrics_reversed,
    answer_with_ranges_reversed,
    answer_with_zero_row_per_range,
    answer_without_last_metric,
    report_fault,
)

WEEK = (date(2026, 10, 5), date(2026, 10, 11))
# One report: two metrics of one filter, by date.
PRODUCT_PAGES = {"dimension": "pagePath", "begins_with": "/products/"}
METRICS = [
    metric("product_sessions", "sessions", PRODUCT_PAGES),
    metric("product_purchases", "keyEvents:purchase", PRODUCT_PAGES),
]
# Two windows of one non-additive metric: one report with two date ranges.
WINDOWS = [(date(2026, 10, 1), date(2026, 10, 7)), (date(2026, 10, 8), date(2026, 10, 14))]
USERS = [
    RangeRequest("users", GA4Query.model_validate({"metric": "totalUsers"}), *w) for w in WINDOWS
]


@pytest.mark.parametrize(
    ("rewrite", "says"),
    [
        (answer_with_extra_dimension, "not asked for `country`"),
        (answer_with_metrics_reversed, "in another order"),
        (answer_without_last_metric, "missing `keyEvents:purchase`"),
    ],
    ids=["extra_dimension", "metrics_reordered", "metric_missing"],
)
def test_headers_other_than_the_request_fail_naming_the_request(
    ga4_server, settings_for, rewrite, says
):
    ga4_server.inject(report_fault(rewrite))
    with pytest.raises(SourceError) as caught:
        fetch_ga4(settings_for(SHOP), METRICS, *WEEK, now=NOW)

    message = str(caught.value)
    assert says in message
    assert "does not match the request" in message
    assert "for metrics product_sessions, product_purchases" in message
    assert f"(property {SHOP})" in message
    assert ga4_server.pending_faults == 0


def test_a_range_answer_with_its_rows_in_another_order_gives_each_window_its_own_value(
    ga4_server, settings_for
):
    settings = settings_for(SHOP)
    clean = fetch_ga4_ranges(settings, USERS, now=NOW).ranges
    values = {(r["range_start"], r["range_end"]): r["value"] for r in clean.to_pylist()}
    # The two weeks have different user counts, so a swap would show.
    assert len(set(values.values())) == 2

    ga4_server.inject(report_fault(answer_with_ranges_reversed))
    reversed_rows = fetch_ga4_ranges(settings, USERS, now=NOW).ranges

    assert ga4_server.pending_faults == 0
    assert reversed_rows.equals(clean)


def test_a_range_answered_twice_fails_instead_of_keeping_the_last_row(ga4_server, settings_for):
    ga4_server.inject(report_fault(answer_with_zero_row_per_range))
    with pytest.raises(SourceError) as caught:
        fetch_ga4_ranges(settings_for(SHOP), USERS, now=NOW)

    assert "more than one row for the date range 2026-10-01..2026-10-07" in str(caught.value)
    assert ga4_server.pending_faults == 0


@pytest.mark.parametrize(("row_count", "rows"), [(2, 4), (3, 2)], ids=["more", "fewer"])
def test_a_range_report_whose_rows_are_not_its_row_count_fails(
    ga4_server, settings_for, row_count, rows
):
    def miscounted(report: dict) -> dict:
        grown = answer_with_zero_row_per_range(report)
        return {**grown, "rows": grown["rows"][:rows], "rowCount": row_count}

    ga4_server.inject(report_fault(miscounted))
    with pytest.raises(SourceError) as caught:
        fetch_ga4_ranges(settings_for(SHOP), USERS, now=NOW)

    assert f"holds {rows} rows where its rowCount says {row_count}" in str(caught.value)


def test_a_range_row_sent_twice_alike_counts_once(ga4_server, settings_for):
    """The same row twice is one row (as for daily reports); only a window answered twice
    with different values has no one value to keep."""
    settings = settings_for(SHOP)
    clean = fetch_ga4_ranges(settings, USERS, now=NOW).ranges

    def first_row_twice(report: dict) -> dict:
        rows = report.get("rows", [])
        return {**report, "rows": [rows[0], *rows]}

    ga4_server.inject(report_fault(first_row_twice))
    assert fetch_ga4_ranges(settings, USERS, now=NOW).ranges.equals(clean)
    assert ga4_server.pending_faults == 0
