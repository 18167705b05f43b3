"""Google Analytics 4 source: the official Data API client (REST), exact daily metrics.

Public API::

    settings = GA4Settings(property_id="123456789", credentials_path="key.json")
    result = fetch_ga4(settings, [MetricRequest("sessions", GA4Query(metric="sessions"))],
                       date(2026, 10, 1), date(2026, 10, 31))
    ranges = fetch_ga4_ranges(settings, [RangeRequest("users", GA4Query(metric="totalUsers"),
                                                      date(2026, 10, 1), date(2026, 10, 31))])
    problems = validate_ga4_metrics(settings, [MetricRequest(...)])

No Dagster, no warehouse: results are `connectors.results.FetchResult` Arrow tables; the raw
answers follow `RAW_SCHEMA` (table raw.ga4_responses). A fetch (fetch.py) asks for what
requests.py plans, through client.py, and reads the answers with parse.py.
"""

from __future__ import annotations

from connectors.base import Connector, deferred, lazy_exports
from connectors.ga4.requests import (
    day_bounds_utc,
    dimension_filter,
    hours_in_day,
    is_additive,
    last_complete_day,
    metric_is_additive,
    partition_day,
    property_today,
    rate_denominator,
)
from connectors.ga4.settings import (
    CREDENTIALS_ENV,
    ENDPOINT_ENV,
    SOURCE,
    GA4Settings,
    settings_from_env,
)

# The client library (google-analytics-data with gRPC and protobuf) loads with the first fetch
# or check against the API (connectors/ga4/fetch.py): `okr validate` without credentials and
# `okr status` never import it.
__getattr__ = lazy_exports(
    __name__,
    {
        "RAW_SCHEMA": "connectors.ga4.parse",
        "Ga4Api": "connectors.ga4.client",
        "Ga4Problem": "connectors.ga4.validate",
        "PropertyCatalog": "connectors.ga4.validate",
        "QuotaGuard": "connectors.ga4.client",
        "check_query": "connectors.ga4.validate",
        "classify_error": "connectors.ga4.client",
        "convert_value": "connectors.ga4.parse",
        "fetch_ga4": "connectors.ga4.fetch",
        "fetch_ga4_ranges": "connectors.ga4.fetch",
        "ga4_currencies": "connectors.ga4.currency",
        "make_client": "connectors.ga4.client",
        "parse_ga4_date": "connectors.ga4.parse",
        "property_timezone": "connectors.ga4.validate",
        "validate_ga4_metrics": "connectors.ga4.validate",
    },
)

CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=lambda definitions: settings_from_env(definitions.sources.ga4.property_id),
    validate=deferred("connectors.ga4.validate", "validate_ga4_metrics"),
    how_to_enable=f"set {CREDENTIALS_ENV} (a service-account key file), "
    f"GOOGLE_APPLICATION_CREDENTIALS or {ENDPOINT_ENV}",
    currencies=deferred("connectors.ga4.currency", "ga4_currencies"),
    currency_setting="property's currency (Admin → Property details)",
)

__all__ = [
    "CONNECTOR",
    "RAW_SCHEMA",
    "SOURCE",
    "GA4Settings",
    "Ga4Api",
    "Ga4Problem",
    "PropertyCatalog",
    "QuotaGuard",
    "check_query",
    "classify_error",
    "convert_value",
    "day_bounds_utc",
    "dimension_filter",
    "fetch_ga4",
    "fetch_ga4_ranges",
    "ga4_currencies",
    "hours_in_day",
    "is_additive",
    "last_complete_day",
    "make_client",
    "metric_is_additive",
    "parse_ga4_date",
    "partition_day",
    "property_timezone",
    "property_today",
    "rate_denominator",
    "validate_ga4_metrics",
]
