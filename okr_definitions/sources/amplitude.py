"""Metric query for Amplitude's Dashboard REST API (event segmentation and funnels).

A metric either counts one event (`event` with `count: totals | uniques | sums`) or converts
through a funnel (`funnel: {steps, window_days}`). Example (YAML)::

    query:
      event: Editor Opened
      count: uniques
      where:
        - {property: plan, in: [pro, team]}
        - {property: country, user: true, is: Germany}

Filters are structured and turned into Amplitude's event filter JSON by the connector, never
pasted as text. `okr validate` checks event and property names against the project.
"""

from __future__ import annotations

import builtins
import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from okr_definitions.sources.base import LintContext, QueryProblem, SourceOptions
from okr_definitions.strict import StrictModel

# The operators a `where` condition may use (one per condition), and Amplitude's own names for
# them (Dashboard REST API, "Event format": `subprop_op`).
OPERATORS: dict[str, str] = {
    "is": "is",
    "in": "is",
    "is_not": "is not",
    "not_in": "is not",
    "contains": "contains",
    "does_not_contain": "does not contain",
    "less": "less",
    "less_or_equal": "less or equal",
    "greater": "greater",
    "greater_or_equal": "greater or equal",
}
# Operators whose value is a list; the others take one value.
LIST_OPERATORS = ("in", "not_in")
NUMBER_OPERATORS = ("less", "less_or_equal", "greater", "greater_or_equal")

# Event and property names are free text in Amplitude, but a control character or an empty
# name is always a typo; everything else is escaped by JSON encoding.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Scalar = str | int | float | bool


def _clean_name(value: str, what: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{what} must not be empty")
    if _CONTROL.search(value):
        raise ValueError(f"{what} {value!r} contains a control character")
    if value != value.strip():
        raise ValueError(f"{what} {value!r} starts or ends with a space; Amplitude keeps them")
    return value


# `property` is a field name of these models, so their properties use `builtins.property`.


class AmplitudeWhere(StrictModel):
    """One condition on an event property (or, with `user: true`, a user property). Exactly one
    operator: `is`, `in`, `is_not`, `not_in`, `contains`, `does_not_contain`, `less`,
    `less_or_equal`, `greater`, `greater_or_equal`."""

    property: str = Field(description="Property name as in Amplitude, e.g. plan or platform.")
    user: bool = Field(False, description="A user property rather than an event property.")
    is_: Scalar | None = Field(None, alias="is")
    in_: list[Scalar] | None = Field(None, alias="in", min_length=1)
    is_not: Scalar | None = None
    not_in: list[Scalar] | None = Field(None, min_length=1)
    contains: str | None = None
    does_not_contain: str | None = None
    less: float | None = None
    less_or_equal: float | None = None
    greater: float | None = None
    greater_or_equal: float | None = None

    @field_validator("property")
    @classmethod
    def _property_name(cls, value: str) -> str:
        return _clean_name(value, "property")

    @model_validator(mode="after")
    def _exactly_one_operator(self) -> AmplitudeWhere:
        given = self.operators_given()
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(
                f"a condition on property {self.property!r} needs exactly one of "
                f"{', '.join(OPERATORS)} (found: {found})"
            )
        return self

    def operators_given(self) -> list[str]:
        return [op for op in OPERATORS if getattr(self, _attr(op)) is not None]

    @builtins.property
    def operator(self) -> str:
        return self.operators_given()[0]

    @builtins.property
    def values(self) -> list[str]:
        """The condition's values as Amplitude's `subprop_value` list (strings)."""
        value = getattr(self, _attr(self.operator))
        items = value if isinstance(value, list) else [value]
        return [_as_text(item) for item in items]


def _attr(operator: str) -> str:
    return {"is": "is_", "in": "in_"}.get(operator, operator)


def _as_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class AmplitudeGroup(StrictModel):
    """Keep one value of a group-by: the metric is the series of that group only."""

    property: str = Field(description="Property to group by, e.g. platform or country.")
    user: bool = Field(False, description="A user property rather than an event property.")
    value: str = Field(description="The group's label as Amplitude shows it, e.g. iOS.")

    @field_validator("property")
    @classmethod
    def _property_name(cls, value: str) -> str:
        return _clean_name(value, "group_by.property")


class AmplitudeFunnel(StrictModel):
    """An ordered funnel: each day, the users who entered at the first step (denominator) and
    those of them who reached the last step within the window (numerator)."""

    steps: list[str] = Field(min_length=2, max_length=10, description="Event names, in order.")
    window_days: int = Field(
        30, ge=1, le=90, description="Days a user has from the first step to the last."
    )

    @field_validator("steps")
    @classmethod
    def _step_names(cls, value: list[str]) -> list[str]:
        return [_clean_name(step, "funnel step") for step in value]


class AmplitudeQuery(StrictModel):
    event: str | None = Field(
        default=None,
        description="Event name as in Amplitude (`_active`: any active event, `_all`: any "
        "event; custom events with their `ce:` prefix).",
    )
    count: Literal["totals", "uniques", "sums"] = Field(
        default="totals",
        description="totals: events per day; uniques: users (never summed across days, asked "
        "for the exact range); sums: the sum of a numeric event `property`.",
    )
    property: str | None = Field(
        default=None, description="For count: sums, the numeric event property to add up."
    )
    where: AmplitudeWhere | list[AmplitudeWhere] | None = Field(
        default=None, description="Conditions on properties; all of them must hold."
    )
    group_by: AmplitudeGroup | None = None
    funnel: AmplitudeFunnel | None = None

    @field_validator("event", "property")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return None if value is None else _clean_name(value, "name")

    @model_validator(mode="after")
    def _event_or_funnel(self) -> AmplitudeQuery:
        if (self.event is None) == (self.funnel is None):
            raise ValueError("give exactly one of `event` (a count) or `funnel` (a conversion)")
        if self.funnel is not None:
            if "count" in self.model_fields_set or self.property or self.group_by:
                raise ValueError("a funnel takes `steps`, `window_days` and `where` only")
        elif self.count == "sums" and not self.property:
            raise ValueError("count: sums needs `property`, the numeric event property to add")
        elif self.count != "sums" and self.property:
            raise ValueError("`property` is only for count: sums")
        if self.count == "sums" and self.group_by:
            # Amplitude takes the summed property as the event's group-by (m=sums).
            raise ValueError("count: sums cannot be combined with group_by")
        return self

    @builtins.property
    def conditions(self) -> list[AmplitudeWhere]:
        if self.where is None:
            return []
        return self.where if isinstance(self.where, list) else [self.where]

    @builtins.property
    def events(self) -> list[str]:
        """Every event name the query reads."""
        return list(self.funnel.steps) if self.funnel else [self.event or ""]


class AmplitudeOptions(SourceOptions):
    region: Literal["us", "eu"] = Field(
        "us", description="The project's data region: us (amplitude.com) or eu (EU residency)."
    )
    timezone: str | None = Field(
        None,
        description="The Amplitude project's time zone (Settings → Projects), the days it "
        "answers in; default the organisation's.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone, e.g. Europe/Berlin") from exc
        return value


QUERY = AmplitudeQuery
OPTIONS = AmplitudeOptions


def lint_query(
    query: AmplitudeQuery, _options: AmplitudeOptions, _where: LintContext
) -> list[QueryProblem]:
    """Shape checks beyond the model's: a funnel step right after itself is a typo (the user
    is already there), and two conditions on one property with the same operator contradict
    or repeat each other."""
    problems = []
    if query.funnel:
        steps = query.funnel.steps
        for i in range(1, len(steps)):
            if steps[i] == steps[i - 1]:
                problems.append(
                    QueryProblem(
                        ("query", "funnel", "steps"),
                        f"step {i + 1} repeats step {i} ({steps[i]!r})",
                        "remove the repeated step or name the event the users reach next",
                    )
                )
    seen: set[tuple[str, bool, str]] = set()
    for condition in query.conditions:
        key = (condition.property, condition.user, condition.operator)
        if key in seen:
            problems.append(
                QueryProblem(
                    ("query", "where"),
                    f"two `{condition.operator}` conditions on property {condition.property!r}",
                    "merge them into one condition (e.g. one `in` list)",
                )
            )
        seen.add(key)
    return problems
