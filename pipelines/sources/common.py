"""What every source asset shares: how a fetch result is written and described."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pyarrow as pa

from connectors.base import MetricRequest, request_hash
from connectors.results import FetchResult
from okr_definitions.resolve import Definitions
from pipelines.metadata import definition_metadata, materialize_result, table_metadata
from pipelines.partitions import window_dates
from pipelines.resources import OkrDefinitionsResource, WarehouseResource
from warehouse.load import replace_source_window

GROUP = "sources"


def source_owners(definitions: Definitions, source: str) -> list[str]:
    """Owners of the teams whose key results read this source."""
    return sorted({f"team:{kr.team}" for kr in definitions.source_key_results(source)})


def write_fetch_result(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    source: str,
    metric_ids: list[str],
    start: date,
    end: date,
    result: FetchResult,
    raw_tables: dict[str, tuple[str, list[Any], pa.Table]] | None = None,
    extra_metadata: dict[str, Any] | None = None,
) -> dg.MaterializeResult:
    """Load the fetch result into the warehouse and describe it (plus `extra_metadata`, the
    source's own counters) as the asset's materialisation."""
    fetched_at = datetime.now(UTC)
    batch_hash = request_hash({"source": source, "metrics": metric_ids, "start": start, "end": end})
    with warehouse.connection() as con:
        loaded = replace_source_window(
            con,
            source,
            metric_ids,
            start,
            end,
            result,
            batch_hash,
            fetched_at,
            end,
            raw_tables=raw_tables,
        )
        # last_data_date: the source's newest day
        metadata = table_metadata(
            con, "raw.metric_rows", date_column="date", last_date_where=("source = ?", [source])
        )
    metadata.update(
        {
            "rows_loaded": dg.MetadataValue.int(loaded),
            "requests": dg.MetadataValue.int(result.request_count),
            "window": dg.MetadataValue.text(f"{start}..{end}"),
            "flags": dg.MetadataValue.int(result.flags.num_rows),
            **(extra_metadata or {}),
        }
    )
    context.log.info(
        f"{source}: {loaded} metric rows for {len(metric_ids)} metrics, {start}..{end}, "
        f"{result.request_count} requests"
    )
    return materialize_result(context, metadata)


def source_freshness(definitions: Any, source: str) -> dg.FreshnessPolicy:
    """Overdue in the UI once the source has not loaded for longer than its allowed lag (plus
    the day a daily run needs), the same rule that turns its key results `stale`."""
    lag = getattr(definitions.sources, source).allowed_lag_days
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(days=lag + 1))


# fetch(definitions, source resource or None, metrics, first day, last day) -> FetchResult
Fetch = Callable[[Any, Any, list[MetricRequest], date, date], FetchResult]
# raw_slice(metric ids, first day, last day) -> (SQL predicate, parameters) of the raw rows a
# re-run of the same window replaces
RawSlice = Callable[[list[str], date, date], tuple[str, list[Any]]]


def windowed_source_asset(
    definitions: Any,
    partitions: dg.PartitionsDefinition,
    *,
    source: str,
    kinds: set[str],
    description: str,
    fetch: Fetch,
    raw_table: str | None,
    raw_slice: RawSlice | None,
    resource_key: str | None = None,
    result_metadata: Callable[[FetchResult], dict[str, Any]] | None = None,
) -> dg.AssetsDefinition:
    """The asset of a source that is fetched by date window (file, GA4, Matomo): one fetch for
    the run's whole partition range, raw answers and metric rows replaced in one transaction.
    `result_metadata` adds the source's own counters (e.g. its API cost) to the
    materialisation."""

    @dg.asset(
        key=dg.AssetKey(["raw", source]),
        group_name=GROUP,
        kinds=kinds,
        owners=source_owners(definitions, source),
        freshness_policy=source_freshness(definitions, source),
        metadata=definition_metadata("raw.metric_rows"),
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=description,
        # Resources by key: the source's own resource differs per source.
        required_resource_keys={"okr_definitions", "warehouse"}
        | ({resource_key} if resource_key else set()),
    )
    def _source(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        okr_definitions: OkrDefinitionsResource = context.resources.okr_definitions
        warehouse: WarehouseResource = context.resources.warehouse
        defs = okr_definitions.load()
        start, end = window_dates(context)
        metrics = [MetricRequest(m.id, m.query) for m in defs.source_metrics(source)]
        client = getattr(context.resources, resource_key) if resource_key else None
        result = fetch(defs, client, metrics, start, end)
        ids = [m.metric_id for m in metrics]
        raw_tables = {}
        if result.raw is not None and raw_table and raw_slice:
            predicate, params = raw_slice(ids, start, end)
            raw_tables[raw_table] = (predicate, params, result.raw)
        return write_fetch_result(
            context,
            warehouse,
            source,
            ids,
            start,
            end,
            result,
            raw_tables=raw_tables,
            # the source's own counters, and any the asset adds (e.g. a run's cost)
            extra_metadata={
                **(result.metadata or {}),
                **((result_metadata(result) or {}) if result_metadata else {}),
            }
            or None,
        )

    return _source
