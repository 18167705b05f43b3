"""Metric query for Google Analytics 4 (Data API v1beta runReport).

A metric's `query:` block names one GA4 metric, optionally a dimension filter, and optionally
breakdown dimensions. Example (YAML)::

    query:
      metric: sessions
      filter:
        and:
          - dimension: pagePath
            begins_with: /blog/
          - dimension: sessionDefaultChannelGroup
            exact: Organic Search

Metric and dimension names are GA4 API names (`sessions`, `keyEvents:purchase`, `pagePath`);
`okr validate` checks them against the property's metadata and suggests close names.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from okr_definitions.sources.base import LintContext, QueryProblem, SourceOptions
from okr_definitions.strict import StrictModel

# The GA4 match types a filter may use, in the order they are reported in error messages.
MATCH_KEYS = (
    "exact",
    "begins_with",
    "ends_with",
    "contains",
    "full_regexp",
    "partial_regexp",
    "in_list",
)


class GA4StringFilter(StrictModel):
    """One dimension condition. Exactly one match key must be given.

    Matching is case-insensitive unless `case_sensitive: true` (GA4's own default).
    `full_regexp` must match the whole value, `partial_regexp` any part of it (GA4 uses RE2
    syntax; keep to the common subset of RE2 and Python regular expressions).
    """

    dimension: str = Field(description="GA4 dimension API name, e.g. pagePath.")
    exact: str | None = None
    begins_with: str | None = None
    ends_with: str | None = None
    contains: str | None = None
    full_regexp: str | None = None
    partial_regexp: str | None = None
    in_list: list[str] | None = None
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _exactly_one_match(self) -> GA4StringFilter:
        given = [key for key in MATCH_KEYS if getattr(self, key) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(
                f"a filter on dimension {self.dimension!r} needs exactly one of "
                f"{', '.join(MATCH_KEYS)} (found: {found})"
            )
        if self.in_list is not None and not self.in_list:
            raise ValueError(f"in_list for dimension {self.dimension!r} must not be empty")
        for key in ("full_regexp", "partial_regexp"):
            pattern = getattr(self, key)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(
                        f"{key} for dimension {self.dimension!r} is not a valid regular "
                        f"expression: {exc}"
                    ) from exc
        return self

    @property
    def match_key(self) -> str:
        return next(key for key in MATCH_KEYS if getattr(self, key) is not None)


class GA4And(StrictModel):
    and_: list[GA4Filter] = Field(alias="and", min_length=1)


class GA4Or(StrictModel):
    or_: list[GA4Filter] = Field(alias="or", min_length=1)


class GA4Not(StrictModel):
    not_: GA4Filter = Field(alias="not")


def _filter_kind(value: Any) -> str:
    """Pick the filter model from its keys, so a typo reports one clear error, not four."""
    if isinstance(value, dict):
        for key in ("and", "or", "not"):
            if key in value:
                return key
        return "leaf"
    return {GA4And: "and", GA4Or: "or", GA4Not: "not"}.get(type(value), "leaf")


GA4Filter = Annotated[
    (
        Annotated[GA4StringFilter, Tag("leaf")]
        | Annotated[GA4And, Tag("and")]
        | Annotated[GA4Or, Tag("or")]
        | Annotated[GA4Not, Tag("not")]
    ),
    Discriminator(_filter_kind),
]
GA4And.model_rebuild()
GA4Or.model_rebuild()
GA4Not.model_rebuild()


def filter_dimensions(node: GA4Filter | None) -> list[str]:
    """Every dimension name a filter refers to, in order of appearance (duplicates removed)."""
    found: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, GA4StringFilter):
            if n.dimension not in found:
                found.append(n.dimension)
        elif isinstance(n, GA4And):
            for child in n.and_:
                walk(child)
        elif isinstance(n, GA4Or):
            for child in n.or_:
                walk(child)
        elif isinstance(n, GA4Not):
            walk(n.not_)

    if node is not None:
        walk(node)
    return found


class GA4Query(StrictModel):
    metric: str = Field(description="GA4 API metric name, e.g. sessions or keyEvents:purchase.")
    property_id: str | None = Field(
        default=None, description="Overrides sources.ga4.property_id for this metric."
    )
    filter: GA4Filter | None = None
    dimensions: list[str] = Field(
        default_factory=list,
        description="Extra breakdown dimensions (e.g. pagePath). Their rows are kept in the raw "
        "answers for drill-down; the metric's daily value is their sum, so only additive "
        "metrics may have them.",
        max_length=8,  # GA4 allows 9 dimensions per report; `date` is always the first
    )
    aggregation: Literal["auto", "sum", "range"] = Field(
        default="auto",
        description="How values combine across days. auto: the connector knows GA4's metrics "
        "(users and GA4's own rates are never summed; the API is asked for the exact range). "
        "sum: force additive (e.g. an event-scoped custom metric). range: force asking the API "
        "for every range.",
    )

    @field_validator("metric")
    @classmethod
    def _metric_name_shape(cls, value: str) -> str:
        # API names are letters, digits and underscores, with one `scope:` prefix for custom
        # and key-event metrics (keyEvents:purchase, customEvent:basket_value).
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(:[A-Za-z0-9_]+)?", value or ""):
            raise ValueError(
                f"{value!r} is not a GA4 metric API name (letters, digits and _, e.g. "
                "sessions or keyEvents:purchase)"
            )
        return value

    @field_validator("property_id")
    @classmethod
    def _property_digits(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = value.removeprefix("properties/")
        if not digits.isdigit():
            raise ValueError(
                f"property_id {value!r} must be the numeric GA4 property id (Admin → Property "
                "settings), e.g. 123456789"
            )
        return digits

    @field_validator("dimensions")
    @classmethod
    def _no_date_dimension(cls, value: list[str]) -> list[str]:
        if "date" in value:
            raise ValueError("`date` is always requested; list only extra breakdown dimensions")
        if len(set(value)) != len(value):
            raise ValueError("dimensions contains duplicates")
        return value


class GA4Options(SourceOptions):
    property_id: str | None = Field(None, description="GA4 property id, e.g. 123456789.")


QUERY = GA4Query
OPTIONS = GA4Options


def lint_query(query: GA4Query, options: GA4Options, _where: LintContext) -> list[QueryProblem]:
    if query.property_id or options.property_id:
        return []
    return [
        QueryProblem(
            "query",
            "no GA4 property for this metric",
            "set `sources: {ga4: {property_id: ...}}` or `query.property_id`",
        )
    ]
