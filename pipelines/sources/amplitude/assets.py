"""The Amplitude source: one request per event and filter set (or funnel) for the run's whole
window into raw.amplitude_answers and raw.metric_rows, unique users per exact range into
raw.metric_ranges; the run's Amplitude cost in its metadata."""

from datetime import date
from typing import Any

import dagster as dg

from connectors.amplitude import fetch_all, is_additive, run_cost
from connectors.base import MetricRequest, range_requests
from connectors.results import FetchResult
from okr_definitions.resolve import Definitions
from pipelines.sources.amplitude.resources import RESOURCE_KEY, AmplitudeResource
from pipelines.sources.common import windowed_source_asset
from warehouse.sources.amplitude import RAW_TABLE, raw_slice

SOURCE = "amplitude"


def _fetch(
    defs: Definitions,
    amplitude: AmplitudeResource,
    metrics: list[MetricRequest],
    start: date,
    end: date,
) -> FetchResult:
    options = defs.sources.amplitude
    settings = amplitude.settings(options.region, options.timezone or defs.organisation.timezone)
    ranges = range_requests(defs, SOURCE, is_additive, start, end)
    return fetch_all(settings, metrics, ranges, start, end)


def _metadata(result: FetchResult) -> dict[str, Any]:
    return {"amplitude_cost": dg.MetadataValue.int(run_cost(result))}


def build_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    return [
        windowed_source_asset(
            definitions,
            partitions,
            source=SOURCE,
            kinds={"amplitude", "duckdb"},
            description=(
                "Amplitude Dashboard REST API answers for the metrics' events and funnels (one "
                "request per event and filter set for all days of the window, days in the "
                "project's time zone; unique users asked for each key result's exact range). "
                "Writes raw.amplitude_answers (answers with provenance and cost) and "
                "raw.metric_rows; the run's Amplitude cost is `amplitude_cost`."
            ),
            fetch=_fetch,
            raw_table=RAW_TABLE,
            raw_slice=raw_slice,
            resource_key=RESOURCE_KEY,
            result_metadata=_metadata,
        )
    ]
