"""Metric query for Salesforce CRM records (opportunities, leads, any object with dates).

A metric places each record on the day of one of its date fields, then counts the records or
sums a number field. `stage` narrows opportunities by outcome (from IsWon / IsClosed, so every
custom sales process works), `record_type` by record type, `filter` by structured conditions
on fields; a ratio names a `denominator` selection over the same records. There is no free
SOQL: the connector builds it, with every literal escaped (connectors/salesforce/requests.py).

Examples (the `query:` block of a metric):

    # won revenue by close date, in the corporate currency
    {object: Opportunity, aggregate: sum, field: Amount, date_field: CloseDate, stage: won}
    # win rate = won opportunities / closed ones, by close date
    {object: Opportunity, date_field: CloseDate, stage: won, denominator: {stage: closed}}
    # new leads from two sources, on the day they were created (the organisation's day)
    {object: Lead, date_field: CreatedDate, filter: {field: LeadSource, in: [Web, Partner]}}
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from okr_definitions.sources.base import LintContext, QueryProblem, SourceOptions
from okr_definitions.strict import StrictModel

Stage = Literal["won", "lost", "closed", "open", "any"]
# API names of objects and fields: letters, digits and underscores, custom ones ending in __c
# (Region__c), a managed package's with its namespace (acme__Region__c). Anything else (quotes,
# spaces, parentheses) is a typo or an attempt to smuggle SOQL into a query.
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
Literal_ = str | float | bool  # a value a filter compares with
OPERATORS = ("equals", "in", "not_in", "greater_than", "less_than", "is_null")


def _api_name(value: str, what: str) -> str:
    if not _API_NAME.match(value) or "___" in value or value.endswith("_"):
        raise ValueError(
            f"{value!r} is not a Salesforce {what} API name (letters, digits and _, custom ones "
            "ending in __c, e.g. Amount or Region__c; Setup → Object Manager shows it)"
        )
    return value


class SalesforceFilter(StrictModel):
    """One condition on a field: exactly one of the operators."""

    field: str = Field(description="The field's API name, e.g. LeadSource or Region__c.")
    equals: Literal_ | None = Field(default=None, description="Field equals this value.")
    in_: list[str | float] | None = Field(
        default=None, alias="in", description="Field is one of these values."
    )
    not_in: list[str | float] | None = Field(
        default=None, description="Field is none of these values (or empty)."
    )
    greater_than: float | str | None = Field(
        default=None, description="Field is greater than this number or date (YYYY-MM-DD)."
    )
    less_than: float | str | None = Field(
        default=None, description="Field is less than this number or date (YYYY-MM-DD)."
    )
    is_null: bool | None = Field(
        default=None, description="true: the field is empty; false: it has a value."
    )

    # `in` is a Python keyword: the attribute is `in_`, the YAML and every dump say `in`.
    model_config = StrictModel.model_config | {"populate_by_name": True, "serialize_by_alias": True}

    @field_validator("field")
    @classmethod
    def _field_name(cls, value: str) -> str:
        return _api_name(value, "field")

    @field_validator("in_", "not_in")
    @classmethod
    def _not_empty(cls, value: list[str | float] | None) -> list[str | float] | None:
        if value is not None and not value:
            raise ValueError("the list of values is empty: name at least one value")
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> SalesforceFilter:
        given = [name for name in OPERATORS if getattr(self, self.attribute(name)) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a filter on {self.field} needs exactly one of {', '.join(OPERATORS)} "
                f"(found {', '.join(given) or 'none'}); write one filter per condition"
            )
        return self

    @staticmethod
    def attribute(operator: str) -> str:
        return "in_" if operator == "in" else operator

    @property
    def operator(self) -> str:
        return next(n for n in OPERATORS if getattr(self, self.attribute(n)) is not None)

    @property
    def operand(self) -> object:
        return getattr(self, self.attribute(self.operator))


class SalesforceSelection(StrictModel):
    """Which records a ratio's denominator takes (same object, aggregate and date field)."""

    stage: Stage = Field(default="any", description="Opportunity outcome: from IsWon/IsClosed.")
    record_type: str | None = Field(
        default=None, description="Record type developer name; all record types when omitted."
    )
    filter: SalesforceFilter | list[SalesforceFilter] | None = Field(
        default=None, description="Conditions every counted record meets (all of them)."
    )

    @field_validator("record_type")
    @classmethod
    def _record_type_name(cls, value: str | None) -> str | None:
        return None if value is None else _api_name(value, "record type developer")

    @property
    def filters(self) -> list[SalesforceFilter]:
        if self.filter is None:
            return []
        return self.filter if isinstance(self.filter, list) else [self.filter]


class SalesforceQuery(SalesforceSelection):
    object: str = Field(description="The object's API name: Opportunity, Lead, Account, ...")
    aggregate: Literal["count", "sum"] = "count"
    field: str | None = Field(
        default=None,
        description="Number or currency field for sum, e.g. Amount (currency amounts are "
        "converted to the corporate currency in multi-currency orgs).",
    )
    date_field: str = Field(
        description="The date or datetime field that places a record on a day: CloseDate, "
        "CreatedDate, ConvertedDate, ... (datetimes fall on the organisation's day)."
    )
    denominator: SalesforceSelection | None = Field(
        default=None,
        description="Makes the metric a ratio: this query's records over the records selected "
        "here, e.g. win rate = {stage: won, denominator: {stage: closed}}.",
    )

    @field_validator("object")
    @classmethod
    def _object_name(cls, value: str) -> str:
        return _api_name(value, "object")

    @field_validator("field", "date_field")
    @classmethod
    def _field_name(cls, value: str | None) -> str | None:
        return None if value is None else _api_name(value, "field")

    @model_validator(mode="after")
    def _fits_object(self) -> SalesforceQuery:
        if self.aggregate == "sum" and not self.field:
            raise ValueError("aggregate: sum needs `field` (the number field to add up)")
        if self.aggregate == "count" and self.field:
            raise ValueError("`field` is only used with aggregate: sum; remove it or set sum")
        selections = [self, *([self.denominator] if self.denominator else [])]
        if self.object != "Opportunity" and any(s.stage != "any" for s in selections):
            raise ValueError(
                f"stage applies to Opportunity (IsWon/IsClosed); for {self.object} use a "
                "filter, e.g. {field: IsConverted, equals: true}"
            )
        return self

    def fields(self) -> list[str]:
        """Every field of the object this metric reads (besides Id and the cursor's)."""
        names = {self.date_field, *([self.field] if self.field else [])}
        for selection in [self, *([self.denominator] if self.denominator else [])]:
            names.update(f.field for f in selection.filters)
            if selection.stage != "any":
                names.update(("IsWon", "IsClosed"))
            if selection.record_type:
                names.add("RecordType.DeveloperName")
        return sorted(names)


class SalesforceOptions(SourceOptions):
    """`sources.salesforce:` (credentials and the org's host come from the environment)."""

    allowed_lag_days: int = Field(1, ge=0, le=60)


QUERY = SalesforceQuery
OPTIONS = SalesforceOptions


def lint_query(
    query: SalesforceQuery, _options: SalesforceOptions, _where: LintContext
) -> list[QueryProblem]:
    """Filters whose values cannot fit: `greater_than: abc` on anything but a date."""
    problems = []
    selections = [("query", query)]
    if query.denominator:
        selections.append(("query.denominator", query.denominator))
    for where, selection in selections:
        for f in selection.filters:
            for bound in ("greater_than", "less_than"):
                value = getattr(f, bound)
                if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                    problems.append(
                        QueryProblem(
                            field=(*where.split("."), "filter", bound),
                            message=f"{bound} {value!r} on {f.field} is neither a number nor a "
                            "date",
                            fix="give a number (100000) or a date as YYYY-MM-DD",
                        )
                    )
    return problems
