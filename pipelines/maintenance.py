"""Run retention: open-source Dagster keeps every run and its event log for ever (its instance
has tick retention, no run retention), so a deployment that runs for years grows its PostgreSQL
without bound. A daily job of the code location deletes the runs that ended more than
`OKR_RUN_RETENTION_DAYS` (default 90) days ago, with their event logs, through the instance
API, as `dagster run delete` does one by one (README, "Deploy").

What goes with them: their step logs in the UI, and the materialisation events of those runs,
so the UI's partition view shows their days as missing again (the warehouse keeps every row;
`raw.*` says where each came from).
"""

import os
from datetime import UTC, datetime, timedelta

import dagster as dg

RETENTION_ENV = "OKR_RUN_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 90
RETENTION_JOB = "okr_run_retention"
RETENTION_SCHEDULE = "daily_run_retention"
# Before the default 06:00 source run, in the organisation's time zone.
RETENTION_CRON = "30 3 * * *"
# Only runs that ended: a queued or running run is never deleted under its process.
ENDED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def run_retention_days() -> int:
    """`OKR_RUN_RETENTION_DAYS`, checked when the code location loads."""
    raw = os.environ.get(RETENTION_ENV, "").strip() or str(DEFAULT_RETENTION_DAYS)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{RETENTION_ENV}={raw!r} must be a whole number of days ≥ 1")
    return int(raw)


def delete_runs_created_before(instance: dg.DagsterInstance, cutoff: datetime) -> int:
    """Deletes every run that ended and was created before `cutoff`, with its event log;
    returns how many."""
    deleted = 0
    while True:
        records = instance.get_run_records(
            filters=dg.RunsFilter(statuses=ENDED, created_before=cutoff), limit=100
        )
        for record in records:
            instance.delete_run(record.dagster_run.run_id)
        deleted += len(records)
        if not records:
            return deleted


@dg.op(name="delete_old_runs")
def delete_old_runs(context: dg.OpExecutionContext) -> None:
    days = run_retention_days()
    cutoff = datetime.now(UTC) - timedelta(days=days)
    deleted = delete_runs_created_before(context.instance, cutoff)
    context.log.info(
        f"Deleted {deleted} runs created before {cutoff:%Y-%m-%d %H:%M} UTC "
        f"({RETENTION_ENV}={days})"
    )


@dg.job(
    name=RETENTION_JOB,
    executor_def=dg.in_process_executor,
    description=f"Delete the runs that ended more than {RETENTION_ENV} days ago (default "
    f"{DEFAULT_RETENTION_DAYS}), with their event logs.",
)
def run_retention_job() -> None:
    delete_old_runs()


def build_maintenance(timezone: str) -> dg.Definitions:
    run_retention_days()  # a bad value stops the code location with the variable's name
    schedule = dg.ScheduleDefinition(
        name=RETENTION_SCHEDULE,
        job=run_retention_job,
        cron_schedule=RETENTION_CRON,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    return dg.Definitions(jobs=[run_retention_job], schedules=[schedule])
