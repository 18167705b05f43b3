"""Non-additive metrics: a window's value is GA4's answer for the window, never a sum of days."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest
from ga4_testkit import LA_FLAT, NOW, SHOP, metric, series

from connectors.base import RangeRequest
from connectors.errors import SourceError
from connectors.ga4 import fetch_ga4, fetch_ga4_ranges, is_additive, make_client
from connectors.results import RANGE_SCHEMA
from okr_definitions.sources.ga4 import GA4Query

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


def _range(metric_id: str, name: str, start: date, end: date, **query) -> RangeRequest:
    return RangeRequest(metric_id, GA4Query.model_validate({"metric": name, **query}), start, end)


def _api_total(settings, name: str, start: date, end: date) -> float:
    """The same question asked of the API directly, through the client, without the connector."""
    answer = make_client(settings).run_report(
        request={
            "property": f"properties/{settings.property_id}",
            "metrics": [{"name": name}],
            "date_ranges": [{"start_date": start.isoformat(), "end_date": end.isoformat()}],
        }
    )
    return float(answer.rows[0].metric_values[0].value)


def test_users_of_a_window_are_the_api_answer_not_the_sum_of_days(settings_for):
    settings = settings_for(SHOP)
    daily = fetch_ga4(settings, [metric("users", "totalUsers")], *OCTOBER, now=NOW)
    ranges = fetch_ga4_ranges(settings, [_range("users", "totalUsers", *OCTOBER)], now=NOW)
    (row,) = ranges.ranges.to_pylist()
    sum_of_days = sum(series(daily.daily, "users").values())
    assert row["value"] == _api_total(settings, "totalUsers", *OCTOBER)
    assert row["value"] < 0.6 * sum_of_days  # returning users are counted once per window
    assert (row["range_start"], row["range_end"]) == OCTOBER
    # the range values, plus the currency of money metrics (none for users)
    assert ranges.ranges.schema == RANGE_SCHEMA.append(pa.field("currency", pa.string()))
    assert row["currency"] is None


def test_flat_users_by_hand(settings_for):
    # 2,400 sessions a day → round(2400 / 1.18) = 2,034 users a day; over 10 days GA4 counts
    # round(20,340 / (1 + 0.3 · ln 10)) = round(12,030.03) = 12,030 distinct users.
    settings = settings_for(LA_FLAT)
    window = (date(2026, 9, 1), date(2026, 9, 10))
    daily = fetch_ga4(settings, [metric("users", "totalUsers")], *window, now=NOW)
    assert set(series(daily.daily, "users").values()) == {2034.0}
    ranges = fetch_ga4_ranges(settings, [_range("users", "totalUsers", *window)], now=NOW)
    assert ranges.ranges.column("value").to_pylist() == [12030.0]


def test_rates_over_a_window_carry_numerator_and_denominator(settings_for):
    window = (date(2026, 9, 1), date(2026, 9, 10))
    result = fetch_ga4_ranges(
        settings_for(LA_FLAT), [_range("er", "engagementRate", *window)], now=NOW
    )
    (row,) = result.ranges.to_pylist()
    assert row["value"] == 0.6
    assert row["numerator"] == pytest.approx(14_400.0)
    assert row["denominator"] == 24_000.0


def test_windows_and_metrics_share_requests(ga4_server, settings_for):
    windows = [
        (date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 11, 25)),
        (date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 25)),
        (date(2026, 11, 19), date(2026, 11, 25)),
    ]
    requests = [_range(f"users_{i}", "totalUsers", *w) for i, w in enumerate(windows)]
    requests += [_range(f"active_{i}", "activeUsers", *w) for i, w in enumerate(windows)]
    result = fetch_ga4_ranges(settings_for(SHOP), requests, now=NOW)
    # Both metrics in one report; five windows need two reports (4 + 1 date ranges): one batch.
    assert result.request_count == 1
    assert ga4_server.request_counts[f"/v1beta/properties/{SHOP}:batchRunReports"] == 1
    values = {r["metric_id"]: r["value"] for r in result.ranges.to_pylist()}
    assert len(values) == 10
    for i, window in enumerate(windows):
        assert values[f"users_{i}"] == _api_total(settings_for(SHOP), "totalUsers", *window)
        assert 0 < values[f"active_{i}"] < values[f"users_{i}"]
    # The longer window has more distinct users than any window inside it.
    assert values["users_1"] > values["users_2"] > values["users_4"]
    # GA4 adds a `dateRange` dimension only to answers for several date ranges.
    assert sorted(r["dimension_names"] for r in result.raw.to_pylist()) == [[], ["dateRange"]]


def test_ranges_of_different_filters_are_different_reports(settings_for):
    blog = {"dimension": "pagePath", "begins_with": "/blog/"}
    result = fetch_ga4_ranges(
        settings_for(SHOP),
        [
            _range("all", "totalUsers", *OCTOBER),
            _range("blog", "totalUsers", *OCTOBER, filter=blog),
        ],
        now=NOW,
    )
    values = {r["metric_id"]: r["value"] for r in result.ranges.to_pylist()}
    assert 0 < values["blog"] < values["all"]
    assert result.raw.num_rows == 2


def test_range_start_after_end_is_refused(settings_for):
    with pytest.raises(SourceError, match="after end"):
        fetch_ga4_ranges(
            settings_for(SHOP), [_range("u", "totalUsers", date(2026, 10, 2), date(2026, 10, 1))]
        )


@pytest.mark.parametrize(
    ("query", "additive"),
    [
        ({"metric": "sessions"}, True),
        ({"metric": "screenPageViews"}, True),
        ({"metric": "keyEvents:purchase"}, True),
        ({"metric": "purchaseRevenue"}, True),
        ({"metric": "newUsers"}, True),
        ({"metric": "totalUsers"}, False),
        ({"metric": "activeUsers"}, False),
        ({"metric": "engagementRate"}, False),
        ({"metric": "bounceRate"}, False),
        ({"metric": "sessionKeyEventRate"}, False),
        ({"metric": "sessionKeyEventRate:purchase"}, False),
        ({"metric": "averageSessionDuration"}, False),
        ({"metric": "customEvent:credits_spent"}, True),
        ({"metric": "customUser:lifetime_score", "aggregation": "range"}, False),
        ({"metric": "totalUsers", "aggregation": "sum"}, True),
    ],
)
def test_is_additive(query, additive):
    assert is_additive(GA4Query.model_validate(query)) is additive
