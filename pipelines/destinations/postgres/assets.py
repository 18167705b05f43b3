"""publish/postgres: the public tables published to PostgreSQL after the progress tables."""

import os
from datetime import timedelta

import dagster as dg

from destinations.postgres import URL_ENV, PublishError, publish, target_from
from destinations.postgres.settings import VIEW_DESCRIPTIONS
from okr_definitions.resolve import Definitions
from pipelines.destinations.postgres.resources import PostgresPublishResource
from pipelines.metadata import materialize_result
from pipelines.okr.assets import (
    DEFINITION_TABLES,
    KR_PROGRESS,
    OBJECTIVE_PROGRESS,
    STAGING,
    TABLE_DESCRIPTIONS,
)
from pipelines.resources import WarehouseResource
from warehouse.columns import COLUMN_DESCRIPTIONS
from warehouse.db import connect

PUBLISH_POSTGRES = dg.AssetKey(["publish", "postgres"])
# Run tag of `okr publish --full`: rebuild every published table, changed or not.
FULL_TAG = "okr/publish_full"
# The progress tables' partitions start at the key results' periods, this asset's (like
# staging's) at the first baseline day: its days before the periods read no progress day.
_PERIOD_DAYS = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
UPSTREAM = [
    dg.AssetDep(KR_PROGRESS, partition_mapping=_PERIOD_DAYS),
    dg.AssetDep(OBJECTIVE_PROGRESS, partition_mapping=_PERIOD_DAYS),
    STAGING,
    *(dg.AssetKey(["okr", table]) for table in DEFINITION_TABLES),
]


# schema.table → the description its Dagster asset carries (the views: README's).
DESCRIPTIONS = {**TABLE_DESCRIPTIONS, **VIEW_DESCRIPTIONS}


def _target_metadata(schema_prefix: str, table_names: list[str]) -> dict[str, str]:
    """Where the asset publishes (host, database, schemas; never the password), as far as the
    environment tells when the code location loads."""
    metadata = {
        "schemas": f"{schema_prefix}okr, {schema_prefix}staging",
        "tables": ", ".join(table_names),
    }
    try:
        metadata["target"] = target_from(os.environ.get(URL_ENV), schema_prefix).label
    except PublishError:
        metadata["target"] = f"not configured: set {URL_ENV}"
    return metadata


def build_publish_asset(
    definitions: Definitions, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    config = definitions.publish.postgres
    assert config is not None
    table_names = config.table_names()
    schema_prefix = config.schema_prefix

    @dg.asset(
        key=PUBLISH_POSTGRES,
        deps=UPSTREAM,
        group_name="publish",
        kinds={"postgres"},
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata=_target_metadata(schema_prefix, table_names),
        description=(
            "The public tables published to PostgreSQL for BI tools (OKR_PUBLISH_POSTGRES_URL): "
            "the days whose rows changed since the last publish, replaced in one transaction."
        ),
    )
    def publish_postgres(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        postgres_publish: PostgresPublishResource,
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        first, last = window.start.date(), (window.end - timedelta(days=1)).date()
        try:
            target = postgres_publish.target(schema_prefix)
            result = publish(
                lambda: connect(warehouse.file),
                target,
                table_names,
                DESCRIPTIONS,
                COLUMN_DESCRIPTIONS,
                first_day=first,
                last_day=last,
                full=context.run.tags.get(FULL_TAG) == "true",
                run_id=context.run.run_id,
            )
        except PublishError as exc:
            raise dg.Failure(description=str(exc)) from None
        plan = result.plan
        metadata = {
            "target": target.label,
            "outcome": result.outcome,
            "rows_written": dg.MetadataValue.int(result.rows_written),
            "days_replaced": dg.MetadataValue.int(plan.days_replaced),
            "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
            "changes": dg.MetadataValue.md(
                "\n".join(f"- {line}" for line in plan.describe())
                or "nothing changed since the last publish"
            ),
        }
        return materialize_result(context, metadata)

    return publish_postgres
