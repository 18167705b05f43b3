"""GA4 money metrics carry the property's currency (metadata.currencyCode of the answers), and
`okr validate` can ask for it; the real client against the sandbox."""

from __future__ import annotations

from datetime import date

from ga4_testkit import LA_FLAT, NOW, SHOP, metric, series

from connectors.base import RangeRequest
from connectors.ga4 import fetch_ga4, fetch_ga4_ranges
from connectors.ga4.currency import ga4_currencies
from sandbox.ga4.server import GA4Sandbox

DAYS = (date(2026, 9, 1), date(2026, 9, 3))


def test_money_metrics_name_the_propertys_currency_and_counts_none(
    settings_for, ga4_sandbox: GA4Sandbox
) -> None:
    metrics = [metric("revenue", "purchaseRevenue"), metric("sessions", "sessions")]

    result = fetch_ga4(settings_for(SHOP), metrics, *DAYS, now=NOW)

    assert set(series(result.daily, "revenue", "currency").values()) == {"EUR"}
    assert set(series(result.daily, "sessions", "currency").values()) == {None}
    assert result.raw["currency_code"].to_pylist() == ["EUR"] * result.raw.num_rows

    # The switch: the same property reporting in USD.
    ga4_sandbox.configure(SHOP, currency_code="USD")
    switched = fetch_ga4(settings_for(SHOP), metrics, *DAYS, now=NOW)
    assert set(series(switched.daily, "revenue", "currency").values()) == {"USD"}
    assert series(switched.daily, "revenue") == series(result.daily, "revenue")


def test_range_values_carry_the_currency_too(settings_for) -> None:
    request = RangeRequest("revenue", metric("revenue", "purchaseRevenue").query, *DAYS)

    result = fetch_ga4_ranges(settings_for(LA_FLAT), [request], now=NOW)

    assert result.ranges["currency"].to_pylist() == ["USD"]


def test_validate_asks_each_property_once_for_its_currency(settings_for, ga4_server) -> None:
    metrics = [
        metric("revenue", "purchaseRevenue"),
        metric("total", "totalRevenue"),
        metric("us_revenue", "purchaseRevenue", property_id=LA_FLAT),
        metric("sessions", "sessions"),
    ]

    found = ga4_currencies(settings_for(SHOP), metrics)

    assert found == {"revenue": "EUR", "total": "EUR", "us_revenue": "USD"}
    # getMetadata and one small report per property
    assert dict(ga4_server.request_counts) == {
        f"/v1beta/properties/{SHOP}/metadata": 1,
        f"/v1beta/properties/{SHOP}:runReport": 1,
        f"/v1beta/properties/{LA_FLAT}/metadata": 1,
        f"/v1beta/properties/{LA_FLAT}:runReport": 1,
    }
