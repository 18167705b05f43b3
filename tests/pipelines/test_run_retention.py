"""Run retention (pipelines/maintenance.py, README "Deploy"): the daily job deletes the runs that
ended more than OKR_RUN_RETENTION_DAYS ago with their event logs, and nothing else — on a real
Dagster instance (SQLite storage in a temporary folder; the deployment's is PostgreSQL, behind
the same instance API)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.runs.schema import RunsTable

from pipelines.maintenance import (
    RETENTION_ENV,
    RETENTION_JOB,
    RETENTION_SCHEDULE,
    build_maintenance,
    run_retention_job,
)


@dg.op
def say_hello(context: dg.OpExecutionContext) -> None:
    context.log.info("hello")


@dg.job
def hello() -> None:
    say_hello()


@dg.op
def break_down() -> None:
    raise RuntimeError("a failed run is deleted like any other that ended")


@dg.job
def breaks() -> None:
    break_down()


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        yield instance


def _created(instance: dg.DagsterInstance, run_id: str, days_ago: float) -> None:
    """Dates a run back: Dagster stamps a run's creation itself, with no API to change it."""
    when = datetime.now(UTC) - timedelta(days=days_ago)
    with instance.run_storage.connect() as conn:  # ty: ignore[unresolved-attribute]
        conn.execute(
            RunsTable.update()
            .where(RunsTable.c.run_id == run_id)
            .values(create_timestamp=when.replace(tzinfo=None))
        )


def test_runs_that_ended_before_the_retention_go_with_their_events_and_the_rest_stay(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RETENTION_ENV, "30")
    old = hello.execute_in_process(instance=instance).run_id
    old_failed = breaks.execute_in_process(instance=instance, raise_on_error=False).run_id
    recent = hello.execute_in_process(instance=instance).run_id
    # an old run that never ended (queued, or its process lost): not ours to delete
    unfinished = instance.create_run_for_job(job_def=hello).run_id
    _created(instance, old, days_ago=31)
    _created(instance, old_failed, days_ago=400)
    _created(instance, recent, days_ago=29)
    _created(instance, unfinished, days_ago=31)
    assert instance.all_logs(old)
    assert instance.get_run_by_id(old_failed).status == dg.DagsterRunStatus.FAILURE

    retention = run_retention_job.execute_in_process(instance=instance)

    assert retention.success
    kept = {r.run_id for r in instance.get_runs()}
    assert kept == {recent, unfinished, retention.run_id}
    assert instance.all_logs(old) == [] and instance.all_logs(old_failed) == []
    assert instance.all_logs(recent)
    logged = instance.all_logs(retention.run_id)
    said = [e.user_message for e in logged if e.user_message.startswith("Deleted")]
    assert said and said[0].startswith("Deleted 2 runs created before ")
    assert said[0].endswith(f"({RETENTION_ENV}=30)")


def test_the_retention_runs_daily_before_the_source_run_and_a_bad_value_stops_the_location(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(RETENTION_ENV, raising=False)
    maintenance = build_maintenance("Europe/Berlin")
    schedule = maintenance.resolve_schedule_def(RETENTION_SCHEDULE)
    assert (schedule.job_name, schedule.cron_schedule) == (RETENTION_JOB, "30 3 * * *")
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    monkeypatch.setenv(RETENTION_ENV, "ninety")
    with pytest.raises(ValueError, match=f"{RETENTION_ENV}='ninety' must be a whole number"):
        build_maintenance("Europe/Berlin")
