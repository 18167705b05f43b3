"""Running the pipeline in this process (`okr run`, `okr demo`, tests).

The same jobs the schedule's sensors chain: sources first, then staging — which runs even
when a source failed, so the affected key results turn `stale` instead of disappearing —
then the progress tables over the days inside the key results' periods (their partitions
start there: pipelines/partitions.py), then publishing.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from okr_definitions.problems import DefinitionError
from pipelines.destinations.postgres import PUBLISH_JOB
from pipelines.partitions import first_progress_day, partition_range_tags
from pipelines.schedules import PROGRESS_JOB, SOURCES_JOB, STAGING_JOB
from warehouse.db import held_between_writes


@dataclass
class RunOutcome:
    succeeded: bool
    failed_steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


# Exceptions of these packages carry messages written for people (connectors/errors.py, the
# warehouse's busy message, dg.Failure descriptions): shown without their module path.
_OUR_PACKAGES = ("connectors.", "warehouse.", "okr_definitions.", "pipelines.", "dagster.")


def _error_message(info: SerializableErrorInfo | None) -> str:
    if info is None:
        return "unknown error"
    # Dagster wraps what the asset raised in its own step error: the asset's exception is the
    # first cause that is not Dagster's. Causes below that are library internals (the
    # google-api-core 429 behind a GA4 QuotaExhaustedError, with the request URL), never
    # clearer than the message the connector wrote for them.
    while info.cause is not None and info.cls_name.startswith("Dagster"):
        info = info.cause
    message = info.message.strip()
    qualified, sep, text = message.partition(": ")
    if sep and qualified.endswith(info.cls_name) and qualified.startswith(_OUR_PACKAGES):
        message = text
    return message


def _failures(result: dg.ExecuteInProcessResult) -> tuple[list[str], list[str]]:
    steps, errors = [], []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            steps.append(event.step_key or "?")
            errors.append(f"{event.step_key}: {_error_message(event.step_failure_data.error)}")
    return steps, errors


# Read by Dagster's event log storage when a run is created
# (EventLogStorage.supports_partition_subset_in_asset_materialization_planned_events).
SUBSET_PLANNED_EVENTS = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


@contextmanager
def one_planned_event_per_asset() -> Iterator[None]:
    """Dagster records one "materialisation planned" event per asset for a ranged run instead
    of one per asset and day: the demo's 148-day range otherwise writes ~2,200 planned events
    before any asset runs, about a quarter of its time.

    The trade-off (Dagster's, documented beside the setting): when such a run fails, its days
    are not marked failed in the UI's partition view, they keep their previous status (and
    are not shown in progress while the run goes on). A failure stays visible where people
    look for it: the run is failed, and `run_range` reports the failed steps and errors from
    the run's STEP_FAILURE events, which this does not change.

    Dagster reads the setting from the environment only, when a run is created: it is set for
    the execution and restored after, so nothing else this process runs sees it (the
    schedule's runs, started by the daemon in other processes, never do).
    """
    before = os.environ.get(SUBSET_PLANNED_EVENTS)
    os.environ[SUBSET_PLANNED_EVENTS] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[SUBSET_PLANNED_EVENTS]
        else:
            os.environ[SUBSET_PLANNED_EVENTS] = before


def _progress_days(defs: dg.Definitions, first: date, last: date) -> tuple[date, date] | None:
    """The days of [first, last] the progress run covers: from the first day of the key
    results' periods (the progress assets' first partition) on; None when every day comes
    before it."""
    try:
        definitions = defs.resources["okr_definitions"].load()
    except DefinitionError:  # the staging job's definition tables report it, step by step
        return None
    start = max(first, first_progress_day(definitions))
    return (start, last) if start <= last else None


def run_range(
    defs: dg.Definitions,
    first: date,
    last: date,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
) -> RunOutcome:
    """Materialise sources, staging and the progress tables for the days [first, last]: one
    run of each job, the progress run over the days inside the periods (none when there are
    none), as the schedule's sensors chain them; then publish, when it is configured."""
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    outcome = RunOutcome(succeeded=True)

    def execute(job_name: str, start: date, end: date) -> bool:
        with one_planned_event_per_asset():
            result = defs.resolve_job_def(job_name).execute_in_process(
                run_config=run_config,
                instance=instance,
                tags=partition_range_tags(start, end),
                raise_on_error=False,
            )
        outcome.run_ids.append(result.run_id)
        steps, errors = _failures(result)
        outcome.failed_steps += steps
        outcome.errors += errors
        outcome.succeeded &= result.success
        return result.success

    # The steps open the warehouse one after the other: it stays attached between them
    # (warehouse/db.py), and is let go when the runs end.
    with held_between_writes():
        execute(SOURCES_JOB, first, last)
        # Like the sensors: staging whatever the sources did, the progress tables after
        # staging succeeded, publishing after both.
        models_succeeded = execute(STAGING_JOB, first, last)
        progress_days = _progress_days(defs, first, last) if models_succeeded else None
        if progress_days is not None:
            models_succeeded = execute(PROGRESS_JOB, *progress_days)
        if models_succeeded and any(
            getattr(job, "name", "") == PUBLISH_JOB for job in defs.jobs or []
        ):
            execute(PUBLISH_JOB, first, last)
    return outcome
