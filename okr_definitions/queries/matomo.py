"""Metric query for Matomo's Reporting API."""

from __future__ import annotations

from pydantic import Field

from okr_definitions.queries.base import StrictModel


class MatomoQuery(StrictModel):
    method: str = Field(description="Report method, e.g. VisitsSummary.get or Goals.get.")
    column: str = Field(description="Report column, e.g. nb_visits or nb_conversions.")
    site_id: int | None = Field(default=None, description="Overrides sources.matomo.site_id.")
    segment: str | None = None
    id_goal: int | None = Field(default=None, description="For Goals.get.")
    page_url: str | None = Field(
        default=None, description="For page-level reports: the page's URL or label."
    )
