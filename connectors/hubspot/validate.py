"""Check HubSpot metric queries against the account before any data is pulled.

Properties are checked with GET /crm/v3/properties/{object} (exists, right type, known
lifecycle stage values), pipelines with GET /crm/v3/pipelines/deals (the id exists, it has the
won/lost stages the metric asks for). Each problem says what is wrong and how to fix it, with
the closest names the account has.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from connectors.base import MetricRequest
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.parse import pipelines_table
from connectors.hubspot.requests import hubspot_query
from connectors.hubspot.settings import HubSpotSettings
from okr_definitions.sources.hubspot import HubSpotQuery, HubSpotSelection

_DATE_TYPES = ("date", "datetime")


@dataclass(frozen=True)
class HubSpotProblem:
    """One thing wrong with a metric's query, located by metric id and query field."""

    metric_id: str
    field: str
    message: str
    fix: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.metric_id}: {self.severity}: {self.field}: {self.message}. Fix: {self.fix}"


def _closest(name: str, candidates: Iterable[str]) -> list[str]:
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    return [lowered[f] for f in found]


def _did_you_mean(name: str, candidates: Iterable[str], what: str) -> str:
    close = _closest(name, candidates)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return f"use one of the account's {what}"


class _Checker:
    def __init__(
        self, properties: dict[str, dict[str, dict[str, Any]]], stages: list[dict[str, Any]]
    ) -> None:
        self.properties = properties
        self.stages = stages
        self.problems: list[HubSpotProblem] = []

    def add(
        self,
        metric_id: str,
        field: str,
        message: str,
        fix: str,
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        self.problems.append(HubSpotProblem(metric_id, field, message, fix, severity))

    def property(
        self, metric_id: str, field: str, obj: str, name: str, types: Sequence[str]
    ) -> None:
        known = self.properties[obj]
        if name not in known:
            self.add(
                metric_id,
                field,
                f"HubSpot {obj} have no property {name!r}",
                _did_you_mean(name, known, f"{obj} properties (Settings → Properties)"),
            )
            return
        ptype = known[name].get("type")
        if ptype not in types:
            self.add(
                metric_id,
                field,
                f"{obj} property {name!r} is of type {ptype}, not {' or '.join(types)}",
                f"use a {' or '.join(types)} property here",
            )

    def pipeline(self, metric_id: str, pipeline: str) -> bool:
        ids = {s["pipeline_id"] for s in self.stages}
        if pipeline in ids:
            return True
        by_label = {
            s["pipeline_label"].lower(): s["pipeline_id"]
            for s in self.stages
            if s["pipeline_label"]
        }
        if pipeline.lower() in by_label:
            fix = (
                f"use the pipeline's id {by_label[pipeline.lower()]!r}: metrics name "
                "pipelines by id, labels can be renamed"
            )
        else:
            labels = {s["pipeline_id"]: s["pipeline_label"] for s in self.stages}
            close = _closest(pipeline, list(ids) + [str(v) for v in labels.values() if v])
            known = ", ".join(f"{i!r} ({labels[i]})" for i in sorted(ids))
            fix = (
                ("did you mean " + " or ".join(repr(c) for c in close) + "? ") if close else ""
            ) + f"The account's deal pipelines are {known}"
        self.add(metric_id, "query.pipeline", f"there is no deal pipeline {pipeline!r}", fix)
        return False

    def stage(
        self, metric_id: str, field: str, sel: HubSpotQuery | HubSpotSelection, pipeline: str | None
    ) -> None:
        if sel.stage == "any":
            return
        wanted = {"won": {"won"}, "lost": {"lost"}, "closed": {"won", "lost"}, "open": {"open"}}[
            sel.stage
        ]
        pool = [s for s in self.stages if pipeline is None or s["pipeline_id"] == pipeline]
        if not any(s["outcome"] in wanted for s in pool):
            where = f"pipeline {pipeline!r}" if pipeline else "any deal pipeline"
            self.add(
                metric_id,
                field,
                f"{where} has no stage that is {sel.stage} (stage metadata isClosed / probability)",
                "mark the pipeline's won stage closed with probability 1.0 and its lost "
                "stage closed with probability 0.0 in HubSpot, or pick another stage",
            )

    def lifecycle(self, metric_id: str, field: str, value: str, date_property: str) -> None:
        options = [
            o.get("value")
            for o in self.properties["contacts"].get("lifecyclestage", {}).get("options", [])
        ]
        if options and value not in options:
            self.add(
                metric_id,
                field,
                f"{value!r} is not a lifecycle stage of this account",
                _did_you_mean(value, [o for o in options if o], "lifecycle stages"),
            )
        if date_property in (f"hs_v2_date_entered_{value}", f"hs_lifecyclestage_{value}_date"):
            self.add(
                metric_id,
                field,
                f"lifecycle_stage {value!r} keeps only contacts still in that stage, so "
                "contacts that moved on (e.g. to SQL) are not counted",
                "drop lifecycle_stage: the entry date alone counts every contact that "
                "entered the stage",
                severity="warning",
            )


def validate_hubspot_metrics(
    settings: HubSpotSettings,
    queries: Sequence[MetricRequest],
    *,
    client: HubSpotClient | None = None,
) -> list[HubSpotProblem]:
    """Problems with these metrics' queries in this account (empty when all is well).

    Raises AuthError for a refused token: that is not a problem of the metrics.
    """
    if not queries:
        return []
    client = client or HubSpotClient(settings)
    parsed = [(m.metric_id, hubspot_query(m)) for m in queries]
    objects = sorted(
        {q.object for _, q in parsed}
        | (
            {"contacts"}
            if any(
                q.lifecycle_stage or (q.denominator and q.denominator.lifecycle_stage)
                for _, q in parsed
            )
            else set()
        )
    )
    properties = {
        obj: {p["name"]: p for p in client.properties(obj).data.get("results") or []}
        for obj in objects
    }
    stages: list[dict[str, Any]] = []
    if "deals" in objects:
        stages = pipelines_table(client.pipelines("deals"), datetime.now(UTC)).to_pylist()
    check = _Checker(properties, stages)
    for metric_id, q in parsed:
        check.property(metric_id, "query.date_property", q.object, q.date_property, _DATE_TYPES)
        if q.property:
            check.property(metric_id, "query.property", q.object, q.property, ("number",))
        pipeline_ok = check.pipeline(metric_id, q.pipeline) if q.pipeline else True
        if pipeline_ok:
            check.stage(metric_id, "query.stage", q, q.pipeline)
            if q.denominator:
                check.stage(metric_id, "query.denominator.stage", q.denominator, q.pipeline)
        if q.lifecycle_stage:
            check.lifecycle(metric_id, "query.lifecycle_stage", q.lifecycle_stage, q.date_property)
        if q.denominator and q.denominator.lifecycle_stage:
            check.lifecycle(
                metric_id,
                "query.denominator.lifecycle_stage",
                q.denominator.lifecycle_stage,
                q.date_property,
            )
    return check.problems
