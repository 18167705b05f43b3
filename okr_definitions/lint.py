"""The definition rules of the method, checked across all files once they are merged.

Errors make a definition unusable (an undeclared metric, a target equal to its baseline).
Method rules (focus: at most 3 objectives per team and period, 2–4 key results each; outcomes,
not activities) are warnings, errors with `okr validate --strict`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

from okr_definitions import model as m
from okr_definitions.destinations.notify import lint_notify
from okr_definitions.located import Located
from okr_definitions.problems import Problem, Severity, did_you_mean, suggest_declared
from okr_definitions.push import lint_push
from okr_definitions.resolve import Definitions, format_loc, parse_period
from okr_definitions.sources.base import LintContext
from okr_definitions.yaml_source import printable
from registry.sources import source_layer

MAX_OBJECTIVES_PER_TEAM = 3
MIN_KRS, MAX_KRS = 2, 4
# Sources hold a few years of history; a period outside this range is a typo (0206-Q3) and
# would send the pipeline fetching centuries.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
MAX_PERIOD_DAYS = 366

# Titles that describe work to do rather than a result to reach. The method says a key result
# is an outcome ("organic blog traffic +40 %"), never an activity ("publish 10 posts").
OUTPUT_STYLE = [
    (re.compile(p, re.IGNORECASE), why)
    for p, why in [
        (
            r"^\s*(publish|launch|ship|release|write|create|build|implement|hold|host|organi[sz]e|"
            r"conduct|complete|deliver|introduce|roll out|set up|migrate|attend|send|run)\b",
            "starts with an activity verb",
        ),
        (
            r"\b\d+\s+(posts?|articles?|blog posts?|webinars?|campaigns?|events?|releases?|"
            r"features?|videos?|newsletters?|meetings?|calls?|workshops?)\b",
            "counts pieces of work produced",
        ),
        (
            r"\bf(ü|ue)hr(e|en)\b.*\bdurch\b|\bdurchf(ü|ue)hren\b",
            "describes carrying out an activity",
        ),
        (
            r"^\s*(ver(ö|oe)ffentlich|starte|launche|erstelle|implementiere|organisiere|schreibe|"
            r"f(ü|ue)hre\b.*\bein\b)",
            "starts with an activity verb",
        ),
        (
            # German puts the infinitive last: "10 Blogartikel veröffentlichen"
            r"\b(durchf(ü|ue)hren|einf(ü|ue)hren|erstellen|ver(ö|oe)ffentlichen|launchen|"
            r"starten|umsetzen|implementieren|organisieren|schreiben|aufsetzen|abhalten|"
            r"liefern|migrieren|versenden)\s*[.!]?\s*$",
            "ends with an activity verb",
        ),
    ]
]


def activity_reason(title: str) -> str | None:
    """Why a key-result title reads like an activity, or None for an outcome."""
    return next((why for pattern, why in OUTPUT_STYLE if pattern.search(title)), None)


def _problem(
    severity: Severity, loc: Located, field: str | tuple[str, ...], message: str, fix: str
) -> Problem:
    sub = (field,) if isinstance(field, str) else field
    sub = tuple(part for part in sub if part)
    return Problem(severity, loc.file, loc.line(*sub), format_loc(loc.path, *sub), message, fix)


def lint(d: Definitions) -> list[Problem]:
    problems: list[Problem] = []
    problems += _lint_metrics(d)
    problems += _lint_objectives(d)
    problems += lint_push(d)
    problems += lint_notify(d)
    return problems


def _lint_metrics(d: Definitions) -> list[Problem]:
    problems: list[Problem] = []
    metric_ids = list(d.metrics)
    # A file source may read anything inside the project that holds the definitions folder,
    # nothing outside it (no ../../etc/passwd).
    where = LintContext(base_dir=d.base_dir, project_root=d.base_dir.resolve().parent)
    for loc in d.metrics.values():
        metric = loc.item
        if isinstance(metric, m.RatioMetric):
            for part in ("numerator", "denominator"):
                ref = getattr(metric.ratio, part)
                if ref not in d.metrics:
                    problems.append(
                        _problem(
                            "error",
                            loc,
                            ("ratio", part),
                            f"ratio {part} `{ref}` is not a declared metric",
                            suggest_declared(ref, metric_ids, "metrics"),
                        )
                    )
                elif isinstance(d.metric(ref), m.RatioMetric):
                    problems.append(
                        _problem(
                            "error",
                            loc,
                            ("ratio", part),
                            f"ratio {part} `{ref}` is itself a ratio",
                            "point numerator and denominator at counted metrics (a ratio of ratios "
                            "has no meaningful sum)",
                        )
                    )
            if metric.ratio.numerator == metric.ratio.denominator:
                problems.append(
                    _problem(
                        "error",
                        loc,
                        "ratio",
                        "numerator and denominator are the same metric",
                        "use two different metrics",
                    )
                )
        else:
            for found in source_layer(metric.source, "definitions").lint_query(
                metric.query, getattr(d.sources, metric.source), where
            ):
                problems.append(_problem("error", loc, found.field, found.message, found.fix))
    return problems


def _lint_objectives(d: Definitions) -> list[Problem]:
    problems: list[Problem] = []
    team_ids = list(d.teams)
    per_team_period: dict[tuple[str, date, date], list[Located]] = defaultdict(list)
    for loc in d.objectives.values():
        objective: m.Objective = loc.item
        if objective.team not in d.teams:
            problems.append(
                _problem(
                    "error",
                    loc,
                    "team",
                    f"team `{objective.team}` is not declared",
                    suggest_declared(objective.team, team_ids, "teams"),
                )
            )
        try:
            start, end = parse_period(objective.period)
        except ValueError as exc:
            problems.append(
                _problem(
                    "error",
                    loc,
                    "period",
                    str(exc),
                    "write a quarter like 2026-Q3, a month like 2026-07 or "
                    "{start: 2026-07-01, end: 2026-09-30}",
                )
            )
            continue
        if end <= start:
            problems.append(
                _problem(
                    "error",
                    loc,
                    "period",
                    f"period ends ({end}) on or before it starts ({start})",
                    "swap start and end, or correct the dates",
                )
            )
            continue
        days = (end - start).days + 1
        if start < FIRST_DAY or end > LAST_DAY or days > MAX_PERIOD_DAYS:
            outside = start < FIRST_DAY or end > LAST_DAY
            problems.append(
                _problem(
                    "error",
                    loc,
                    "period",
                    f"period {start}..{end} lies outside {FIRST_DAY.year}–{LAST_DAY.year}"
                    if outside
                    else f"period {start}..{end} is {days} days long",
                    "check the year"
                    if outside
                    else f"OKRs are set for a quarter, at most a year ({MAX_PERIOD_DAYS} days): "
                    "shorten or split it",
                )
            )
            continue
        per_team_period[(objective.team, start, end)].append(loc)
        count = len(objective.key_results)
        if not MIN_KRS <= count <= MAX_KRS:
            problems.append(
                _problem(
                    "warning",
                    loc,
                    "key_results",
                    f"objective `{objective.id}` has {count} key result"
                    f"{'s' if count != 1 else ''}; the method asks for {MIN_KRS}–{MAX_KRS}",
                    "keep the few results that show the objective is reached"
                    if count > MAX_KRS
                    else "add a second measurable result",
                )
            )
        for j, kr in enumerate(objective.key_results):
            kloc = Located(kr, loc.doc, loc.path + ("key_results", j))
            problems += _lint_key_result(d, kloc)
    for (team, start, end), locs in per_team_period.items():
        if len(locs) > MAX_OBJECTIVES_PER_TEAM:
            extra = locs[MAX_OBJECTIVES_PER_TEAM]
            problems.append(
                _problem(
                    "warning",
                    extra,
                    "id",
                    f"team `{team}` has {len(locs)} objectives for {start}..{end}; the method asks "
                    f"for at most {MAX_OBJECTIVES_PER_TEAM}",
                    "focus: merge or drop objectives until three remain",
                )
            )
    return problems


def _lint_key_result(d: Definitions, loc: Located) -> list[Problem]:
    kr: m.KeyResult = loc.item
    problems: list[Problem] = []
    if kr.metric not in d.metrics:
        problems.append(
            _problem(
                "error",
                loc,
                "metric",
                f"metric `{kr.metric}` is not declared",
                did_you_mean(kr.metric, list(d.metrics))
                and suggest_declared(kr.metric, list(d.metrics), "metrics")
                # `okr import` leaves every key result on such a placeholder
                or f"bind `{kr.metric}` to a source metric: declare it under `metrics:` with "
                "`source:` and `query:` (or a `ratio:`)",
            )
        )
    for pattern, why in OUTPUT_STYLE:
        if pattern.search(kr.title):
            problems.append(
                _problem(
                    "warning",
                    loc,
                    "title",
                    f"key result `{kr.id}` reads like an activity, not an outcome ({why}: "
                    f'"{printable(kr.title)}")',
                    'state the result the work should cause, e.g. "organic blog sessions +40 %"',
                )
            )
            break
    if kr.target is None:
        problems.append(
            _problem(
                "error",
                loc,
                "target",
                f"key result `{kr.id}` has no target yet",
                "set `target:` to a number (1500, 3.2%) or a relative change (+40%)",
            )
        )
        return problems
    relative = m.parse_relative(kr.target)
    level = kr.measure != "total"
    if kr.baseline == "measured" and not level:
        problems.append(
            _problem(
                "error",
                loc,
                "baseline",
                "`baseline: measured` is for level measures; a total counts from 0 at the "
                "period start",
                "remove the baseline and use a relative target (e.g. +40%) to compare with the "
                "previous period",
            )
        )
    if relative is not None:
        if relative == 0:
            problems.append(
                _problem(
                    "error",
                    loc,
                    "target",
                    "a relative target of 0% equals the baseline",
                    "set the change you aim for, e.g. +40%",
                )
            )
        if level and kr.baseline is None:
            problems.append(
                _problem(
                    "error",
                    loc,
                    "baseline",
                    f"relative target {kr.target} needs a baseline",
                    "add `baseline: measured` (or a number)",
                )
            )
        if (
            kr.direction in ("increase", "at_least")
            and relative < 0
            or (kr.direction in ("decrease", "at_most") and relative > 0)
        ):
            problems.append(
                _problem(
                    "error",
                    loc,
                    "direction",
                    f"direction `{kr.direction}` contradicts target {kr.target}",
                    "flip the sign of the target or the direction",
                )
            )
        return problems
    target = m.parse_number(kr.target)
    baseline = None
    if kr.baseline not in (None, "measured"):
        baseline = m.parse_number(kr.baseline)
    elif kr.baseline is None and not level:
        baseline = 0.0
    if baseline is not None and baseline == target and kr.direction not in ("at_least", "at_most"):
        problems.append(
            _problem(
                "error",
                loc,
                "target",
                f"target {kr.target} equals the baseline"
                + (" (a total counts from 0)" if kr.baseline is None else f" {kr.baseline}"),
                "set a target that differs from the baseline, or use direction at_least/at_most "
                "to keep a level",
            )
        )
    if baseline is not None and baseline != target and kr.direction in ("increase", "decrease"):
        inferred = "increase" if target > baseline else "decrease"
        if inferred != kr.direction:
            problems.append(
                _problem(
                    "error",
                    loc,
                    "direction",
                    f"direction `{kr.direction}` but the target {kr.target} is "
                    f"{'above' if inferred == 'increase' else 'below'} the baseline {kr.baseline}",
                    f"use direction `{inferred}` or correct baseline/target",
                )
            )
    if level and kr.baseline is None and kr.direction not in ("at_least", "at_most"):
        problems.append(
            _problem(
                "error",
                loc,
                "baseline",
                f"a `{kr.measure}` key result needs a baseline to measure progress from",
                "add `baseline: measured` or a number, or keep a level with direction "
                "at_least/at_most",
            )
        )
    if kr.direction in ("at_least", "at_most") and target <= 0:
        problems.append(
            _problem(
                "error",
                loc,
                "target",
                f"`{kr.direction}` needs a positive target",
                "set the level to keep, e.g. 1.5",
            )
        )
    return problems
