"""The sandbox itself: GA4's wire format, paging, determinism and the demo's story."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import requests
from ga4_testkit import LA_FLAT, SHOP, metric, series

from connectors.ga4 import fetch_ga4
from sandbox.base import Request
from sandbox.ga4.server import GA4Sandbox, SandboxProperty, conversion_rate

BODY = {
    "dateRanges": [{"startDate": "2026-09-01", "endDate": "2026-09-05"}],
    "dimensions": [{"name": "date"}],
    "metrics": [{"name": "sessions"}, {"name": "engagementRate"}],
}


def _post(
    server, property_id: str, body: dict, verb: str = "runReport", **params
) -> requests.Response:
    return requests.post(
        f"{server.base_url}/v1beta/properties/{property_id}:{verb}",
        json=body,
        params=params,
        timeout=10,
    )


def test_run_report_wire_format(ga4_server):
    answer = _post(ga4_server, LA_FLAT, {**BODY, "limit": "2", "returnPropertyQuota": True}).json()
    assert answer["dimensionHeaders"] == [{"name": "date"}]
    assert answer["metricHeaders"] == [
        {"name": "sessions", "type": "TYPE_INTEGER"},
        {"name": "engagementRate", "type": "TYPE_FLOAT"},
    ]
    assert answer["rows"] == [
        {
            "dimensionValues": [{"value": "20260901"}],
            "metricValues": [{"value": "2400"}, {"value": "0.6"}],
        },
        {
            "dimensionValues": [{"value": "20260902"}],
            "metricValues": [{"value": "2400"}, {"value": "0.6"}],
        },
    ]
    assert answer["rowCount"] == 5
    assert "offset" not in answer  # GA4 answers carry no paging cursor
    assert answer["metadata"] == {"currencyCode": "USD", "timeZone": "America/Los_Angeles"}
    assert answer["propertyQuota"]["tokensPerDay"] == {"consumed": 1, "remaining": 199_999}
    assert answer["kind"] == "analyticsData#runReport"


def test_numeric_enums_when_the_client_asks_for_them(ga4_server):
    answer = _post(ga4_server, LA_FLAT, BODY, **{"$alt": "json;enum-encoding=int"}).json()
    assert [h["type"] for h in answer["metricHeaders"]] == [1, 2]
    # ...and numeric enums in requests, as the official client sends them (BEGINS_WITH = 2).
    body = {
        **BODY,
        "dimensionFilter": {
            "filter": {"fieldName": "pagePath", "stringFilter": {"matchType": 2, "value": "/x"}}
        },
    }
    assert "rows" not in _post(ga4_server, LA_FLAT, body).json()


def test_paging_by_offset(ga4_server):
    pages = [
        _post(ga4_server, LA_FLAT, {**BODY, "offset": str(offset), "limit": "2"}).json()
        for offset in (0, 2, 4)
    ]
    dates = [r["dimensionValues"][0]["value"] for p in pages for r in p["rows"]]
    assert dates == ["20260901", "20260902", "20260903", "20260904", "20260905"]
    assert {p["rowCount"] for p in pages} == {5}


def test_several_date_ranges_add_the_date_range_dimension(ga4_server):
    body = {
        "dateRanges": [
            {"startDate": "2026-09-01", "endDate": "2026-09-01"},
            {"startDate": "2026-09-01", "endDate": "2026-09-02"},
        ],
        "metrics": [{"name": "sessions"}],
    }
    answer = _post(ga4_server, LA_FLAT, body).json()
    assert answer["dimensionHeaders"] == [{"name": "dateRange"}]
    assert [
        (r["dimensionValues"][0]["value"], r["metricValues"][0]["value"]) for r in answer["rows"]
    ] == [
        ("date_range_0", "2400"),
        ("date_range_1", "4800"),
    ]


def test_batch_answers_reports_in_order(ga4_server):
    body = {"requests": [BODY, {**BODY, "metrics": [{"name": "screenPageViews"}]}]}
    answer = _post(ga4_server, LA_FLAT, body, verb="batchRunReports").json()
    assert answer["kind"] == "analyticsData#batchRunReports"
    assert [r["metricHeaders"][0]["name"] for r in answer["reports"]] == [
        "sessions",
        "screenPageViews",
    ]
    too_many = _post(ga4_server, LA_FLAT, {"requests": [BODY] * 6}, verb="batchRunReports")
    assert too_many.status_code == 400


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {**BODY, "metrics": [{"name": "pageViews"}]},
            400,
            "Field pageViews is not a valid metric.",
        ),
        (
            {**BODY, "dimensions": [{"name": "browser"}]},
            400,
            "Field browser is not a valid dimension.",
        ),
        (
            {**BODY, "metrics": [{"name": "sessions"}] * 11},
            400,
            "Requests are limited to 10 metrics",
        ),
        ({**BODY, "limit": "0"}, 400, "limit must be positive."),
    ],
)
def test_errors_use_googles_error_shape(ga4_server, body, status, message):
    answer = _post(ga4_server, LA_FLAT, body)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["code"] == status and error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith(message)


def test_unknown_property_is_permission_denied(ga4_server):
    answer = _post(ga4_server, "42", BODY)
    assert answer.status_code == 403
    assert answer.json()["error"]["status"] == "PERMISSION_DENIED"


def test_metadata_lists_key_event_and_custom_metrics(ga4_server):
    answer = requests.get(
        f"{ga4_server.base_url}/v1beta/properties/{SHOP}/metadata", timeout=10
    ).json()
    assert answer["name"] == f"properties/{SHOP}/metadata"
    metrics = {m["apiName"]: m for m in answer["metrics"]}
    assert metrics["keyEvents:purchase"]["type"] == "TYPE_INTEGER"
    assert metrics["customEvent:page_load_ms"]["customDefinition"] is True
    assert metrics["purchaseRevenue"]["type"] == "TYPE_CURRENCY"
    assert "timeZone" not in answer  # GA4's getMetadata does not carry the property's zone
    universal = requests.get(
        f"{ga4_server.base_url}/v1beta/properties/0/metadata", timeout=10
    ).json()
    assert "customEvent:page_load_ms" not in {m["apiName"] for m in universal["metrics"]}


def test_data_is_a_function_of_property_and_day():
    """Two sandboxes with different clocks answer the same past days byte for byte."""
    body = {**BODY, "dimensions": [{"name": "date"}, {"name": "pagePath"}]}
    request = Request(
        "POST", f"/v1beta/properties/{SHOP}:runReport", {}, {}, json.dumps(body).encode()
    )
    one = GA4Sandbox(now=datetime(2027, 3, 1, tzinfo=UTC))
    other = GA4Sandbox(now=datetime(2026, 12, 1, tzinfo=UTC))
    assert one(request).body == other(request).body
    assert len(json.loads(one(request).body)["rows"]) == 5 * 35  # 5 days × 35 shop pages


def test_bench_profile_serves_many_rows(ga4_sandbox, settings_for):
    ga4_sandbox.add_property(
        SandboxProperty("900", profile="bench", bench_pages=3_000, time_zone="UTC")
    )
    result = fetch_ga4(
        settings_for("900", page_size=4_000),
        [metric("by_page", "sessions", dimensions=["pagePath"])],
        date(2026, 9, 1),
        date(2026, 9, 3),
        now=datetime(2026, 11, 26, tzinfo=UTC),
    )
    assert result.raw.column("row_count").to_pylist() == [9_000, 9_000, 9_000]
    assert sum(result.raw.column("rows_returned").to_pylist()) == 9_000
    assert result.request_count == 2  # the first page, then the two others in one batch


def test_demo_story_conversion_rate_and_organic_blog(ga4_sandbox, settings_for):
    """Product-page conversion climbs from ~3.2 % to ~4.5 % through Q3-Q4 2026, and organic
    blog sessions in Q4 are ~30 % above Q3."""
    ga4_sandbox.set_now(datetime(2027, 1, 2, tzinfo=UTC))
    products = {"dimension": "pagePath", "begins_with": "/products/"}
    organic_blog = {
        "and": [
            {"dimension": "pagePath", "begins_with": "/blog/"},
            {"dimension": "sessionDefaultChannelGroup", "exact": "Organic Search"},
        ]
    }
    result = fetch_ga4(
        settings_for(SHOP),
        [
            metric("product_sessions", "sessions", products),
            metric("product_purchases", "keyEvents:purchase", products),
            metric("organic_blog", "sessions", organic_blog),
        ],
        date(2026, 7, 1),
        date(2026, 12, 31),
        now=datetime(2027, 1, 2, tzinfo=UTC),
    )
    sessions = series(result.daily, "product_sessions")
    purchases = series(result.daily, "product_purchases")
    blog = series(result.daily, "organic_blog")

    def rate(first: date, last: date) -> float:
        days = [d for d in sessions if first <= d <= last]
        return sum(purchases[d] for d in days) / sum(sessions[d] for d in days)

    assert conversion_rate(date(2026, 7, 1)) == pytest.approx(0.032)
    assert conversion_rate(date(2026, 12, 20)) == pytest.approx(0.045)
    assert rate(date(2026, 7, 1), date(2026, 7, 14)) == pytest.approx(0.0325, abs=0.002)
    assert rate(date(2026, 12, 7), date(2026, 12, 20)) == pytest.approx(0.0445, abs=0.002)
    q3 = sum(v for d, v in blog.items() if d < date(2026, 10, 1))
    q4 = sum(v for d, v in blog.items() if d >= date(2026, 10, 1))
    assert q4 / q3 == pytest.approx(1.30, abs=0.03)


@pytest.mark.parametrize("metrics", [["sessions"], ["sessions", "totalUsers", "engagementRate"]])
def test_fast_cell_path_equals_the_general_path(ga4_server, metrics):
    """(date, pagePath) reports take a fast path; a pass-through metric filter forces the
    general one. Both must give the same rows."""
    body = {
        "dateRanges": [{"startDate": "2026-09-01", "endDate": "2026-09-03"}],
        "dimensions": [{"name": "date"}, {"name": "pagePath"}],
        "metrics": [{"name": m} for m in metrics],
        "dimensionFilter": {
            "filter": {
                "fieldName": "pagePath",
                "stringFilter": {"matchType": "CONTAINS", "value": "o"},
            }
        },
    }
    everything = {
        "filter": {
            "fieldName": "sessions",
            "numericFilter": {"operation": "GREATER_THAN_OR_EQUAL", "value": {"int64Value": "0"}},
        }
    }
    fast = _post(ga4_server, SHOP, body).json()
    general = _post(ga4_server, SHOP, {**body, "metricFilter": everything}).json()
    # 32 of the 35 shop pages contain an "o" (not "/", "/cart", "/pricing"), on 3 days.
    assert fast["rowCount"] == general["rowCount"] == 3 * 32
    assert fast["rows"] == general["rows"]
