"""How to reach HubSpot: a private app's access token from the environment only.

- HUBSPOT_ACCESS_TOKEN: the private app's access token (scopes in connectors/hubspot/settings.py).
- HUBSPOT_HOST: another API host (the local sandbox); unset, api.hubapi.com.
- HUBSPOT_SEARCH_REQUESTS_PER_SECOND / HUBSPOT_REQUESTS_PER_SECOND: the connector's request
  rates, for accounts with higher limits (or the sandbox, which has none); unset, the
  connector's defaults, which stay under the lowest tier's limits.
"""

import os

import dagster as dg
from pydantic import SecretStr

from connectors.hubspot import HubSpotSettings
from connectors.hubspot.settings import (
    HOST_ENV,
    HUBSPOT_HOST,
    REQUESTS_PER_SECOND,
    SEARCH_REQUESTS_PER_SECOND,
    TOKEN_ENV,
)

SEARCH_RATE_ENV = "HUBSPOT_SEARCH_REQUESTS_PER_SECOND"
RATE_ENV = "HUBSPOT_REQUESTS_PER_SECOND"


class HubSpotResource(dg.ConfigurableResource):
    """One HubSpot account through a private app; the time zone comes from the definitions."""

    access_token: str = ""
    host: str = HUBSPOT_HOST
    search_requests_per_second: float = SEARCH_REQUESTS_PER_SECOND
    requests_per_second: float = REQUESTS_PER_SECOND

    def settings(self, time_zone: str) -> HubSpotSettings:
        """time_zone: the organisation's zone, which should be the HubSpot account's (Settings
        → Account defaults): HubSpot's own reports count days there."""
        if not self.access_token.strip():
            # Raises the connector's AuthError: which variable, which private app, which scopes.
            return HubSpotSettings.from_env({})
        return HubSpotSettings(
            access_token=SecretStr(self.access_token),
            host=self.host,
            time_zone=time_zone,
            search_requests_per_second=self.search_requests_per_second,
            requests_per_second=self.requests_per_second,
        )


def _rate(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if rate <= 0:
        raise ValueError(f"{name} must be a positive number of requests per second, not {value!r}")
    return rate


def hubspot_resource() -> HubSpotResource:
    # The token is an EnvVar (read when a run starts, never shown in the UI) when it is set; an
    # unset EnvVar would fail the config of the whole sources job, every source with it, while
    # an empty token fails only the HubSpot step, with the connector's message. The host and
    # rates are not secret.
    return HubSpotResource(
        access_token=dg.EnvVar(TOKEN_ENV) if os.environ.get(TOKEN_ENV) else "",
        host=dg.EnvVar(HOST_ENV) if os.environ.get(HOST_ENV) else HUBSPOT_HOST,
        search_requests_per_second=_rate(SEARCH_RATE_ENV, SEARCH_REQUESTS_PER_SECOND),
        requests_per_second=_rate(RATE_ENV, REQUESTS_PER_SECOND),
    )


def settings_from_env(time_zone: str) -> HubSpotSettings | None:
    """For `okr validate`: settings when HUBSPOT_ACCESS_TOKEN is set, else None."""
    if not os.environ.get(TOKEN_ENV, "").strip():
        return None
    return HubSpotSettings.from_env(
        time_zone=time_zone,
        search_requests_per_second=_rate(SEARCH_RATE_ENV, SEARCH_REQUESTS_PER_SECOND),
        requests_per_second=_rate(RATE_ENV, REQUESTS_PER_SECOND),
    )
