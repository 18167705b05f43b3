"""Metric query for Matomo's Reporting API.

One query names one column of one report, optionally narrowed by a segment, a goal, a page
or a report row. Which (report, column) pairs exist and how they add up over days is the
connector's knowledge (`connectors.matomo.requests.REPORTS`); `okr validate` checks queries against
it and against the Matomo instance's own report metadata.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from okr_definitions.sources.base import LintContext, QueryProblem, SourceOptions
from okr_definitions.strict import StrictModel

# Matomo's API methods are Module.action (VisitsSummary.get) and its columns letters, digits
# and underscores (nb_visits, goal_3_conversion_rate): anything else (quotes, spaces, `;`) is
# a typo or an attempt to smuggle something into a request.
_METHOD = re.compile(r"^[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9]*$")
_COLUMN = re.compile(r"^[A-Za-z0-9_]+$")


class MatomoQuery(StrictModel):
    method: str = Field(
        description="Report method, e.g. VisitsSummary.get, Goals.get, PagePerformance.get, "
        "Actions.getPageUrls or Referrers.getReferrerType."
    )
    column: str = Field(
        description="Report column, e.g. nb_visits, nb_conversions, conversion_rate, "
        "bounce_rate or avg_page_load_time. Rates are rebuilt as a ratio of sums."
    )
    site_id: int | None = Field(default=None, description="Overrides sources.matomo.site_id.")
    segment: str | None = Field(
        default=None,
        description="A Matomo segment definition as in Matomo's docs, e.g. visitorType==new or "
        "referrerType==search;deviceType==smartphone.",
    )
    id_goal: int | None = Field(default=None, description="For Goals.get: the goal's id.")
    page_url: str | None = Field(
        default=None,
        description="The page's full URL (or its Matomo label). For Actions.getPageUrls it picks "
        "the page's row; for every other report it narrows to that page with a pageUrl== "
        "segment, e.g. PagePerformance.get for the homepage.",
    )
    label: str | None = Field(
        default=None,
        description="For row reports such as Referrers.getReferrerType: the row to read, by its "
        "label ('Search Engines') or its type ('search').",
    )

    @field_validator("method")
    @classmethod
    def _method_shape(cls, value: str) -> str:
        if not _METHOD.match(value):
            raise ValueError(
                f"{value!r} is not a Matomo report method (Module.action, e.g. "
                "VisitsSummary.get or Goals.get)"
            )
        return value

    @field_validator("column")
    @classmethod
    def _column_shape(cls, value: str) -> str:
        if not _COLUMN.match(value):
            raise ValueError(
                f"{value!r} is not a Matomo report column (letters, digits and _, e.g. "
                "nb_visits or conversion_rate)"
            )
        return value


class MatomoOptions(SourceOptions):
    site_id: int | None = Field(None, description="Matomo idSite.")


QUERY = MatomoQuery
OPTIONS = MatomoOptions


def lint_query(
    query: MatomoQuery, options: MatomoOptions, _where: LintContext
) -> list[QueryProblem]:
    if query.site_id or options.site_id:
        return []
    return [
        QueryProblem(
            "query",
            "no Matomo site for this metric",
            "set `sources: {matomo: {site_id: ...}}` or `query.site_id`",
        )
    ]
