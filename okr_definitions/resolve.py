"""Merge parsed files into one set of definitions and resolve what the warehouse needs.

Resolution turns what people write (`2026-Q3`, `+40%`, `3.2%`, an omitted direction) into the
explicit numbers and kinds the key-result math uses, and gives every key result a hash of
everything that affects its numbers, so a changed definition is visible downstream.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from okr_definitions import model as m
from okr_definitions.located import Located, ParsedFile
from okr_definitions.problems import Problem
from okr_definitions.yaml_source import format_path


def parse_period(period: m.Period) -> tuple[date, date]:
    """`2026-Q3` → (2026-07-01, 2026-09-30), `2028-02` → (2028-02-01, 2028-02-29); explicit
    periods as written. Raises ValueError."""
    if isinstance(period, m.ExplicitPeriod):
        return period.start, period.end
    text = period.strip()
    quarter = m.QUARTER_PATTERN.match(text)
    if quarter:
        year, first_month = int(quarter.group(1)), 3 * (int(quarter.group(2)) - 1) + 1
        return _months(year, first_month, 3)
    month = m.MONTH_PATTERN.match(text)
    if month:
        return _months(int(month.group(1)), int(month.group(2)), 1)
    raise ValueError(f"period {period!r} is not a quarter like 2026-Q3 or a month like 2026-07")


def _months(year: int, first_month: int, count: int) -> tuple[date, date]:
    """The first and last day of `count` calendar months from `first_month` of `year`."""
    last_month = first_month + count - 1
    return date(year, first_month, 1), date(
        year, last_month, calendar.monthrange(year, last_month)[1]
    )


def previous_period(period: m.Period) -> tuple[date, date]:
    """The period a relative target or an `average` baseline compares with: for a named period
    the previous one of the same kind (2026-Q3 → 2026-04-01..2026-06-30, 91 days; 2028-03 →
    2028-02-01..2028-02-29), for explicit dates the same number of days just before them."""
    start, end = parse_period(period)
    if isinstance(period, m.ExplicitPeriod):
        return start - (end - start) - timedelta(days=1), start - timedelta(days=1)
    months = 3 if m.QUARTER_PATTERN.match(period.strip()) else 1
    previous_end = start - timedelta(days=1)
    first_month = (previous_end.month - months) % 12 + 1
    return _months(previous_end.year, first_month, months)


def _hash(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ResolvedKeyResult:
    """A key result with everything the warehouse math needs spelled out."""

    id: str
    title: str
    objective_id: str
    team: str
    metric_id: str
    measure: str  # total | rolling | latest | average
    window_days: int | None
    period_start: date
    period_end: date
    # The previous period (see previous_period): what `+40%` on a total and an `average`
    # measured baseline read.
    previous_start: date
    previous_end: date
    baseline_kind: str  # number | measured | zero
    baseline_value: float | None
    target_kind: str  # absolute | relative
    target_value: float  # absolute target, or the relative change (0.40 for +40%)
    direction: str | None  # None: inferred from baseline and target at run time
    commitment: str
    weight: float
    unit: str | None
    definition_hash: str
    source_file: str

    @property
    def first_day_needed(self) -> date:
        """The first day its baseline or previous-period target can read."""
        return min(self.previous_start, self.period_start - timedelta(days=self.window_days or 0))


@dataclass
class Definitions:
    base_dir: Path
    organisation: m.Organisation
    sources: m.Sources
    teams: dict[str, Located]
    metrics: dict[str, Located]
    objectives: dict[str, Located]
    key_results: dict[str, Located]
    # kr id → objective Located, for rules that need both
    kr_objective: dict[str, Located] = field(default_factory=dict)
    push: m.Push = field(default_factory=m.Push)  # OKR tools to push values into
    publish: m.Publish = field(default_factory=m.Publish)
    # the `notify:` section (okr_definitions.destinations.notify.Notify), where it was written
    notify: Located | None = None

    # -- lookups used by connectors and the pipeline ----------------------------------------
    def metric(self, metric_id: str) -> Any:
        return self.metrics[metric_id].item

    def metric_source(self, metric_id: str) -> str:
        """The source of a metric; a ratio's source when both parts share one, else `mixed`."""
        metric = self.metric(metric_id)
        if isinstance(metric, m.RatioMetric):
            parts = {
                self.metric_source(metric.ratio.numerator),
                self.metric_source(metric.ratio.denominator),
            }
            return parts.pop() if len(parts) == 1 else "mixed"
        return metric.source

    def source_metrics(self, source: str) -> list[Any]:
        """The non-ratio metrics a source must fetch, in a stable order."""
        return [
            loc.item
            for loc in self.metrics.values()
            if not isinstance(loc.item, m.RatioMetric) and loc.item.source == source
        ]

    def used_sources(self) -> set[str]:
        return {
            loc.item.source
            for loc in self.metrics.values()
            if not isinstance(loc.item, m.RatioMetric)
        }

    def allowed_lag_days(self, metric_id: str) -> int:
        metric = self.metric(metric_id)
        if isinstance(metric, m.RatioMetric):
            return max(
                self.allowed_lag_days(metric.ratio.numerator),
                self.allowed_lag_days(metric.ratio.denominator),
            )
        return getattr(self.sources, metric.source).allowed_lag_days

    def metric_hash(self, metric_id: str) -> str:
        metric = self.metric(metric_id)
        payload: dict[str, Any] = metric.model_dump(mode="json", by_alias=True)
        if isinstance(metric, m.RatioMetric):
            payload["parts"] = [
                self.metric_hash(metric.ratio.numerator),
                self.metric_hash(metric.ratio.denominator),
            ]
        return _hash(payload)

    def resolved_key_results(self) -> list[ResolvedKeyResult]:
        out = []
        for kr_id, loc in self.key_results.items():
            kr: m.KeyResult = loc.item
            objective: m.Objective = self.kr_objective[kr_id].item
            start, end = parse_period(objective.period)
            previous_start, previous_end = previous_period(objective.period)
            relative = m.parse_relative(kr.target)
            if kr.baseline == "measured":
                baseline_kind, baseline_value = "measured", None
            elif kr.baseline is None:
                baseline_kind, baseline_value = (
                    ("zero", 0.0) if kr.measure == "total" else ("none", None)
                )
            else:
                baseline_kind, baseline_value = "number", m.parse_number(kr.baseline)
            target_kind = "relative" if relative is not None else "absolute"
            target_value = relative if relative is not None else m.parse_number(kr.target)
            direction = kr.direction
            if direction is None and baseline_value is not None and target_kind == "absolute":
                direction = "increase" if target_value > baseline_value else "decrease"
            if direction is None and target_kind == "relative":
                direction = "increase" if target_value > 0 else "decrease"
            hashed = {
                "kr": kr.model_dump(mode="json", exclude={"title", "description"}),
                "period": [start, end],
                "previous_period": [previous_start, previous_end],
                "metric": self.metric_hash(kr.metric),
            }
            out.append(
                ResolvedKeyResult(
                    id=kr.id,
                    title=kr.title,
                    objective_id=objective.id,
                    team=objective.team,
                    metric_id=kr.metric,
                    measure=kr.measure_kind,
                    window_days=kr.window_days,
                    period_start=start,
                    period_end=end,
                    previous_start=previous_start,
                    previous_end=previous_end,
                    baseline_kind=baseline_kind,
                    baseline_value=baseline_value,
                    target_kind=target_kind,
                    target_value=target_value,
                    direction=direction,
                    commitment=kr.commitment,
                    weight=kr.weight,
                    unit=kr.unit,
                    definition_hash=_hash(hashed),
                    source_file=str(loc.file),
                )
            )
        return out

    def source_key_results(self, source: str) -> list[ResolvedKeyResult]:
        """The key results that read `source` (through their metric or a ratio's parts)."""
        out = []
        for kr in self.resolved_key_results():
            metric = self.metric(kr.metric_id)
            parts = (
                [metric.ratio.numerator, metric.ratio.denominator]
                if isinstance(metric, m.RatioMetric)
                else [kr.metric_id]
            )
            if any(self.metric_source(part) == source for part in parts):
                out.append(kr)
        return out

    def earliest_date_needed(self, source: str | None = None) -> date:
        """The first day any key result's baseline or previous-period target reads (only those
        reading `source`, when given); today when there is none."""
        key_results = (
            self.resolved_key_results() if source is None else self.source_key_results(source)
        )
        return min((kr.first_day_needed for kr in key_results), default=date.today())

    def exact_windows(
        self, source: str, start: date, end: date, is_additive: Callable[[Any], bool]
    ) -> list[tuple[Any, date, date]]:
        """(metric, first day, last day) of every exact window that the non-additive metrics of
        `source` need for the as-of days [start, end].

        The key-result math never sums such metrics across days (okr_definitions/README.md,
        "How the numbers are computed"); it looks up the source's answer for the exact window:
        total, period start to the day; rolling_<N>d, the N days ending on the day; plus the
        baseline or previous-period window before the period.
        """
        wanted: dict[tuple[str, date, date], tuple[Any, date, date]] = {}
        for kr in self.resolved_key_results():
            metric = self.metric(kr.metric_id)
            if getattr(metric, "source", None) != source or kr.measure not in ("total", "rolling"):
                continue
            if is_additive(metric.query):
                continue
            windows = []
            if kr.baseline_kind == "measured" or kr.target_kind == "relative":
                # what baseline_windows.sql reads: the N days before a rolling window, else the
                # previous period (for 2026-Q3 all of Q2, not 92 days)
                first = (
                    kr.period_start - timedelta(days=kr.window_days or 0)
                    if kr.measure == "rolling"
                    else kr.previous_start
                )
                windows.append((first, kr.period_start - timedelta(days=1)))
            day = max(start, kr.period_start)
            while day <= min(end, kr.period_end):
                first = (
                    kr.period_start
                    if kr.measure == "total"
                    else day - timedelta(days=(kr.window_days or 1) - 1)
                )
                windows.append((first, day))
                day += timedelta(days=1)
            for first, last in windows:
                wanted[(metric.id, first, last)] = (metric, first, last)
        return list(wanted.values())


def merge(parsed: list[ParsedFile], base_dir: Path) -> tuple[Definitions, list[Problem]]:

    problems: list[Problem] = []
    organisation: m.Organisation | None = None
    sources: m.Sources | None = None
    push: m.Push | None = None
    publish: m.Publish | None = None
    org_loc: Located | None = None
    tables: dict[str, dict[str, Located]] = {
        "team": {},
        "metric": {},
        "objective": {},
        "key result": {},
    }
    kr_objective: dict[str, Located] = {}
    notify: Located | None = None

    def add(kind: str, loc: Located) -> None:
        item_id = loc.item.id
        table = tables[kind]
        if item_id in table:
            first = table[item_id]
            problems.append(
                Problem(
                    "error",
                    loc.file,
                    loc.line("id"),
                    format_loc(loc.path, "id"),
                    f"duplicate {kind} id `{item_id}` (first declared in "
                    f"{first.file.name}:{first.line('id')})",
                    f"give this {kind} a different id",
                )
            )
            return
        table[item_id] = loc

    for pf in parsed:
        doc, model = pf.doc, pf.model
        if model.organisation is not None:
            if organisation is not None and org_loc is not None:
                problems.append(
                    Problem(
                        "error",
                        doc.file,
                        doc.line_of(("organisation",)),
                        "organisation",
                        f"organisation is declared twice (also in {org_loc.file.name})",
                        "keep one `organisation:` section",
                    )
                )
            organisation = model.organisation
            org_loc = Located(model.organisation, doc, ("organisation",))
        if model.sources is not None:
            sources = model.sources
        if model.push is not None:
            push = model.push
        if model.publish is not None:
            publish = model.publish
        if model.notify is not None:
            if notify is not None:
                problems.append(
                    Problem(
                        "error",
                        doc.file,
                        doc.line_of(("notify",)),
                        "notify",
                        f"notify is declared twice (also in {notify.file.name})",
                        "keep one `notify:` section",
                    )
                )
            notify = Located(model.notify, doc, ("notify",))
        for i, team in enumerate(model.teams):
            add("team", Located(team, doc, ("teams", i)))
        for i, metric in enumerate(model.metrics):
            add("metric", Located(metric, doc, ("metrics", i)))
        for i, objective in enumerate(model.objectives):
            oloc = Located(objective, doc, ("objectives", i))
            add("objective", oloc)
            for j, kr in enumerate(objective.key_results):
                kloc = Located(kr, doc, ("objectives", i, "key_results", j))
                before = len(tables["key result"])
                add("key result", kloc)
                if len(tables["key result"]) > before:
                    kr_objective[kr.id] = oloc

    if organisation is None:
        first = parsed[0].doc.file if parsed else base_dir
        problems.append(
            Problem(
                "error",
                first,
                None,
                "organisation",
                "no `organisation:` section in any file",
                "add `organisation: {name: ..., timezone: Europe/Berlin}` to one file",
            )
        )
        organisation = m.Organisation(name="unnamed")
    definitions = Definitions(
        base_dir=base_dir,
        organisation=organisation,
        sources=sources or m.Sources(),
        teams=tables["team"],
        metrics=tables["metric"],
        objectives=tables["objective"],
        key_results=tables["key result"],
        kr_objective=kr_objective,
        push=push or m.Push(),
        publish=publish or m.Publish(),
        notify=notify,
    )
    return definitions, problems


def format_loc(path: tuple[str | int, ...], *sub: str | int) -> str:

    return format_path(tuple(path) + sub)
