"""Matomo Reporting API source: day values, exact-range values and report validation.

Public API::

    settings = MatomoSettings(base_url="https://analytics.example.com", site_id=1, token=...)
    result = fetch_matomo(settings, [MetricRequest("visits", MatomoQuery(...))], start, end)
    ranges = fetch_matomo_ranges(settings, [RangeRequest(...)])
    problems = validate_matomo_metrics(settings, [MetricRequest(...)])

No Dagster, no warehouse: results are `connectors.results.FetchResult` Arrow tables; the raw
answers follow `RAW_SCHEMA` (table raw.matomo_answers). A fetch (fetch.py) asks for what
requests.py plans, through client.py's bulk client, and reads the answers with parse.py.
"""

from __future__ import annotations

from connectors.base import Connector, deferred, lazy_exports
from connectors.matomo.requests import (
    REPORTS,
    SubRequest,
    is_additive,
)
from connectors.matomo.settings import (
    DEFAULT_BULK_LIMIT,
    TOKEN_ENV,
    URL_ENV,
    MatomoSettings,
    settings_from_env,
)

# The client library (httpx) loads with the first fetch or check against the API:
# `okr validate` without credentials and `okr status` never import it.
__getattr__ = lazy_exports(
    __name__,
    {
        "RAW_SCHEMA": "connectors.matomo.parse",
        "MatomoClient": "connectors.matomo.client",
        "MatomoProblem": "connectors.matomo.validate",
        "fetch_matomo": "connectors.matomo.fetch",
        "fetch_matomo_ranges": "connectors.matomo.fetch",
        "matomo_currencies": "connectors.matomo.currency",
        "parse_matomo_number": "connectors.matomo.parse",
        "site_timezone": "connectors.matomo.parse",
        "validate_matomo_metrics": "connectors.matomo.validate",
    },
)

CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=lambda definitions: settings_from_env(
        definitions.sources.matomo.site_id or 1
    ),
    validate=deferred("connectors.matomo.validate", "validate_matomo_metrics"),
    how_to_enable=f"set {URL_ENV} and {TOKEN_ENV}",
    currencies=deferred("connectors.matomo.currency", "matomo_currencies"),
    currency_setting="site's currency (Administration → Websites → Manage)",
    uses_tls_context=True,
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
