"""The HubSpot source: deals and contacts read incrementally into raw.hubspot_*, daily values
recomputed over the key results' whole window into raw.metric_rows.

The run itself is warehouse.sources.hubspot.sync (incremental reads, one transaction per object
type, every day the key results read recomputed); staging's rebuild records the corrected days
in staging.metric_revisions. This asset describes the result for Dagster.
"""

import dagster as dg

from connectors.base import MetricRequest
from okr_definitions.resolve import Definitions
from pipelines.metadata import definition_metadata
from pipelines.partitions import window_dates
from pipelines.resources import OkrDefinitionsResource, WarehouseResource
from pipelines.sources.common import GROUP, source_freshness, source_owners, write_fetch_result
from pipelines.sources.hubspot.resources import HubSpotResource
from warehouse.sources.hubspot import sync

SOURCE = "hubspot"
KEY = dg.AssetKey(["raw", "hubspot"])
# The client's rate limiter is per process, HubSpot's limits per account: HubSpot steps of
# several runs must not fetch at once. Give the pool a limit of 1 in the deployment
# (`dagster instance concurrency set hubspot 1`, or concurrency.pools.default_limit).
POOL = "hubspot"


def build_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    @dg.asset(
        key=KEY,
        group_name=GROUP,
        kinds={"hubspot", "duckdb"},
        owners=source_owners(definitions, SOURCE),
        freshness_policy=source_freshness(definitions, SOURCE),
        metadata=definition_metadata("raw.metric_rows"),
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=POOL,
        description=(
            "HubSpot CRM deals and contacts, read through a private app. Each run reads only "
            "what changed since the last one (all objects on the first run, and again when the "
            "last read is older than HubSpot's 90-day recycle bin), keeps every object's "
            "current state and change history with the request that read it, and recomputes "
            "the metrics' daily values over the key results' whole window, so a deal edited "
            "or deleted after it was counted corrects the past days it touched. Won and lost "
            "come from the pipelines' stage settings; days are in the organisation's time "
            "zone. Writes raw.hubspot_objects, raw.hubspot_object_history, "
            "raw.hubspot_pipelines, raw.hubspot_sync_state and raw.metric_rows."
        ),
    )
    def hubspot_source(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
        hubspot: HubSpotResource,
    ) -> dg.MaterializeResult:
        defs = okr_definitions.load()
        start, end = window_dates(context)
        metrics = [MetricRequest(m.id, m.query) for m in defs.source_metrics(SOURCE)]
        report = sync(
            warehouse.connection,
            hubspot.settings(defs.organisation.timezone),
            metrics,
            start,
            end,
            earliest_needed=defs.earliest_date_needed(SOURCE),
            run_id=context.run.run_id,
        )
        read_metadata: dict[str, dg.MetadataValue] = {}
        for read in report.reads:
            if read.never_read:
                # HubSpot leaves out properties the account does not define; without this
                # warning every run would silently read everything again.
                context.log.warning(
                    f"hubspot {read.object_type}: HubSpot returned no "
                    f"{', '.join(read.never_read)} even on a full read, so the account has no "
                    f"such property (see `okr validate`); until the metric is fixed every run "
                    f"reads all {read.object_type}"
                )
            context.log.info(
                f"hubspot {read.object_type}: {read.how}: {read.objects_read} read, "
                f"{read.new_versions} new or changed, {read.archived_missing} gone"
            )
            read_metadata[f"{read.object_type}_read"] = dg.MetadataValue.int(read.objects_read)
            read_metadata[f"{read.object_type}_changed"] = dg.MetadataValue.int(read.new_versions)
            read_metadata[f"{read.object_type}_cursor"] = dg.MetadataValue.text(
                read.cursor.isoformat() if read.cursor else "none"
            )
            read_metadata[f"{read.object_type}_read_kind"] = dg.MetadataValue.text(read.how)
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

    return [hubspot_source]
