"""The daily schedule, and the hand-over from source runs to model runs.

Sources run first, in one run over yesterday plus `lookback_days` (GA4 and Matomo restate
recent days). When that run ends — succeeded *or failed* — a sensor starts the model run for
the same days, so one failing source never blocks the others: its key results turn `stale`
while the rest are fresh. A source partition materialised from the UI (a run of Dagster's
asset job, one day or a range) is handed over the same way.

When the schedule ticks is deployment configuration, not code: `OKR_SCHEDULE_CRON` (default
06:00 every day) and `OKR_SCHEDULE_TIMEZONE` (default the organisation's time zone), read when
the code location loads (README, "Deploy"). The days a tick fetches are always counted in the
organisation's time zone, like the partitions.
"""

import os
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.partitions import partition_range_tags

SOURCES_JOB = "okr_sources"
MODELS_JOB = "okr_models"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
CRON_ENV = "OKR_SCHEDULE_CRON"
TIMEZONE_ENV = "OKR_SCHEDULE_TIMEZONE"
DEFAULT_CRON = "0 6 * * *"
SENSOR_INTERVAL_ENV = "OKR_SENSOR_INTERVAL_SECONDS"


def sensor_interval_seconds() -> int:
    """How often the hand-over sensors (sources → models → reports) look for finished runs:
    `OKR_SENSOR_INTERVAL_SECONDS`, default Dagster's 30 seconds."""
    raw = os.environ.get(SENSOR_INTERVAL_ENV, "").strip() or "30"
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{SENSOR_INTERVAL_ENV}={raw!r} must be a whole number of seconds ≥ 1")
    return int(raw)


def schedule_settings(organisation_timezone: str) -> tuple[str, str]:
    """The daily schedule's cron and time zone from the environment, checked: a typo stops
    the code location with the variable's name instead of a schedule that never ticks."""
    cron = os.environ.get(CRON_ENV, "").strip() or DEFAULT_CRON
    timezone = os.environ.get(TIMEZONE_ENV, "").strip() or organisation_timezone
    try:  # Dagster's own check of the cron string, with our variable's name in the message
        dg.ScheduleDefinition(name="cron_check", cron_schedule=cron, job_name="cron_check")
    except dg.DagsterInvalidDefinitionError:
        raise ValueError(
            f"{CRON_ENV}={cron!r} is not a cron expression Dagster accepts (five fields, "
            f"e.g. {DEFAULT_CRON!r})"
        ) from None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{TIMEZONE_ENV}={timezone!r} is not an IANA time zone (e.g. 'Europe/Berlin')"
        ) from None
    return cron, timezone


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
    cron, timezone = schedule_settings(org.timezone)

    @dg.schedule(
        name="daily_okr_sync",
        job=sources_job,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"`{cron}` ({timezone}): fetch yesterday and the {org.lookback_days} days "
        "before it.",
    )
    def daily_okr_sync(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        when = context.scheduled_execution_time
        today = when.astimezone(ZoneInfo(org.timezone)).date()
        first, last = daily_window(today, org.lookback_days, first_partition)
        # One run per tick (the tick's time is the key): a tick evaluated twice starts one run,
        # and a second tick on the same day — a cron more often than daily — fetches again,
        # catching up after a run that died.
        return dg.RunRequest(
            run_key=f"daily-{when.isoformat()}", tags=partition_range_tags(first, last)
        )

    def _models_after(status: dg.DagsterRunStatus, name: str) -> dg.SensorDefinition:
        # Every job of the code location is watched (no monitored_jobs): a source partition
        # materialised from the UI runs in Dagster's own asset job, not in okr_sources.
        @dg.run_status_sensor(
            name=name,
            run_status=status,
            request_job=models_job,
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=sensor_interval_seconds(),
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
