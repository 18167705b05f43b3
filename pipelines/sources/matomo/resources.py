"""Where the Matomo instance is, and its token — from the environment only."""

import os

import dagster as dg
from pydantic import SecretStr

from connectors.errors import AuthError
from connectors.matomo.settings import DEFAULT_BULK_LIMIT, TOKEN_ENV, URL_ENV, MatomoSettings

RESOURCE_KEY = "matomo"


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


def make_resource() -> MatomoResource:
    # EnvVars are read when a run starts and never shown in the UI; an *unset* EnvVar would
    # fail the config of the whole sources job (every source with it), so a missing variable
    # is left empty and fails only the Matomo step, with a message naming it.
    return MatomoResource(
        base_url=dg.EnvVar(URL_ENV) if os.environ.get(URL_ENV) else "",
        token=dg.EnvVar(TOKEN_ENV) if os.environ.get(TOKEN_ENV) else "",
    )
