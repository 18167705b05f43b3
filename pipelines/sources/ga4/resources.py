"""How to reach GA4: credentials and endpoint from the environment only.

- GA4_CREDENTIALS_PATH: a service-account key file with Viewer access on the property;
  unset, Application Default Credentials are used (GOOGLE_APPLICATION_CREDENTIALS, gcloud, or
  the metadata server).
- GA4_ENDPOINT: another API host (the local sandbox); GA4_ANONYMOUS=1 sends no credentials,
  which the connector allows for a non-Google endpoint only.
"""

import os

import dagster as dg

from connectors.ga4 import GA4Settings

CREDENTIALS_ENV = "GA4_CREDENTIALS_PATH"
ENDPOINT_ENV = "GA4_ENDPOINT"
ANONYMOUS_ENV = "GA4_ANONYMOUS"


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


def ga4_resource() -> GA4Resource:
    # Optional settings: an EnvVar that is unset would fail every run, even with ADC.
    return GA4Resource(
        credentials_path=(dg.EnvVar(CREDENTIALS_ENV) if os.environ.get(CREDENTIALS_ENV) else None),
        endpoint=dg.EnvVar(ENDPOINT_ENV) if os.environ.get(ENDPOINT_ENV) else None,
        anonymous=os.environ.get(ANONYMOUS_ENV) == "1",
    )


def settings_from_env(property_id: str | None) -> GA4Settings | None:
    """For `okr validate`: settings when the environment says how to reach GA4, else None."""
    configured = any(
        os.environ.get(name)
        for name in (CREDENTIALS_ENV, ENDPOINT_ENV, "GOOGLE_APPLICATION_CREDENTIALS")
    )
    if not (configured and property_id):
        return None
    return GA4Resource(
        credentials_path=os.environ.get(CREDENTIALS_ENV),
        endpoint=os.environ.get(ENDPOINT_ENV),
        anonymous=os.environ.get(ANONYMOUS_ENV) == "1",
    ).settings(property_id)
