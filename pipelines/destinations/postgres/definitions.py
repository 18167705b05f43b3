"""The PostgreSQL destination's own Definitions: its asset, resource, job and the sensor that
publishes after every successful model run (the progress run's days, and a staging run's days
before the key results' periods, which no progress run follows). Merged into the code
location by pipelines/build.py when the YAML has `publish: {postgres: …}`."""

from __future__ import annotations

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.partitions import daily_partitions, first_progress_day, partition_range_tags
from pipelines.schedules import models_done_days

PUBLISH_JOB = "okr_publish_postgres"


def build_definitions(definitions: Definitions) -> dg.Definitions:
    """Empty without `publish: {postgres: …}` in the YAML; merging it then changes nothing."""
    if definitions.publish.postgres is None:
        return dg.Definitions()
    # The PostgreSQL driver (ADBC) loads only for definitions that publish: every other run's
    # cold start skips it.
    from pipelines.destinations.postgres.assets import PUBLISH_POSTGRES, build_publish_asset
    from pipelines.destinations.postgres.resources import postgres_publish_resource

    # Partitioned like staging, which it publishes too: from the first baseline day.
    asset = build_publish_asset(definitions, daily_partitions(definitions))
    first_progress = first_progress_day(definitions)
    job = dg.define_asset_job(
        PUBLISH_JOB,
        selection=[PUBLISH_POSTGRES],
        description="Publish the public tables to PostgreSQL.",
    )

    # Its own run after the model runs, so a failing publish fails only itself: the progress
    # tables are fresh and the reports render either way. It watches the code location's
    # jobs and picks the model jobs by name: the destination needs no handle on them.
    @dg.run_status_sensor(
        name="publish_postgres_after_models",
        run_status=dg.DagsterRunStatus.SUCCESS,
        request_job=job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Publishes the days successful model runs completed to PostgreSQL.",
    )
    def publish_after_models(context: dg.RunStatusSensorContext) -> dg.RunRequest | None:
        days = models_done_days(context.dagster_run, first_progress)
        if days is None:
            return None
        return dg.RunRequest(
            run_key=f"publish-postgres-after-{context.dagster_run.run_id}",
            tags=partition_range_tags(*days),
        )

    return dg.Definitions(
        assets=[asset],
        jobs=[job],
        sensors=[publish_after_models],
        resources={"postgres_publish": postgres_publish_resource()},
    )
