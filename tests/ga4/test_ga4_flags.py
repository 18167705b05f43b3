"""GA4's trust signals reach the flags table (per metric and day) and the raw answers."""

from __future__ import annotations

from datetime import date

from ga4_testkit import LA_FLAT, NOW, SHOP, flags_of, metric

from connectors.base import RangeRequest
from connectors.ga4 import fetch_ga4, fetch_ga4_ranges
from connectors.results import FLAG_SCHEMA
from okr_definitions.sources.ga4 import GA4Query

WEEK = [date(2026, 10, d) for d in range(5, 12)]
PRODUCTS = {"dimension": "pagePath", "begins_with": "/products/"}


def test_sampling_flag_reaches_every_metric_day(ga4_sandbox, settings_for):
    ga4_sandbox.configure(SHOP, sampled=True)
    result = fetch_ga4(
        settings_for(SHOP),
        [metric("sessions", "sessions"), metric("product_sessions", "sessions", PRODUCTS)],
        WEEK[0],
        WEEK[-1],
        now=NOW,
    )
    assert result.flags.schema == FLAG_SCHEMA
    for metric_id in ("sessions", "product_sessions"):
        assert flags_of(result.flags, metric_id) == {(d, "sampled") for d in WEEK}
    reasons = {r["reason"] for r in result.flags.to_pylist()}
    assert all(r.startswith("GA4 sampled this report:") and "10.0 %" in r for r in reasons)
    for answer in result.raw.to_pylist():
        assert answer["sampled"] is True
        (sampling,) = answer["sampling_metadatas"]
        assert sampling["samples_read_count"] * 10 <= sampling["sampling_space_size"]


def test_unsampled_answers_raise_no_flag(settings_for):
    result = fetch_ga4(settings_for(SHOP), [metric("s", "sessions")], WEEK[0], WEEK[-1], now=NOW)
    assert result.flags.num_rows == 0
    assert result.raw.column("sampled").to_pylist() == [False]


def test_thresholding_flag(ga4_sandbox, settings_for):
    ga4_sandbox.configure(SHOP, thresholded=True)
    result = fetch_ga4(settings_for(SHOP), [metric("u", "totalUsers")], WEEK[0], WEEK[-1], now=NOW)
    assert flags_of(result.flags, "u") == {(d, "thresholded") for d in WEEK}
    assert result.raw.column("subject_to_thresholding").to_pylist() == [True]


def test_other_row_loss_is_flagged_for_filtered_metrics(ga4_sandbox, settings_for):
    # Only the 10 busiest pages of a day keep their name; the rest become "(other)", so a
    # filter on /products/ misses some product pages.
    ga4_sandbox.configure(SHOP, other_row_limit=10)
    settings = settings_for(SHOP)
    rolled = fetch_ga4(settings, [metric("p", "sessions", PRODUCTS)], WEEK[0], WEEK[-1], now=NOW)
    assert flags_of(rolled.flags, "p") == {(d, "other_row") for d in WEEK}
    assert rolled.raw.column("data_loss_from_other_row").to_pylist() == [True]

    ga4_sandbox.configure(SHOP, other_row_limit=None)
    whole = fetch_ga4(settings, [metric("p", "sessions", PRODUCTS)], WEEK[0], WEEK[-1], now=NOW)
    assert whole.flags.num_rows == 0
    rolled_total = sum(rolled.daily.column("value").to_pylist())
    whole_total = sum(whole.daily.column("value").to_pylist())
    assert rolled_total < whole_total


def test_other_rows_in_a_breakdown_are_flagged(ga4_sandbox, settings_for):
    ga4_sandbox.configure(SHOP, other_row_limit=10)
    result = fetch_ga4(
        settings_for(SHOP),
        [metric("by_page", "sessions", dimensions=["pagePath"])],
        WEEK[0],
        WEEK[-1],
        now=NOW,
    )
    (answer,) = result.raw.to_pylist()
    other_days = {
        r["dimension_values"][0] for r in answer["rows"] if r["dimension_values"][1] == "(other)"
    }
    assert len(other_days) == 7
    assert flags_of(result.flags, "by_page") == {(d, "other_row") for d in WEEK}


def test_empty_reason_is_kept(ga4_sandbox, settings_for):
    ga4_sandbox.configure(LA_FLAT, empty_reason="No data for the requested dimensions.")
    nothing = {"dimension": "pagePath", "exact": "/no-such-page"}
    result = fetch_ga4(
        settings_for(LA_FLAT), [metric("n", "sessions", nothing)], WEEK[0], WEEK[-1], now=NOW
    )
    assert flags_of(result.flags, "n") == {(d, "empty") for d in WEEK}
    assert {r["reason"] for r in result.flags.to_pylist()} == {
        "GA4 answered empty: No data for the requested dimensions."
    }
    assert result.raw.column("empty_reason").to_pylist() == [
        "No data for the requested dimensions."
    ]


def test_range_answers_carry_flags_for_their_days(ga4_sandbox, settings_for):
    ga4_sandbox.configure(SHOP, sampled=True)
    result = fetch_ga4_ranges(
        settings_for(SHOP),
        [RangeRequest("u", GA4Query(metric="totalUsers"), WEEK[0], WEEK[-1])],
        now=NOW,
    )
    assert flags_of(result.flags, "u") == {(d, "sampled") for d in WEEK}
