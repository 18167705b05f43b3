"""What is asked of GA4: which metrics add up over days, which property days exist, and the
report requests that ask for a set of metrics and days.

Metrics: GA4 counts users per request (the users of a week are not the sum of the users of its
days), and its own rates (engagementRate, bounceRate, ...) are ratios. Summing either across
days gives wrong numbers, so such metrics are "non-additive": the connector asks the API for the
exact range instead (`fetch_ga4_ranges`).

Days: GA4's `date` dimension is a calendar day in the *property's* reporting time zone. GA4
cannot re-cut its days at another zone's midnight (only hourly dimensions could, and users and
rates do not add up over hours), so the mapping is by calendar date:

    organisation partition D  ←→  GA4 property day D (same YYYY-MM-DD, property's zone)

`FetchResult.daily.date` is that property day. What differs between the zones is *when* day D
is over: a Los Angeles property's 2026-11-01 has 25 hours (DST ends) and ends at
2026-11-02 08:00 UTC, i.e. 09:00 in Berlin. Until then the day is incomplete: the connector
marks it with a `provisional` flag, and the schedule's lookback re-fetches it later (GA4 also
restates recent days while it processes data).

Reports: metrics that share a property, dimensions, filter and date range go into one runReport
(up to 10 metrics); the reports of one property are then sent up to 5 at a time with
batchRunReports. Request bodies are kept in the REST JSON form (camelCase, enum names) so the
raw table shows exactly what was asked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base import request_hash
from connectors.errors import SourceError
from connectors.ga4.settings import MAX_DATE_RANGES_PER_REPORT, MAX_METRICS_PER_REPORT, SOURCE
from okr_definitions.sources.ga4 import (
    GA4And,
    GA4Filter,
    GA4Not,
    GA4Or,
    GA4Query,
    GA4StringFilter,
)

# Distinct-user counts: deduplicated over the whole request range by GA4.
USER_METRICS = frozenset(
    {
        "totalUsers",
        "activeUsers",
        "active1DayUsers",
        "active7DayUsers",
        "active28DayUsers",
        "totalPurchasers",
        "firstTimePurchasers",  # distinct users whose first purchase falls in the range
        "dauPerMau",
        "dauPerWau",
        "wauPerMau",
    }
)

# GA4's own ratios with the additive count they are "per" (API schema descriptions). Over one
# day the connector returns numerator = value × denominator so the warehouse can form a ratio
# of sums for session-based rates; user-based rates stay non-additive (users are).
RATE_DENOMINATORS: dict[str, str] = {
    "engagementRate": "sessions",
    "bounceRate": "sessions",
    "sessionKeyEventRate": "sessions",
    "averageSessionDuration": "sessions",
    "screenPageViewsPerSession": "sessions",
    "eventsPerSession": "sessions",
    "userKeyEventRate": "totalUsers",
    "screenPageViewsPerUser": "activeUsers",
    "engagedSessionsPerUser": "activeUsers",  # GA4 calls it "Engaged sessions per user"
    "eventCountPerUser": "activeUsers",
    "averagePurchaseRevenue": "totalPurchasers",
    "averagePurchaseRevenuePerUser": "totalUsers",
    "averageRevenuePerUser": "totalUsers",
    "userEngagementDurationPerUser": "activeUsers",
    "purchaserRate": "activeUsers",
    "cartToViewRate": "itemsViewed",
    "purchaseToViewRate": "itemsViewed",
}

# Per-key-event variants (`sessionKeyEventRate:purchase`) behave like their base metric.
_RATE_PREFIXES: dict[str, str] = {
    "sessionKeyEventRate:": "sessions",
    "userKeyEventRate:": "totalUsers",
}


def base_metric(name: str) -> str:
    """`sessionKeyEventRate:purchase` → `sessionKeyEventRate`; plain names unchanged."""
    for prefix in _RATE_PREFIXES:
        if name.startswith(prefix):
            return prefix[:-1]
    return name


def rate_denominator(name: str) -> str | None:
    """The count a GA4 rate metric is "per", or None for a plain count."""
    return RATE_DENOMINATORS.get(base_metric(name))


def metric_is_additive(name: str) -> bool:
    """True when daily values of this GA4 metric may be summed to get a range's value."""
    base = base_metric(name)
    return base not in USER_METRICS and base not in RATE_DENOMINATORS


def is_additive(query: GA4Query) -> bool:
    """True when the metric's daily values add up to any range's value.

    `aggregation: sum` / `range` in the query overrides the connector's knowledge (for custom
    metrics it cannot know); `auto` decides from the metric name.
    """
    if query.aggregation == "sum":
        return True
    if query.aggregation == "range":
        return False
    return metric_is_additive(query.metric)


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware (e.g. datetime.now(UTC))")
    return now


def property_today(time_zone: str, now: datetime | None = None) -> date:
    """The calendar day it is in the property's zone at `now` (default: the current time)."""
    return _aware(now).astimezone(ZoneInfo(time_zone)).date()


def last_complete_day(time_zone: str, now: datetime | None = None) -> date:
    """The latest property day that has ended at `now`."""
    return property_today(time_zone, now) - timedelta(days=1)


def day_bounds_utc(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of a property day in UTC; the end is the next day's local midnight."""
    zone = ZoneInfo(time_zone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def hours_in_day(day: date, time_zone: str) -> float:
    """23, 24 or 25 (or odd values for historic zones): the length of a property day."""
    start, end = day_bounds_utc(day, time_zone)
    return (end - start).total_seconds() / 3600


def partition_day(org_partition: date) -> date:
    """The property day an organisation partition reads: the same calendar date (see above)."""
    return org_partition


_MATCH_TYPES = {
    "exact": "EXACT",
    "begins_with": "BEGINS_WITH",
    "ends_with": "ENDS_WITH",
    "contains": "CONTAINS",
    "full_regexp": "FULL_REGEXP",
    "partial_regexp": "PARTIAL_REGEXP",
}


def dimension_filter(node: GA4Filter) -> dict[str, Any]:
    """A query filter as a GA4 `FilterExpression` (REST JSON)."""
    if isinstance(node, GA4StringFilter):
        key = node.match_key
        if key == "in_list":
            leaf: dict[str, Any] = {
                "inListFilter": {
                    "values": list(node.in_list or []),
                    "caseSensitive": node.case_sensitive,
                }
            }
        else:
            leaf = {
                "stringFilter": {
                    "matchType": _MATCH_TYPES[key],
                    "value": getattr(node, key),
                    "caseSensitive": node.case_sensitive,
                }
            }
        return {"filter": {"fieldName": node.dimension, **leaf}}
    if isinstance(node, GA4And):
        return {"andGroup": {"expressions": [dimension_filter(n) for n in node.and_]}}
    if isinstance(node, GA4Or):
        return {"orGroup": {"expressions": [dimension_filter(n) for n in node.or_]}}
    if isinstance(node, GA4Not):
        return {"notExpression": dimension_filter(node.not_)}
    raise TypeError(f"not a GA4 filter: {node!r}")


def query_property(query: GA4Query, default_property: str) -> str:
    return query.property_id or default_property


def metrics_for(query: GA4Query) -> list[str]:
    """The API metrics one query needs: the metric, plus a rate's denominator."""
    names = [query.metric]
    denominator = rate_denominator(query.metric)
    if denominator and denominator != query.metric:
        names.append(denominator)
    return names


@dataclass
class ReportSpec:
    """One runReport: its metrics, dimensions, filter and date ranges, and whom it serves."""

    property_id: str
    kind: str  # "daily" (by date) or "range" (one total per date range)
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    filter_json: dict[str, Any] | None
    date_ranges: tuple[tuple[date, date], ...]
    metric_ids: tuple[str, ...] = ()

    def body(self, offset: int, limit: int) -> dict[str, Any]:
        """The RunReportRequest as REST JSON, for one page."""
        body: dict[str, Any] = {
            "property": f"properties/{self.property_id}",
            "dateRanges": [
                {"startDate": s.isoformat(), "endDate": e.isoformat()} for s, e in self.date_ranges
            ],
            "metrics": [{"name": m} for m in self.metrics],
        }
        if self.dimensions:
            body["dimensions"] = [{"name": d} for d in self.dimensions]
            # Paging needs a stable order; GA4's default order is not documented as stable.
            body["orderBys"] = [
                {"dimension": {"dimensionName": d}, "desc": False} for d in self.dimensions
            ]
        if self.filter_json is not None:
            body["dimensionFilter"] = self.filter_json
        if offset:
            body["offset"] = str(offset)  # int64 fields are strings in proto3 JSON
        body["limit"] = str(limit)
        # Quota state with every answer, so the connector can slow down before a 429.
        body["returnPropertyQuota"] = True
        return body

    @property
    def group_key(self) -> str:
        """Reports with the same key answer the same rows (they differ only in metrics)."""
        return group_key(self.property_id, self.dimensions, self.filter_json)

    @property
    def report_hash(self) -> str:
        """Identifies the report across its pages (the body without offset/limit)."""
        body = self.body(0, 1)
        body.pop("limit", None)
        return request_hash(body)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _pack_metrics(bundles: list[list[str]]) -> list[list[str]]:
    """Pack metric bundles (a rate with its denominator) into reports of ≤ 10 distinct names.

    A bundle never splits, so a rate always arrives in the same answer as its denominator.
    """
    reports: list[list[str]] = []
    for bundle in bundles:
        for report in reports:
            merged = report + [m for m in bundle if m not in report]
            if len(merged) <= MAX_METRICS_PER_REPORT:
                report[:] = merged
                break
        else:
            reports.append(list(dict.fromkeys(bundle)))
    return reports


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def group_key(
    property_id: str, dimensions: tuple[str, ...], filter_json: dict[str, Any] | None
) -> str:
    return _canonical([property_id, list(dimensions), filter_json])


def daily_group_key(query: GA4Query, default_property: str) -> str:
    """The group a daily query's values come from (see `ReportSpec.group_key`)."""
    filt = dimension_filter(query.filter) if query.filter is not None else None
    return group_key(query_property(query, default_property), ("date", *query.dimensions), filt)


def range_group_key(query: GA4Query, default_property: str) -> str:
    filt = dimension_filter(query.filter) if query.filter is not None else None
    return group_key(query_property(query, default_property), (), filt)


@dataclass
class _Group:
    property_id: str
    dimensions: tuple[str, ...]
    filter_json: dict[str, Any] | None
    bundles: list[list[str]] = field(default_factory=list)
    metric_ids: dict[str, list[str]] = field(default_factory=dict)  # api metric -> metric ids


def plan_daily_reports(
    requests: list[tuple[str, GA4Query]], default_property: str, start: date, end: date
) -> list[ReportSpec]:
    """One report per (property, breakdown dimensions, filter) and ≤ 10 metrics, by date."""
    groups: dict[str, _Group] = {}
    for metric_id, query in requests:
        prop = query_property(query, default_property)
        filt = dimension_filter(query.filter) if query.filter is not None else None
        dims = ("date", *query.dimensions)
        key = group_key(prop, dims, filt)
        group = groups.setdefault(key, _Group(prop, dims, filt))
        names = metrics_for(query)
        if names not in group.bundles:
            group.bundles.append(names)
        group.metric_ids.setdefault(query.metric, []).append(metric_id)

    specs: list[ReportSpec] = []
    for group in groups.values():
        for metrics in _pack_metrics(group.bundles):
            served = tuple(mid for m in metrics for mid in group.metric_ids.get(m, []) if mid)
            specs.append(
                ReportSpec(
                    property_id=group.property_id,
                    kind="daily",
                    dimensions=group.dimensions,
                    metrics=tuple(metrics),
                    filter_json=group.filter_json,
                    date_ranges=((start, end),),
                    metric_ids=tuple(dict.fromkeys(served)),
                )
            )
    return specs


def plan_range_reports(
    requests: list[tuple[str, GA4Query, date, date]], default_property: str
) -> list[ReportSpec]:
    """Totals over exact windows: per (property, filter), ≤ 10 metrics × ≤ 4 date ranges each.

    A report answers every metric for every one of its ranges; pairs nobody asked for cost
    nothing extra in calls and are simply not returned.
    """
    groups: dict[str, _Group] = {}
    ranges: dict[str, list[tuple[date, date]]] = {}
    for metric_id, query, start, end in requests:
        prop = query_property(query, default_property)
        filt = dimension_filter(query.filter) if query.filter is not None else None
        key = group_key(prop, (), filt)
        group = groups.setdefault(key, _Group(prop, (), filt))
        names = metrics_for(query)
        if names not in group.bundles:
            group.bundles.append(names)
        group.metric_ids.setdefault(query.metric, []).append(metric_id)
        window = ranges.setdefault(key, [])
        if (start, end) not in window:
            window.append((start, end))

    specs: list[ReportSpec] = []
    for key, group in groups.items():
        for metrics in _pack_metrics(group.bundles):
            served = tuple(mid for m in metrics for mid in group.metric_ids.get(m, []))
            for windows in _chunks(sorted(ranges[key]), MAX_DATE_RANGES_PER_REPORT):
                specs.append(
                    ReportSpec(
                        property_id=group.property_id,
                        kind="range",
                        dimensions=(),
                        metrics=tuple(metrics),
                        filter_json=group.filter_json,
                        date_ranges=tuple(windows),
                        metric_ids=tuple(dict.fromkeys(served)),
                    )
                )
    return specs


def as_query(metric_id: str, query: Any) -> GA4Query:
    if isinstance(query, GA4Query):
        return query
    if isinstance(query, dict):
        return GA4Query.model_validate(query)
    raise SourceError(
        SOURCE, f"metric {metric_id!r}: expected a GA4 query, got {type(query).__name__}"
    )
