"""`okr validate` for Matomo: every metric's report, column, segment and site checked against the
instance's own metadata (API.getReportMetadata, API.getSegmentsMetadata), before any pull."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.base import MetricRequest
from connectors.errors import AuthError, SourceError
from connectors.matomo.client import MatomoClient
from connectors.matomo.requests import (
    REPORTS,
    SubRequest,
    column_problem,
    query_problems,
    site_sub,
    suggest_report,
)
from connectors.matomo.settings import MatomoSettings
from okr_definitions.sources.matomo import MatomoQuery


@dataclass(frozen=True)
class MatomoProblem:
    """Something `okr validate` must report. `metric_id` None: a problem of the source itself.

    `field` is the query key at fault (`query.column`, `query.site_id`, ...) or a settings key.
    """

    metric_id: str | None
    field: str
    message: str


@dataclass
class _SiteMetadata:
    exists: bool = True
    error: str = ""
    reports: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    segments: set[str] = field(default_factory=set)


_SEGMENT_NAME = re.compile(r"^([A-Za-z0-9_.]+?)(==|!=|<=|>=|=@|!@|=\^|=\$|<|>)")


def _segment_names(segment: str) -> list[str]:
    names = []
    for condition in re.split(r"[;,]", segment):
        match = _SEGMENT_NAME.match(condition.strip())
        names.append(match.group(1) if match else condition.strip())
    return names


def _metadata_columns(rows: list[dict[str, Any]]) -> set[str]:
    columns: set[str] = set()
    for row in rows:
        for key in ("metrics", "processedMetrics", "metricsGoal", "processedMetricsGoal"):
            value = row.get(key)
            if isinstance(value, dict):
                columns.update(value)
    return columns


def validate_matomo_metrics(
    settings: MatomoSettings,
    metrics: Sequence[MetricRequest],
    *,
    http: httpx.Client | None = None,
) -> list[MatomoProblem]:
    """Check that each metric's site exists and its report, column, goal and segment names
    are known to the instance (`API.getReportMetadata`, `API.getSegmentsMetadata`), with
    closest-name suggestions. One bulk request per site. A refused token is one problem;
    an unreachable instance raises.
    """
    problems: list[MatomoProblem] = []
    checked: list[tuple[MetricRequest, MatomoQuery, int]] = []
    for metric in metrics:
        query = metric.query
        if isinstance(query, dict):
            query = MatomoQuery.model_validate(query)
        # The column is checked once Matomo's metadata is known, to say why it is refused.
        local = query_problems(query, check_column=False)
        problems.extend(MatomoProblem(metric.metric_id, f"query.{f}", m) for f, m in local)
        checked.append((metric, query, query.site_id or settings.site_id))
    if not checked:
        return problems

    site_ids = sorted({site for _, _, site in checked})
    subs: list[SubRequest] = []
    for site in site_ids:
        subs += [
            site_sub(site),
            SubRequest.make(
                site,
                "API.getReportMetadata",
                idSites=site,
                period="day",
                date="yesterday",
                hideMetricsDoc="1",
            ),
            SubRequest.make(site, "API.getSegmentsMetadata", idSites=site),
        ]
    metadata: dict[int, _SiteMetadata] = {}
    with MatomoClient(settings, http) as client:
        try:
            # A bulk answer fails as a whole on its first error; one bulk per site keeps a
            # missing site from hiding the problems of the others.
            for site in site_ids:
                site_subs = [s for s in subs if s.site_id == site]
                try:
                    answers = client.bulk(site_subs)
                except AuthError:
                    raise
                except SourceError as exc:
                    metadata[site] = _SiteMetadata(exists=False, error=str(exc))
                    continue
                meta = _SiteMetadata()
                for report in answers[1].payload or []:
                    key = f"{report.get('module')}.{report.get('action')}"
                    meta.reports.setdefault(key, []).append(report)
                meta.segments = {
                    s["segment"]
                    for s in answers[2].payload or []
                    if isinstance(s, dict) and "segment" in s
                }
                metadata[site] = meta
        except AuthError as exc:
            problems.append(MatomoProblem(None, "token", str(exc)))
            return problems

    for metric, query, site in checked:
        meta = metadata[site]
        site_field = "query.site_id" if query.site_id else "sources.matomo.site_id"
        report = REPORTS.get(query.method)
        if not meta.exists:
            problems.append(MatomoProblem(metric.metric_id, site_field, meta.error))
            if report and query.column not in report.columns:
                problems.append(
                    MatomoProblem(
                        metric.metric_id, "query.column", column_problem(report, query.column)
                    )
                )
            continue
        problems.extend(_remote_problems(metric.metric_id, query, meta, settings))
    return problems


def _remote_problems(
    metric_id: str, query: MatomoQuery, meta: _SiteMetadata, settings: MatomoSettings
) -> list[MatomoProblem]:
    problems: list[MatomoProblem] = []
    if query.method in REPORTS:
        rows = meta.reports.get(query.method)
        if rows is None:
            problems.append(
                MatomoProblem(
                    metric_id,
                    "query.method",
                    f"{settings.base_url} does not offer {query.method} (is its plugin active?)."
                    f"{suggest_report(query.method, meta.reports)}",
                )
            )
        else:
            report = REPORTS[query.method]
            if query.column not in report.columns:
                problems.append(
                    MatomoProblem(
                        metric_id,
                        "query.column",
                        column_problem(report, query.column, _metadata_columns(rows)),
                    )
                )
            if report.takes_goal and query.id_goal is not None:
                goals = {
                    str((r.get("parameters") or {}).get("idGoal")): r.get("name", "")
                    for r in rows
                    if (r.get("parameters") or {}).get("idGoal") is not None
                }
                if str(query.id_goal) not in goals:
                    known = ", ".join(f"{k} ({v})" for k, v in sorted(goals.items())) or "none"
                    problems.append(
                        MatomoProblem(
                            metric_id,
                            "query.id_goal",
                            f"site has no goal {query.id_goal}; its goals: {known}",
                        )
                    )
    if query.segment and meta.segments:
        for name in _segment_names(query.segment):
            if name not in meta.segments:
                problems.append(
                    MatomoProblem(
                        metric_id,
                        "query.segment",
                        f"segment dimension {name!r} is unknown to Matomo."
                        f"{suggest_report(name, meta.segments)}",
                    )
                )
    return problems
