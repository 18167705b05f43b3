"""The Dashboard REST API requests a run needs: one per event and filter set (or funnel) for
all days of the window, as query parameters in Amplitude's wire format, with their cost.

Filters are structured in the definitions and encoded here as Amplitude's event JSON
(`{"event_type", "filters": [{subprop_type, subprop_key, subprop_op, subprop_value}],
"group_by": [{type, value}]}`) by `json.dumps`, so a quote or a `&` in a value stays a value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any, Literal

from connectors.amplitude.settings import (
    FUNNEL_STEP_COST,
    FUNNELS_PATH,
    GROUP_BY_COST,
    GROUP_LIMIT,
    MAX_DAYS_PER_REQUEST,
    SEGMENTATION_EVENT_COST,
    SEGMENTATION_PATH,
)
from connectors.base import request_hash
from okr_definitions.sources.amplitude import OPERATORS, AmplitudeQuery, AmplitudeWhere

# Amplitude's own user properties go by their name; custom user properties need `gp:`
# (Dashboard REST API, "Shared query parameters").
BUILT_IN_USER_PROPERTIES = frozenset(
    {
        "version",
        "country",
        "city",
        "region",
        "DMA",
        "language",
        "platform",
        "os",
        "device",
        "device_type",
        "start_version",
        "paying",
    }
)

Kind = Literal["segmentation", "funnel"]


def property_key(name: str, user: bool) -> str:
    """The `subprop_key` / group-by `value` Amplitude expects for a property name."""
    if user and name not in BUILT_IN_USER_PROPERTIES and not name.startswith("gp:"):
        return f"gp:{name}"
    return name


def _filter(condition: AmplitudeWhere) -> dict[str, Any]:
    return {
        "subprop_type": "user" if condition.user else "event",
        "subprop_key": property_key(condition.property, condition.user),
        "subprop_op": OPERATORS[condition.operator],
        "subprop_value": condition.values,
    }


def event_json(event: str, query: AmplitudeQuery) -> dict[str, Any]:
    """One `e` parameter: the event with the query's filters and group-by."""
    event_def: dict[str, Any] = {"event_type": event}
    if query.conditions:
        event_def["filters"] = [_filter(c) for c in query.conditions]
    if query.count == "sums" and query.funnel is None:
        # Property metrics name their property as the event's group-by (`m`, "Event
        # segmentation": "you must include a valid group by value in parameter e").
        event_def["group_by"] = [{"type": "event", "value": query.property}]
    elif query.group_by:
        group = query.group_by
        event_def["group_by"] = [
            {
                "type": "user" if group.user else "event",
                "value": property_key(group.property, group.user),
            }
        ]
    return event_def


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


@dataclass(frozen=True)
class AmplitudeRequest:
    """One GET to the Dashboard REST API (no credentials: they go in the Authorization header).

    `params` keeps order and repeats (a funnel has one `e` per step); `metric_ids` are the
    metrics its answer serves; `collapsed` asks for one exact range (uniques over a window).
    """

    kind: Kind
    params: tuple[tuple[str, str], ...]
    start: date
    end: date
    cost: int
    metric_ids: tuple[str, ...]
    collapsed: bool = False

    @property
    def path(self) -> str:
        return SEGMENTATION_PATH if self.kind == "segmentation" else FUNNELS_PATH

    @cached_property
    def hash(self) -> str:
        return request_hash({"path": self.path, "params": [list(p) for p in self.params]})


def _group_bys(query: AmplitudeQuery) -> int:
    return 1 if (query.group_by or query.count == "sums") and query.funnel is None else 0


def request_cost(query: AmplitudeQuery, days: int) -> int:
    """Amplitude's cost of one request: days × conditions (1: no segments) × the chart's cost
    (Dashboard REST API, "Endpoint costs"); event filters do not count as conditions."""
    if query.funnel:
        per_day = FUNNEL_STEP_COST * len(query.funnel.steps)
    else:
        per_day = SEGMENTATION_EVENT_COST + GROUP_BY_COST * _group_bys(query)
    return days * per_day


def _chunks(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] in pieces of at most a year of days (the daily series' limit)."""
    pieces = []
    first = start
    while first <= end:
        last = min(end, first + timedelta(days=MAX_DAYS_PER_REQUEST - 1))
        pieces.append((first, last))
        first = last + timedelta(days=1)
    return pieces


def query_key(query: AmplitudeQuery) -> str:
    """Metrics with the same key are answered by one request (the same event and filter set);
    a group-by value is picked from the answer, so it is not part of the key."""
    payload = query.model_dump(mode="json", by_alias=True, exclude_none=True)
    if query.group_by:
        payload["group_by"] = {k: v for k, v in payload["group_by"].items() if k != "value"}
    return json.dumps(payload, sort_keys=True)


def _params(query: AmplitudeQuery, start: date, end: date) -> list[tuple[str, str]]:
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    if query.funnel:
        params = [
            ("e", json.dumps(event_json(step, query), **compact)) for step in query.funnel.steps
        ]
        params += [
            ("start", _day(start)),
            ("end", _day(end)),
            ("mode", "ordered"),
            ("n", "active"),
            ("i", "1"),
            ("cs", str(query.funnel.window_days * 86_400)),
        ]
        return params
    params = [
        ("e", json.dumps(event_json(query.event or "", query), **compact)),
        ("m", query.count),
        ("start", _day(start)),
        ("end", _day(end)),
        ("i", "1"),
    ]
    if query.group_by:
        params.append(("limit", str(GROUP_LIMIT)))
    return params


def daily_requests(
    metrics: list[tuple[str, AmplitudeQuery]], start: date, end: date
) -> list[AmplitudeRequest]:
    """One request per distinct event and filter set (or funnel) for all days of the window
    (split only past a year of days)."""
    by_key: dict[str, list[tuple[str, AmplitudeQuery]]] = {}
    for metric_id, query in metrics:
        by_key.setdefault(query_key(query), []).append((metric_id, query))
    requests = []
    for group in by_key.values():
        query = group[0][1]
        for first, last in _chunks(start, end):
            requests.append(
                AmplitudeRequest(
                    kind="funnel" if query.funnel else "segmentation",
                    params=tuple(_params(query, first, last)),
                    start=first,
                    end=last,
                    cost=request_cost(query, (last - first).days + 1),
                    metric_ids=tuple(m for m, _ in group),
                )
            )
    return requests


def range_request(
    metric_id: str, query: AmplitudeQuery, start: date, end: date
) -> AmplitudeRequest:
    """Uniques over exactly [start, end]: the segmentation of that range, whose
    `seriesCollapsed` is the number of distinct users over the whole interval."""
    return AmplitudeRequest(
        kind="segmentation",
        params=tuple(_params(query, start, end)),
        start=start,
        end=end,
        cost=request_cost(query, (end - start).days + 1),
        metric_ids=(metric_id,),
        collapsed=True,
    )
