"""Matomo Reporting API source: day values, exact-range values and report validation.

Public API::

    settings = MatomoSettings(base_url="https://analytics.example.com", site_id=1, token=...)
    result = fetch_matomo(settings, [MetricRequest("visits", MatomoQuery(...))], start, end)
    ranges = fetch_matomo_ranges(settings, [RangeRequest(...)])
    problems = validate_matomo_metrics(settings, [MetricRequest(...)])

No Dagster, no warehouse: results are `connectors.base.FetchResult` Arrow tables; the raw
answers follow `RAW_SCHEMA` (table raw.matomo_answers).
"""

from connectors.matomo.client import (
    RAW_SCHEMA,
    REPORTS,
    MatomoClient,
    SubRequest,
    fetch_matomo,
    fetch_matomo_ranges,
    is_additive,
    parse_matomo_number,
    site_timezone,
)
from connectors.matomo.settings import DEFAULT_BULK_LIMIT, MatomoSettings
from connectors.matomo.validate import MatomoProblem, validate_matomo_metrics

__all__ = [
    "DEFAULT_BULK_LIMIT",
    "RAW_SCHEMA",
    "REPORTS",
    "MatomoClient",
    "MatomoProblem",
    "MatomoSettings",
    "SubRequest",
    "fetch_matomo",
    "fetch_matomo_ranges",
    "is_additive",
    "parse_matomo_number",
    "site_timezone",
    "validate_matomo_metrics",
]
