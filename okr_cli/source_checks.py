"""`okr validate` against the sources' own metadata: a metric the source does not offer is an
error before any data is pulled.

Each API source contributes how to build its settings from the environment and its
`validate_*_metrics` function; problems come back as located definition problems.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.base import MetricRequest
from connectors.errors import SourceError
from okr_definitions.currency import currency_problems
from okr_definitions.problems import Problem
from okr_definitions.resolve import Definitions, format_loc


@dataclass(frozen=True)
class SourceCheck:
    how_to_enable: str  # which environment variables make the check possible
    settings: Callable[[Definitions], Any]  # None when the environment lacks credentials
    validate: Callable[[Any, list[MetricRequest]], list[Any]]
    # {metric id: ISO 4217 code} of the metrics that are money, as the source reports it
    currencies: Callable[[Any, list[MetricRequest]], dict[str, str]]


def _matomo() -> SourceCheck:
    from connectors.matomo import matomo_currencies, validate_matomo_metrics
    from pipelines.sources.matomo.resources import TOKEN_ENV, URL_ENV, settings_from_env

    return SourceCheck(
        f"set {URL_ENV} and {TOKEN_ENV}",
        lambda d: settings_from_env(d.sources.matomo.site_id or 1),
        validate_matomo_metrics,
        matomo_currencies,
    )


def _ga4() -> SourceCheck:
    from connectors.ga4 import validate_ga4_metrics
    from connectors.ga4.currency import ga4_currencies
    from pipelines.sources.ga4.resources import CREDENTIALS_ENV, ENDPOINT_ENV, settings_from_env

    return SourceCheck(
        f"set {CREDENTIALS_ENV} (a service-account key file), GOOGLE_APPLICATION_CREDENTIALS "
        f"or {ENDPOINT_ENV}",
        lambda d: settings_from_env(d.sources.ga4.property_id),
        validate_ga4_metrics,
        ga4_currencies,
    )


def _hubspot() -> SourceCheck:
    from connectors.hubspot import hubspot_currencies, validate_hubspot_metrics
    from connectors.hubspot.settings import TOKEN_ENV
    from pipelines.sources.hubspot.resources import settings_from_env

    return SourceCheck(
        f"set {TOKEN_ENV} (a private app's access token)",
        lambda d: settings_from_env(d.organisation.timezone),
        validate_hubspot_metrics,
        hubspot_currencies,
    )


CHECKS: dict[str, Callable[[], SourceCheck]] = {
    "ga4": _ga4,
    "hubspot": _hubspot,
    "matomo": _matomo,
}


def check_sources(definitions: Definitions) -> tuple[list[Problem], list[str]]:
    """Located problems from every API source whose credentials are set, and notes about the
    sources that could not be checked."""
    problems: list[Problem] = []
    notes: list[str] = []
    # {metric id: (currency, source)} of every money metric of a source that could be asked
    currencies: dict[str, tuple[str, str]] = {}
    for source in sorted(definitions.used_sources() & CHECKS.keys()):
        check = CHECKS[source]()
        settings = check.settings(definitions)
        if settings is None:
            notes.append(
                f"{source} metrics not checked against the source: {check.how_to_enable} "
                "to check them"
            )
            continue
        metrics = [MetricRequest(m.id, m.query) for m in definitions.source_metrics(source)]
        try:
            found = check.validate(settings, metrics)
        except SourceError as exc:
            notes.append(f"{source} metrics not checked: {exc}")
            continue
        for item in found:
            problems.append(_locate(definitions, source, item))
        try:
            money = check.currencies(settings, metrics)
        except SourceError as exc:
            notes.append(f"{source} currencies not checked: {exc}")
            continue
        currencies.update({metric_id: (code, source) for metric_id, code in money.items()})
    problems += currency_problems(definitions, currencies)
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
