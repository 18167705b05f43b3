"""The SOQL the connector sends, built from the metrics' structured queries (no free SOQL).

Every literal goes through :func:`soql_literal` (Salesforce's escapes: backslash, quotes,
control characters), every name has been checked against the API-name pattern by the
definitions model, datetimes are UTC literals without quotes as SOQL wants them.

What is read: Id, IsDeleted and SystemModstamp (the cursor) of every record of each object, with
the fields the metrics use. A *full* read narrows to records some metric could count (the OR
of the metrics' selections); an *incremental* read takes every record changed since the cursor
with no such narrowing, so a record that stops matching a filter is seen and stops counting.
A record that starts matching later is changed, so it comes in with the next incremental read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from connectors.base import MetricRequest
from okr_definitions.sources.salesforce import (
    SalesforceFilter,
    SalesforceQuery,
    SalesforceSelection,
)

BASE_FIELDS = ("Id", "IsDeleted", "SystemModstamp")
CURRENCY_FIELD = "CurrencyIsoCode"
RECORD_TYPE_FIELD = "RecordType.DeveloperName"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# SOQL's escape sequences for quoted strings (SOQL and SOSL reference, "Quoted String Escape
# Sequences"): backslash first, so the backslashes added for the others are not doubled.
_ESCAPES = (
    ("\\", "\\\\"),
    ("'", "\\'"),
    ('"', '\\"'),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\b", "\\b"),
    ("\f", "\\f"),
)
_STAGE_SOQL = {
    "won": "IsWon = true",
    "lost": "(IsClosed = true AND IsWon = false)",
    "closed": "IsClosed = true",
    "open": "IsClosed = false",
}


def salesforce_query(metric: MetricRequest) -> SalesforceQuery:
    """The metric's query as a SalesforceQuery (accepts the model or its dict form)."""
    q = metric.query
    return q if isinstance(q, SalesforceQuery) else SalesforceQuery.model_validate(q)


def is_additive(_query: object) -> bool:
    # Counts and sums add up across days; a ratio is returned as daily numerator and
    # denominator, whose sums give any range's exact value.
    return True


def soql_string(value: str) -> str:
    """A quoted SOQL string literal: O'Brien → 'O\\'Brien'."""
    for raw, escaped in _ESCAPES:
        value = value.replace(raw, escaped)
    return f"'{value}'"


def soql_datetime(moment: datetime) -> str:
    """A SOQL datetime literal (UTC, no quotes): 2024-01-01T00:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql_literal(value: object, field_type: str | None = None) -> str:
    """A SOQL literal for `value`, fitting the field's type where it matters: a date bound on
    a datetime field becomes midnight UTC, a string on a number field stays quoted (and
    Salesforce answers INVALID_FIELD, which names the metric)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a number SOQL can compare with")
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, date):
        value = value.isoformat()
    if isinstance(value, str) and field_type in ("date", "datetime") and _DATE.match(value):
        return value if field_type == "date" else f"{value}T00:00:00Z"
    return soql_string(str(value))


def filter_soql(f: SalesforceFilter, field_type: str | None = None) -> str:
    """One structured filter as a SOQL condition."""
    name, operand = f.field, f.operand
    match f.operator:
        case "equals":
            return f"{name} = {soql_literal(operand, field_type)}"
        case "in" | "not_in":
            values = ", ".join(soql_literal(v, field_type) for v in operand)  # type: ignore[attr-defined]
            return f"{name} {'IN' if f.operator == 'in' else 'NOT IN'} ({values})"
        case "greater_than":
            return f"{name} > {soql_literal(operand, field_type)}"
        case "less_than":
            return f"{name} < {soql_literal(operand, field_type)}"
        case _:  # is_null
            return f"{name} {'=' if operand else '!='} null"


def selection_soql(
    selection: SalesforceSelection, field_types: Mapping[str, str] | None = None
) -> str:
    """A selection (stage, record type, filters) as one SOQL condition; "" selects all."""
    types = field_types or {}
    parts = []
    if selection.stage != "any":
        parts.append(_STAGE_SOQL[selection.stage])
    if selection.record_type:
        parts.append(f"{RECORD_TYPE_FIELD} = {soql_string(selection.record_type)}")
    parts += [filter_soql(f, types.get(f.field)) for f in selection.filters]
    return " AND ".join(parts)


def fields_for_metrics(
    metrics: Sequence[MetricRequest], multi_currency: Mapping[str, bool] | None = None
) -> dict[str, list[str]]:
    """The fields to read per object (besides BASE_FIELDS), sorted."""
    needed: dict[str, set[str]] = {}
    for m in metrics:
        q = salesforce_query(m)
        names = needed.setdefault(q.object, set())
        names.update(q.fields())
        if q.aggregate == "sum" and (multi_currency or {}).get(q.object):
            names.add(CURRENCY_FIELD)
    return {obj: sorted(names - set(BASE_FIELDS)) for obj, names in sorted(needed.items())}


def full_read_where(
    metrics: Sequence[MetricRequest],
    object_name: str,
    field_types: Mapping[str, str] | None = None,
) -> str:
    """The OR of the selections of this object's metrics (numerators and denominators): the
    records a full read needs. "" when some metric takes every record."""
    conditions = []
    for m in metrics:
        q = salesforce_query(m)
        if q.object != object_name:
            continue
        for selection in [q, *([q.denominator] if q.denominator else [])]:
            condition = selection_soql(selection, field_types)
            if not condition:
                return ""
            conditions.append(f"({condition})")
    return " OR ".join(dict.fromkeys(conditions))


def records_soql(
    object_name: str,
    fields: Sequence[str],
    *,
    since: datetime | None = None,
    where: str = "",
) -> str:
    """The SOQL of one read: changes since `since` (incremental), else `where` (full)."""
    columns = ", ".join(dict.fromkeys([*BASE_FIELDS, *fields]))
    condition = f"SystemModstamp >= {soql_datetime(since)}" if since is not None else where
    return f"SELECT {columns} FROM {object_name}" + (f" WHERE {condition}" if condition else "")


def count_soql(object_name: str, *, since: datetime | None = None, where: str = "") -> str:
    """How many records a read would return (SELECT COUNT(): one request, no records), to
    choose between REST and Bulk."""
    condition = f"SystemModstamp >= {soql_datetime(since)}" if since is not None else where
    return f"SELECT COUNT() FROM {object_name}" + (f" WHERE {condition}" if condition else "")
