"""The Amplitude project's keys in a run: from the environment only (the variables are the
connector's, see connectors/amplitude/settings.py), as EnvVars the UI never shows."""

import os

import dagster as dg
from pydantic import SecretStr

from connectors.amplitude.settings import (
    API_KEY_ENV,
    EU_HOST_ENV,
    HOST_ENV,
    SECRET_KEY_ENV,
    AmplitudeSettings,
)
from connectors.errors import AuthError

RESOURCE_KEY = "amplitude"


class AmplitudeResource(dg.ConfigurableResource):
    """The project's API key and secret key (AMPLITUDE_API_KEY, AMPLITUDE_SECRET_KEY)."""

    api_key: str = ""
    secret_key: str = ""
    us_host: str | None = None
    eu_host: str | None = None

    def settings(self, region: str, timezone: str) -> AmplitudeSettings:
        if not (self.api_key.strip() and self.secret_key.strip()):
            raise AuthError(
                "amplitude",
                f"set {API_KEY_ENV} and {SECRET_KEY_ENV} (Amplitude → Settings → Projects → "
                "General) in the environment of the pipeline",
            )
        return AmplitudeSettings(
            api_key=SecretStr(self.api_key),
            secret_key=SecretStr(self.secret_key),
            region=region,  # type: ignore[arg-type]
            us_host=self.us_host or None,
            eu_host=self.eu_host or None,
            timezone=timezone,
        )


def make_resource() -> AmplitudeResource:
    # An unset EnvVar would fail the config of the whole sources job: a missing variable is
    # left empty and fails only the Amplitude step, with a message naming it.
    def env(name: str) -> dg.EnvVar | str:
        return dg.EnvVar(name) if os.environ.get(name) else ""

    return AmplitudeResource(
        api_key=env(API_KEY_ENV),
        secret_key=env(SECRET_KEY_ENV),
        us_host=env(HOST_ENV) or None,
        eu_host=env(EU_HOST_ENV) or None,
    )
