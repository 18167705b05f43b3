"""Which finished runs hand their days on (pipelines/schedules.py): to staging, the schedule's
source runs and source partitions materialised from the UI, never a run that rebuilt staging
itself; to the progress tables, a staging run's days inside the periods; to publishing, the
days the model runs completed."""

from __future__ import annotations

from datetime import date

import dagster as dg

from pipelines.schedules import (
    KR_PROGRESS,
    PROGRESS_JOB,
    SOURCES_JOB,
    STAGING,
    STAGING_JOB,
    models_done_days,
    source_run_days,
    staging_run_days,
)

RAW_FILE = dg.AssetKey(["raw", "file"])
RANGE = {
    "dagster/asset_partition_range_start": "2026-11-28",
    "dagster/asset_partition_range_end": "2026-12-01",
}


def _run(job: str, tags: dict[str, str], selection: set[dg.AssetKey] | None = None):
    return dg.DagsterRun(job_name=job, tags=tags, asset_selection=frozenset(selection or ()))


def test_the_schedules_source_run_hands_on_its_range() -> None:
    assert source_run_days(_run(SOURCES_JOB, RANGE), [RAW_FILE]) == RANGE


def test_one_partition_materialised_in_the_ui_hands_on_that_day() -> None:
    run = _run("__ASSET_JOB", {"dagster/partition": "2026-12-01"}, {RAW_FILE})
    assert source_run_days(run, [RAW_FILE]) == {
        "dagster/asset_partition_range_start": "2026-12-01",
        "dagster/asset_partition_range_end": "2026-12-01",
    }


def test_runs_that_fetched_nothing_or_rebuilt_staging_hand_on_nothing() -> None:
    # the models themselves, a UI run of staging only, a UI run of a source and staging
    assert source_run_days(_run(STAGING_JOB, RANGE), [RAW_FILE]) == {}
    assert source_run_days(_run(PROGRESS_JOB, RANGE), [RAW_FILE]) == {}
    assert source_run_days(_run("__ASSET_JOB", RANGE, {STAGING}), [RAW_FILE]) == {}
    assert source_run_days(_run("__ASSET_JOB", RANGE, {RAW_FILE, STAGING}), [RAW_FILE]) == {}
    # a source run without days (no partition): nothing to hand on
    assert source_run_days(_run("__ASSET_JOB", {}, {RAW_FILE}), [RAW_FILE]) == {}


def _range(first: str, last: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def test_staging_hands_on_its_days_inside_the_periods() -> None:
    # the periods start 2026-11-30: the range is cut there; a range all before it, dropped
    assert staging_run_days(_run(STAGING_JOB, RANGE), date(2026, 11, 30)) == _range(
        "2026-11-30", "2026-12-01"
    )
    assert staging_run_days(_run(STAGING_JOB, RANGE), date(2026, 11, 1)) == RANGE
    assert staging_run_days(_run(STAGING_JOB, RANGE), date(2026, 12, 2)) == {}
    # staging materialised from the UI, one day; with the progress tables: nothing to add
    ui = _run("__ASSET_JOB", {"dagster/partition": "2026-12-01"}, {STAGING})
    assert staging_run_days(ui, date(2026, 11, 1)) == _range("2026-12-01", "2026-12-01")
    both = _run("__ASSET_JOB", RANGE, {STAGING, KR_PROGRESS})
    assert staging_run_days(both, date(2026, 11, 1)) == {}
    # runs that did not rebuild staging
    for job in (SOURCES_JOB, PROGRESS_JOB):
        assert staging_run_days(_run(job, RANGE), date(2026, 11, 1)) == {}


def test_publishing_follows_the_days_the_model_runs_completed() -> None:
    first_progress = date(2026, 11, 30)
    # staging's days before the periods (no progress run follows them), the progress run's
    assert models_done_days(_run(STAGING_JOB, RANGE), first_progress) == (
        date(2026, 11, 28),
        date(2026, 11, 29),
    )
    progress = _run(PROGRESS_JOB, _range("2026-11-30", "2026-12-01"))
    assert models_done_days(progress, first_progress) == (date(2026, 11, 30), date(2026, 12, 1))
    # a staging run inside the periods waits for its progress run; other jobs, nothing
    assert models_done_days(_run(STAGING_JOB, RANGE), date(2026, 11, 1)) is None
    assert models_done_days(_run(SOURCES_JOB, RANGE), first_progress) is None
    assert models_done_days(_run(STAGING_JOB, {}), first_progress) is None
