"""The requests a run sends to Mixpanel, planned before any is sent (README, "Mixpanel").

- Declared events and funnels: one Raw Event Export request per *filter set* (the metrics'
  `where`), naming every event of the metrics that share it and covering every day the run
  needs (the window, the exact ranges of `count: uniques`, and a funnel's conversion window
  after the window's last day).
- Saved reports: one Query API request per report (`/insights` reads the report's own range;
  `/funnels` is asked for the window's days).

`okr validate` prints the same plan's counts and refuses definitions that cannot fit the
hourly limits (connectors/mixpanel/settings.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from connectors.base import MetricRequest, RangeRequest, request_hash
from okr_definitions.sources.mixpanel import MixpanelCondition, MixpanelQuery


def property_ref(name: str) -> str:
    """`properties["name"]`, the name JSON-escaped (quotes and backslashes cannot end it)."""
    return f"properties[{json.dumps(name)}]"


def where_expression(conditions: list[MixpanelCondition]) -> str | None:
    """Mixpanel's filter expression for the conditions (all must hold), or None.

    Built from the structured conditions only: every property name and value goes through
    `json.dumps`, so a value such as `pro" or 1 or "` stays one string literal.
    """
    parts = []
    for condition in conditions:
        ref = property_ref(condition.property_)
        literals = [json.dumps(value) for value in condition.values]
        if condition.negated:
            parts.append("(" + " and ".join(f"{ref} != {lit}" for lit in literals) + ")")
        else:
            parts.append("(" + " or ".join(f"{ref} == {lit}" for lit in literals) + ")")
    return " and ".join(parts) or None


@dataclass
class ExportRequest:
    """One Raw Event Export request: the events of every metric with the same filter set."""

    where: str | None
    events: list[str] = field(default_factory=list)
    metrics: list[MetricRequest] = field(default_factory=list)
    ranges: list[RangeRequest] = field(default_factory=list)
    from_date: date = date.max
    to_date: date = date.min

    def cover(self, first: date, last: date) -> None:
        self.from_date = min(self.from_date, first)
        self.to_date = max(self.to_date, last)

    def params(self) -> dict[str, str]:
        """The query string as sent (no credentials: they travel in the Authorization header).

        The export's days are UTC for projects created since 2023 and the project's days for
        older ones; one day more on each side covers any time zone, and the connector puts each
        event on its project-local day itself.
        """
        params = {
            "from_date": (self.from_date - timedelta(days=1)).isoformat(),
            "to_date": self.to_date.isoformat(),
            "event": json.dumps(sorted(self.events)),
        }
        if self.where:
            params["where"] = self.where
        return params

    @property
    def kept_events(self) -> list[str]:
        """The events read again after counting: funnel steps and the events of exact uniques
        ranges (parse.py keeps one row per such event, and only counts the others)."""
        names = [e for m in self.metrics if m.query.funnel is not None for e in m.query.events]
        names += [e for r in self.ranges for e in r.query.events]
        return list(dict.fromkeys(names))

    @property
    def counts_users(self) -> bool:
        """Whether a daily series of this request counts distinct users."""
        return any(m.query.funnel is None and m.query.count == "uniques" for m in self.metrics)

    @property
    def metric_ids(self) -> list[str]:
        return list(
            dict.fromkeys([m.metric_id for m in self.metrics] + [r.metric_id for r in self.ranges])
        )


@dataclass(frozen=True)
class ReportRequest:
    """One Query API request for a saved report."""

    metric: MetricRequest
    path: str  # "insights" or "funnels"
    params: tuple[tuple[str, str], ...]


@dataclass
class Plan:
    exports: list[ExportRequest]
    reports: list[ReportRequest]

    @property
    def export_requests(self) -> int:
        return len(self.exports)

    @property
    def query_requests(self) -> int:
        return len(self.reports)


def plan_requests(
    project_id: int,
    metrics: list[MetricRequest],
    ranges: list[RangeRequest],
    start: date,
    end: date,
    today: date,
) -> Plan:
    """The requests for `metrics` over [start, end] and the exact `ranges`; no day after `today`
    (the project's today: Mixpanel answers 400 for a later to_date)."""
    exports: dict[str | None, ExportRequest] = {}

    def group(query: MixpanelQuery) -> ExportRequest:
        where = where_expression(query.conditions)
        request = exports.setdefault(where, ExportRequest(where))
        for event in query.events:
            if event not in request.events:
                request.events.append(event)
        return request

    reports = []
    for metric in metrics:
        query: MixpanelQuery = metric.query
        if query.kind == "report":
            reports.append(report_request(project_id, metric, start, min(end, today)))
            continue
        request = group(query)
        request.metrics.append(metric)
        after = query.funnel.window_days if query.funnel else 0
        request.cover(start, min(end + timedelta(days=after), today))
    for wanted in ranges:
        request = group(wanted.query)
        request.ranges.append(wanted)
        request.cover(wanted.start, min(wanted.end, today))
    return Plan([e for e in exports.values() if e.from_date <= e.to_date], reports)


def report_request(project_id: int, metric: MetricRequest, start: date, end: date) -> ReportRequest:
    query: MixpanelQuery = metric.query
    if query.report_type == "insights":
        params = {"project_id": str(project_id), "bookmark_id": str(query.report)}
        return ReportRequest(metric, "insights", tuple(params.items()))
    params = {
        "project_id": str(project_id),
        "funnel_id": str(query.report),
        "from_date": start.isoformat(),
        "to_date": end.isoformat(),
        "unit": "day",
    }
    return ReportRequest(metric, "funnels", tuple(params.items()))


def hash_of(path: str, params: dict[str, str]) -> str:
    return request_hash({"path": path, "params": params})
