"""The GA4 source: batched runReport requests into raw.ga4_responses and raw.metric_rows."""

from datetime import date

import dagster as dg

from connectors.base import MetricRequest, range_requests
from connectors.ga4 import fetch_ga4, fetch_ga4_ranges, is_additive
from connectors.results import FetchResult, merge_results
from okr_definitions.resolve import Definitions
from pipelines.sources.common import windowed_source_asset
from pipelines.sources.ga4.resources import RESOURCE_KEY, GA4Resource
from warehouse.sources.ga4 import RAW_TABLE, raw_slice

SOURCE = "ga4"


def _fetch(
    defs: Definitions, ga4: GA4Resource, metrics: list[MetricRequest], start: date, end: date
) -> FetchResult:
    # The YAML's property; a metric's own query.property_id overrides it per report.
    settings = ga4.settings(defs.sources.ga4.property_id or "0")
    result = fetch_ga4(settings, metrics, start, end, partition_date=end)
    ranges = range_requests(defs, SOURCE, is_additive, start, end)
    if ranges:
        result = merge_results(result, fetch_ga4_ranges(settings, ranges, partition_date=end))
    return result


def build_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    return [
        windowed_source_asset(
            definitions,
            partitions,
            source=SOURCE,
            kinds={"ga4", "duckdb"},
            description=(
                "Google Analytics 4 Data API answers for the metrics' reports: metrics sharing "
                "a property, filter and dimensions go in one runReport, reports in "
                "batchRunReports, days in the property's time zone; sampling, thresholding and "
                "'(other)' rows are recorded as flags. Writes raw.ga4_responses (answers with "
                "their requests) and raw.metric_rows."
            ),
            fetch=_fetch,
            raw_table=RAW_TABLE,
            raw_slice=raw_slice,
            resource_key=RESOURCE_KEY,
        )
    ]
