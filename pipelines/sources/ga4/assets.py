"""The GA4 source: batched runReport requests into raw.ga4_responses and raw.metric_rows."""

from datetime import date
from typing import Any

import dagster as dg

from connectors.base import FetchResult, MetricRequest
from connectors.ga4 import fetch_ga4, fetch_ga4_ranges
from okr_definitions.resolve import Definitions
from pipelines.sources.common import merge_results, range_requests, windowed_source_asset
from pipelines.sources.ga4.resources import GA4Resource

SOURCE = "ga4"


def _fetch(
    defs: Definitions, ga4: GA4Resource, metrics: list[MetricRequest], start: date, end: date
) -> FetchResult:
    # The YAML's property; a metric's own query.property_id overrides it per report.
    settings = ga4.settings(defs.sources.ga4.property_id or "0")
    result = fetch_ga4(settings, metrics, start, end, partition_date=end)
    ranges = range_requests(defs, SOURCE, start, end)
    if ranges:
        result = merge_results(result, fetch_ga4_ranges(settings, ranges, partition_date=end))
    return result


def _raw_slice(_ids: list[str], start: date, end: date) -> tuple[str, list[Any]]:
    return "partition_date BETWEEN ? AND ?", [start, end]


def build_ga4_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
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
            raw_table="raw.ga4_responses",
            raw_slice=_raw_slice,
            resource_key="ga4",
        )
    ]
