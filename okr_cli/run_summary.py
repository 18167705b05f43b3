"""What `okr run` and `okr demo` print when a run fails: one line per failed step (the
source, what happened, what to do — the connectors' messages say it) and one last line that
says which key results it leaves without fresh data.

Dagster's own step and run failure events, with their stack traces, stay in the Dagster
instance; `--verbose` also streams them to the terminal.
"""

from __future__ import annotations

from okr_definitions import model as m
from okr_definitions.resolve import Definitions

SOURCE_STEP_PREFIX = "raw__"


def _step_messages(failed_steps: list[str], errors: list[str]) -> dict[str, str]:
    """{step key: message}, once per step (the models job can run twice over a range, and
    a failing model step then fails in both runs)."""
    messages: dict[str, str] = {}
    for step, error in zip(failed_steps, errors, strict=True):
        messages.setdefault(step, error.removeprefix(f"{step}: "))
    return messages


def _metric_sources(definitions: Definitions, metric_id: str) -> set[str]:
    metric = definitions.metric(metric_id)
    if isinstance(metric, m.RatioMetric):
        return _metric_sources(definitions, metric.ratio.numerator) | _metric_sources(
            definitions, metric.ratio.denominator
        )
    return {metric.source}


def key_results_reading(definitions: Definitions, sources: set[str]) -> list[str]:
    """The ids of the key results whose metric (or a part of its ratio) comes from `sources`."""
    return sorted(
        kr_id
        for kr_id, located in definitions.key_results.items()
        if _metric_sources(definitions, located.item.metric) & sources
    )


def failure_lines(
    failed_steps: list[str], errors: list[str], definitions: Definitions | None
) -> tuple[list[str], str]:
    """(one line per failed step, the closing summary) for a run that did not succeed."""
    messages = _step_messages(failed_steps, errors)
    failed_sources = {
        step.removeprefix(SOURCE_STEP_PREFIX): message
        for step, message in messages.items()
        if step.startswith(SOURCE_STEP_PREFIX)
    }
    failed_models = {s: msg for s, msg in messages.items() if not s.startswith(SOURCE_STEP_PREFIX)}
    lines = [
        # Connector errors already start with their source ("ga4: …").
        message if message.startswith(f"{source}: ") else f"{source}: {message}"
        for source, message in sorted(failed_sources.items())
    ]
    lines += [f"{step} (model): {message}" for step, message in sorted(failed_models.items())]
    if not messages:  # the run failed without a failed step (e.g. it could not start)
        lines.append("the run failed before any step ran")
    used = sorted(definitions.used_sources()) if definitions else []
    loaded = [s for s in used if s not in failed_sources]
    parts = []
    if failed_sources:
        names = ", ".join(sorted(failed_sources))
        parts.append(
            f"every source failed ({names})"
            if not loaded
            else f"{len(failed_sources)} of {len(used)} sources failed ({names})"
        )
        if definitions is not None:
            affected = key_results_reading(definitions, set(failed_sources))
            if affected:
                parts.append(f"key results without fresh data: {', '.join(affected)}")
    if failed_models:
        parts.append("the models failed: no key result was recomputed")
    elif loaded and failed_sources:
        parts.append(f"loaded: {', '.join(loaded)}")
    parts.append("`--verbose` shows Dagster's events and traces")
    return lines, "; ".join(parts)
