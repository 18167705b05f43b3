"""The check-in report as one self-contained HTML file.

Everything is inline — styles, charts as SVG, the favicon as a data: URL — so the file can be
mailed, attached to a wiki or opened from disk offline, and never makes a request. Every
value from the warehouse or a check-in is escaped: comments are free text people type.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from okr_definitions.checkins import iso_week
from reports.charts import kr_chart_spec, overview_spec, to_svg
from reports.formatting import (
    FLAG_MEANING,
    STATUS_COLOUR,
    STATUS_LABEL,
    STATUS_SYMBOL,
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
from reports.html_style import CSS
from reports.weekly import KeyResultReport, ObjectiveReport, WeeklyReport


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def data_table(headers: list[str], rows: list[tuple[str, list[str]]]) -> str:
    """A table of rows; each cell carries its column's header as `data-label`, which the
    stacked cards below 600 px show in front of the value. A header starting with `#` is a
    number column (right-aligned on a wide screen). `rows` are (the <tr>'s attributes, cells).
    """
    names = [h.removeprefix("#") for h in headers]
    classes = [' class="num"' if h.startswith("#") else "" for h in headers]
    head = "".join(f"<th{c}>{_e(n)}</th>" for n, c in zip(names, classes, strict=True))
    body = "".join(
        f"<tr{' ' + attributes if attributes else ''}>"
        + "".join(
            f'<td{c} data-label="{_e(n)}">{cell}</td>'
            for n, c, cell in zip(names, classes, cells, strict=True)
        )
        + "</tr>"
        for attributes, cells in rows
    )
    return f'<table class="rows"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _week_span(start: date, end: date) -> str:
    if start.month == end.month:
        return f"{start.day}–{end.day} {end:%b %Y}"
    return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"


def badge(status: str | None) -> str:
    if status is None:
        return '<span class="badge" style="background:#95a5a6">—</span>'
    colour = STATUS_COLOUR.get(status, "#95a5a6")
    label = STATUS_LABEL.get(status, status)
    symbol = STATUS_SYMBOL.get(status, "")
    return (
        f'<span class="badge status-{_e(status)}" style="background:{colour}" '
        f'title="{_e(status)}">{symbol} {_e(label)}</span>'
    )


def _confidence(value: int | None) -> str:
    if value is None:
        return ""
    colour = "#c0392b" if value <= 3 else "#d68910" if value <= 6 else "#1e8449"
    cells = "".join(
        f'<i style="background:{colour}"></i>' if i < value else "<i></i>" for i in range(10)
    )
    return (
        f'<span class="confidence" style="color:{colour}">{value}/10</span>'
        f'<span class="meter" aria-hidden="true">{cells}</span>'
    )


def checkin_box(kr: KeyResultReport, week_label: str) -> str:
    checkin = kr.checkin
    if checkin is None:
        return (
            '<aside class="checkin none"><div class="label">Check-in</div>'
            f"No check-in for {week_label} yet: <code>okr checkin</code> writes it."
            f"{_previous_comment(kr)}</aside>"
        )
    parts = ['<aside class="checkin"><div class="label">Check-in · confidence</div>']
    if checkin.confidence is not None:
        parts.append(f"<div>{_confidence(checkin.confidence)}</div>")
    if checkin.comment:
        parts.append(f'<p class="comment">{_e(checkin.comment)}</p>')
    if checkin.by:
        parts.append(f'<div class="who">— {_e(checkin.by)}</div>')
    parts.append(_previous_comment(kr))
    parts.append("</aside>")
    return "".join(parts)


def _previous_comment(kr: KeyResultReport) -> str:
    """The last check-in's comment, beside this week's (what changed in the owner's words)."""
    previous = kr.trend.previous if kr.trend else None
    if previous is None or not previous.comment:
        return ""
    return (
        f'<div class="previous"><div class="label">Last check-in · '
        f"{_e(iso_week(previous.week_start))}</div>"
        f'<p class="comment">{_e(previous.comment)}</p></div>'
    )


def _trend_lines(kr: KeyResultReport) -> str:
    """Confidence over the last weeks beside the value over the same weeks."""
    trend = kr.trend
    if trend is None:
        return ""
    weeks = f"{trend.labels[0]} → {trend.labels[-1]}"
    return (
        f'<div class="trend" data-trend-kr="{_e(kr.kr_id)}">'
        f'<span class="label">Weeks {_e(weeks)}</span> '
        f'<span class="conf-trend">confidence <b>{_e(confidence_line(trend.confidences))}</b>'
        f'</span> <span class="value-trend">value <b>'
        f"{_e(trend_line(trend.values, kr['unit']))}</b></span></div>"
    )


def _signal_lines(kr: KeyResultReport) -> str:
    if kr.trend is None or not kr.trend.signals:
        return ""
    return "".join(
        f'<div class="signal" data-signal="{_e(name)}">⚑ {_e(words)}</div>'
        for name, words in kr.trend.signals
    )


def _change(kr: KeyResultReport) -> str:
    if not kr.has_previous:
        return '<span class="empty">first week</span>'
    text = f"{format_delta(kr.value_change, kr['unit'])} ({format_points(kr.progress_change)})"
    if kr.status_changed:
        text += f" · was {badge(kr['prev_status'])}"
    return text


def _flags_line(kr: KeyResultReport) -> str:
    reasons = kr.trust_reasons()
    if not reasons:
        return ""
    items = "; ".join(
        f'<span class="flag">{_e(flag)}</span>{_e(reason)}' for flag, reason in reasons
    )
    return f'<div class="flags">⚑ Trust: {items}</div>'


def _derived_line(kr: KeyResultReport) -> str:
    note = derivation(kr.row)
    return f'<div class="derived">{_e(note)}</div>' if note else ""


def _not_started(report: WeeklyReport) -> str:
    if not report.not_started:
        return ""
    items = []
    for row in report.not_started:
        numbers, data = not_started_lines(row)
        missing = " missing" if row.get("metrics_without_data") else ""
        items.append(
            f'<li data-not-started="{_e(row["kr_id"])}">{badge("not_started")} '
            f"<strong>{_e(row['title'])}</strong> <span class=kr-id>{_e(row['kr_id'])} · "
            f"{_e(row['team_name'])} · {_e(row['objective_id'])}</span><br>{_e(numbers)}<br>"
            f'<span class="data{missing}">{_e(data)}</span></li>'
        )
    return f"""
<section id="not-started">
<h2>Not started yet</h2>
<p>Measured as they would be today, so a key result without a working source is caught before
its first day.</p>
<ul>{"".join(items)}</ul>
</section>"""


def kr_card(kr: KeyResultReport, report: WeeklyReport) -> str:
    row = kr.row
    unit = row["unit"]
    numbers = [
        ("Value", format_value(row["value"], unit)),
        ("Target", format_value(row["target"], unit)),
        ("Baseline", format_value(row["baseline"], unit)),
        ("Progress", format_share(row["progress"])),
        # A level has no pace: it holds or it does not, every day.
        *(
            [("Level", level_verdict(row) or "—")]
            if is_level(row)
            else [
                ("Expected pace", format_share(row["expected_progress"])),
                ("vs pace", format_points(kr.gap)),
            ]
        ),
        ("Data through", str(row["data_through"] or "—")),
        ("Commitment", row["commitment"]),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in numbers)
    chart = to_svg(kr_chart_spec(kr, report.week_start))
    label = (
        f"Progress of {kr.kr_id} over the period: {format_share(row['progress'])} against "
        f"an expected pace of {format_share(row['expected_progress'])}"
    )
    data = {
        "kr": kr.kr_id,
        "status": kr.status,
        "value": "" if row["value"] is None else repr(float(row["value"])),
        "target": "" if row["target"] is None else repr(float(row["target"])),
        "progress": "" if row["progress"] is None else repr(float(row["progress"])),
        "expected": repr(float(row["expected_progress"])),
        "as-of": str(row["as_of_date"]),
    }
    attributes = " ".join(f'data-{k}="{_e(v)}"' for k, v in data.items())
    colour = STATUS_COLOUR.get(kr.status, "#95a5a6")
    return f"""
<div class="kr" id="kr-{_e(kr.kr_id)}" {attributes} style="--status:{colour}">
  <div class="title">{badge(kr.status)} <strong>{_e(row["title"])}</strong>
    <span class="kr-id">{_e(kr.kr_id)}</span></div>
  <div class="body">
    <dl class="numbers">{dl}<dt>This week</dt><dd>{_change(kr)}</dd></dl>
    <figure class="chart" role="img" aria-label="{_e(label)}">{chart}</figure>
    {checkin_box(kr, report.week_label)}
  </div>
  {_trend_lines(kr)}
  {_signal_lines(kr)}
  {_derived_line(kr)}
  {_flags_line(kr)}
</div>"""


def objective_facts(objective: ObjectiveReport) -> str:
    """The objective's own pace and its weakest key result, each under its name: a badge
    beside "score 74 %, expected 70 %" must be the pace's, not the weakest key result's."""
    weakest = next(
        (kr for kr in objective.key_results if kr.kr_id == objective.weakest_kr_id), None
    )
    weakest_text = (
        f'{badge(weakest.status)} <a href="#kr-{_e(weakest.kr_id)}">{_e(weakest["title"])}</a>'
        if weakest is not None
        else badge(objective.status)
    )
    return (
        f'<dl class="facts"><dt>Pace</dt><dd data-pace="{_e(objective.pace_status)}">'
        f"{badge(objective.pace_status)} score <b>{format_share(objective.score)}</b>, "
        f"expected {format_share(objective.expected)}</dd>"
        f'<dt>Weakest key result</dt><dd data-weakest="{_e(objective.weakest_kr_id)}">'
        f"{weakest_text}</dd></dl>"
    )


def objective_block(objective: ObjectiveReport, report: WeeklyReport) -> str:
    cards = "".join(kr_card(kr, report) for kr in objective.key_results)
    return f"""
<article class="objective" id="objective-{_e(objective.objective_id)}">
  <div class="head"><h3>{_e(objective.title)}</h3>
    <span class="kr-id">{_e(objective.team_name)} · {_e(objective.objective_id)}</span>
    {objective_facts(objective)}</div>
  {cards}
</article>"""


def _signals(report: WeeklyReport) -> str:
    signals = report.checkin_signals
    if not signals:
        return (
            '<p class="empty">Every key result has a recent check-in, and no confidence '
            "disagrees with its numbers.</p>"
        )
    items = "".join(
        f'<li data-signal-kr="{_e(kr.kr_id)}" data-signal="{_e(name)}">'
        f'<a href="#kr-{_e(kr.kr_id)}">{_e(kr["title"])}</a> '
        f"<span class=kr-id>{_e(kr.kr_id)}</span> — {_e(words)}</li>"
        for kr, name, words in signals
    )
    return f'<ul class="signals">{items}</ul>'


def _attention(report: WeeklyReport) -> str:
    krs = report.attention
    if not krs:
        return '<p class="empty">Nothing is off track or at risk this week.</p>'
    rows = []
    for kr in krs:
        checkin = kr.checkin
        note = ""
        if checkin is not None:
            note = _confidence(checkin.confidence)
            if checkin.comment:
                note += f'<div class="comment">{_e(checkin.comment)}</div>'
        rows.append(
            (
                f'data-attention-kr="{_e(kr.kr_id)}"',
                [
                    f'<a href="#kr-{_e(kr.kr_id)}">{_e(kr["title"])}</a><br>'
                    f'<span class="kr-id">{_e(kr.kr_id)} · {_e(kr["team_name"])}</span>',
                    badge(kr.status),
                    f"{_e(format_value(kr['value'], kr['unit']))} → "
                    f"{_e(format_value(kr['target'], kr['unit']))}",
                    f"{format_share(kr['progress'])} of "
                    f"{format_share(kr['expected_progress'])} ({format_points(kr.gap)})",
                    note or "<span class=empty>no check-in</span>",
                ],
            )
        )
    headers = ["Key result", "Status", "#Value → target", "#Progress of expected", "Check-in"]
    return data_table(headers, rows)


def _changes(report: WeeklyReport) -> str:
    changes = report.status_changes
    if changes:
        items = "".join(
            f"<li><b>{_e(kr.kr_id)}</b>: {badge(kr['prev_status'])} → {badge(kr.status)} "
            f"({format_share(kr['prev_progress'])} → {format_share(kr['progress'])})</li>"
            for kr in changes
        )
        status_part = f"<ul>{items}</ul>"
    else:
        status_part = '<p class="empty">No key result changed status since last week.</p>'
    moves = report.biggest_moves
    if moves:
        rows = [
            (
                "",
                [
                    f"{_e(kr['title'])}<br><span class=kr-id>{_e(kr.kr_id)}</span>",
                    f"{_e(format_value(kr['prev_value'], kr['unit']))} → "
                    f"{_e(format_value(kr['value'], kr['unit']))}",
                    _e(format_delta(kr.value_change, kr["unit"])),
                    format_points(kr.progress_change),
                    badge(kr.status),
                ],
            )
            for kr in moves
        ]
        headers = ["Key result", "#A week ago → now", "#Change", "#Progress", "Status"]
        moves_part = data_table(headers, rows)
    else:
        moves_part = '<p class="empty">No comparison yet: this is the period\'s first week.</p>'
    return f"<h3>Status changes</h3>{status_part}<h3>Biggest moves</h3>{moves_part}"


def _trust(report: WeeklyReport) -> str:
    rows = [
        (
            "",
            [
                _e(kr.kr_id),
                f"<span class=flag>{_e(flag)}</span>",
                _e(reason),
                _e(FLAG_MEANING.get(flag, "")),
            ],
        )
        for kr in report.flagged
        for flag, reason in kr.trust_reasons()
    ]
    if not rows:
        return (
            '<p class="empty">No trust flags: every number is fresh and read from complete '
            "source data.</p>"
        )
    return data_table(["Key result", "Flag", "Reason", "What it means"], rows)


def _retro(report: WeeklyReport) -> str:
    grades = report.retro
    if not grades:
        return ""
    periods = sorted({(g["period_start"], g["period_end"]) for g in grades})
    span = ", ".join(f"{s} → {e}" for s, e in periods)
    mean = sum(g["final_score"] * g["weight"] for g in grades) / sum(g["weight"] for g in grades)
    met = sum(1 for g in grades if g["met"])
    misses = report.committed_misses
    rows = [
        (
            f'class="{"miss" if g["committed_miss"] else ""}" data-grade-kr="{_e(g["kr_id"])}"',
            [
                f"{_e(g['title'])}<br><span class=kr-id>{_e(g['kr_id'])} · "
                f"{_e(g['objective_title'])}</span>",
                _e(g["commitment"]),
                f"{_e(format_value(g['value'], g['unit']))} of "
                f"{_e(format_value(g['target'], g['unit']))}",
                f"<b>{g['final_score']:.2f}</b>",
                f"{g['expected_score']:.2f}",
                f"{'✔ met' if g['met'] else '✖ missed'}"
                f"{' · committed miss' if g['committed_miss'] else ''}",
                f"{badge(g['final_status'])}"
                f"{''.join(f' <span class=flag>{_e(f)}</span>' for f in g['flags'])}",
            ],
        )
        for g in grades
    ]
    table = data_table(
        ["Key result", "Commitment", "#Final value", "#Score", "#Bar", "Result", "Final status"],
        rows,
    )
    return f"""
<section id="retro">
<h2>Quarter retro · {_e(span)}</h2>
<p>The period ended this week: these are the final grades (<code>okr.kr_final_grades</code>),
committed misses first. Committed key results are expected to reach 1.0, aspirational ones
the aspirational pace.</p>
<div class="retro-summary">
  <div><b>{mean:.2f}</b>mean final score</div>
  <div><b>{met} of {len(grades)}</b>key results met their bar</div>
  <div><b>{len(misses)}</b>committed misses</div>
</div>
{table}
</section>"""


def render_html(report: WeeklyReport) -> str:
    start, end = report.period
    days = (end - start).days + 1
    day_n = min(days, (report.as_of - start).days + 1)
    counts = "".join(
        f"<li>{badge(status).replace('</span>', f' · {count}</span>')}</li>"
        for status, count in report.status_counts
    )
    organisation = f"{_e(report.organisation)} · " if report.organisation else ""
    title = f"OKR check-in {report.week_label}" + (
        f" — {report.organisation}" if report.organisation else ""
    )
    overview_wide = to_svg(overview_spec(report))
    overview_narrow = to_svg(overview_spec(report, narrow=True))
    objectives = "".join(objective_block(o, report) for o in report.objectives)
    checkins = len(report.checkins)
    on_track, at_risk = (margin * 100 for margin in report.thresholds)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="okr-sync">
<title>{_e(title)}</title>
<link rel="icon" href="data:,">
<style>{CSS}</style>
</head>
<body>
<main>
<header>
  <p class="eyebrow">{organisation}Weekly OKR check-in</p>
  <h1>{_e(report.week_label)} · {_week_span(report.week_start, report.week_end)}</h1>
  <p class="meta">Numbers as of <b>{_day(report.as_of)}</b> · period {start} → {end},
    day {day_n} of {days} · {len(report.key_results)} key results in
    {len(report.objectives)} objectives · {checkins} check-in{"s" if checkins != 1 else ""}</p>
  <ul class="counts">{counts}</ul>
</header>

<section id="attention">
<h2>Needs attention</h2>
{_attention(report)}
</section>

<section id="checkin-signals">
<h2>Check-in signals</h2>
{_signals(report)}
</section>

<section id="overview">
<h2>All key results at a glance</h2>
<figure class="overview wide" role="img" aria-label="Progress of every key result against its
expected pace">{overview_wide}</figure>
<figure class="overview narrow" role="img" aria-label="Progress of every key result against its
expected pace">{overview_narrow}</figure>
</section>

<section id="changes">
<h2>What changed since last week</h2>
{_changes(report)}
</section>

<section id="objectives">
<h2>Objectives and key results</h2>
{objectives}
</section>

<section id="trust">
<h2>Trust flags</h2>
{_trust(report)}
</section>
{_retro(report)}
{_not_started(report)}
<footer>
<dl>
<dt>Statuses</dt><dd>{badge("achieved")} score ≥ 1 · {badge("on_track")} within
{on_track:.0f} points of the expected pace · {badge("at_risk")} within {at_risk:.0f} points ·
{badge("off_track")} further behind ·
{badge("stale")} the source's data is older than it allows · {badge("no_data")} nothing
measured</dd>
<dt>Charts</dt><dd>solid line: progress each day; dashed: the expected pace; dotted: the
target (100 %); shaded: this week.</dd>
<dt>Source</dt><dd><code>okr.kr_progress_daily</code> (each key result's newest row of the
week, compared with the row 7 days earlier) and <code>checkins/*.yaml</code>. Generated
{report.generated_at:%Y-%m-%d %H:%M} UTC by okr-sync.</dd>
</dl>
</footer>
</main>
</body>
</html>
"""
