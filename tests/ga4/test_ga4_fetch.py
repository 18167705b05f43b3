"""Daily fetches: batching, paging, exact request counts, types, zero days and raw answers.

The flat property has exactly 100 sessions per hour of its day and fixed ratios, so expected
values are computed by hand (see connectors/sandbox/ga4.py, profile "flat").
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from ga4_testkit import LA_FLAT, NOW, SHOP, flags_of, metric, series

from connectors.base import request_hash
from connectors.errors import SourceError
from connectors.ga4 import RAW_SCHEMA, convert_value, fetch_ga4, parse_ga4_date
from connectors.results import DAILY_SCHEMA

SEPT = (date(2026, 9, 1), date(2026, 9, 30))  # 30 full 24-hour days in Los Angeles
EMAIL = {"dimension": "sessionDefaultChannelGroup", "exact": "Email"}

# Eleven metrics without a filter (two runReports: 10 + 1) and one with a filter (a third).
ELEVEN = [
    "sessions",
    "engagedSessions",
    "screenPageViews",
    "eventCount",
    "ecommercePurchases",
    "purchaseRevenue",
    "newUsers",
    "keyEvents",
    "keyEvents:purchase",
    "userEngagementDuration",
    "customEvent:page_load_ms",
]


def _batched_metrics() -> list:
    return [metric(name, name) for name in ELEVEN] + [metric("email_sessions", "sessions", EMAIL)]


def test_three_reports_of_three_pages_take_three_requests(ga4_server, settings_for):
    # 30 days at 12 rows per page: pages of 12, 12 and 6 rows for each of the 3 reports.
    settings = settings_for(LA_FLAT, page_size=12)
    result = fetch_ga4(settings, _batched_metrics(), *SEPT, now=NOW)

    # First pages of all three reports in one batch; then the six remaining pages, known from
    # rowCount, in a batch of five and a single runReport.
    assert result.request_count == 3
    assert dict(ga4_server.request_counts) == {
        f"/v1beta/properties/{LA_FLAT}:batchRunReports": 2,
        f"/v1beta/properties/{LA_FLAT}:runReport": 1,
    }
    raw = result.raw.to_pylist()
    assert len(raw) == 9
    pages_by_report: dict[str, list[tuple[int, int]]] = {}
    for row in raw:
        assert row["row_count"] == 30
        pages_by_report.setdefault(row["report_hash"], []).append(
            (row["page_offset"], row["rows_returned"])
        )
    assert sorted(sorted(p) for p in pages_by_report.values()) == [[(0, 12), (12, 12), (24, 6)]] * 3
    assert {len(row["metric_names"]) for row in raw} == {10, 1}


def test_paged_answer_equals_one_page_answer(settings_for):
    paged = fetch_ga4(settings_for(LA_FLAT, page_size=7), _batched_metrics(), *SEPT, now=NOW)
    whole = fetch_ga4(settings_for(LA_FLAT), _batched_metrics(), *SEPT, now=NOW)
    assert whole.request_count == 1  # 3 reports, one batchRunReports
    assert paged.daily.equals(whole.daily)
    assert paged.daily.select(DAILY_SCHEMA.names).schema == DAILY_SCHEMA
    # every value names the report (raw.ga4_responses.report_hash) it came from
    assert paged.daily["request_hash"].null_count == 0
    assert paged.daily.num_rows == 12 * 30


def test_values_and_types_of_a_flat_day(settings_for):
    result = fetch_ga4(settings_for(LA_FLAT), _batched_metrics(), *SEPT, now=NOW)
    day = date(2026, 9, 15)
    # Flat profile: 2,400 sessions; 60 % engaged; 2 views per session; views + 3.2 events per
    # session; 2 % purchases at 74.00 each; users = round(2400 / 1.18) = 2034, new = 52 % of
    # them; one sign-up per 100 sessions; engagement 105 s per engaged and 6 s per other
    # session; page load 1,650 ms per view (TYPE_MILLISECONDS, returned in seconds).
    expected = {
        "sessions": 2400,
        "engagedSessions": 1440,
        "screenPageViews": 4800,
        "eventCount": 4800 + 7680,
        "ecommercePurchases": 48,
        "purchaseRevenue": 48 * 74.00,
        "newUsers": 1058,  # round(2034 * 0.52 = 1057.68)
        "keyEvents": 48 + 24,
        "keyEvents:purchase": 48,
        "userEngagementDuration": 1440 * 105 + 960 * 6,
        "customEvent:page_load_ms": 4800 * 1650 / 1000,
        "email_sessions": 120,  # Email's 5 % of the flat page's sessions
    }
    got = {metric_id: series(result.daily, metric_id)[day] for metric_id in expected}
    assert got == pytest.approx(expected)


def test_integers_sent_as_floats_read_the_same(ga4_sandbox, settings_for):
    metrics = [metric("sessions", "sessions"), metric("purchases", "ecommercePurchases")]
    plain = fetch_ga4(settings_for(LA_FLAT), metrics, *SEPT, now=NOW)
    ga4_sandbox.configure(LA_FLAT, integers_as_floats=True)
    floats = fetch_ga4(settings_for(LA_FLAT), metrics, *SEPT, now=NOW)
    first = floats.raw.to_pylist()[0]["rows"][0]["metric_values"]
    assert first == ["2400.0", "48.0"]  # what GA4 may send for TYPE_INTEGER
    assert floats.daily.equals(plain.daily)


@pytest.mark.parametrize(
    ("text", "metric_type", "expected"),
    [
        ("12", "TYPE_INTEGER", 12.0),
        ("12.0", "TYPE_INTEGER", 12.0),
        ("0.6412", "TYPE_FLOAT", 0.6412),
        ("187.25", "TYPE_SECONDS", 187.25),
        ("1500", "TYPE_MILLISECONDS", 1.5),
        ("2.5", "TYPE_MINUTES", 150.0),
        ("0.5", "TYPE_HOURS", 1800.0),
        ("2481.75", "TYPE_CURRENCY", 2481.75),
        ("3", "TYPE_STANDARD", 3.0),
        ("", "TYPE_INTEGER", None),
    ],
)
def test_convert_value(text, metric_type, expected):
    assert convert_value(text, metric_type) == expected


def test_bad_values_and_dates_are_named():
    with pytest.raises(SourceError, match="'n/a'"):
        convert_value("n/a", "TYPE_INTEGER")
    with pytest.raises(SourceError, match="YYYYMMDD"):
        parse_ga4_date("2026-11-01")
    assert parse_ga4_date("20261101") == date(2026, 11, 1)


def test_days_without_rows_are_zero_and_rates_undefined(settings_for):
    nothing = {"dimension": "pagePath", "exact": "/no-such-page"}
    metrics = [metric("none", "sessions", nothing), metric("rate", "engagementRate", nothing)]
    result = fetch_ga4(settings_for(LA_FLAT), metrics, date(2026, 9, 1), date(2026, 9, 3), now=NOW)
    assert series(result.daily, "none") == dict.fromkeys(
        [date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)], 0.0
    )
    rows = [r for r in result.daily.to_pylist() if r["metric_id"] == "rate"]
    assert [(r["value"], r["numerator"], r["denominator"]) for r in rows] == [(None, 0.0, 0.0)] * 3


def test_rates_come_with_numerator_and_denominator(settings_for):
    result = fetch_ga4(settings_for(LA_FLAT), [metric("er", "engagementRate")], *SEPT, now=NOW)
    day = series(result.daily, "er")
    assert set(day.values()) == {0.6}
    assert list(series(result.daily, "er", "numerator").values()) == pytest.approx([1440.0] * 30)
    assert set(series(result.daily, "er", "denominator").values()) == {2400.0}
    # The denominator came in the same report as the rate: one request.
    assert result.request_count == 1


def test_today_is_partial_and_provisional_and_later_days_absent(settings_for):
    # NOW is 04:00 on 2026-11-26 in Los Angeles: four hours of today have passed.
    result = fetch_ga4(
        settings_for(LA_FLAT),
        [metric("s", "sessions")],
        date(2026, 11, 24),
        date(2026, 11, 28),
        now=NOW,
    )
    assert series(result.daily, "s") == {
        date(2026, 11, 24): 2400.0,
        date(2026, 11, 25): 2400.0,
        date(2026, 11, 26): 400.0,
    }
    assert flags_of(result.flags, "s") == {(date(2026, 11, 26), "provisional")}


def test_breakdown_dimensions_sum_to_the_day_and_stay_in_raw(settings_for):
    result = fetch_ga4(
        settings_for(LA_FLAT),
        [metric("by_device", "sessions", dimensions=["deviceCategory"])],
        date(2026, 9, 1),
        date(2026, 9, 2),
        now=NOW,
    )
    assert series(result.daily, "by_device") == {date(2026, 9, 1): 2400.0, date(2026, 9, 2): 2400.0}
    (answer,) = result.raw.to_pylist()
    assert answer["dimension_names"] == ["date", "deviceCategory"]
    assert answer["rows_returned"] == 6
    devices = {tuple(r["dimension_values"]): r["metric_values"][0] for r in answer["rows"]}
    # 2,400 split 52 / 44 / 4 % over the channels first, then the devices: the parts add up.
    assert sum(int(v) for k, v in devices.items() if k[0] == "20260901") == 2400


def test_non_additive_metric_with_breakdown_is_refused(settings_for):
    with pytest.raises(SourceError, match="totalUsers cannot have breakdown dimensions"):
        fetch_ga4(
            settings_for(LA_FLAT),
            [metric("u", "totalUsers", dimensions=["pagePath"])],
            *SEPT,
            now=NOW,
        )


def test_raw_answers_keep_their_provenance(settings_for):
    products = {"dimension": "pagePath", "begins_with": "/products/"}
    result = fetch_ga4(
        settings_for(SHOP),
        [metric("product_sessions", "sessions", products)],
        date(2026, 10, 1),
        date(2026, 10, 31),
        now=NOW,
        partition_date=date(2026, 10, 31),
    )
    assert result.raw.schema == RAW_SCHEMA
    (answer,) = result.raw.to_pylist()
    request = json.loads(answer["request_json"])
    assert answer["request_hash"] == request_hash(request)
    assert request["property"] == f"properties/{SHOP}"
    assert request["dimensionFilter"] == {
        "filter": {
            "fieldName": "pagePath",
            "stringFilter": {
                "matchType": "BEGINS_WITH",
                "value": "/products/",
                "caseSensitive": False,
            },
        }
    }
    assert request["returnPropertyQuota"] is True
    assert answer["metric_ids"] == ["product_sessions"]
    assert answer["partition_date"] == date(2026, 10, 31)
    assert answer["time_zone"] == "Europe/Berlin"
    assert answer["currency_code"] == "EUR"
    assert answer["rows_returned"] == 31 == len(answer["rows"])
    assert answer["date_ranges"] == [
        {"name": "date_range_0", "start_date": date(2026, 10, 1), "end_date": date(2026, 10, 31)}
    ]
    assert json.loads(answer["property_quota_json"])["tokensPerDay"] == {
        "consumed": 1,
        "remaining": 199_999,
    }
    # The daily value is the answer's value for that day, traceably.
    first = answer["rows"][0]
    assert first["dimension_values"] == ["20261001"]
    assert series(result.daily, "product_sessions")[date(2026, 10, 1)] == float(
        first["metric_values"][0]
    )
