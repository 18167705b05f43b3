"""Where the Matomo instance is, and its token — from the environment only."""

import os

import dagster as dg
from pydantic import SecretStr

from connectors.errors import AuthError
from connectors.matomo import DEFAULT_BULK_LIMIT, MatomoSettings

URL_ENV = "MATOMO_URL"
TOKEN_ENV = "MATOMO_TOKEN"


class MatomoResource(dg.ConfigurableResource):
    """Matomo's root URL and a view-access `token_auth` (set MATOMO_URL and MATOMO_TOKEN)."""

    base_url: str = ""
    token: str = ""
    bulk_limit: int = DEFAULT_BULK_LIMIT

    def settings(self, site_id: int) -> MatomoSettings:
        if not (self.base_url.strip() and self.token.strip()):
            raise AuthError(
                "matomo",
                f"set {URL_ENV} (Matomo's root URL) and {TOKEN_ENV} (a token_auth with view "
                "access to the site) in the environment of the pipeline",
            )
        return MatomoSettings(
            base_url=self.base_url,
            site_id=site_id,
            token=SecretStr(self.token),
            bulk_limit=self.bulk_limit,
        )


def matomo_resource() -> MatomoResource:
    # EnvVars are read when a run starts and never shown in the UI; an *unset* EnvVar would
    # fail the config of the whole sources job (every source with it), so a missing variable
    # is left empty and fails only the Matomo step, with a message naming it.
    return MatomoResource(
        base_url=dg.EnvVar(URL_ENV) if os.environ.get(URL_ENV) else "",
        token=dg.EnvVar(TOKEN_ENV) if os.environ.get(TOKEN_ENV) else "",
    )


def settings_from_env(site_id: int) -> MatomoSettings | None:
    """For `okr validate`: settings when the environment has them, else None."""
    url, token = os.environ.get(URL_ENV), os.environ.get(TOKEN_ENV)
    if not (url and token):
        return None
    return MatomoSettings(base_url=url, site_id=site_id, token=SecretStr(token))
