"""Metric query for HubSpot CRM objects (deals, contacts).

A metric places each object on the day of one of its date properties and then counts the
objects or sums a numeric property. A ratio (win rate) names a `denominator` selection over the
same objects; the warehouse sums numerator and denominator over a range, then divides.

Examples (the `query:` block of a metric):

    # won revenue by close date, in the company currency
    {object: deals, aggregate: sum, property: amount, date_property: closedate, stage: won}
    # new MQLs: contacts placed on the day they entered the stage
    {object: contacts, date_property: hs_v2_date_entered_marketingqualifiedlead}
    # win rate = won deals / closed deals, by close date
    {object: deals, date_property: closedate, stage: won, denominator: {stage: closed}}
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from okr_definitions.sources.base import LintContext, QueryProblem, SourceOptions
from okr_definitions.strict import StrictModel

DealStage = Literal["won", "lost", "closed", "open", "any"]
# HubSpot's internal property names are letters, digits and underscores (amount, closedate,
# hs_v2_date_entered_marketingqualifiedlead); anything else (quotes, spaces, `;`) is a typo or
# an attempt to smuggle something into a request.
_PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class HubSpotSelection(StrictModel):
    """Which objects a ratio's denominator takes (same object, aggregate, date and pipeline)."""

    stage: DealStage = Field(
        default="any", description="Deal outcome, from the pipeline's stage metadata."
    )
    lifecycle_stage: str | None = Field(
        default=None, description="Contacts whose *current* lifecycle stage is this value."
    )


class HubSpotQuery(StrictModel):
    object: Literal["deals", "contacts"]
    aggregate: Literal["count", "sum"] = "count"
    property: str | None = Field(
        default=None,
        description="Numeric property for sum, e.g. amount (read as amount_in_home_currency, "
        "the company currency, where HubSpot has it).",
    )
    date_property: str = Field(
        description="The date that places an object on a day: closedate, createdate, "
        "hs_v2_date_entered_marketingqualifiedlead, ..."
    )
    pipeline: str | None = Field(default=None, description="Deal pipeline id; all when omitted.")
    stage: DealStage = Field(
        default="any", description="Deal outcome, from the pipeline's stage metadata."
    )
    lifecycle_stage: str | None = Field(
        default=None,
        description="Contacts whose *current* lifecycle stage is this value. To count contacts "
        "that entered a stage, place them by its date (hs_v2_date_entered_<stage>) instead.",
    )
    denominator: HubSpotSelection | None = Field(
        default=None,
        description="Makes the metric a ratio: this query's objects over the objects selected "
        "here, e.g. win rate = {stage: won, denominator: {stage: closed}}.",
    )

    @field_validator("property", "date_property")
    @classmethod
    def _internal_name(cls, value: str | None) -> str | None:
        if value is not None and not _PROPERTY_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a HubSpot property's internal name (letters, digits and _, "
                "e.g. amount or closedate; Settings → Properties shows it)"
            )
        return value

    @model_validator(mode="after")
    def _fits_object(self) -> HubSpotQuery:
        if self.aggregate == "sum" and not self.property:
            raise ValueError("aggregate: sum needs `property` (the numeric property to add up)")
        if self.aggregate == "count" and self.property:
            raise ValueError(
                "`property` is only used with aggregate: sum; remove it or set aggregate: sum"
            )
        selections = [self, *([self.denominator] if self.denominator else [])]
        if self.object == "contacts":
            if self.pipeline or any(s.stage != "any" for s in selections):
                raise ValueError(
                    "pipeline and stage apply to deals; for contacts use lifecycle_stage or a "
                    "lifecycle date such as hs_v2_date_entered_marketingqualifiedlead"
                )
        elif any(s.lifecycle_stage for s in selections):
            raise ValueError("lifecycle_stage applies to contacts; for deals use stage")
        return self


class HubSpotOptions(SourceOptions):
    allowed_lag_days: int = Field(1, ge=0, le=60)


QUERY = HubSpotQuery
OPTIONS = HubSpotOptions


def lint_query(
    _query: HubSpotQuery, _options: HubSpotOptions, _where: LintContext
) -> list[QueryProblem]:
    """Nothing to check without the account: `okr validate` asks HubSpot for the properties."""
    return []
