"""The Salesforce source: records read incrementally into raw.salesforce_*, daily values
recomputed over the key results' whole window into raw.metric_rows.

The run itself is warehouse.sources.salesforce.sync (incremental queryAll reads, one
transaction per object, every day the key results read recomputed); staging's rebuild records
the corrected days in staging.metric_revisions. This asset describes the result for Dagster.
"""

import dagster as dg

from connectors.base import MetricRequest
from okr_definitions.resolve import Definitions
from pipelines.metadata import definition_metadata
from pipelines.partitions import window_dates
from pipelines.resources import OkrDefinitionsResource, WarehouseResource
from pipelines.sources.common import GROUP, source_freshness, source_owners, write_fetch_result
from pipelines.sources.salesforce.resources import SalesforceResource
from warehouse.sources.salesforce import sync

SOURCE = "salesforce"
KEY = dg.AssetKey(["raw", "salesforce"])
# Salesforce's API limit is per org and per day: steps of several runs must not read at once.
# The deployment's `concurrency.pools.default_limit: 1` (deploy/dagster.yaml) gives this pool
# its limit of 1, with nothing to set by hand.
POOL = "salesforce"


def build_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    @dg.asset(
        key=KEY,
        group_name=GROUP,
        kinds={"salesforce", "duckdb"},
        owners=source_owners(definitions, SOURCE),
        freshness_policy=source_freshness(definitions, SOURCE),
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=POOL,
        metadata=definition_metadata("raw.metric_rows"),
        description=(
            "Salesforce records (opportunities, leads, ...) read through a connected app. Each "
            "run reads only what changed since the last one (queryAll on SystemModstamp, so "
            "deletions and undeletions come back; a full read on the first run, when the "
            "metrics change and after 15 days without a read), through Bulk API 2.0 when a "
            "read is large; keeps every record's current state and change history with the "
            "request that read it, and recomputes the metrics' daily values over the key "
            "results' whole window, so an opportunity edited, lost or deleted after it was "
            "counted corrects the past days it touched. Won, lost and closed come from IsWon "
            "and IsClosed; amounts are in the corporate currency; datetimes fall on the "
            "organisation's day. Writes raw.salesforce_records, "
            "raw.salesforce_record_history, raw.salesforce_sync_state and raw.metric_rows."
        ),
    )
    def salesforce_source(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
        salesforce: SalesforceResource,
    ) -> dg.MaterializeResult:
        defs = okr_definitions.load()
        start, end = window_dates(context)
        metrics = [MetricRequest(m.id, m.query) for m in defs.source_metrics(SOURCE)]
        report = sync(
            warehouse.connection,
            salesforce.settings(defs.organisation.timezone),
            metrics,
            start,
            end,
            earliest_needed=defs.earliest_date_needed(SOURCE),
            run_id=context.run.run_id,
        )
        read_metadata: dict[str, dg.MetadataValue] = {}
        for read in report.reads:
            context.log.info(
                f"salesforce {read.object}: {read.how}: {read.records_read} read, "
                f"{read.new_versions} new or changed, {read.requests} requests"
            )
            read_metadata[f"{read.object}_read"] = dg.MetadataValue.int(read.records_read)
            read_metadata[f"{read.object}_changed"] = dg.MetadataValue.int(read.new_versions)
            read_metadata[f"{read.object}_requests"] = dg.MetadataValue.int(read.requests)
            read_metadata[f"{read.object}_read_kind"] = dg.MetadataValue.text(read.how)
            read_metadata[f"{read.object}_cursor"] = dg.MetadataValue.text(
                read.cursor.isoformat() if read.cursor else "none"
            )
        # The org's API usage over its rolling 24 hours, as Salesforce reported it last.
        read_metadata["api_usage"] = dg.MetadataValue.text(report.api_usage or "unknown")
        return write_fetch_result(
            context,
            warehouse,
            SOURCE,
            [m.metric_id for m in metrics],
            report.window_start,
            report.window_end,
            report.result,
            extra_metadata=read_metadata,
        )

    return [salesforce_source]
