"""What every source asset shares: how a fetch result is written and described."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import pyarrow as pa

from connectors.base import FetchResult, request_hash
from pipelines.metadata import table_metadata
from pipelines.resources import WarehouseResource
from warehouse.load import replace_source_window

GROUP = "sources"


def source_owners(definitions: Any, source: str) -> list[str]:
    """Owners of the teams whose key results read this source."""
    teams = set()
    for kr in definitions.resolved_key_results():
        metric = definitions.metric(kr.metric_id)
        parts = (
            [metric.ratio.numerator, metric.ratio.denominator]
            if hasattr(metric, "ratio")
            else [kr.metric_id]
        )
        if any(definitions.metric_source(p) == source for p in parts):
            teams.add(kr.team)
    return sorted(f"team:{t}" for t in teams)


def write_fetch_result(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    source: str,
    metric_ids: list[str],
    start: date,
    end: date,
    result: FetchResult,
    raw_tables: dict[str, tuple[str, list[Any], pa.Table]] | None = None,
) -> dg.MaterializeResult:
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
        metadata = table_metadata(con, "raw.metric_rows", date_column="date")
        (last,) = con.execute(
            "SELECT max(date) FROM raw.metric_rows WHERE source = ?", [source]
        ).fetchone()
    metadata.update(
        {
            "rows_loaded": dg.MetadataValue.int(loaded),
            "requests": dg.MetadataValue.int(result.request_count),
            "window": dg.MetadataValue.text(f"{start}..{end}"),
            "flags": dg.MetadataValue.int(result.flags.num_rows),
            "last_data_date": dg.MetadataValue.text(str(last) if last else "none"),
        }
    )
    context.log.info(
        f"{source}: {loaded} metric rows for {len(metric_ids)} metrics, {start}..{end}, "
        f"{result.request_count} requests"
    )
    return dg.MaterializeResult(metadata=metadata)
