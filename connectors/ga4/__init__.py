"""Google Analytics 4 source: the official Data API client (REST), exact daily metrics.

Public API::

    settings = GA4Settings(property_id="123456789", credentials_path="key.json")
    result = fetch_ga4(settings, [MetricRequest("sessions", GA4Query(metric="sessions"))],
                       date(2026, 10, 1), date(2026, 10, 31))
    ranges = fetch_ga4_ranges(settings, [RangeRequest("users", GA4Query(metric="totalUsers"),
                                                      date(2026, 10, 1), date(2026, 10, 31))])
    problems = validate_ga4_metrics(settings, [MetricRequest(...)])

No Dagster, no warehouse: results are `connectors.base.FetchResult` Arrow tables; the raw
answers follow `RAW_SCHEMA` (table raw.ga4_responses).
"""

from connectors.base import Connector
from connectors.ga4.client import Ga4Api, QuotaGuard, classify_error, make_client
from connectors.ga4.days import (
    day_bounds_utc,
    hours_in_day,
    last_complete_day,
    partition_day,
    property_today,
)
from connectors.ga4.fetch import fetch_ga4, fetch_ga4_ranges
from connectors.ga4.metrics import is_additive, metric_is_additive, rate_denominator
from connectors.ga4.parse import RAW_SCHEMA, convert_value, parse_ga4_date
from connectors.ga4.requests import dimension_filter
from connectors.ga4.settings import (
    CREDENTIALS_ENV,
    ENDPOINT_ENV,
    SOURCE,
    GA4Settings,
    settings_from_env,
)
from connectors.ga4.validate import (
    Ga4Problem,
    PropertyCatalog,
    check_query,
    property_timezone,
    validate_ga4_metrics,
)

CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=lambda definitions: settings_from_env(definitions.sources.ga4.property_id),
    validate=validate_ga4_metrics,
    how_to_enable=f"set {CREDENTIALS_ENV} (a service-account key file), "
    f"GOOGLE_APPLICATION_CREDENTIALS or {ENDPOINT_ENV}",
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
