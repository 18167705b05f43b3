"""The daily schedule, and the hand-over from source runs to model runs.

Sources run first, in one run over yesterday plus `lookback_days` (GA4 and Matomo restate
recent days). When that run ends — succeeded *or failed* — a sensor starts the model run for
the same days, so one failing source never blocks the others: its key results turn `stale`
while the rest are fresh. A source partition materialised from the UI (a run of Dagster's
asset job, one day or a range) is handed over the same way.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.partitions import partition_range_tags

SOURCES_JOB = "okr_sources"
MODELS_JOB = "okr_models"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PARTITION = "dagster/partition"
STAGING = dg.AssetKey(["staging", "metric_daily"])


def daily_window(today: date, lookback_days: int, first_partition: date) -> tuple[date, date]:
    """Yesterday and the `lookback_days` before it, never before the first partition."""
    last = today - timedelta(days=1)
    first = max(last - timedelta(days=lookback_days), first_partition)
    return first, last


def source_run_days(run: dg.DagsterRun, source_keys: Sequence[dg.AssetKey]) -> dict[str, str]:
    """The range tags of the model run a finished run asks for: its days when it fetched a
    source (the sources job, or the UI materialising source partitions) and did not rebuild
    staging itself; {} otherwise."""
    selection = run.asset_selection
    fetched = run.job_name == SOURCES_JOB or bool(selection and selection & set(source_keys))
    if not fetched or run.job_name == MODELS_JOB or (selection and STAGING in selection):
        return {}
    tags = run.tags
    if RANGE_START in tags:
        return {RANGE_START: tags[RANGE_START], RANGE_END: tags[RANGE_END]}
    if PARTITION in tags:
        return {RANGE_START: tags[PARTITION], RANGE_END: tags[PARTITION]}
    return {}


def build_schedules_and_sensors(
    definitions: Definitions,
    sources_job: Any,
    models_job: Any,
    source_keys: Sequence[dg.AssetKey] = (),
) -> tuple[list, list]:
    org = definitions.organisation
    first_partition = definitions.earliest_date_needed()

    @dg.schedule(
        name="daily_okr_sync",
        job=sources_job,
        cron_schedule="0 6 * * *",
        execution_timezone=org.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every morning: fetch yesterday and the {org.lookback_days} days before it.",
    )
    def daily_okr_sync(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        today = context.scheduled_execution_time.astimezone(ZoneInfo(org.timezone)).date()
        first, last = daily_window(today, org.lookback_days, first_partition)
        return dg.RunRequest(run_key=f"daily-{last}", tags=partition_range_tags(first, last))

    def _models_after(status: dg.DagsterRunStatus, name: str) -> dg.SensorDefinition:
        # Every job of the code location is watched (no monitored_jobs): a source partition
        # materialised from the UI runs in Dagster's own asset job, not in okr_sources.
        @dg.run_status_sensor(
            name=name,
            run_status=status,
            request_job=models_job,
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=10,
            description="Computes the progress tables after a source run ends (the schedule's, "
            "or source partitions materialised from the UI) for the same days, whatever its "
            "outcome, so a failed source makes its key results stale, not missing.",
        )
        def sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | None:
            tags = source_run_days(context.dagster_run, source_keys)
            if not tags:
                return None
            return dg.RunRequest(run_key=f"models-after-{context.dagster_run.run_id}", tags=tags)

        return sensor

    sensors = [
        _models_after(dg.DagsterRunStatus.SUCCESS, "models_after_sources_succeeded"),
        _models_after(dg.DagsterRunStatus.FAILURE, "models_after_sources_failed"),
    ]
    return [daily_okr_sync], sensors
