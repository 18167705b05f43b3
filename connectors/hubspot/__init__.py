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

from collections.abc import Sequence
from datetime import date

import pyarrow as pa

from connectors.base import Connector, FetchResult, MetricRequest
from connectors.hubspot.client import (
    HubSpotClient,
    RateLimiter,
    fetch_hubspot_objects,
    fetch_hubspot_pipelines,
)
from connectors.hubspot.currency import (
    company_currency_if_money,
    fetch_company_currency,
    hubspot_currencies,
)
from connectors.hubspot.parse import (
    OBJECTS_SCHEMA,
    PIPELINE_STAGES_SCHEMA,
    daily_metrics_from_objects,
)
from connectors.hubspot.requests import (
    date_properties_for_metrics,
    is_additive,
    next_cursor,
    properties_for_metrics,
)
from connectors.hubspot.settings import TOKEN_ENV, HubSpotSettings, settings_from_env
from connectors.hubspot.validate import HubSpotProblem, validate_hubspot_metrics

CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=lambda definitions: settings_from_env(definitions.organisation.timezone),
    validate=validate_hubspot_metrics,
    how_to_enable=f"set {TOKEN_ENV} (a private app's access token)",
    currencies=hubspot_currencies,
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


def fetch_hubspot_daily(
    settings: HubSpotSettings,
    metrics: Sequence[MetricRequest],
    start: date,
    end: date,
    *,
    client: HubSpotClient | None = None,
) -> FetchResult:
    """Daily values of `metrics` for [start, end] from a fresh read (no stored cursor).

    Reads only objects with one of the metrics' dates on or after `start`; `raw` holds them
    (OBJECTS_SCHEMA) so the answer can be traced. The incremental path (cursor, history,
    revisions) uses fetch_hubspot_objects + daily_metrics_from_objects instead.
    """
    client = client or HubSpotClient(settings)
    properties = properties_for_metrics(metrics)
    dates = date_properties_for_metrics(metrics)
    tables = [
        fetch_hubspot_objects(
            settings,
            obj,
            None,
            names,
            date_properties=dates.get(obj, ()),
            active_since=start,
            client=client,
        )
        for obj, names in properties.items()
    ]
    pipelines = (
        fetch_hubspot_pipelines(settings, client=client)
        if "deals" in properties
        else PIPELINE_STAGES_SCHEMA.empty_table()
    )
    objects = pa.concat_tables(tables) if tables else OBJECTS_SCHEMA.empty_table()
    daily = daily_metrics_from_objects(
        objects,
        pipelines,
        metrics,
        start,
        end,
        time_zone=settings.time_zone,
        company_currency=company_currency_if_money(settings, metrics, client=client),
    )
    return FetchResult(daily=daily, raw=objects, request_count=client.request_count)
