"""Which finished runs hand their days on to the models (pipelines/schedules.py): the
schedule's source runs and source partitions materialised from the UI, never a run that
rebuilt staging itself."""

from __future__ import annotations

import dagster as dg

from pipelines.schedules import MODELS_JOB, SOURCES_JOB, STAGING, source_run_days

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
    assert source_run_days(_run(MODELS_JOB, RANGE), [RAW_FILE]) == {}
    assert source_run_days(_run("__ASSET_JOB", RANGE, {STAGING}), [RAW_FILE]) == {}
    assert source_run_days(_run("__ASSET_JOB", RANGE, {RAW_FILE, STAGING}), [RAW_FILE]) == {}
    # a source run without days (no partition): nothing to hand on
    assert source_run_days(_run("__ASSET_JOB", {}, {RAW_FILE}), [RAW_FILE]) == {}
