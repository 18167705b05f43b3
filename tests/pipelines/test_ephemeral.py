"""The instance of `okr run` without DAGSTER_HOME (pipelines/ephemeral.py) records what
Dagster's own ephemeral instance records."""

import threading
from collections import Counter

import dagster as dg

from pipelines.ephemeral import ephemeral_instance

DAYS = dg.DailyPartitionsDefinition(start_date="2026-10-01")
STEP_OF_CHECK = "downstream_downstream_has_rows"


@dg.asset(partitions_def=DAYS)
def upstream(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info("read 3 rows")
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset(partitions_def=DAYS, deps=[upstream])
def downstream() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 2})


@dg.asset_check(asset=downstream)
def downstream_has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _run_twice(instance: dg.DagsterInstance) -> tuple[list[Counter[str]], dict[str, object]]:
    """Two runs (two days) on one instance: per run the events by type, and what the
    instance answers about them afterwards."""
    job = DEFS.resolve_job_def("both")
    events = []
    for day in ("2026-10-01", "2026-10-02"):
        result = job.execute_in_process(instance=instance, partition_key=day)
        assert result.success
        events.append(
            Counter(
                r.dagster_event.event_type_value if r.dagster_event else "LOG"
                for r in instance.all_logs(result.run_id)
            )
        )
    latest = instance.get_latest_materialization_event(dg.AssetKey("downstream"))
    assert latest is not None and latest.asset_materialization is not None
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("downstream"), "downstream_has_rows")]
    )
    # the runs' snapshots, as the UI and re-execution read them back
    snapshots = []
    for run in instance.get_runs():
        assert run.job_snapshot_id and run.execution_plan_snapshot_id
        job = instance.get_job_snapshot(run.job_snapshot_id)
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        assert job.snapshot_id == run.job_snapshot_id == plan.job_snapshot_id
        snapshots.append((job.name, sorted(step.key for step in plan.steps)))
    answers = {
        "snapshots": snapshots,
        "runs": sorted(str(r.status) for r in instance.get_runs()),
        "latest_partition": latest.asset_materialization.partition,
        "latest_rows": latest.asset_materialization.metadata["rows"].value,
        "materialised_days": sorted(instance.get_materialized_partitions(dg.AssetKey("upstream"))),
        "checks": len(check),
    }
    return events, answers


@dg.asset(partitions_def=DAYS, deps=[upstream])
def logs_from_a_thread(context: dg.AssetExecutionContext) -> None:
    # as a connector's worker thread would (the Salesforce bulk reader parses pages in one)
    worker = threading.Thread(target=context.log.info, args=("parsed a page",))
    worker.start()
    worker.join()


DEFS = dg.Definitions(
    assets=[upstream, downstream, logs_from_a_thread],
    asset_checks=[downstream_has_rows],
    jobs=[dg.define_asset_job("both", selection="*")],
)


def test_the_lean_instance_records_what_dagsters_ephemeral_instance_records() -> None:
    with dg.DagsterInstance.ephemeral() as reference:
        expected = _run_twice(reference)
    with ephemeral_instance() as lean:
        events, answers = _run_twice(lean)
    assert (events, answers) == expected
    assert answers == {
        "snapshots": [("both", ["downstream", STEP_OF_CHECK, "logs_from_a_thread", "upstream"])]
        * 2,
        "runs": ["DagsterRunStatus.SUCCESS", "DagsterRunStatus.SUCCESS"],
        "latest_partition": "2026-10-02",
        "latest_rows": 2,
        "materialised_days": ["2026-10-01", "2026-10-02"],
        "checks": 1,
    }
    assert events[0]["LOG"] == 2 and events[0]["ASSET_MATERIALIZATION"] == 3
