"""`run_range` over a range of days: what Dagster records for it, and what it reports."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from pipeline_testkit import warehouse_rows

from pipelines.build import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import SUBSET_PLANNED_EVENTS, run_range

RAW_FILE = dg.AssetKey(["raw", "file"])
STAGING = dg.AssetKey(["staging", "metric_daily"])
KR_PROGRESS = dg.AssetKey(["okr", "kr_progress_daily"])
OBJECTIVE_PROGRESS = dg.AssetKey(["okr", "objective_progress_daily"])
OBJECTIVE = dg.AssetKey(["okr", "objective", "grow"])
# The project's key results run 2026-10-01..10; their baselines read the ten days before.
FIRST, PERIOD_START, LAST = date(2026, 9, 21), date(2026, 10, 1), date(2026, 10, 5)


def _defs(project: Path) -> dg.Definitions:
    return build_definitions(load_valid_definitions(project))


def _days(first: int, last: int, month: int = 10) -> set[str]:
    return {date(2026, month, d).isoformat() for d in range(first, last + 1)}


def _materialisations(instance: dg.DagsterInstance, run_id: str, key: dg.AssetKey) -> dict:
    """partition → metadata of the run's materialisation of `key` for it."""
    return {
        record.dagster_event.partition: record.asset_materialization.metadata
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        if record.dagster_event.asset_key == key
    }


def test_a_ranged_run_plans_each_asset_once_and_restores_the_setting(
    project: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SUBSET_PLANNED_EVENTS, raising=False)
    outcome = run_range(_defs(project), FIRST, LAST, instance, "ERROR")
    assert outcome.succeeded, outcome.errors
    planned = instance.all_logs(
        outcome.run_ids[0], of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    )
    # one planned event for the source's 15 days, not one per day
    assert len(planned) == 1
    subset = planned[0].dagster_event.event_specific_data.partitions_subset
    assert len(subset.get_partition_keys()) == 15
    assert SUBSET_PLANNED_EVENTS not in os.environ
    # a value of the user's own is left as it was
    monkeypatch.setenv(SUBSET_PLANNED_EVENTS, "0")
    assert run_range(_defs(project), LAST, LAST, instance, "ERROR").succeeded
    assert os.environ[SUBSET_PLANNED_EVENTS] == "0"


def test_the_setting_holds_during_the_run_only_even_when_it_raises(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SUBSET_PLANNED_EVENTS, raising=False)
    seen = []

    def broken(self: dg.JobDefinition, **kwargs: object) -> None:
        seen.append(os.environ.get(SUBSET_PLANNED_EVENTS))
        raise RuntimeError("instance storage gone")

    monkeypatch.setattr(dg.JobDefinition, "execute_in_process", broken)
    with pytest.raises(RuntimeError, match="storage gone"):
        run_range(_defs(project), FIRST, LAST, log_level="ERROR")
    assert seen == ["1"]
    assert SUBSET_PLANNED_EVENTS not in os.environ


def test_a_failing_source_in_a_ranged_run_is_reported(
    project: Path, instance: dg.DagsterInstance
) -> None:
    (project / "data" / "signups.csv").write_text("when,how_many\n2026-10-01,1\n")
    outcome = run_range(_defs(project), FIRST, LAST, instance, "ERROR")
    assert not outcome.succeeded
    assert outcome.failed_steps == ["raw__file"]
    assert len(outcome.errors) == 1 and "signups.csv" in outcome.errors[0], outcome.errors
    sources_run = instance.get_run_by_id(outcome.run_ids[0])
    assert sources_run is not None and sources_run.status == dg.DagsterRunStatus.FAILURE
    # the models still ran, over the baseline days and the period's
    assert len(outcome.run_ids) == 3
    assert SUBSET_PLANNED_EVENTS not in os.environ


def test_progress_assets_run_over_the_period_days_only(
    project: Path, instance: dg.DagsterInstance
) -> None:
    outcome = run_range(_defs(project), FIRST, LAST, instance, "ERROR")
    assert outcome.succeeded, outcome.errors
    _, baseline_run, period_run = outcome.run_ids
    every_day = _days(21, 30, month=9) | _days(1, 5)
    assert instance.get_materialized_partitions(STAGING) == every_day
    for key in (KR_PROGRESS, OBJECTIVE_PROGRESS, OBJECTIVE):
        assert instance.get_materialized_partitions(key) == _days(1, 5), key
        assert not _materialisations(instance, baseline_run, key), key
    assert set(_materialisations(instance, period_run, STAGING)) == _days(1, 5)


def test_progress_rows_left_before_the_period_are_still_cleared(
    project: Path, instance: dg.DagsterInstance
) -> None:
    assert run_range(_defs(project), FIRST, LAST, instance, "ERROR").succeeded
    # The period moves two days later: 10-01 and 10-02 now come before it, and hold rows.
    objectives = project / "objectives.yaml"
    objectives.write_text(
        objectives.read_text().replace(
            "start: 2026-10-01, end: 2026-10-10", "start: 2026-10-03, end: 2026-10-12"
        )
    )
    outcome = run_range(_defs(project), date(2026, 9, 23), LAST, instance, "ERROR")
    assert outcome.succeeded, outcome.errors
    assert len(outcome.run_ids) == 2  # the whole models job over the whole range
    for table in ("okr.kr_progress_daily", "okr.objective_progress_daily"):
        ((first_day,),) = warehouse_rows(f"SELECT min(as_of_date) FROM {table}")
        assert first_day == date(2026, 10, 3), table


def test_a_ranged_run_describes_the_table_on_its_newest_day(
    project: Path, instance: dg.DagsterInstance
) -> None:
    outcome = run_range(_defs(project), FIRST, LAST, instance, "ERROR")
    assert outcome.succeeded, outcome.errors
    sources_run, _, period_run = outcome.run_ids
    for run_id, key, newest_only in (
        (sources_run, RAW_FILE, "dagster/column_schema"),
        (period_run, STAGING, "dagster/column_schema"),
        (period_run, KR_PROGRESS, "status_preview"),
        (period_run, OBJECTIVE, "key_result_lineage"),
    ):
        by_day = _materialisations(instance, run_id, key)
        newest = max(by_day)
        assert newest == LAST.isoformat()
        assert newest_only in by_day[newest], key
        for day, metadata in by_day.items():
            # every day keeps the row count; the schema and previews are the newest day's
            assert metadata["dagster/row_count"].value > 0, (key, day)
            if day != newest:
                assert newest_only not in metadata, (key, day)
                assert "dagster/column_schema" not in metadata, (key, day)
