"""Running the pipeline in this process (`okr run`, `okr demo`, tests).

The same two jobs the schedule uses: sources first, then the models — the models run even
when a source failed, so the affected key results turn `stale` instead of disappearing.
"""

from dataclasses import dataclass, field
from datetime import date

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from pipelines.partitions import partition_range_tags
from pipelines.schedules import MODELS_JOB, SOURCES_JOB


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


def run_range(
    defs: dg.Definitions,
    first: date,
    last: date,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
) -> RunOutcome:
    """Materialise sources, then models, for the days [first, last] (one run each)."""
    tags = partition_range_tags(first, last)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    outcome = RunOutcome(succeeded=True)
    for job_name in (SOURCES_JOB, MODELS_JOB):
        job = defs.resolve_job_def(job_name)
        result = job.execute_in_process(
            run_config=run_config, instance=instance, tags=tags, raise_on_error=False
        )
        outcome.run_ids.append(result.run_id)
        steps, errors = _failures(result)
        outcome.failed_steps += steps
        outcome.errors += errors
        outcome.succeeded &= result.success
    return outcome
