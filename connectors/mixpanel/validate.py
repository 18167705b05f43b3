"""`okr validate` for Mixpanel: the run's request plan against the hourly limits (always), and
with credentials the event names and filter properties against the project's own lists."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

from connectors.base import MetricRequest
from connectors.mixpanel.requests import plan_requests
from connectors.mixpanel.settings import (
    EXPORT_REQUESTS_PER_HOUR,
    QUERY_REQUESTS_PER_HOUR,
    MixpanelSettings,
)
from okr_definitions.sources.mixpanel import MixpanelQuery

# `/events/names` lists the project's events of the last 31 days; this many at most.
EVENT_NAMES_LIMIT = 10_000


@dataclass(frozen=True)
class MixpanelProblem:
    metric_id: str | None
    field: str
    message: str
    suggestions: tuple[str, ...] = ()
    fix: str | None = None


def request_counts(metrics: list[MetricRequest]) -> tuple[int, int]:
    """(Raw Event Export requests, Query API requests) one run of these metrics sends, whatever
    its window (all days go into each request)."""
    day = date(2000, 1, 1)
    plan = plan_requests(1, metrics, [], day, day, day)
    return plan.export_requests, plan.query_requests


def plan_problems(metrics: list[MetricRequest]) -> tuple[str, list[MixpanelProblem]]:
    """A note with the run's request counts, and a problem when they cannot fit the hourly
    limits (settings.py)."""
    exports, queries = request_counts(metrics)
    note = (
        f"mixpanel: a run sends {exports} Raw Event Export request(s) (limit "
        f"{EXPORT_REQUESTS_PER_HOUR}/hour) and {queries} Query API request(s) (limit "
        f"{QUERY_REQUESTS_PER_HOUR}/hour)"
    )
    problems = []
    if exports > EXPORT_REQUESTS_PER_HOUR:
        problems.append(
            MixpanelProblem(
                None,
                "sources.mixpanel",
                f"the Mixpanel metrics need {exports} export requests per run (one per "
                f"distinct `where`); the project allows {EXPORT_REQUESTS_PER_HOUR} an hour",
                fix="share `where` conditions between metrics or use saved reports",
            )
        )
    if queries > QUERY_REQUESTS_PER_HOUR:
        problems.append(
            MixpanelProblem(
                None,
                "sources.mixpanel",
                f"the Mixpanel metrics read {queries} saved reports per run; the Query API "
                f"allows {QUERY_REQUESTS_PER_HOUR} queries an hour per project",
                fix="read fewer saved reports, or declare events (`event:`) instead",
            )
        )
    return note, problems


def _close(name: str, known: list[str]) -> tuple[str, ...]:
    return tuple(difflib.get_close_matches(name, known, n=3))


def validate_mixpanel_metrics(
    settings: MixpanelSettings, metrics: list[MetricRequest]
) -> list[MixpanelProblem]:
    """Event names (and the properties of `where`) the project does not know, plus the plan's
    limits. Event names come from `/events/names` (events seen in the last 31 days)."""
    problems: list[MixpanelProblem] = []
    declared = [m for m in metrics if isinstance(m.query, MixpanelQuery) and m.query.events]
    if not declared:
        return problems
    # imported when the check runs: `okr validate` without credentials only plans (plan_problems)
    from connectors.mixpanel.client import get_json, make_client

    base = {"project_id": str(settings.project_id)}
    with make_client(settings) as client:
        names = get_json(
            client,
            f"{settings.query_base}/events/names",
            {**base, "type": "general", "limit": str(EVENT_NAMES_LIMIT)},
            "event names",
        )
        known = [str(n) for n in names] if isinstance(names, list) else []
        properties: dict[str, list[str]] = {}
        for metric in declared:
            query: MixpanelQuery = metric.query
            field = "event" if query.event else "funnel.steps"
            for event in query.events:
                if event not in known:
                    close = _close(event, known)
                    problems.append(
                        MixpanelProblem(
                            metric.metric_id,
                            field,
                            f"event {event!r} is not among the project's events of the last "
                            "31 days" + (f"; did you mean {close[0]!r}?" if close else ""),
                            close,
                        )
                    )
                    continue
                if not query.conditions:
                    continue
                if event not in properties:
                    top = get_json(
                        client,
                        f"{settings.query_base}/events/properties/top",
                        {**base, "event": event, "limit": "1000"},
                        f"properties of {event!r}",
                    )
                    properties[event] = list(top) if isinstance(top, dict) else []
                for condition in query.conditions:
                    if condition.property_ not in properties[event]:
                        close = _close(condition.property_, properties[event])
                        problems.append(
                            MixpanelProblem(
                                metric.metric_id,
                                "where",
                                f"event {event!r} has no property {condition.property_!r}"
                                + (f"; did you mean {close[0]!r}?" if close else ""),
                                close,
                            )
                        )
    return problems
