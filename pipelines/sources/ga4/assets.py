"""The GA4 source: batched runReport requests into raw.ga4_responses and raw.metric_rows."""

import dagster as dg

from connectors.base import MetricRequest
from connectors.ga4 import fetch_ga4, fetch_ga4_ranges
from okr_definitions.resolve import Definitions
from pipelines.partitions import window_dates
from pipelines.resources import OkrDefinitionsResource, WarehouseResource
from pipelines.sources.common import (
    GROUP,
    merge_results,
    range_requests,
    source_freshness,
    source_owners,
    write_fetch_result,
)
from pipelines.sources.ga4.resources import GA4Resource

SOURCE = "ga4"
KEY = dg.AssetKey(["raw", "ga4"])


def build_ga4_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    @dg.asset(
        key=KEY,
        group_name=GROUP,
        kinds={"ga4", "duckdb"},
        owners=source_owners(definitions, SOURCE),
        freshness_policy=source_freshness(definitions, SOURCE),
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            "Google Analytics 4 Data API answers for the metrics' reports: metrics sharing a "
            "property, filter and dimensions go in one runReport, reports in batchRunReports, "
            "days in the property's time zone; sampling, thresholding and '(other)' rows are "
            "recorded as flags. Writes raw.ga4_responses (answers with their requests) and "
            "raw.metric_rows."
        ),
    )
    def ga4_source(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
        ga4: GA4Resource,
    ) -> dg.MaterializeResult:
        defs = okr_definitions.load()
        start, end = window_dates(context)
        metrics = [MetricRequest(m.id, m.query) for m in defs.source_metrics(SOURCE)]
        # The YAML's property; a metric's own query.property_id overrides it per report.
        settings = ga4.settings(defs.sources.ga4.property_id or "0")
        result = fetch_ga4(settings, metrics, start, end, partition_date=end)
        ranges = range_requests(defs, SOURCE, start, end)
        if ranges:
            result = merge_results(result, fetch_ga4_ranges(settings, ranges, partition_date=end))
        raw_tables = {}
        if result.raw is not None:
            raw_tables["raw.ga4_responses"] = (
                "partition_date BETWEEN ? AND ?",
                [start, end],
                result.raw,
            )
        return write_fetch_result(
            context,
            warehouse,
            SOURCE,
            [m.metric_id for m in metrics],
            start,
            end,
            result,
            raw_tables=raw_tables,
        )

    return [ga4_source]
