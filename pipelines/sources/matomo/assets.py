"""The Matomo source: one bulk request per run into raw.matomo_answers and raw.metric_rows."""

from datetime import date
from typing import Any

import dagster as dg

from connectors.base import FetchResult, MetricRequest
from connectors.matomo import fetch_matomo, fetch_matomo_ranges
from okr_definitions.resolve import Definitions
from pipelines.sources.common import merge_results, range_requests, windowed_source_asset
from pipelines.sources.matomo.resources import MatomoResource

SOURCE = "matomo"


def _fetch(
    defs: Definitions, matomo: MatomoResource, metrics: list[MetricRequest], start: date, end: date
) -> FetchResult:
    settings = matomo.settings(defs.sources.matomo.site_id or 1)
    result = fetch_matomo(settings, metrics, start, end)
    ranges = range_requests(defs, SOURCE, start, end)
    if ranges:
        result = merge_results(result, fetch_matomo_ranges(settings, ranges))
    return result


def _raw_slice(_ids: list[str], start: date, end: date) -> tuple[str, list[Any]]:
    return "partition_date BETWEEN ? AND ?", [start, end]


def build_matomo_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    return [
        windowed_source_asset(
            definitions,
            partitions,
            source=SOURCE,
            kinds={"matomo", "duckdb"},
            description=(
                "Matomo Reporting API answers for the metrics' reports (one API.getBulkRequest "
                "per run, days in the site's time zone; today and yesterday flagged "
                "provisional). Writes raw.matomo_answers (answers with provenance) and "
                "raw.metric_rows."
            ),
            fetch=_fetch,
            raw_table="raw.matomo_answers",
            raw_slice=_raw_slice,
            resource_key="matomo",
        )
    ]
