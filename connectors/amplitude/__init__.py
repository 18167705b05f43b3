"""Amplitude source: the Dashboard REST API (event segmentation and funnels) over httpx.

Public API::

    settings = AmplitudeSettings(api_key=..., secret_key=..., region="eu")
    result = fetch_amplitude(settings, [MetricRequest("opens", AmplitudeQuery(...))], start, end)
    ranges = fetch_amplitude_ranges(settings, [RangeRequest(...)])
    problems = validate_amplitude_metrics(settings, [MetricRequest(...)])

No Dagster, no warehouse: results are `connectors.results.FetchResult` Arrow tables; the raw
answers follow `RAW_SCHEMA` (table raw.amplitude_answers).
"""

from __future__ import annotations

from connectors.amplitude.requests import AmplitudeRequest, daily_requests, event_json
from connectors.amplitude.settings import (
    API_KEY_ENV,
    HOST_ENV,
    SECRET_KEY_ENV,
    SOURCE,
    AmplitudeSettings,
    settings_from_env,
)
from connectors.base import Connector, deferred, lazy_exports

# The client (httpx) loads with the first fetch or check against the API: `okr validate`
# without credentials and `okr status` never import it.
__getattr__ = lazy_exports(
    __name__,
    {
        "RAW_SCHEMA": "connectors.amplitude.parse",
        "AmplitudeClient": "connectors.amplitude.client",
        "AmplitudeProblem": "connectors.amplitude.validate",
        "fetch_all": "connectors.amplitude.client",
        "fetch_amplitude": "connectors.amplitude.client",
        "fetch_amplitude_ranges": "connectors.amplitude.client",
        "is_additive": "connectors.amplitude.client",
        "run_cost": "connectors.amplitude.client",
        "validate_amplitude_metrics": "connectors.amplitude.validate",
    },
)


def _settings(definitions: object) -> AmplitudeSettings | None:
    options = definitions.sources.amplitude  # type: ignore[attr-defined]
    timezone = options.timezone or definitions.organisation.timezone  # type: ignore[attr-defined]
    return settings_from_env(options.region, timezone)


CONNECTOR = Connector(
    is_additive=deferred("connectors.amplitude.client", "is_additive"),
    settings_from_env=_settings,
    validate=deferred("connectors.amplitude.validate", "validate_amplitude_metrics"),
    how_to_enable=f"set {API_KEY_ENV} and {SECRET_KEY_ENV}",
    uses_tls_context=True,
)

__all__ = [
    "API_KEY_ENV",
    "CONNECTOR",
    "HOST_ENV",
    "RAW_SCHEMA",
    "SECRET_KEY_ENV",
    "SOURCE",
    "AmplitudeClient",
    "AmplitudeProblem",
    "AmplitudeRequest",
    "AmplitudeSettings",
    "daily_requests",
    "event_json",
    "fetch_all",
    "fetch_amplitude",
    "fetch_amplitude_ranges",
    "is_additive",
    "run_cost",
    "settings_from_env",
    "validate_amplitude_metrics",
]
