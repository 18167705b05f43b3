"""How to reach HubSpot in a run: a private app's access token from the environment only (the
variables are the connector's, see connectors/hubspot/settings.py: HUBSPOT_ACCESS_TOKEN,
HUBSPOT_HOST and the request rates)."""

import os

import dagster as dg
from pydantic import SecretStr

from connectors.hubspot import HubSpotSettings
from connectors.hubspot.settings import (
    HOST_ENV,
    HUBSPOT_HOST,
    RATE_ENV,
    REQUESTS_PER_SECOND,
    SEARCH_RATE_ENV,
    SEARCH_REQUESTS_PER_SECOND,
    TOKEN_ENV,
    rate_from_env,
)

RESOURCE_KEY = "hubspot"


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


def make_resource() -> HubSpotResource:
    # The token is an EnvVar (read when a run starts, never shown in the UI) when it is set; an
    # unset EnvVar would fail the config of the whole sources job, every source with it, while
    # an empty token fails only the HubSpot step, with the connector's message. The host and
    # rates are not secret.
    return HubSpotResource(
        access_token=dg.EnvVar(TOKEN_ENV) if os.environ.get(TOKEN_ENV) else "",
        host=dg.EnvVar(HOST_ENV) if os.environ.get(HOST_ENV) else HUBSPOT_HOST,
        search_requests_per_second=rate_from_env(SEARCH_RATE_ENV, SEARCH_REQUESTS_PER_SECOND),
        requests_per_second=rate_from_env(RATE_ENV, REQUESTS_PER_SECOND),
    )
