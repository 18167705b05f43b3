"""The check-in report as Markdown, for chat and wikis: the same sections as the HTML, with
text bars where the HTML has charts (chat tools strip inline SVG)."""

from __future__ import annotations

from reports.formatting import (
    FLAG_MEANING,
    STATUS_SYMBOL,
    bar,
    confidence_line,
    derivation,
    format_delta,
    format_points,
    format_share,
    format_value,
    is_level,
    level_verdict,
    not_started_lines,
    trend_line,
)
from reports.weekly import KeyResultReport, WeeklyReport


def _cell(text: object) -> str:
    """Table-safe text: a `|` or a line break in a comment would split the table."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _status(status: str | None) -> str:
    return "—" if status is None else f"{STATUS_SYMBOL.get(status, '')} {status}"


def _checkin(kr: KeyResultReport) -> str:
    checkin = kr.checkin
    if checkin is None:
        return "—"
    parts = []
    if checkin.confidence is not None:
        parts.append(f"**{checkin.confidence}/10**")
    if checkin.comment:
        parts.append(checkin.comment)
    if checkin.by:
        parts.append(f"— {checkin.by}")
    return _cell(" ".join(parts))


def _attention(report: WeeklyReport) -> list[str]:
    if not report.attention:
        return ["_Nothing is off track or at risk this week._"]
    lines = [
        "| key result | status | value → target | progress of expected | check-in |",
        "|---|---|---:|---:|---|",
    ]
    for kr in report.attention:
        lines.append(
            f"| **{_cell(kr['title'])}** `{kr.kr_id}` | {_status(kr.status)} "
            f"| {format_value(kr['value'], kr['unit'])} → {format_value(kr['target'], kr['unit'])} "
            f"| {format_share(kr['progress'])} of {format_share(kr['expected_progress'])} "
            f"({format_points(kr.gap)}) | {_checkin(kr)} |"
        )
    return lines


def _changes(report: WeeklyReport) -> list[str]:
    lines = ["### Status changes", ""]
    if report.status_changes:
        lines += [
            f"- `{kr.kr_id}`: {_status(kr['prev_status'])} → {_status(kr.status)} "
            f"({format_share(kr['prev_progress'])} → {format_share(kr['progress'])})"
            for kr in report.status_changes
        ]
    else:
        lines.append("_No key result changed status since last week._")
    lines += ["", "### Biggest moves", ""]
    if report.biggest_moves:
        lines += ["| key result | a week ago → now | change | progress |", "|---|---:|---:|---:|"]
        lines += [
            f"| `{kr.kr_id}` | {format_value(kr['prev_value'], kr['unit'])} → "
            f"{format_value(kr['value'], kr['unit'])} "
            f"| {format_delta(kr.value_change, kr['unit'])} "
            f"| {format_points(kr.progress_change)} |"
            for kr in report.biggest_moves
        ]
    else:
        lines.append("_No comparison yet: this is the period's first week._")
    return lines


def _objectives(report: WeeklyReport) -> list[str]:
    lines: list[str] = []
    for objective in report.objectives:
        weakest = next(
            (kr for kr in objective.key_results if kr.kr_id == objective.weakest_kr_id), None
        )
        weakest_text = (
            f"{_status(weakest.status)} `{weakest.kr_id}`" if weakest else _status(objective.status)
        )
        lines += [
            "",
            f"### {objective.title}",
            "",
            f"{objective.team_name} · `{objective.objective_id}` · **pace** "
            f"{_status(objective.pace_status)}: score {format_share(objective.score)}, "
            f"expected {format_share(objective.expected)} · **weakest key result** "
            f"{weakest_text}",
            "",
            "| key result | status | value | target | progress vs pace | this week | check-in |",
            "|---|---|---:|---:|---|---:|---|",
        ]
        for kr in objective.key_results:
            change = (
                f"{format_delta(kr.value_change, kr['unit'])}"
                + (f", was {kr['prev_status']}" if kr.status_changed else "")
                if kr.has_previous
                else "first week"
            )
            flags = f" ⚑ {', '.join(kr.trust_flags)}" if kr.trust_flags else ""
            notes = [n for n in (derivation(kr.row), level_verdict(kr.row)) if n]
            numbers = "".join(f"<br>_{_cell(note)}_" for note in notes)
            progress = (
                f"{format_share(kr['progress'])} of the level"
                if is_level(kr.row)
                else f"`{bar(kr['progress'], kr['expected_progress'])}` "
                f"{format_share(kr['progress'])} of {format_share(kr['expected_progress'])}"
            )
            lines.append(
                f"| **{_cell(kr['title'])}** `{kr.kr_id}`{flags}{numbers} | {_status(kr.status)} "
                f"| {format_value(kr['value'], kr['unit'])} "
                f"| {format_value(kr['target'], kr['unit'])} "
                f"| {progress} | {change} | {_checkin(kr)} |"
            )
    return lines


def _trends(report: WeeklyReport) -> list[str]:
    """Confidence beside value over the last weeks, the last comment, and the signals."""
    krs = [kr for kr in report.key_results if kr.trend is not None]
    if not krs:
        return []
    weeks = krs[0].trend.labels if krs[0].trend else []
    lines = [
        "",
        "## Check-ins over the last weeks",
        "",
        f"Weeks {weeks[0]} → {weeks[-1]}, oldest first.",
        "",
        "| key result | confidence | value | last check-in's comment | signals |",
        "|---|---|---|---|---|",
    ]
    for kr in krs:
        trend = kr.trend
        assert trend is not None
        previous = (
            f"{trend.previous.week_start:%G-W%V}: {_cell(trend.previous.comment)}"
            if trend.previous and trend.previous.comment
            else "—"
        )
        signals = "; ".join(f"⚑ {words}" for _, words in trend.signals) or "—"
        lines.append(
            f"| `{kr.kr_id}` | {confidence_line(trend.confidences)} "
            f"| {trend_line(trend.values, kr['unit'])} | {previous} | {_cell(signals)} |"
        )
    return lines


def _trust(report: WeeklyReport) -> list[str]:
    rows = [
        f"| `{kr.kr_id}` | {flag} | {_cell(reason)} | {FLAG_MEANING.get(flag, '')} |"
        for kr in report.flagged
        for flag, reason in kr.trust_reasons()
    ]
    if not rows:
        return ["_No trust flags: every number is fresh and read from complete source data._"]
    return ["| key result | flag | reason | what it means |", "|---|---|---|---|", *rows]


def _retro(report: WeeklyReport) -> list[str]:
    grades = report.retro
    if not grades:
        return []
    mean = sum(g["final_score"] * g["weight"] for g in grades) / sum(g["weight"] for g in grades)
    met = sum(1 for g in grades if g["met"])
    lines = [
        "",
        "## Quarter retro",
        "",
        f"The period ended this week. Mean final score **{mean:.2f}**; {met} of {len(grades)} "
        f"key results met their bar; **{len(report.committed_misses)} committed misses**.",
        "",
        "| key result | commitment | final value | score | bar | result | final status |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for g in grades:
        result = ("met" if g["met"] else "missed") + (
            " · **committed miss**" if g["committed_miss"] else ""
        )
        lines.append(
            f"| {_cell(g['title'])} `{g['kr_id']}` | {g['commitment']} "
            f"| {format_value(g['value'], g['unit'])} of {format_value(g['target'], g['unit'])} "
            f"| {g['final_score']:.2f} | {g['expected_score']:.2f} | {result} "
            f"| {_status(g['final_status'])} |"
        )
    return lines


def _not_started(report: WeeklyReport) -> list[str]:
    if not report.not_started:
        return []
    lines = [
        "",
        "## Not started yet",
        "",
        "Measured as they would be today, so a key result without a working source is caught "
        "before its first day.",
        "",
        "| key result | numbers | sources |",
        "|---|---|---|",
    ]
    for row in report.not_started:
        numbers, data = not_started_lines(row)
        lines.append(
            f"| {_status('not_started')} **{_cell(row['title'])}** `{row['kr_id']}` "
            f"| {_cell(numbers)} | {_cell(data)} |"
        )
    return lines


def render_markdown(report: WeeklyReport) -> str:
    start, end = report.period
    counts = ", ".join(f"{count} {_status(status)}" for status, count in report.status_counts)
    title = f"OKR check-in {report.week_label}"
    if report.organisation:
        title += f" · {report.organisation}"
    lines = [
        f"# {title}",
        "",
        f"Week {report.week_start} → {report.week_end}; numbers as of **{report.as_of}** "
        f"(period {start} → {end}). {counts}.",
        "",
        "## Needs attention",
        "",
        *_attention(report),
        "",
        "## What changed since last week",
        "",
        *_changes(report),
        "",
        "## Objectives and key results",
        *_objectives(report),
        "",
        *_trends(report),
        "",
        "## Trust flags",
        "",
        *_trust(report),
        *_retro(report),
        *_not_started(report),
        "",
        f"_Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by okr-sync from "
        "okr.kr_progress_daily and checkins/*.yaml. Bars: `█` progress, `│` expected pace._",
        "",
    ]
    return "\n".join(lines)
