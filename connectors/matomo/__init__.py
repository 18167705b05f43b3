"""Matomo Reporting API source: day values, exact-range values and report validation.

Public API::

    settings = MatomoSettings(base_url="https://analytics.example.com", site_id=1, token=...)
    result = fetch_matomo(settings, [MetricRequest("visits", MatomoQuery(...))], start, end)
    ranges = fetch_matomo_ranges(settings, [RangeRequest(...)])
    problems = validate_matomo_metrics(settings, [MetricRequest(...)])

No Dagster, no warehouse: results are `connectors.base.FetchResult` Arrow tables; the raw
answers follow `RAW_SCHEMA` (table raw.matomo_answers).
"""

from connectors.base import Connector
from connectors.matomo.client import MatomoClient, fetch_matomo, fetch_matomo_ranges
from connectors.matomo.currency import matomo_currencies
from connectors.matomo.parse import RAW_SCHEMA, parse_matomo_number, site_timezone
from connectors.matomo.requests import REPORTS, SubRequest, is_additive
from connectors.matomo.settings import (
    DEFAULT_BULK_LIMIT,
    TOKEN_ENV,
    URL_ENV,
    MatomoSettings,
    settings_from_env,
)
from connectors.matomo.validate import MatomoProblem, validate_matomo_metrics

CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=lambda definitions: settings_from_env(
        definitions.sources.matomo.site_id or 1
    ),
    validate=validate_matomo_metrics,
    how_to_enable=f"set {URL_ENV} and {TOKEN_ENV}",
    currencies=matomo_currencies,
    currency_setting="site's currency (Administration → Websites → Manage)",
)

__all__ = [
    "CONNECTOR",
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
    "matomo_currencies",
    "parse_matomo_number",
    "site_timezone",
    "validate_matomo_metrics",
]
