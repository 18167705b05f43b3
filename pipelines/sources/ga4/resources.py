"""How to reach GA4 in a run: credentials and endpoint from the environment only (the
variables are the connector's, see connectors/ga4/settings.py), as EnvVars the UI never shows."""

import os

import dagster as dg

from connectors.ga4.settings import ANONYMOUS_ENV, CREDENTIALS_ENV, ENDPOINT_ENV, GA4Settings

RESOURCE_KEY = "ga4"


class GA4Resource(dg.ConfigurableResource):
    """The GA4 Data API client settings; the property comes from the definitions."""

    credentials_path: str | None = None
    endpoint: str | None = None
    anonymous: bool = False

    def settings(self, property_id: str) -> GA4Settings:
        return GA4Settings(
            property_id=property_id,
            credentials_path=self.credentials_path or None,
            endpoint=self.endpoint or None,
            anonymous=self.anonymous,
        )


def make_resource() -> GA4Resource:
    # Optional settings: an EnvVar that is unset would fail every run, even with ADC.
    return GA4Resource(
        credentials_path=(dg.EnvVar(CREDENTIALS_ENV) if os.environ.get(CREDENTIALS_ENV) else None),
        endpoint=dg.EnvVar(ENDPOINT_ENV) if os.environ.get(ENDPOINT_ENV) else None,
        anonymous=os.environ.get(ANONYMOUS_ENV) == "1",
    )
