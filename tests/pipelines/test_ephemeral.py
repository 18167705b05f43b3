"""The instance of `okr run` without DAGSTER_HOME (pipelines/ephemeral.py) answers what
Dagster's own ephemeral instance answers about runs, materialisations, checks and partitions;
what it deliberately does not keep (events only the UI, sensors and backfills read) is said
here too."""

import threading
from collections import Counter
from datetime import date

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from pipelines.ephemeral import NOT_KEPT, ephemeral_instance
from pipelines.partitions import partition_range_tags
from pipelines.runner import one_planned_event_per_asset

DAYS = dg.DailyPartitionsDefinition(start_date="2026-10-01")
STEP_OF_CHECK = "downstream_downstream_has_rows"
UPSTREAM, DOWNSTREAM = dg.AssetKey("upstream"), dg.AssetKey("downstream")
CHECK = dg.AssetCheckKey(DOWNSTREAM, "downstream_has_rows")
FAILING = dg.AssetKey("fails_on_the_3rd")
# A code version makes the data versions Dagster derives from the inputs' (the provenance it
# records on each materialisation) the same on both instances: without one it is the run id.
CODE = "1"


@dg.asset(partitions_def=DAYS, code_version=CODE)
def upstream(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info("read 3 rows")
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset(partitions_def=DAYS, deps=[upstream], code_version=CODE)
def downstream() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 2})


@dg.asset_check(asset=downstream)
def downstream_has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset(partitions_def=DAYS, deps=[upstream], code_version=CODE)
def logs_from_a_thread(context: dg.AssetExecutionContext) -> None:
    # as a connector's worker thread would (the Salesforce bulk reader parses pages in one)
    worker = threading.Thread(target=context.log.info, args=("parsed a page",))
    worker.start()
    worker.join()


@dg.asset(partitions_def=DAYS, deps=[upstream])
def fails_on_the_3rd(context: dg.AssetExecutionContext) -> None:
    if context.partition_key == "2026-10-03":
        raise RuntimeError("no rows for 2026-10-03")


DEFS = dg.Definitions(
    assets=[upstream, downstream, logs_from_a_thread, fails_on_the_3rd],
    asset_checks=[downstream_has_rows],
    jobs=[
        dg.define_asset_job(
            "both", selection=dg.AssetSelection.all() - dg.AssetSelection.assets(FAILING)
        ),
        dg.define_asset_job("failing", selection=[FAILING]),
    ],
)


def _run(
    instance: dg.DagsterInstance, job_name: str, first: str, last: str
) -> dg.ExecuteInProcessResult:
    """One run as `run_range` makes it: a range of days (one day: a range of one), Dagster's
    "materialisation planned" one per asset."""
    with one_planned_event_per_asset():
        return DEFS.resolve_job_def(job_name).execute_in_process(
            instance=instance,
            tags=partition_range_tags(date.fromisoformat(first), date.fromisoformat(last)),
            raise_on_error=False,
        )


def _answers(instance: dg.DagsterInstance) -> dict[str, object]:
    """What the instance answers about its runs, materialisations, checks and partitions, with
    its own ids (runs, stored events) replaced by what they point at."""
    runs = list(reversed(instance.get_runs()))  # oldest first
    run_index = {run.run_id: i for i, run in enumerate(runs)}
    keys = [UPSTREAM, DOWNSTREAM, dg.AssetKey("logs_from_a_thread"), FAILING]
    pointed = {}  # storage id → which materialisation it is
    materialisations = {}
    for key in keys:
        records = instance.fetch_materializations(key, limit=100, ascending=True).records
        for record in records:
            pointed[str(record.storage_id)] = (key.to_user_string(), record.partition_key)
        materialisations[key.to_user_string()] = [
            (run_index[r.run_id], r.partition_key, r.asset_materialization.metadata.get("rows"))
            for r in records
        ]

    def provenance(tags: dict[str, str]) -> dict[str, object]:
        # the inputs' event pointers (storage ids) as the materialisations they point at, if
        # they are still there
        return {
            k: pointed.get(v, "not there") if "input_event_pointer" in k else v
            for k, v in tags.items()
        }

    newest = {}  # of the assets materialised (one only planned is known to Dagster's alone)
    for record in instance.get_asset_records(keys):
        entry = record.asset_entry
        last = entry.last_materialization_record
        if last is None:
            continue
        newest[entry.asset_key.to_user_string()] = (
            run_index.get(entry.last_run_id),
            pointed.get(str(last.storage_id)),
            provenance(last.asset_materialization.tags),
        )
    (check,) = instance.event_log_storage.get_latest_asset_check_execution_by_key([CHECK]).values()
    target = check.event.dagster_event.event_specific_data.target_materialization_data
    storage = instance.event_log_storage
    snapshots = []
    for run in runs:  # the runs' snapshots, as the UI and re-execution read them back
        job = instance.get_job_snapshot(run.job_snapshot_id)
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        assert job.snapshot_id == run.job_snapshot_id == plan.job_snapshot_id
        snapshots.append((job.name, sorted(step.key for step in plan.steps)))
    return {
        "runs": [(run.job_name, str(run.status)) for run in runs],
        "run_stats": [
            (s.steps_succeeded, s.steps_failed, s.materializations)
            for s in (instance.get_run_stats(run.run_id) for run in runs)
        ],
        "snapshots": snapshots,
        "materialisations": materialisations,
        "newest": newest,
        "latest_event": instance.get_latest_materialization_event(
            DOWNSTREAM
        ).dagster_event.partition,  # type: ignore[union-attr]
        "data_versions": {
            key.to_user_string(): storage.get_latest_tags_by_partition(
                key, dg.DagsterEventType.ASSET_MATERIALIZATION, [DATA_VERSION_TAG]
            )
            for key in keys
        },
        "data_versions_of_two_days": storage.get_latest_tags_by_partition(
            UPSTREAM,
            dg.DagsterEventType.ASSET_MATERIALIZATION,
            [DATA_VERSION_TAG],
            asset_partitions=["2026-10-02", "2026-10-09"],
        ),
        "check": (
            str(check.status),
            run_index.get(check.run_id),
            run_index.get(target.run_id),
            pointed.get(str(target.storage_id)),
        ),
        "materialised_days": {
            key.to_user_string(): sorted(instance.get_materialized_partitions(key)) for key in keys
        },
    }


def _events(instance: dg.DagsterInstance) -> list[Counter[str]]:
    """Per run (oldest first), the stored events by type."""
    return [
        Counter(
            r.dagster_event.event_type_value if r.dagster_event else "LOG"
            for r in instance.all_logs(run.run_id)
        )
        for run in reversed(instance.get_runs())
    ]


def _failed_asset_status(instance: dg.DagsterInstance) -> object:
    """The UI's partition status of the asset whose run failed."""
    return instance.get_status_by_partition(FAILING, ["2026-10-02", "2026-10-03"], DAYS)


def _runs_of_a_day_then_a_range_and_a_failure(instance: dg.DagsterInstance) -> dict[str, object]:
    assert _run(instance, "both", "2026-10-01", "2026-10-01").success
    assert _run(instance, "both", "2026-10-01", "2026-10-02").success
    failed = _run(instance, "failing", "2026-10-03", "2026-10-03")
    assert not failed.success
    # what run_range reads of a run (pipelines/runner.py): its failed steps, from the result
    return {
        "failed_steps": [
            e.step_key
            for e in failed.all_events
            if e.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
    }


def test_the_lean_instance_answers_what_dagsters_ephemeral_instance_answers() -> None:
    with dg.DagsterInstance.ephemeral() as reference:
        expected = _runs_of_a_day_then_a_range_and_a_failure(reference), _answers(reference)
        expected_events = _events(reference)
        expected_status = _failed_asset_status(reference)
    with ephemeral_instance() as lean:
        answered = _runs_of_a_day_then_a_range_and_a_failure(lean), _answers(lean)
        events = _events(lean)
        status = _failed_asset_status(lean)
    assert answered == expected
    failed_steps, answers = answered
    assert failed_steps == {"failed_steps": ["fails_on_the_3rd"]}
    assert answers["runs"] == [
        ("both", "DagsterRunStatus.SUCCESS"),
        ("both", "DagsterRunStatus.SUCCESS"),
        ("failing", "DagsterRunStatus.FAILURE"),
    ]
    assert answers["run_stats"] == [(4, 0, 3), (4, 0, 6), (0, 1, 0)]
    assert answers["materialised_days"] == {
        "upstream": ["2026-10-01", "2026-10-02"],
        "downstream": ["2026-10-01", "2026-10-02"],
        "logs_from_a_thread": ["2026-10-01", "2026-10-02"],
        "fails_on_the_3rd": [],
    }
    # the provenance Dagster records: downstream's newest day points at upstream's
    _, newest_day, tags = answers["newest"]["downstream"]
    assert newest_day == ("downstream", "2026-10-02")
    assert tags["dagster/input_event_pointer/upstream"] == ("upstream", "2026-10-02")
    assert tags["dagster/code_version"] == CODE
    assert answers["check"] == ("AssetCheckExecutionRecordStatus.SUCCEEDED", 1, 1, newest_day)
    assert set(answers["data_versions_of_two_days"]) == {"2026-10-02"}
    # What the lean instance does not keep: those events, everything else as Dagster stores it.
    assert {dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED} == NOT_KEPT
    not_kept = {t.value for t in NOT_KEPT}
    assert not_kept <= {t for run in expected_events for t in run}
    assert events == [
        Counter({t: n for t, n in run.items() if t not in not_kept}) for run in expected_events
    ]
    assert events[0]["LOG"] == 2 and events[0]["ASSET_MATERIALIZATION"] == 3
    # An asset a run planned but never materialised: Dagster's instance knows of it from the
    # planned event and answers its days' status (none materialised: the failed day is not
    # marked failed after a ranged run either); the lean instance does not know it.
    assert expected_status == {"2026-10-02": None, "2026-10-03": None}
    assert status is None


def test_after_deleting_a_run_and_wiping_an_asset_both_answer_the_same() -> None:
    def runs_deleted_and_wiped(instance: dg.DagsterInstance) -> list[dict[str, object]]:
        _runs_of_a_day_then_a_range_and_a_failure(instance)
        answers = []
        # the newest run of 2026-10-02 deleted: the day's newest tags are the range's again
        assert _run(instance, "both", "2026-10-02", "2026-10-02").success
        instance.delete_run(instance.get_runs(limit=1)[0].run_id)
        answers.append(_answers(instance))
        instance.wipe_assets([UPSTREAM])
        answers.append(_answers(instance))
        assert _run(instance, "both", "2026-10-02", "2026-10-02").success
        answers.append(_answers(instance))
        return answers

    with dg.DagsterInstance.ephemeral() as reference:
        expected = runs_deleted_and_wiped(reference)
    with ephemeral_instance() as lean:
        assert runs_deleted_and_wiped(lean) == expected
    assert expected[1]["data_versions"]["upstream"] == {}
    assert set(expected[2]["data_versions"]["upstream"]) == {"2026-10-02"}
