"""Metric query for HubSpot CRM objects (deals, contacts)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from okr_definitions.queries.base import StrictModel


class HubSpotQuery(StrictModel):
    object: Literal["deals", "contacts"]
    aggregate: Literal["count", "sum"] = "count"
    property: str | None = Field(default=None, description="Numeric property for sum, e.g. amount.")
    date_property: str = Field(
        description="The date that places an object on a day: closedate, createdate, "
        "hs_v2_date_entered_marketingqualifiedlead, ..."
    )
    pipeline: str | None = Field(default=None, description="Deal pipeline id; all when omitted.")
    stage: Literal["won", "lost", "closed", "open", "any"] = Field(
        default="any", description="Deal outcome, from the pipeline's stage metadata."
    )
    lifecycle_stage: str | None = None
