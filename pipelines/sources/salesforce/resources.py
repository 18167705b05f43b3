"""How to reach Salesforce in a run: the connected app's credentials from the environment only
(the variables are the connector's, see connectors/salesforce/settings.py)."""

import os

import dagster as dg

from connectors.salesforce import SalesforceSettings
from connectors.salesforce.settings import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    DOMAIN_ENV,
    HOST_ENV,
    PRIVATE_KEY_PATH_ENV,
    USERNAME_ENV,
)

RESOURCE_KEY = "salesforce"
_FIELDS = {
    "domain": DOMAIN_ENV,
    "client_id": CLIENT_ID_ENV,
    "client_secret": CLIENT_SECRET_ENV,
    "username": USERNAME_ENV,
    "private_key_path": PRIVATE_KEY_PATH_ENV,
    "host": HOST_ENV,
}


class SalesforceResource(dg.ConfigurableResource):
    """One org through a connected app; the time zone comes from the definitions."""

    domain: str = ""
    client_id: str = ""
    client_secret: str = ""
    username: str = ""
    private_key_path: str = ""
    host: str = ""

    def settings(self, time_zone: str) -> SalesforceSettings:
        """time_zone: the organisation's zone, which should be the org's default time zone
        (Setup → Company Information): datetime fields fall on their day there."""
        env = {name: getattr(self, attr) for attr, name in _FIELDS.items()}
        # Raises the connector's AuthError naming the variables to set when some are missing.
        return SalesforceSettings.from_env(env, time_zone=time_zone)


def make_resource() -> SalesforceResource:
    # Set variables become EnvVars (read when a run starts, never shown in the UI); an unset
    # EnvVar would fail the config of the whole sources job, every source with it, while an
    # empty value fails only the Salesforce step, with the connector's message.
    return SalesforceResource(
        **{attr: dg.EnvVar(name) if os.environ.get(name) else "" for attr, name in _FIELDS.items()}
    )
