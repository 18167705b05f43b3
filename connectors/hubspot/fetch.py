"""HubSpot: the fetches, through the client library (hubspot-api-client).

The package `connectors.hubspot` exports them by name and imports this module on first use,
so `okr validate` without credentials and `okr status` never load the client library."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pyarrow as pa

from connectors.base import MetricRequest
from connectors.hubspot.client import (
    HubSpotClient,
    fetch_hubspot_objects,
    fetch_hubspot_pipelines,
)
from connectors.hubspot.currency import (
    company_currency_if_money,
)
from connectors.hubspot.parse import (
    OBJECTS_SCHEMA,
    PIPELINE_STAGES_SCHEMA,
    daily_metrics_from_objects,
)
from connectors.hubspot.requests import (
    date_properties_for_metrics,
    properties_for_metrics,
)
from connectors.hubspot.settings import HubSpotSettings
from connectors.results import FetchResult


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
