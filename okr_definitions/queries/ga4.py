"""Metric query for Google Analytics 4 (Data API v1beta runReport)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from okr_definitions.queries.base import StrictModel


class GA4StringFilter(StrictModel):
    """One dimension condition. Exactly one match key must be given."""

    dimension: str
    exact: str | None = None
    begins_with: str | None = None
    ends_with: str | None = None
    contains: str | None = None
    full_regexp: str | None = None
    partial_regexp: str | None = None
    in_list: list[str] | None = None
    case_sensitive: bool = False


class GA4And(StrictModel):
    and_: list[GA4Filter] = Field(alias="and")


class GA4Or(StrictModel):
    or_: list[GA4Filter] = Field(alias="or")


class GA4Not(StrictModel):
    not_: GA4Filter = Field(alias="not")


GA4Filter = Annotated[Union[GA4StringFilter, GA4And, GA4Or, GA4Not], Field(union_mode="smart")]
GA4And.model_rebuild()
GA4Or.model_rebuild()
GA4Not.model_rebuild()


class GA4Query(StrictModel):
    metric: str = Field(description="GA4 API metric name, e.g. sessions or keyEvents:purchase.")
    property_id: str | None = Field(
        default=None, description="Overrides sources.ga4.property_id for this metric."
    )
    filter: GA4Filter | None = None
    aggregation: Literal["auto"] = "auto"
