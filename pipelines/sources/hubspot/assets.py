"""The HubSpot source: deals and contacts read incrementally into raw.hubspot_*, daily values
recomputed over the key results' whole window into raw.metric_rows.

A run reads, per object type, what changed since the stored cursor (or everything, see
warehouse.hubspot.full_read_reason), loads it in one transaction, then recomputes every day the
HubSpot key results read from the stored objects: an edited or archived deal moves value on
any past day, and staging's rebuild records those days in staging.metric_revisions.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from connectors.base import FetchResult, MetricRequest
from connectors.hubspot import (
    HubSpotClient,
    company_currency_if_money,
    daily_metrics_from_objects,
    fetch_hubspot_objects,
    fetch_hubspot_pipelines,
    properties_for_metrics,
)
from okr_definitions.resolve import Definitions
from pipelines.partitions import window_dates
from pipelines.resources import OkrDefinitionsResource, WarehouseResource
from pipelines.sources.common import GROUP, source_freshness, source_owners, write_fetch_result
from pipelines.sources.hubspot.resources import HubSpotResource
from warehouse.hubspot import (
    current_objects,
    current_pipelines,
    full_read_reason,
    last_loaded_day,
    load_object_read,
    properties_never_read,
    sync_state,
)

SOURCE = "hubspot"
KEY = dg.AssetKey(["raw", "hubspot"])
# The client's rate limiter is per process, HubSpot's limits per account: HubSpot steps of
# several runs must not fetch at once. Give the pool a limit of 1 in the deployment
# (`dagster instance concurrency set hubspot 1`, or concurrency.pools.default_limit).
POOL = "hubspot"


def key_result_window_start(definitions: Definitions, source: str) -> date | None:
    """The first day the key results reading `source` need: their periods and the baseline or
    previous-period windows before them (as Definitions.earliest_date_needed, per source)."""
    earliest = None
    for kr in definitions.resolved_key_results():
        metric = definitions.metric(kr.metric_id)
        parts = (
            [metric.ratio.numerator, metric.ratio.denominator]
            if hasattr(metric, "ratio")
            else [kr.metric_id]
        )
        if not any(definitions.metric_source(p) == source for p in parts):
            continue
        length = (kr.period_end - kr.period_start).days + 1
        first = kr.period_start - timedelta(days=max(length, kr.window_days or 0))
        earliest = first if earliest is None or first < earliest else earliest
    return earliest


def build_hubspot_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    @dg.asset(
        key=KEY,
        group_name=GROUP,
        kinds={"hubspot", "duckdb"},
        owners=source_owners(definitions, SOURCE),
        freshness_policy=source_freshness(definitions, SOURCE),
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
        metric_ids = [m.metric_id for m in metrics]
        time_zone = defs.organisation.timezone
        settings = hubspot.settings(time_zone)
        client = HubSpotClient(settings)

        read_metadata: dict[str, dg.MetadataValue] = {}
        for object_type, properties in properties_for_metrics(metrics).items():
            with warehouse.connection() as con:
                reason = full_read_reason(con, object_type, properties, datetime.now(UTC))
                previous = sync_state(con, object_type).cursor
            # The network part holds no warehouse connection: other writers can go on.
            fetched_at = datetime.now(UTC)
            rows = fetch_hubspot_objects(
                settings, object_type, None if reason else previous, properties, client=client
            )
            stages = (
                fetch_hubspot_pipelines(settings, client=client) if object_type == "deals" else None
            )
            with warehouse.connection() as con:
                loaded = load_object_read(
                    con,
                    object_type,
                    rows,
                    full_read=reason is not None,
                    previous_cursor=previous,
                    fetched_at=fetched_at,
                    run_id=context.run.run_id,
                    pipelines=stages,
                )
                unknown = properties_never_read(con, object_type, properties) if reason else []
            if unknown:
                # HubSpot leaves out properties the account does not define; without this
                # warning every run would silently read everything again.
                context.log.warning(
                    f"hubspot {object_type}: HubSpot returned no {', '.join(unknown)} even on a "
                    f"full read, so the account has no such property (see `okr validate`); until "
                    f"the metric is fixed every run reads all {object_type}"
                )
            how = f"full read ({reason})" if reason else f"changes since {previous:%Y-%m-%d %H:%M}"
            context.log.info(
                f"hubspot {object_type}: {how}: {loaded.objects_read} read, "
                f"{loaded.new_versions} new or changed, {loaded.archived_missing} gone"
            )
            read_metadata[f"{object_type}_read"] = dg.MetadataValue.int(loaded.objects_read)
            read_metadata[f"{object_type}_changed"] = dg.MetadataValue.int(loaded.new_versions)
            read_metadata[f"{object_type}_cursor"] = dg.MetadataValue.text(
                loaded.cursor.isoformat() if loaded.cursor else "none"
            )
            read_metadata[f"{object_type}_read_kind"] = dg.MetadataValue.text(how)

        # A correction can move value to any past day, so every day the key results read is
        # recomputed from the stored objects — and every day loaded before, so no later day
        # keeps a value from an older state of the CRM.
        currency = company_currency_if_money(settings, metrics, client=client)
        window_start = min(start, key_result_window_start(defs, SOURCE) or start)
        with warehouse.connection() as con:
            objects = current_objects(con)
            stages = current_pipelines(con)
            window_end = max(end, last_loaded_day(con, metric_ids) or end)
        daily = daily_metrics_from_objects(
            objects,
            stages,
            metrics,
            window_start,
            window_end,
            time_zone=time_zone,
            company_currency=currency,
        )
        result = FetchResult(daily=daily, request_count=client.request_count)
        return write_fetch_result(
            context,
            warehouse,
            SOURCE,
            metric_ids,
            window_start,
            window_end,
            result,
            extra_metadata=read_metadata,
        )

    return [hubspot_source]
