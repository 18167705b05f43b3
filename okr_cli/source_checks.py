"""`okr validate` against the sources' own metadata: a metric the source does not offer is an
error before any data is pulled.

Each registered source's connector (`CONNECTOR`) says how to build its settings from the
environment and how to validate metrics; problems come back as located definition problems.
"""

from __future__ import annotations

from typing import Any

from connectors.base import MetricRequest
from connectors.errors import SourceError
from okr_definitions.currency import currency_problems
from okr_definitions.problems import Problem
from okr_definitions.resolve import Definitions, format_loc
from registry.sources import source_layer


def check_sources(definitions: Definitions) -> tuple[list[Problem], list[str]]:
    """Located problems from every API source whose credentials are set, and notes about the
    sources that could not be checked."""
    problems: list[Problem] = []
    notes: list[str] = []
    # {metric id: (currency, source)} of every money metric of a source that could be asked
    currencies: dict[str, tuple[str, str]] = {}
    where_set: dict[str, str] = {}
    for source in sorted(definitions.used_sources()):
        check = source_layer(source, "connector").CONNECTOR
        metrics = [MetricRequest(m.id, m.query) for m in definitions.source_metrics(source)]
        if check.run_plan is not None:
            note, planned = check.run_plan(metrics)
            notes.append(note)
            problems += [_locate(definitions, source, item) for item in planned]
            if planned:
                continue  # a run could not fit: asking the source would not change that
        if check.validate is None or check.settings_from_env is None:
            continue
        settings = check.settings_from_env(definitions)
        if settings is None:
            notes.append(
                f"{source} metrics not checked against the source: {check.how_to_enable} "
                "to check them"
            )
            continue
        try:
            found = check.validate(settings, metrics)
        except SourceError as exc:
            notes.append(f"{source} metrics not checked: {exc}")
            continue
        for item in found:
            problems.append(_locate(definitions, source, item))
        if check.currencies is None:
            continue
        try:
            money = check.currencies(settings, metrics)
        except SourceError as exc:
            notes.append(f"{source} currencies not checked: {exc}")
            continue
        currencies.update({metric_id: (code, source) for metric_id, code in money.items()})
        where_set[source] = f"{source} {check.currency_setting}"
    problems += currency_problems(definitions, currencies, where_set)
    return problems, notes


def _locate(definitions: Definitions, source: str, item: Any) -> Problem:
    loc = definitions.metrics.get(item.metric_id) if item.metric_id else None
    if loc is None:
        first = next(iter(definitions.metrics.values()))
        return Problem(
            "error",
            first.file,
            None,
            f"sources.{source}",
            item.message,
            "check the source settings",
        )
    field = item.field or ""
    # Sources name the query key (`metric`) or its path (`query.column`); both mean the query.
    if field and not field.startswith(("query", "sources", "token")):
        field = f"query.{field}"
    parts = tuple(field.split(".")) if field else ()
    suggestions = getattr(item, "suggestions", ())
    fix = (
        f"did you mean `{suggestions[0]}`?"
        if suggestions
        else f"use a name the {source} source offers"
    )
    if "did you mean" in item.message.lower():
        fix = "use the suggested name"
    # Sources that say how to fix it (HubSpot's closest names) or that it is only a warning.
    fix = getattr(item, "fix", None) or fix
    severity = getattr(item, "severity", "error")
    return Problem(
        severity, loc.file, loc.line(*parts), format_loc(loc.path, *parts), item.message, fix
    )
