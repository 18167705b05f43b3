"""The daily schedule, and the hand-over from source runs to model runs.

Sources run first, in one run over yesterday plus `lookback_days` (GA4 and Matomo restate
recent days). When that run ends — succeeded *or failed* — a sensor starts the staging run for
the same days, so one failing source never blocks the others: its key results turn `stale`
while the rest are fresh. When the staging run succeeds, another sensor starts the progress
run for those of its days inside the key results' periods (the progress assets have their own
partitions, from the first period day, and Dagster runs one partitions definition per job).
A source or staging partition materialised from the UI (a run of Dagster's asset job, one day
or a range) is handed over the same way.

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
from pipelines.partitions import first_progress_day, parse_day, partition_range_tags

SOURCES_JOB = "okr_sources"
STAGING_JOB = "okr_staging"
PROGRESS_JOB = "okr_progress"
MODEL_JOBS = (STAGING_JOB, PROGRESS_JOB)
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
CRON_ENV = "OKR_SCHEDULE_CRON"
TIMEZONE_ENV = "OKR_SCHEDULE_TIMEZONE"
DEFAULT_CRON = "0 6 * * *"
SENSOR_INTERVAL_ENV = "OKR_SENSOR_INTERVAL_SECONDS"


def sensor_interval_seconds() -> int:
    """How often the hand-over sensors (sources → staging → progress → reports) look for
    finished runs: `OKR_SENSOR_INTERVAL_SECONDS`, default Dagster's 30 seconds."""
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
KR_PROGRESS = dg.AssetKey(["okr", "kr_progress_daily"])


def daily_window(today: date, lookback_days: int, first_partition: date) -> tuple[date, date]:
    """Yesterday and the `lookback_days` before it, never before the first partition."""
    last = today - timedelta(days=1)
    first = max(last - timedelta(days=lookback_days), first_partition)
    return first, last


def _run_days(run: dg.DagsterRun) -> tuple[date, date] | None:
    """The days a run covered, from its range or partition tag."""
    tags = run.tags
    if RANGE_START in tags and RANGE_END in tags:
        return parse_day(tags[RANGE_START]), parse_day(tags[RANGE_END])
    if PARTITION in tags:
        return parse_day(tags[PARTITION]), parse_day(tags[PARTITION])
    return None


def source_run_days(run: dg.DagsterRun, source_keys: Sequence[dg.AssetKey]) -> dict[str, str]:
    """The range tags of the staging run a finished run asks for: its days when it fetched a
    source (the sources job, or the UI materialising source partitions) and did not rebuild
    staging itself; {} otherwise."""
    selection = run.asset_selection
    fetched = run.job_name == SOURCES_JOB or bool(selection and selection & set(source_keys))
    if not fetched or run.job_name in MODEL_JOBS or (selection and STAGING in selection):
        return {}
    days = _run_days(run)
    return partition_range_tags(*days) if days else {}


def staging_run_days(run: dg.DagsterRun, first_progress: date) -> dict[str, str]:
    """The range tags of the progress run a successful run asks for: its days from the first
    progress day on, when it rebuilt staging (the staging job, or the UI materialising staging
    partitions) and not the progress tables; {} otherwise (its days all come before the key
    results' periods: no progress row belongs to them)."""
    selection = run.asset_selection
    staged = run.job_name == STAGING_JOB or bool(selection and STAGING in selection)
    if not staged or run.job_name == PROGRESS_JOB or (selection and KR_PROGRESS in selection):
        return {}
    days = _run_days(run)
    if days is None or days[1] < first_progress:
        return {}
    return partition_range_tags(max(days[0], first_progress), days[1])


def models_done_days(run: dg.DagsterRun, first_progress: date) -> tuple[date, date] | None:
    """The days whose staging and progress rows a successful run of a model job completed, for
    what follows the models (publishing): a progress run's days, and a staging run's days
    before the first progress day (no progress run follows for those; its later days are
    done when the progress run is). None for any other run."""
    days = _run_days(run)
    if days is None or run.job_name not in MODEL_JOBS:
        return None
    first, last = days
    if run.job_name == STAGING_JOB:
        last = min(last, first_progress - timedelta(days=1))
    return (first, last) if first <= last else None


def build_schedules_and_sensors(
    definitions: Definitions,
    sources_job: Any,
    staging_job: Any,
    progress_job: Any,
    source_keys: Sequence[dg.AssetKey] = (),
) -> tuple[list, list]:
    org = definitions.organisation
    first_partition = definitions.earliest_date_needed()
    first_progress = first_progress_day(definitions)
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
            request_job=staging_job,
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=sensor_interval_seconds(),
            description="Rebuilds staging (and then, through progress_after_staging, the "
            "progress tables) after a source run ends (the schedule's, or source partitions "
            "materialised from the UI) for the same days, whatever its outcome, so a failed "
            "source makes its key results stale, not missing.",
        )
        def sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | None:
            tags = source_run_days(context.dagster_run, source_keys)
            if not tags:
                return None
            return dg.RunRequest(run_key=f"models-after-{context.dagster_run.run_id}", tags=tags)

        return sensor

    @dg.run_status_sensor(
        name="progress_after_staging",
        run_status=dg.DagsterRunStatus.SUCCESS,
        request_job=progress_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=sensor_interval_seconds(),
        description="Computes the progress tables after staging was rebuilt (by the staging "
        f"job, or from the UI) for the same days from {first_progress} on, the first day of "
        "the key results' periods.",
    )
    def progress_after_staging(context: dg.RunStatusSensorContext) -> dg.RunRequest | None:
        tags = staging_run_days(context.dagster_run, first_progress)
        if not tags:
            return None
        return dg.RunRequest(run_key=f"progress-after-{context.dagster_run.run_id}", tags=tags)

    sensors = [
        _models_after(dg.DagsterRunStatus.SUCCESS, "models_after_sources_succeeded"),
        _models_after(dg.DagsterRunStatus.FAILURE, "models_after_sources_failed"),
        progress_after_staging,
    ]
    return [daily_okr_sync], sensors
