"""`okr validate` for Amplitude: every event a metric reads must be one of the project's events
(`GET /api/2/events/list`), and every property its filters name one the project knows (the
Taxonomy API, `GET /api/2/taxonomy/event-property` and `/user-property`, where the plan has it).
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from typing import Any

from connectors.amplitude.client import AmplitudeClient
from connectors.amplitude.requests import BUILT_IN_USER_PROPERTIES, property_key
from connectors.amplitude.settings import (
    EVENT_PROPERTIES_PATH,
    EVENTS_LIST_PATH,
    SOURCE,
    USER_PROPERTIES_PATH,
    AmplitudeSettings,
)
from connectors.base import MetricRequest
from connectors.errors import RetryableSourceError, SourceError
from okr_definitions.sources.amplitude import AmplitudeQuery

log = logging.getLogger(__name__)

# Amplitude's own event types, always valid (Dashboard REST API, "Event format").
SPECIAL_EVENTS = frozenset(
    {"_active", "_all", "_new", "revenue_amount", "verified_revenue", "unverified_revenue"}
)


@dataclass(frozen=True)
class AmplitudeProblem:
    """One thing wrong with a metric's query; `field` is the query key to fix."""

    metric_id: str
    field: str
    message: str
    suggestions: tuple[str, ...] = ()


def _events(payload: Any) -> dict[str, bool]:
    """{event name: deleted} from the events list answer."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise RetryableSourceError(SOURCE, f"{EVENTS_LIST_PATH}: the answer has no `data` list")
    names: dict[str, bool] = {}
    for item in data:
        if isinstance(item, dict) and isinstance(item.get("value"), str):
            names[item["value"]] = bool(item.get("deleted"))
    return names


def _names(payload: Any, key: str) -> set[str]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise RetryableSourceError(SOURCE, "taxonomy: the answer has no `data` list")
    return {item[key] for item in data if isinstance(item, dict) and isinstance(item.get(key), str)}


def _suggest(name: str, known: set[str] | dict[str, bool]) -> tuple[str, ...]:
    return tuple(difflib.get_close_matches(name, list(known), n=3, cutoff=0.6))


def _event_problems(metric: MetricRequest, events: dict[str, bool]) -> list[AmplitudeProblem]:
    query: AmplitudeQuery = metric.query
    field = "query.funnel.steps" if query.funnel else "query.event"
    problems = []
    for event in query.events:
        name = event.removeprefix("ce:")
        if event in SPECIAL_EVENTS:
            continue
        if name not in events:
            problems.append(
                AmplitudeProblem(
                    metric.metric_id,
                    field,
                    f"Amplitude project has no event {event!r}",
                    _suggest(name, events),
                )
            )
        elif events[name]:
            problems.append(
                AmplitudeProblem(
                    metric.metric_id, field, f"event {event!r} is deleted in Amplitude"
                )
            )
    return problems


def validate_amplitude_metrics(
    settings: AmplitudeSettings, metrics: list[MetricRequest]
) -> list[AmplitudeProblem]:
    """Problems of `metrics` against the project's events and properties."""
    problems: list[AmplitudeProblem] = []
    with AmplitudeClient(settings) as client:
        events = client.get(EVENTS_LIST_PATH, None, _events)
        for metric in metrics:
            problems += _event_problems(metric, events)
        user_props: set[str] | None = None
        event_props: dict[str, set[str] | None] = {}
        for metric in metrics:
            query: AmplitudeQuery = metric.query
            for condition in query.conditions:
                if condition.user:
                    if condition.property in BUILT_IN_USER_PROPERTIES:
                        continue
                    if user_props is None:
                        user_props = _taxonomy(client, USER_PROPERTIES_PATH, None, "user_property")
                    known = user_props
                    key = property_key(condition.property, True)
                    found = not known or key in known or condition.property in known
                else:
                    known = set()
                    for event in query.events:
                        if event not in event_props:
                            event_props[event] = _taxonomy(
                                client, EVENT_PROPERTIES_PATH, event, "event_property"
                            )
                        known |= event_props[event] or set()
                    found = not known or condition.property in known
                if not found:
                    kind = "user" if condition.user else "event"
                    problems.append(
                        AmplitudeProblem(
                            metric.metric_id,
                            "query.where",
                            f"Amplitude project has no {kind} property {condition.property!r}"
                            + ("" if condition.user else f" on {', '.join(query.events)}"),
                            _suggest(condition.property, known),
                        )
                    )
    return problems


def _taxonomy(client: AmplitudeClient, path: str, event: str | None, key: str) -> set[str] | None:
    """The property names the Taxonomy API knows, or None where the plan has no Taxonomy API
    (then properties are not checked: Amplitude accepts any name and filters to nothing)."""
    try:
        return client.get(path, {"event_type": event} if event else None, lambda p: _names(p, key))
    except SourceError as exc:  # 403/404 too: the events list answered, the keys are fine
        log.warning("amplitude: properties not checked (%s)", exc)
        return None
