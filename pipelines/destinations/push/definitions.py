"""The push destination's own Definitions: an asset per OKR tool configured under `push:`,
their job, and a sensor that pushes after every successful progress run."""

from __future__ import annotations

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.destinations.push.assets import GROUP, build_push_asset
from pipelines.partitions import progress_partitions
from pipelines.schedules import PROGRESS_JOB

PUSH_JOB = "okr_push"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def build_definitions(definitions: Definitions) -> dg.Definitions:
    tools = sorted(definitions.push.configured())
    if not tools:
        return dg.Definitions()
    # Partitioned like okr/kr_progress_daily, which it reads: from the first period day.
    partitions = progress_partitions(definitions)
    assets = [build_push_asset(tool, partitions) for tool in tools]
    job = dg.define_asset_job(
        PUSH_JOB,
        selection=dg.AssetSelection.groups(GROUP),
        description="Push the newest key-result values into the configured OKR tools.",
    )

    # Its own run after the progress run: a failing tool fails only its asset, never the
    # progress tables, and the other tools' assets still run.
    @dg.run_status_sensor(
        name="push_after_models",
        run_status=dg.DagsterRunStatus.SUCCESS,
        request_job=job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Pushes the days a successful progress run computed into the OKR tools.",
    )
    def push_after_models(context: dg.RunStatusSensorContext) -> dg.RunRequest | None:
        run = context.dagster_run
        if run.job_name != PROGRESS_JOB or RANGE_START not in run.tags:
            return None
        return dg.RunRequest(
            run_key=f"push-after-{run.run_id}",
            tags={RANGE_START: run.tags[RANGE_START], RANGE_END: run.tags[RANGE_END]},
        )

    return dg.Definitions(assets=assets, jobs=[job], sensors=[push_after_models])
