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
    # the models still ran: staging over every day, then the progress tables over the period's
    assert len(outcome.run_ids) == 3
    assert SUBSET_PLANNED_EVENTS not in os.environ


def _partitions(defs: dg.Definitions, key: dg.AssetKey) -> dg.PartitionsDefinition:
    partitions = defs.resolve_asset_graph().get(key).partitions_def
    assert partitions is not None, key
    return partitions


def _keys_through(partitions: dg.PartitionsDefinition, last: date) -> set[str]:
    """The asset's partitions from its first through `last`, as the UI counts them."""
    return {k for k in partitions.get_partition_keys() if k <= last.isoformat()}


def test_progress_partitions_start_at_the_period_and_are_all_materialised(
    project: Path, instance: dg.DagsterInstance
) -> None:
    defs = _defs(project)
    outcome = run_range(defs, FIRST, LAST, instance, "ERROR")
    assert outcome.succeeded, outcome.errors
    _, staging_run, progress_run = outcome.run_ids
    every_day = _days(21, 30, month=9) | _days(1, 5)
    # staging keeps the baseline days; the progress assets have no partition before the period
    assert _keys_through(_partitions(defs, STAGING), LAST) == every_day
    assert set(_materialisations(instance, staging_run, STAGING)) == every_day
    assert instance.get_materialized_partitions(STAGING) == every_day
    for key in (KR_PROGRESS, OBJECTIVE_PROGRESS, OBJECTIVE):
        partitions = _partitions(defs, key)
        assert partitions.get_first_partition_key() == PERIOD_START.isoformat(), key
        # every partition through the last run day is materialised: none shows as missing
        assert _keys_through(partitions, LAST) == _days(1, 5), key
        assert instance.get_materialized_partitions(key) == _days(1, 5), key
        assert set(_materialisations(instance, progress_run, key)) == _days(1, 5), key
        assert not _materialisations(instance, staging_run, key), key


def test_a_moved_period_moves_the_progress_partitions_and_clears_the_rows_before_it(
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
    defs = _defs(project)
    outcome = run_range(defs, date(2026, 9, 23), LAST, instance, "ERROR")
    assert outcome.succeeded, outcome.errors
    progress_run = instance.get_run_by_id(outcome.run_ids[2])
    assert progress_run is not None
    assert progress_run.tags["dagster/asset_partition_range_start"] == "2026-10-03"
    for table in ("okr.kr_progress_daily", "okr.objective_progress_daily"):
        ((first_day,),) = warehouse_rows(f"SELECT min(as_of_date) FROM {table}")
        assert first_day == date(2026, 10, 3), table
    for key in (KR_PROGRESS, OBJECTIVE_PROGRESS):
        partitions = _partitions(defs, key)
        assert partitions.get_first_partition_key() == "2026-10-03"
        # The earlier runs' materialisations of 10-01 and 10-02 stay in the event log, but
        # outside the partitions: the UI counts the partitions, all of them materialised.
        materialised = instance.get_materialized_partitions(key)
        assert materialised == _days(1, 5)
        assert _keys_through(partitions, LAST) == _days(3, 5) <= materialised


def test_a_ranged_run_describes_the_table_on_its_newest_day(
    project: Path, instance: dg.DagsterInstance
) -> None:
    outcome = run_range(_defs(project), FIRST, LAST, instance, "ERROR")
    assert outcome.succeeded, outcome.errors
    sources_run, staging_run, progress_run = outcome.run_ids
    for run_id, key, newest_only in (
        (sources_run, RAW_FILE, "dagster/column_schema"),
        (staging_run, STAGING, "dagster/column_schema"),
        (progress_run, KR_PROGRESS, "status_preview"),
        (progress_run, OBJECTIVE, "key_result_lineage"),
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


def test_the_metadata_is_on_the_materialisations_only(
    project: Path, instance: dg.DagsterInstance
) -> None:
    # one day (all on the result) and a range (split by day): neither repeated in STEP_OUTPUT
    for first in (LAST, FIRST):
        outcome = run_range(_defs(project), first, LAST, instance, "ERROR")
        assert outcome.succeeded, outcome.errors
        sources_run, staging_run, progress_run = outcome.run_ids
        for run_id in outcome.run_ids:
            outputs = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)
            assert outputs, run_id
            assert all(not r.dagster_event.step_output_data.metadata for r in outputs)
        newest = LAST.isoformat()
        assert "dagster/column_schema" in _materialisations(instance, sources_run, RAW_FILE)[newest]
        progress = _materialisations(instance, progress_run, KR_PROGRESS)[newest]
        assert {"status_preview", "dagster/column_lineage", "rows_in_window"} <= set(progress)
        objective = _materialisations(instance, progress_run, OBJECTIVE)[newest]
        assert objective["key_result_lineage"] is not None
        # the definition tables (one multi-asset, unpartitioned): each table its own schema
        teams = dg.AssetKey(["okr", "teams"])
        (teams_metadata,) = _materialisations(instance, staging_run, teams).values()
        columns = [c.name for c in teams_metadata["dagster/column_schema"].schema.columns]
        assert "team_id" in columns and teams_metadata["dagster/row_count"].value == 1
