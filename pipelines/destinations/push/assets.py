"""One asset per configured OKR tool, `push/<tool>`: the newest day's values as check-ins
(and past days' for tools that take a check-in date), recorded in push.sent."""

import dagster as dg

from destinations.push.ledger import push_tool
from pipelines.okr.assets import KR_PROGRESS
from pipelines.partitions import window_dates
from pipelines.resources import OkrDefinitionsResource, WarehouseResource

GROUP = "push"


def push_asset_key(tool: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, tool])


def build_push_asset(tool: str, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=push_asset_key(tool),
        deps=[KR_PROGRESS],
        group_name=GROUP,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            f"Check-ins in {tool}: each mapped key result's value on the newest computed day, "
            "only when it changed since the last push (push.sent records what was sent)."
        ),
    )
    def push(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        first, last = window_dates(context)
        outcome = push_tool(warehouse.connection, okr_definitions.load(), tool, first, last)
        metadata = {
            "planned": dg.MetadataValue.int(len(outcome.planned)),
            "sent": dg.MetadataValue.int(len(outcome.sent)),
            "refused": dg.MetadataValue.int(len(outcome.refused)),
            "days": dg.MetadataValue.text(
                ", ".join(sorted({c.day.isoformat() for c in outcome.planned})) or "none"
            ),
        }
        if outcome.failed:
            # What the tool accepted is recorded; this tool's asset fails, nothing else does.
            raise dg.Failure(description=outcome.failure_message(), metadata=metadata)
        return dg.MaterializeResult(metadata=metadata)

    return push
