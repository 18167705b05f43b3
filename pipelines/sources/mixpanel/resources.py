"""The Mixpanel service account and the sandbox endpoint — from the environment only."""

import os

import dagster as dg
from pydantic import SecretStr

from connectors.errors import AuthError
from connectors.mixpanel.settings import (
    ENDPOINT_ENV,
    SECRET_ENV,
    USERNAME_ENV,
    MixpanelSettings,
)

RESOURCE_KEY = "mixpanel"


class MixpanelResource(dg.ConfigurableResource):
    """A service account with access to the project (set MIXPANEL_SERVICE_ACCOUNT_USERNAME and
    MIXPANEL_SERVICE_ACCOUNT_SECRET); MIXPANEL_ENDPOINT points at another host (the sandbox)."""

    username: str = ""
    secret: str = ""
    endpoint: str = ""

    def settings(self, project_id: int | None, region: str, timezone: str) -> MixpanelSettings:
        if not (self.username.strip() and self.secret.strip()):
            raise AuthError(
                "mixpanel",
                f"set {USERNAME_ENV} and {SECRET_ENV} (a service account with access to the "
                "project) in the environment of the pipeline",
            )
        if project_id is None:
            raise AuthError("mixpanel", "set sources.mixpanel.project_id in the definitions")
        return MixpanelSettings(
            project_id=project_id,
            region=region,
            username=self.username.strip(),
            secret=SecretStr(self.secret.strip()),
            timezone=timezone,
            endpoint=self.endpoint or None,
        )


def make_resource() -> MixpanelResource:
    # An unset EnvVar would fail the config of the whole sources job; a missing variable is
    # left empty and fails only the Mixpanel step, with a message naming it.
    return MixpanelResource(
        username=dg.EnvVar(USERNAME_ENV) if os.environ.get(USERNAME_ENV) else "",
        secret=dg.EnvVar(SECRET_ENV) if os.environ.get(SECRET_ENV) else "",
        endpoint=dg.EnvVar(ENDPOINT_ENV) if os.environ.get(ENDPOINT_ENV) else "",
    )
