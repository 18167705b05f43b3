"""The Matomo source: one bulk request per run into raw.matomo_answers and raw.metric_rows."""

import dagster as dg

from connectors.base import MetricRequest
from connectors.matomo import fetch_matomo, fetch_matomo_ranges
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
from pipelines.sources.matomo.resources import MatomoResource

SOURCE = "matomo"
KEY = dg.AssetKey(["raw", "matomo"])


def build_matomo_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    @dg.asset(
        key=KEY,
        group_name=GROUP,
        kinds={"matomo", "duckdb"},
        owners=source_owners(definitions, SOURCE),
        freshness_policy=source_freshness(definitions, SOURCE),
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            "Matomo Reporting API answers for the metrics' reports (one API.getBulkRequest "
            "per run, days in the site's time zone; today and yesterday flagged provisional). "
            "Writes raw.matomo_answers (answers with provenance) and raw.metric_rows."
        ),
    )
    def matomo_source(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
        matomo: MatomoResource,
    ) -> dg.MaterializeResult:
        defs = okr_definitions.load()
        start, end = window_dates(context)
        metrics = [MetricRequest(m.id, m.query) for m in defs.source_metrics(SOURCE)]
        settings = matomo.settings(defs.sources.matomo.site_id or 1)
        result = fetch_matomo(settings, metrics, start, end)
        ranges = range_requests(defs, SOURCE, start, end)
        if ranges:
            result = merge_results(result, fetch_matomo_ranges(settings, ranges))
        raw_tables = {}
        if result.raw is not None:
            raw_tables["raw.matomo_answers"] = (
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

    return [matomo_source]
