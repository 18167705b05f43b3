"""The Matomo source: one bulk request per run into raw.matomo_answers and raw.metric_rows."""

from datetime import date

import dagster as dg

from connectors.base import MetricRequest, range_requests
from connectors.matomo import fetch_matomo, fetch_matomo_ranges, is_additive
from connectors.results import FetchResult, merge_results
from okr_definitions.resolve import Definitions
from pipelines.sources.common import windowed_source_asset
from pipelines.sources.matomo.resources import RESOURCE_KEY, MatomoResource
from warehouse.sources.matomo import RAW_TABLE, raw_slice

SOURCE = "matomo"


def _fetch(
    defs: Definitions, matomo: MatomoResource, metrics: list[MetricRequest], start: date, end: date
) -> FetchResult:
    settings = matomo.settings(defs.sources.matomo.site_id or 1)
    result = fetch_matomo(settings, metrics, start, end)
    ranges = range_requests(defs, SOURCE, is_additive, start, end)
    if ranges:
        result = merge_results(result, fetch_matomo_ranges(settings, ranges))
    return result


def build_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
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
            raw_table=RAW_TABLE,
            raw_slice=raw_slice,
            resource_key=RESOURCE_KEY,
        )
    ]
