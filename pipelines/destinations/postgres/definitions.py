"""The PostgreSQL destination's own Definitions: its asset, resource, job and the sensor that
publishes after every successful model run. Merged into the code location by
pipelines/build.py when the YAML has `publish: {postgres: …}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.destinations.postgres.assets import (
    PUBLISH_POSTGRES,
    build_publish_asset,
    table_descriptions,
)
from pipelines.destinations.postgres.resources import postgres_publish_resource

PUBLISH_JOB = "okr_publish_postgres"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def postgres_definitions(
    definitions: Definitions,
    partitions: dg.PartitionsDefinition,
    upstream_assets: Sequence[Any],
    models_job: Any,
) -> dg.Definitions:
    if definitions.publish.postgres is None:
        return dg.Definitions()
    asset = build_publish_asset(definitions, partitions, table_descriptions(upstream_assets))
    job = dg.define_asset_job(
        PUBLISH_JOB,
        selection=[PUBLISH_POSTGRES],
        description="Publish the public tables to PostgreSQL.",
    )

    # Its own run after the model run, so a failing publish fails only itself: the progress
    # tables are fresh and the reports render either way.
    @dg.run_status_sensor(
        name="publish_postgres_after_models",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[models_job],
        request_job=job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Publishes the days a successful model run computed to PostgreSQL.",
    )
    def publish_after_models(context: dg.RunStatusSensorContext) -> dg.RunRequest | None:
        tags = context.dagster_run.tags
        if RANGE_START not in tags:
            return None
        return dg.RunRequest(
            run_key=f"publish-postgres-after-{context.dagster_run.run_id}",
            tags={RANGE_START: tags[RANGE_START], RANGE_END: tags[RANGE_END]},
        )

    return dg.Definitions(
        assets=[asset],
        jobs=[job],
        sensors=[publish_after_models],
        resources={"postgres_publish": postgres_publish_resource()},
    )
