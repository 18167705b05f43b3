"""Running the pipeline in this process (`okr run`, `okr demo`, tests).

The same two jobs the schedule uses: sources first, then the models — the models run even
when a source failed, so the affected key results turn `stale` instead of disappearing.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from okr_definitions.problems import DefinitionError
from pipelines.destinations.postgres import PUBLISH_JOB
from pipelines.okr.assets import KR_PROGRESS
from pipelines.partitions import partition_range_tags
from pipelines.schedules import MODELS_JOB, SOURCES_JOB
from warehouse.db import WarehouseBusyError


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


def _models_runs(
    defs: dg.Definitions, first: date, last: date
) -> list[tuple[date, date, list[dg.AssetKey] | None]]:
    """The runs of the models job for [first, last]: (first day, last day, the assets to run,
    None for all of them).

    No key result has a row for a day before its period, so over the days before the first
    period (the baseline days a first run fetches: 92 of the demo's 148) kr_progress_daily and
    what follows it have nothing to compute. The models job runs over those days without them
    (staging and the definition tables), and whole over the rest: Dagster then records no
    materialisation for them on those days (5 assets × 92 days in the demo, about a seventh of
    its time), and the UI shows those days missing for them, which is what they are.

    Running them over those days would still delete rows a run under earlier definitions left
    there (a period moved later); when the warehouse holds such rows, the whole job runs over
    the whole range, as it always did.
    """
    try:
        definitions = defs.resources["okr_definitions"].load()
    except DefinitionError:  # the assets report it, step by step
        return [(first, last, None)]
    periods_start = min(
        (kr.period_start for kr in definitions.resolved_key_results()), default=first
    )
    baseline_end = min(last, periods_start - timedelta(days=1))
    if first > baseline_end or _progress_rows(defs, first, baseline_end):
        return [(first, last, None)]
    job_keys = defs.resolve_job_def(MODELS_JOB).asset_layer.executable_asset_keys
    progress = (
        dg.AssetSelection.assets(KR_PROGRESS).downstream().resolve(defs.resolve_asset_graph())
    )
    runs = [(first, baseline_end, sorted(job_keys - progress))]
    if last >= periods_start:
        runs.append((periods_start, last, None))
    return runs


def _progress_rows(defs: dg.Definitions, first: date, last: date) -> bool:
    """Whether the progress tables hold a row for a day in [first, last] (True when the
    warehouse is too busy to tell, or an older version wrote it and the run's first write
    will migrate it: then the models job runs as it always did)."""
    warehouse = defs.resources["warehouse"]
    if not warehouse.file.exists():
        return False
    try:
        with warehouse.connection(read_only=True) as con:
            (found,) = con.execute(
                """
                SELECT EXISTS (SELECT 1 FROM okr.kr_progress_daily
                               WHERE as_of_date BETWEEN $1 AND $2)
                    OR EXISTS (SELECT 1 FROM okr.objective_progress_daily
                               WHERE as_of_date BETWEEN $1 AND $2)
                """,
                [first, last],
            ).fetchone()
    except (WarehouseBusyError, ValueError):
        return True
    return bool(found)


def run_range(
    defs: dg.Definitions,
    first: date,
    last: date,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
) -> RunOutcome:
    """Materialise sources, then models, for the days [first, last] (one run of the sources;
    one of the models, or two when the range starts before the key results' periods)."""
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    outcome = RunOutcome(succeeded=True)

    def execute(job_name: str, start: date, end: date, selection: list[dg.AssetKey] | None) -> bool:
        with one_planned_event_per_asset():
            result = defs.resolve_job_def(job_name).execute_in_process(
                run_config=run_config,
                instance=instance,
                tags=partition_range_tags(start, end),
                asset_selection=selection,
                raise_on_error=False,
            )
        outcome.run_ids.append(result.run_id)
        steps, errors = _failures(result)
        outcome.failed_steps += steps
        outcome.errors += errors
        outcome.succeeded &= result.success
        return result.success

    execute(SOURCES_JOB, first, last, None)
    models_succeeded = True
    for start, end, selection in _models_runs(defs, first, last):
        models_succeeded &= execute(MODELS_JOB, start, end, selection)
    # After successful model runs, publish as the schedule's sensor does (its own
    # run: a failing publish fails only itself).
    if models_succeeded and any(getattr(job, "name", "") == PUBLISH_JOB for job in defs.jobs or []):
        execute(PUBLISH_JOB, first, last, None)
    return outcome
