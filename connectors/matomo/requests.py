"""What is asked of Matomo: the report catalogue (which report and column a metric reads, and how
its days add up), the bulk sub-requests, and each metric's plan of sub-requests.

A metric becomes one sub-request (`urls[i]` of `API.getBulkRequest`) asking `period=day&date=
START,END`, plus an auxiliary one when its denominator lives in another report. Rates are never
taken from Matomo's rounded per-day percentages: they are asked as numerator and denominator.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from connectors.base import (
    MetricRequest,
    RangeRequest,
    request_hash,
)
from connectors.errors import SourceError
from connectors.matomo.settings import (
    ALL_ROWS,
    SOURCE,
    MatomoSettings,
)
from okr_definitions.sources.matomo import MatomoQuery

# --- the report catalogue ----------------------------------------------------------------------

Kind = Literal["sum", "nonadditive", "ratio", "weighted", "page_load"]


@dataclass(frozen=True)
class ColumnSpec:
    """How one report column becomes a day value.

    sum          additive count, summed over days by the warehouse.
    nonadditive  distinct counts / maxima; valid per day, ask `fetch_matomo_ranges` for windows.
    ratio        numerator / denominator, both additive; the denominator may come from another
                 report of the same segment (`denominator_method`).
    weighted     an average Matomo only returns pre-divided; weighted by hits from
                 `denominator_method` so that numerator = total time, denominator = hits.
    page_load    a page row's load time: sum of its component averages, weighted by its hits.
    """

    kind: Kind
    numerator: str | None = None
    denominator: str | None = None
    denominator_method: str | None = None
    # Goals.get without idGoal: Matomo's overall rate counts visits with any conversion.
    numerator_without_goal: str | None = None


@dataclass(frozen=True)
class CatalogueReport:
    method: str
    # None: one object per day. "page": rows picked by `page_url`. "label": by `label`.
    rows: Literal["page", "label"] | None
    columns: dict[str, ColumnSpec]
    takes_goal: bool = False


_SUM = ColumnSpec("sum")
_NONADD = ColumnSpec("nonadditive")


def _ratio(num: str, den: str, den_method: str | None = None) -> ColumnSpec:
    return ColumnSpec("ratio", numerator=num, denominator=den, denominator_method=den_method)


_VISIT_COLUMNS: dict[str, ColumnSpec] = {
    "nb_visits": _SUM,
    "nb_actions": _SUM,
    "nb_visits_converted": _SUM,
    "bounce_count": _SUM,
    "sum_visit_length": _SUM,
    "nb_uniq_visitors": _NONADD,
    "nb_users": _NONADD,
    "max_actions": _NONADD,
    "bounce_rate": _ratio("bounce_count", "nb_visits"),
    "nb_actions_per_visit": _ratio("nb_actions", "nb_visits"),
    "avg_time_on_site": _ratio("sum_visit_length", "nb_visits"),
}

# PagePerformance.get's components, in Matomo's order; a page row carries sum_time_<c> and
# nb_hits_with_time_<c> for each.
PERF_COMPONENTS = (
    "network",
    "server",
    "transfer",
    "dom_processing",
    "dom_completion",
    "on_load",
)

REPORTS: dict[str, CatalogueReport] = {
    "VisitsSummary.get": CatalogueReport("VisitsSummary.get", None, dict(_VISIT_COLUMNS)),
    "Goals.get": CatalogueReport(
        "Goals.get",
        None,
        {
            "nb_conversions": _SUM,
            "nb_visits_converted": _SUM,
            "revenue": _SUM,
            # Matomo: a goal's conversion_rate = its nb_conversions / nb_visits; Goals.get does
            # not return nb_visits, so the denominator comes from VisitsSummary.get.
            "conversion_rate": ColumnSpec(
                "ratio",
                numerator="nb_conversions",
                denominator="nb_visits",
                denominator_method="VisitsSummary.get",
                numerator_without_goal="nb_visits_converted",
            ),
        },
        takes_goal=True,
    ),
    "Actions.get": CatalogueReport(
        "Actions.get",
        None,
        {
            "nb_pageviews": _SUM,
            "nb_uniq_pageviews": _SUM,
            "nb_downloads": _SUM,
            "nb_outlinks": _SUM,
            "nb_searches": _SUM,
        },
    ),
    # PagePerformance.get returns averages only (its totals are deleted before rendering), so
    # each day's average is weighted by the pageviews of the same segment from Actions.get:
    # numerator = average x pageviews = total load time, denominator = pageviews.
    "PagePerformance.get": CatalogueReport(
        "PagePerformance.get",
        None,
        {
            f"avg_{name}": ColumnSpec(
                "weighted", denominator="nb_pageviews", denominator_method="Actions.get"
            )
            for name in [f"time_{c}" for c in PERF_COMPONENTS] + ["page_load_time"]
        },
    ),
    "Actions.getPageUrls": CatalogueReport(
        "Actions.getPageUrls",
        "page",
        {
            "nb_hits": _SUM,
            "nb_visits": _SUM,
            "sum_time_spent": _SUM,
            "entry_nb_visits": _SUM,
            "entry_nb_actions": _SUM,
            "entry_sum_visit_length": _SUM,
            "entry_bounce_count": _SUM,
            "exit_nb_visits": _SUM,
            "nb_uniq_visitors": _NONADD,
            "bounce_rate": _ratio("entry_bounce_count", "entry_nb_visits"),
            "exit_rate": _ratio("exit_nb_visits", "nb_visits"),
            **{
                f"avg_time_{c}": _ratio(f"sum_time_{c}", f"nb_hits_with_time_{c}")
                for c in PERF_COMPONENTS
            },
            "avg_page_load_time": ColumnSpec("page_load", denominator="nb_hits"),
        },
    ),
    "Referrers.getReferrerType": CatalogueReport(
        "Referrers.getReferrerType",
        "label",
        {
            **_VISIT_COLUMNS,
            "nb_conversions": _SUM,
            "revenue": _SUM,
            "conversion_rate": _ratio("nb_visits_converted", "nb_visits"),
        },
    ),
}

# Matomo's referrer type codes (as used in the referrerType segment) and their row labels.
REFERRER_TYPES = {
    "direct": "Direct Entry",
    "search": "Search Engines",
    "website": "Websites",
    "campaign": "Campaigns",
    "social": "Social Networks",
}


# Columns that are amounts of money, in the site's currency (SitesManager's `currency`).
MONEY_COLUMNS = frozenset({"revenue"})


def suggest_report(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.5)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def report_spec(method: str) -> CatalogueReport:
    spec = REPORTS.get(method)
    if spec is None:
        raise SourceError(
            SOURCE,
            f"report {method!r} is not supported.{suggest_report(method, REPORTS)} "
            f"Supported reports: {', '.join(REPORTS)}.",
        )
    return spec


def column_spec(report: CatalogueReport, column: str) -> ColumnSpec:
    spec = report.columns.get(column)
    if spec is None:
        raise SourceError(
            SOURCE,
            f"column {column!r} is not supported for {report.method}."
            f"{suggest_report(column, report.columns)} Columns: {', '.join(report.columns)}.",
        )
    return spec


def is_additive(query: MatomoQuery) -> bool:
    """True when daily values (or daily numerators and denominators) may be summed over days.

    False for distinct counts and maxima (nb_uniq_visitors, nb_users, max_actions): a window's
    value must come from `fetch_matomo_ranges`, never from adding days up.
    """
    report = report_spec(query.method)
    return column_spec(report, query.column).kind != "nonadditive"


# --- sub-requests and the bulk client ----------------------------------------------------------


@dataclass(frozen=True)
class SubRequest:
    """One `urls[i]` of a bulk request. Never carries a credential."""

    site_id: int
    method: str
    params: tuple[tuple[str, str], ...]  # everything but `method`, sorted

    @classmethod
    def make(cls, site_id: int, method: str, **params: str | int | None) -> SubRequest:
        clean = {k: str(v) for k, v in params.items() if v is not None}
        clean["idSite"] = str(site_id)
        return cls(site_id, method, tuple(sorted(clean.items())))

    # Cached: a year of days per sub-request reuses them in every raw row.
    @functools.cached_property
    def query_string(self) -> str:
        # quote_via=quote keeps spaces as %20: Matomo decodes either, this is what PHP emits.
        return urlencode([("method", self.method), *self.params], quote_via=quote)

    @functools.cached_property
    def params_json(self) -> str:
        return json.dumps({"method": self.method, **dict(self.params)}, sort_keys=True)

    @functools.cached_property
    def hash(self) -> str:
        return request_hash({"method": self.method, **dict(self.params)})

    def describe(self) -> str:
        shown = {k: v for k, v in self.params if k in ("idSite", "idGoal", "segment", "period")}
        return f"{self.method} ({', '.join(f'{k}={v}' for k, v in shown.items())})"


def site_sub(site_id: int) -> SubRequest:
    return SubRequest.make(site_id, "SitesManager.getSiteFromId")


# --- metric plans ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricPlan:
    metric_id: str
    query: MatomoQuery
    site_id: int
    report: CatalogueReport
    column: ColumnSpec
    main: SubRequest
    aux: SubRequest | None


def segment_for(query: MatomoQuery, report: CatalogueReport) -> str | None:
    parts = [query.segment] if query.segment else []
    if query.page_url and report.rows != "page":
        # Segment values are URL-encoded inside the definition (Matomo's segment syntax).
        parts.append("pageUrl==" + quote(query.page_url, safe=""))
    return ";".join(parts) or None


def column_problem(report: CatalogueReport, column: str, offered: set[str] | None = None) -> str:
    if offered is not None and column in offered:
        return (
            f"Matomo offers {report.method} {column!r}, but okr-sync cannot add it up over "
            f"days; pick one of: {', '.join(report.columns)}."
        )
    hint = suggest_report(column, report.columns)
    return (
        f"column {column!r} is not known for {report.method}.{hint}"
        f" Columns: {', '.join(report.columns)}."
    )


def query_problems(query: MatomoQuery, check_column: bool = True) -> list[tuple[str, str]]:
    """(field, message) for queries the connector cannot answer, before asking Matomo."""
    if query.method not in REPORTS:
        return [
            (
                "method",
                f"report {query.method!r} is not supported."
                f"{suggest_report(query.method, REPORTS)} Supported: {', '.join(REPORTS)}.",
            )
        ]
    report = REPORTS[query.method]
    problems: list[tuple[str, str]] = []
    if check_column and query.column not in report.columns:
        problems.append(("column", column_problem(report, query.column)))
    if query.id_goal is not None and not report.takes_goal:
        problems.append(("id_goal", f"id_goal only applies to Goals.get, not {report.method}"))
    if report.rows == "page" and not query.page_url:
        problems.append(("page_url", f"{report.method} needs page_url: the page whose row to read"))
    if report.rows == "label" and not query.label:
        problems.append(
            (
                "label",
                f"{report.method} needs label: the row to read, one of "
                f"{', '.join(REFERRER_TYPES)} (or its label, e.g. 'Search Engines')",
            )
        )
    if query.label and report.rows != "label":
        problems.append(("label", f"label only applies to row reports, not {report.method}"))
    return problems


def plan_metric(
    request: MetricRequest | RangeRequest, settings: MatomoSettings, period: str, dates: str
) -> MetricPlan:
    query = request.query
    if isinstance(query, dict):
        query = MatomoQuery.model_validate(query)
    if not isinstance(query, MatomoQuery):
        raise SourceError(
            SOURCE,
            f"metric {request.metric_id}: expected a MatomoQuery, got {type(query).__name__}",
        )
    problems = query_problems(query)
    if problems:
        raise SourceError(
            SOURCE,
            f"metric {request.metric_id}: "
            + "; ".join(f"query.{name}: {msg}" for name, msg in problems),
        )
    report = REPORTS[query.method]
    column = report.columns[query.column]
    site_id = query.site_id or settings.site_id
    segment = segment_for(query, report)
    extra: dict[str, str | None] = {"segment": segment}
    if report.takes_goal and query.id_goal is not None:
        extra["idGoal"] = str(query.id_goal)
    if report.rows is not None:
        extra.update(flat="1", filter_limit=ALL_ROWS)
    main = SubRequest.make(site_id, report.method, period=period, date=dates, **extra)
    aux = None
    if column.denominator_method:
        aux = SubRequest.make(
            site_id, column.denominator_method, period=period, date=dates, segment=segment
        )
    return MetricPlan(request.metric_id, query, site_id, report, column, main, aux)


def unique(subs: Iterable[SubRequest]) -> list[SubRequest]:
    return list(dict.fromkeys(subs))
