"""The file source: CSV/Parquet exports read into raw.metric_rows."""

import dagster as dg

from connectors.base import MetricRequest
from connectors.file_source import fetch_file
from okr_definitions.resolve import Definitions
from pipelines.partitions import window_dates
from pipelines.resources import OkrDefinitionsResource, WarehouseResource
from pipelines.sources.common import GROUP, source_freshness, source_owners, write_fetch_result

SOURCE = "file"
KEY = dg.AssetKey(["raw", "file"])


def build_file_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    @dg.asset(
        key=KEY,
        group_name=GROUP,
        kinds={"csv", "duckdb"},
        owners=source_owners(definitions, SOURCE),
        freshness_policy=source_freshness(definitions, SOURCE),
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            "Daily values read from CSV/Parquet exports (tools without an API, such as the "
            "newsletter platform). Writes raw.metric_rows and raw.file_reads (which file "
            "version each row came from)."
        ),
    )
    def file_source(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        defs = okr_definitions.load()
        start, end = window_dates(context)
        metrics = [MetricRequest(m.id, m.query) for m in defs.source_metrics(SOURCE)]
        result = fetch_file(defs.base_dir, metrics, start, end)
        ids = [m.metric_id for m in metrics]
        assert result.raw is not None
        # Each metric's rows carry the hash of the read that produced them.
        hashes = dict(
            zip(
                result.raw["metric_id"].to_pylist(),
                result.raw["request_hash"].to_pylist(),
                strict=True,
            )
        )
        daily = result.daily.append_column(
            "request_hash", [[hashes[m] for m in result.daily["metric_id"].to_pylist()]]
        )
        result.daily = daily
        return write_fetch_result(
            context,
            warehouse,
            SOURCE,
            ids,
            start,
            end,
            result,
            raw_tables={
                "raw.file_reads": (
                    "list_contains(?, metric_id) AND window_start = ? AND window_end = ?",
                    [ids, start, end],
                    result.raw,
                )
            },
        )

    return [file_source]
