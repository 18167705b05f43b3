"""The currency of a GA4 property's money metrics, for `okr validate`.

getMetadata types each metric (TYPE_CURRENCY for revenue and the like) but does not say the
currency; every report's `metadata.currencyCode` does (the property's currency), so the
smallest report (one metric, yesterday and today, one row) is asked once per property.
"""

from __future__ import annotations

from typing import Any

from google.analytics.data_v1beta import BetaAnalyticsDataClient, MetricType

from connectors.base import MetricRequest
from connectors.errors import SourceError
from connectors.ga4.client import Ga4Api, make_client
from connectors.ga4.settings import SOURCE, GA4Settings
from okr_definitions.sources.ga4 import GA4Query


def ga4_currencies(
    settings: GA4Settings,
    metrics: list[MetricRequest],
    *,
    client: BetaAnalyticsDataClient | None = None,
) -> dict[str, str]:
    """{metric id: ISO 4217 code} of the money metrics (TYPE_CURRENCY) among `metrics`: one
    getMetadata per property, and one small report per property that has money metrics."""
    api = Ga4Api(settings, client or make_client(settings))
    money_names: dict[str, set[str]] = {}
    codes: dict[str, str] = {}
    found: dict[str, str] = {}
    for request in metrics:
        query = request.query
        if not isinstance(query, GA4Query):
            query = GA4Query.model_validate(query)
        prop = query.property_id or settings.property_id
        if prop not in money_names:
            money_names[prop] = {
                m.api_name
                for m in api.get_metadata(prop).metrics
                if m.type_ == MetricType.TYPE_CURRENCY
            }
        if query.metric not in money_names[prop]:
            continue
        if prop not in codes:
            codes[prop] = _property_currency(api, prop, query.metric)
        found[request.metric_id] = codes[prop]
    return found


def _property_currency(api: Ga4Api, prop: str, metric: str) -> str:
    body: dict[str, Any] = {
        "property": f"properties/{prop}",
        "dateRanges": [{"startDate": "yesterday", "endDate": "today"}],
        "metrics": [{"name": metric}],
        "limit": "1",
    }
    code = api.run_reports(prop, [body])[0].currency_code
    if not code:
        raise SourceError(SOURCE, f"GA4 did not say property {prop}'s currency")
    return code
