"""HubSpot CRM source: deals and contacts through the official `hubspot-api-client`.

The pieces, in the order a run uses them:

- :class:`HubSpotSettings` — token (SecretStr, env HUBSPOT_ACCESS_TOKEN), host, account time
  zone, and the API limits the connector keeps to (all in `settings.py`).
- :func:`validate_hubspot_metrics` — properties and pipelines exist, before any pull.
- :func:`fetch_hubspot_objects` — current state of the objects changed since a cursor
  (CRM search with keyset paging past the 10,000 cap, archived objects from the recycle bin);
  :func:`next_cursor` gives the cursor to store.
- :func:`fetch_hubspot_pipelines` — deal stages with won/lost/open from their metadata.
- :func:`fetch_company_currency` — the account's company currency, the currency of amounts.
- :func:`daily_metrics_from_objects` — DAILY_SCHEMA rows from those tables (plus `currency`).
- :func:`fetch_hubspot_daily` — all of the above for one window, without a stored cursor.
"""

from __future__ import annotations

from connectors.base import Connector, deferred, lazy_exports
from connectors.hubspot.requests import (
    date_properties_for_metrics,
    is_additive,
    next_cursor,
    properties_for_metrics,
)
from connectors.hubspot.settings import TOKEN_ENV, HubSpotSettings, settings_from_env

# The client library (hubspot-api-client) loads with the first fetch or check against the API:
# `okr validate` without credentials and `okr status` never import it.
__getattr__ = lazy_exports(
    __name__,
    {
        "OBJECTS_SCHEMA": "connectors.hubspot.parse",
        "PIPELINE_STAGES_SCHEMA": "connectors.hubspot.parse",
        "HubSpotClient": "connectors.hubspot.client",
        "HubSpotProblem": "connectors.hubspot.validate",
        "RateLimiter": "connectors.hubspot.client",
        "company_currency_if_money": "connectors.hubspot.currency",
        "daily_metrics_from_objects": "connectors.hubspot.parse",
        "fetch_company_currency": "connectors.hubspot.currency",
        "fetch_hubspot_daily": "connectors.hubspot.fetch",
        "fetch_hubspot_objects": "connectors.hubspot.client",
        "fetch_hubspot_pipelines": "connectors.hubspot.client",
        "hubspot_currencies": "connectors.hubspot.currency",
        "validate_hubspot_metrics": "connectors.hubspot.validate",
    },
)

CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=lambda definitions: settings_from_env(definitions.organisation.timezone),
    validate=deferred("connectors.hubspot.validate", "validate_hubspot_metrics"),
    how_to_enable=f"set {TOKEN_ENV} (a private app's access token)",
    currencies=deferred("connectors.hubspot.currency", "hubspot_currencies"),
    currency_setting="account's company currency (Settings → Account defaults → Currency)",
)

__all__ = [
    "CONNECTOR",
    "OBJECTS_SCHEMA",
    "PIPELINE_STAGES_SCHEMA",
    "HubSpotClient",
    "HubSpotProblem",
    "HubSpotSettings",
    "RateLimiter",
    "company_currency_if_money",
    "daily_metrics_from_objects",
    "date_properties_for_metrics",
    "fetch_company_currency",
    "fetch_hubspot_daily",
    "fetch_hubspot_objects",
    "fetch_hubspot_pipelines",
    "is_additive",
    "next_cursor",
    "hubspot_currencies",
    "properties_for_metrics",
    "validate_hubspot_metrics",
]
