"""Amplitude source: the Dashboard REST API (event segmentation and funnels) over httpx.

Public API::

    settings = AmplitudeSettings(api_key=..., secret_key=..., region="eu")
    result = fetch_amplitude(settings, [MetricRequest("opens", AmplitudeQuery(...))], start, end)
    ranges = fetch_amplitude_ranges(settings, [RangeRequest(...)])
    problems = validate_amplitude_metrics(settings, [MetricRequest(...)])

No Dagster, no warehouse: results are `connectors.base.FetchResult` Arrow tables; the raw
answers follow `RAW_SCHEMA` (table raw.amplitude_answers).
"""

from connectors.amplitude.client import (
    AmplitudeClient,
    fetch_all,
    fetch_amplitude,
    fetch_amplitude_ranges,
    is_additive,
    run_cost,
)
from connectors.amplitude.parse import RAW_SCHEMA
from connectors.amplitude.requests import AmplitudeRequest, daily_requests, event_json
from connectors.amplitude.settings import (
    API_KEY_ENV,
    HOST_ENV,
    SECRET_KEY_ENV,
    SOURCE,
    AmplitudeSettings,
    settings_from_env,
)
from connectors.amplitude.validate import AmplitudeProblem, validate_amplitude_metrics
from connectors.base import Connector


def _settings(definitions: object) -> AmplitudeSettings | None:
    options = definitions.sources.amplitude  # type: ignore[attr-defined]
    timezone = options.timezone or definitions.organisation.timezone  # type: ignore[attr-defined]
    return settings_from_env(options.region, timezone)


CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=_settings,
    validate=validate_amplitude_metrics,
    how_to_enable=f"set {API_KEY_ENV} and {SECRET_KEY_ENV}",
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
