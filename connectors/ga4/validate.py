"""Check metric and dimension names against the property's getMetadata, before any data is pulled.

getMetadata lists the property's metrics and dimensions, including its custom definitions
and one `keyEvents:<event>` metric per key event, so `keyEvents:purchase` is valid exactly when
`purchase` is a key event of that property. It does not return the property's time zone:
`property_timezone` reads that from a report answer (`metadata.timeZone`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import Metadata

from connectors.base import MetricRequest
from connectors.errors import SourceError
from connectors.ga4.client import Ga4Api, make_client
from connectors.ga4.requests import is_additive
from connectors.ga4.settings import SOURCE, GA4Settings
from okr_definitions.sources.ga4 import GA4Query, filter_dimensions

# difflib ratio above which a name counts as "close"; 0.6 is difflib's own default and finds
# pageViews → screenPageViews, sesions → sessions.
SUGGESTION_CUTOFF = 0.6
MAX_SUGGESTIONS = 3


@dataclass(frozen=True)
class Ga4Problem:
    """One thing wrong with a metric's GA4 query; `field` is the query key to fix."""

    metric_id: str
    field: str
    message: str
    suggestions: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.metric_id}: {self.field}: {self.message}"


@dataclass(frozen=True)
class PropertyCatalog:
    """The metric and dimension API names one property accepts."""

    metrics: frozenset[str]
    dimensions: frozenset[str]

    @classmethod
    def from_metadata(cls, metadata: Metadata) -> PropertyCatalog:
        return cls(
            metrics=frozenset(m.api_name for m in metadata.metrics),
            dimensions=frozenset(d.api_name for d in metadata.dimensions),
        )


def suggest(name: str, candidates: frozenset[str]) -> tuple[str, ...]:
    """Close valid names: exact case-insensitive matches first, then difflib's nearest."""
    by_case = [c for c in candidates if c.lower() == name.lower()]
    if by_case:
        return tuple(sorted(by_case))
    return tuple(
        difflib.get_close_matches(name, sorted(candidates), MAX_SUGGESTIONS, SUGGESTION_CUTOFF)
    )


def _did_you_mean(suggestions: tuple[str, ...]) -> str:
    if not suggestions:
        return ""
    return " Did you mean " + " or ".join(f"`{s}`" for s in suggestions) + "?"


def check_query(
    metric_id: str, query: GA4Query, catalog: PropertyCatalog, property_id: str
) -> list[Ga4Problem]:
    """Problems of one query against one property's catalog (no API call)."""
    problems: list[Ga4Problem] = []
    if query.metric not in catalog.metrics:
        if query.metric in catalog.dimensions:
            message = f"`{query.metric}` is a GA4 dimension, not a metric."
            hints: tuple[str, ...] = ()
        elif query.metric.startswith(("keyEvents:", "sessionKeyEventRate:", "userKeyEventRate:")):
            event = query.metric.split(":", 1)[1]
            prefix = query.metric.split(":", 1)[0] + ":"
            known = frozenset(m for m in catalog.metrics if m.startswith(prefix))
            hints = suggest(query.metric, known)
            listed = ", ".join(sorted(known)) or "none"
            message = (
                f"`{event}` is not a key event of property {property_id} (its key-event "
                f"metrics: {listed}). Mark the event as a key event in GA4 Admin → Events, or "
                "fix the name."
            )
        else:
            hints = suggest(query.metric, catalog.metrics)
            message = f"`{query.metric}` is not a metric of GA4 property {property_id}."
        problems.append(Ga4Problem(metric_id, "metric", message + _did_you_mean(hints), hints))

    for where, names in (
        ("filter.dimension", filter_dimensions(query.filter)),
        ("dimensions", query.dimensions),
    ):
        for name in names:
            if name in catalog.dimensions:
                continue
            if name in catalog.metrics:
                message = f"`{name}` is a metric; {where} takes dimensions."
                hints = ()
            else:
                hints = suggest(name, catalog.dimensions)
                message = f"`{name}` is not a dimension of GA4 property {property_id}."
            problems.append(Ga4Problem(metric_id, where, message + _did_you_mean(hints), hints))

    if query.dimensions and not is_additive(query):
        problems.append(
            Ga4Problem(
                metric_id,
                "dimensions",
                f"`{query.metric}` does not add up across rows (users and GA4's rates are "
                "counted per request), so it cannot have breakdown dimensions; use a filter.",
            )
        )
    return problems


def validate_ga4_metrics(
    settings: GA4Settings,
    queries: list[MetricRequest],
    *,
    client: BetaAnalyticsDataClient | None = None,
) -> list[Ga4Problem]:
    """Every problem of these metrics' GA4 queries, checked against getMetadata (one call per
    property). An unreachable API raises (SourceError/AuthError) rather than reporting the
    metrics as wrong."""
    api = Ga4Api(settings, client or make_client(settings))
    catalogs: dict[str, PropertyCatalog] = {}
    problems: list[Ga4Problem] = []
    for request in queries:
        query = request.query
        if not isinstance(query, GA4Query):
            query = GA4Query.model_validate(query)
        prop = query.property_id or settings.property_id
        if prop not in catalogs:
            catalogs[prop] = PropertyCatalog.from_metadata(api.get_metadata(prop))
        problems.extend(check_query(request.metric_id, query, catalogs[prop], prop))
    return problems


def property_timezone(
    settings: GA4Settings,
    *,
    property_id: str | None = None,
    client: BetaAnalyticsDataClient | None = None,
) -> str:
    """The property's reporting time zone: `settings.timezone` when set, else asked from GA4.

    getMetadata does not carry it; the smallest report (one metric, today, one row) does, in
    `metadata.timeZone` (costs one request and about one quota token).
    """
    prop = property_id or settings.property_id
    if settings.timezone and prop == settings.property_id:
        return settings.timezone
    api = Ga4Api(settings, client or make_client(settings))
    body: dict[str, Any] = {
        "property": f"properties/{prop}",
        # Relative dates are the property's own days, so no zone is needed to ask.
        "dateRanges": [{"startDate": "yesterday", "endDate": "today"}],
        "metrics": [{"name": "activeUsers"}],
        "limit": "1",
    }
    answer = api.run_reports(prop, [body])[0]
    zone = answer.time_zone
    if not zone:
        raise SourceError(SOURCE, f"GA4 did not say property {prop}'s time zone")
    return zone
