"""Check Salesforce metric queries against the org before any data is pulled.

Each object is described (`GET /sobjects/<Object>/describe`): the object exists, every field a
metric names exists, `date_field` is a date or datetime, a summed field is a number or currency.
Each problem says what is wrong and how to fix it, with the closest names the org has.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from connectors.base import MetricRequest
from connectors.errors import SourceError
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.parse import DATE_TYPES, NUMBER_TYPES
from connectors.salesforce.requests import RECORD_TYPE_FIELD, salesforce_query
from connectors.salesforce.settings import SalesforceSettings


@dataclass(frozen=True)
class SalesforceProblem:
    """One thing wrong with a metric's query, located by metric id and query field."""

    metric_id: str
    field: str
    message: str
    fix: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.metric_id}: {self.severity}: {self.field}: {self.message}. Fix: {self.fix}"


def _did_you_mean(name: str, candidates: Sequence[str], what: str) -> str:
    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(lowered[c]) for c in close) + "?"
    return f"use one of the org's {what} (Setup → Object Manager)"


def _field_problem(
    metric_id: str,
    object_name: str,
    fields: dict[str, str],
    where: str,
    name: str,
    allowed: tuple[str, ...] | None,
    kind: str,
) -> SalesforceProblem | None:
    """The problem with a field a metric names: missing, or of a type that does not fit."""
    if name == RECORD_TYPE_FIELD:
        name = "RecordTypeId"
    if name not in fields:
        return SalesforceProblem(
            metric_id,
            where,
            f"{object_name} has no field {name!r}",
            _did_you_mean(name, list(fields), f"{object_name} fields"),
        )
    if allowed and fields[name] not in allowed:
        return SalesforceProblem(
            metric_id,
            where,
            f"{object_name}.{name} is a {fields[name]} field, not {kind}",
            f"name a {kind} field of {object_name}",
        )
    return None


def validate_salesforce_metrics(
    settings: SalesforceSettings,
    metrics: Sequence[MetricRequest],
    *,
    client: SalesforceClient | None = None,
) -> list[SalesforceProblem]:
    """Problems with these metrics' queries in this org (empty when all is well).

    Raises AuthError for refused credentials: that is not a problem of the metrics.
    """
    if not metrics:
        return []
    client = client or SalesforceClient(settings)
    parsed = [(m.metric_id, salesforce_query(m)) for m in metrics]
    types: dict[str, dict[str, str] | None] = {}
    for obj in sorted({q.object for _, q in parsed}):
        try:
            fields = client.describe(obj).get("fields") or []
            types[obj] = {f["name"]: f["type"] for f in fields}
        except SourceError as exc:
            if "404" not in str(exc):
                raise
            types[obj] = None
    problems: list[SalesforceProblem] = []
    for metric_id, q in parsed:
        fields = types[q.object]
        if fields is None:
            problems.append(
                SalesforceProblem(
                    metric_id,
                    "query.object",
                    f"the org has no object {q.object!r} (or the integration user cannot see it)",
                    "use the object's API name (custom objects end in __c) and give the "
                    "connected app's user read access",
                )
            )
            continue

        checks: list[tuple[str, str, tuple[str, ...] | None, str]] = [
            ("query.date_field", q.date_field, DATE_TYPES, "a date or datetime"),
        ]
        if q.field:
            checks.append(("query.field", q.field, NUMBER_TYPES, "a number or currency"))
        for where, selection in (("query", q), ("query.denominator", q.denominator)):
            if selection is None:
                continue
            if selection.stage != "any":
                checks.append((f"{where}.stage", "IsWon", ("boolean",), "a boolean"))
            if selection.record_type:
                checks.append((f"{where}.record_type", RECORD_TYPE_FIELD, None, ""))
            checks += [(f"{where}.filter", f.field, None, "") for f in selection.filters]
        for where, name, allowed, kind in checks:
            problem = _field_problem(metric_id, q.object, fields, where, name, allowed, kind)
            if problem:
                problems.append(problem)
    return problems
