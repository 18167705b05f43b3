"""The check-in report as one self-contained HTML file.

Everything is inline — styles, charts as SVG, the favicon as a data: URL — so the file can be
mailed, attached to a wiki or opened from disk offline, and never makes a request. Every
value from the warehouse or a check-in is escaped: comments are free text people type.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from reports.charts import kr_chart_spec, overview_spec, to_svg
from reports.formatting import (
    FLAG_MEANING,
    STATUS_COLOUR,
    STATUS_LABEL,
    STATUS_SYMBOL,
    derivation,
    format_delta,
    format_points,
    format_share,
    format_value,
    is_level,
    level_verdict,
    not_started_lines,
)
from reports.weekly import KeyResultReport, ObjectiveReport, WeeklyReport

CSS = """
:root { --text: #2c3e50; --muted: #6b7b8c; --line: #dde3ea; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
header { border-bottom: 1px solid var(--line); padding-bottom: 14px; margin-bottom: 8px; }
.eyebrow { color: var(--muted); text-transform: uppercase; letter-spacing: .06em;
  font-size: 12px; margin: 0; }
h1 { font-size: 28px; margin: 4px 0 2px; }
h2 { font-size: 20px; margin: 30px 0 10px; padding-bottom: 4px;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 0; }
.meta { color: var(--muted); margin: 2px 0 10px; }
.counts { list-style: none; display: flex; flex-wrap: wrap; gap: 8px; padding: 0; margin: 0; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; color: #fff;
  font-weight: 600; font-size: 13px; white-space: nowrap; }
.counts .badge { font-size: 14px; padding: 3px 12px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  background: #fbfcfd; }
td.num, th.num { text-align: right; white-space: nowrap; }
.kr-id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
.objective { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  margin: 16px 0; overflow: hidden; }
.objective > .head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 10px;
  padding: 12px 16px; background: #fbfcfd; border-bottom: 1px solid var(--line); }
.objective > .head .score { margin-left: auto; color: var(--muted); }
.kr { padding: 14px 16px; border-bottom: 1px solid var(--line);
  border-left: 5px solid var(--status); }
.kr:last-child { border-bottom: 0; }
.kr .title { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px;
  margin-bottom: 8px; }
.kr .title strong { font-size: 16px; }
.kr .body { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
dl.numbers { display: grid; grid-template-columns: auto auto; gap: 2px 12px; margin: 0;
  width: 310px; }
dl.numbers dt { color: var(--muted); }
dl.numbers dd { margin: 0; font-weight: 600; text-align: right;
  font-variant-numeric: tabular-nums; }
figure { margin: 0; }
figure svg { display: block; max-width: 100%; height: auto; }
.checkin { flex: 1 1 220px; min-width: 220px; background: #fffbea; border: 1px solid #f1e4b3;
  border-radius: 6px; padding: 8px 12px; }
.checkin.none { background: #fafafa; border-color: var(--line); color: var(--muted); }
.checkin .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
.confidence { font-weight: 700; }
.meter { display: inline-flex; gap: 2px; vertical-align: middle; margin-left: 6px; }
.meter i { width: 7px; height: 12px; background: #e3e7eb; border-radius: 1px; }
.comment { margin: 4px 0 0; white-space: pre-wrap; }
.who { color: var(--muted); font-size: 13px; }
.flags { margin-top: 8px; font-size: 13px; color: #6c3483; }
.derived { margin-top: 6px; font-size: 13px; color: var(--muted); }
.flag { display: inline-block; border: 1px solid #c39bd3; color: #6c3483; border-radius: 4px;
  padding: 0 6px; font-size: 12px; font-weight: 600; margin-right: 4px; }
.overview { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; }
.retro-summary { display: flex; flex-wrap: wrap; gap: 12px; margin: 6px 0 12px; }
.retro-summary div { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 8px 14px; }
.retro-summary b { display: block; font-size: 22px; }
tr.miss td { background: #fdf0ee; }
footer { margin-top: 36px; color: var(--muted); font-size: 13px; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
footer dt { font-weight: 600; }
@media print { body { background: #fff; } .objective, .kr { break-inside: avoid; } }
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


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
            f"No check-in for {week_label} yet: add it to <code>checkins/</code>.</aside>"
        )
    parts = ['<aside class="checkin"><div class="label">Check-in · confidence</div>']
    if checkin.confidence is not None:
        parts.append(f"<div>{_confidence(checkin.confidence)}</div>")
    if checkin.comment:
        parts.append(f'<p class="comment">{_e(checkin.comment)}</p>')
    if checkin.by:
        parts.append(f'<div class="who">— {_e(checkin.by)}</div>')
    parts.append("</aside>")
    return "".join(parts)


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
  {_derived_line(kr)}
  {_flags_line(kr)}
</div>"""


def objective_block(objective: ObjectiveReport, report: WeeklyReport) -> str:
    cards = "".join(kr_card(kr, report) for kr in objective.key_results)
    return f"""
<article class="objective" id="objective-{_e(objective.objective_id)}">
  <div class="head">{badge(objective.status)} <h3>{_e(objective.title)}</h3>
    <span class="kr-id">{_e(objective.team_name)} · {_e(objective.objective_id)}</span>
    <span class="score">score <b>{format_share(objective.score)}</b>, expected
      {format_share(objective.expected)}</span></div>
  {cards}
</article>"""


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
            f'<tr data-attention-kr="{_e(kr.kr_id)}">'
            f'<td><a href="#kr-{_e(kr.kr_id)}">{_e(kr["title"])}</a><br>'
            f'<span class="kr-id">{_e(kr.kr_id)} · {_e(kr["team_name"])}</span></td>'
            f"<td>{badge(kr.status)}</td>"
            f'<td class="num">{_e(format_value(kr["value"], kr["unit"]))} → '
            f"{_e(format_value(kr['target'], kr['unit']))}</td>"
            f'<td class="num">{format_share(kr["progress"])} of '
            f"{format_share(kr['expected_progress'])} ({format_points(kr.gap)})</td>"
            f"<td>{note or '<span class=empty>no check-in</span>'}</td></tr>"
        )
    return (
        "<table><thead><tr><th>Key result</th><th>Status</th><th class=num>Value → target"
        "</th><th class=num>Progress of expected</th><th>Check-in</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


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
        rows = "".join(
            f"<tr><td>{_e(kr['title'])}<br><span class=kr-id>{_e(kr.kr_id)}</span></td>"
            f'<td class="num">{_e(format_value(kr["prev_value"], kr["unit"]))} → '
            f"{_e(format_value(kr['value'], kr['unit']))}</td>"
            f'<td class="num">{_e(format_delta(kr.value_change, kr["unit"]))}</td>'
            f'<td class="num">{format_points(kr.progress_change)}</td>'
            f"<td>{badge(kr.status)}</td></tr>"
            for kr in moves
        )
        moves_part = (
            "<table><thead><tr><th>Key result</th><th class=num>A week ago → now</th>"
            "<th class=num>Change</th><th class=num>Progress</th><th>Status</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    else:
        moves_part = '<p class="empty">No comparison yet: this is the period\'s first week.</p>'
    return f"<h3>Status changes</h3>{status_part}<h3>Biggest moves</h3>{moves_part}"


def _trust(report: WeeklyReport) -> str:
    rows = [
        f"<tr><td>{_e(kr.kr_id)}</td><td><span class=flag>{_e(flag)}</span></td>"
        f"<td>{_e(reason)}</td><td>{_e(FLAG_MEANING.get(flag, ''))}</td></tr>"
        for kr in report.flagged
        for flag, reason in kr.trust_reasons()
    ]
    if not rows:
        return (
            '<p class="empty">No trust flags: every number is fresh and read from complete '
            "source data.</p>"
        )
    return (
        "<table><thead><tr><th>Key result</th><th>Flag</th><th>Reason</th><th>What it means"
        "</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _retro(report: WeeklyReport) -> str:
    grades = report.retro
    if not grades:
        return ""
    periods = sorted({(g["period_start"], g["period_end"]) for g in grades})
    span = ", ".join(f"{s} → {e}" for s, e in periods)
    mean = sum(g["final_score"] * g["weight"] for g in grades) / sum(g["weight"] for g in grades)
    met = sum(1 for g in grades if g["met"])
    misses = report.committed_misses
    rows = "".join(
        f'<tr class="{"miss" if g["committed_miss"] else ""}" data-grade-kr="{_e(g["kr_id"])}">'
        f"<td>{_e(g['title'])}<br><span class=kr-id>{_e(g['kr_id'])} · "
        f"{_e(g['objective_title'])}</span></td>"
        f"<td>{_e(g['commitment'])}</td>"
        f'<td class="num">{_e(format_value(g["value"], g["unit"]))} of '
        f"{_e(format_value(g['target'], g['unit']))}</td>"
        f'<td class="num"><b>{g["final_score"]:.2f}</b></td>'
        f'<td class="num">{g["expected_score"]:.2f}</td>'
        f"<td>{'✔ met' if g['met'] else '✖ missed'}"
        f"{' · committed miss' if g['committed_miss'] else ''}</td>"
        f"<td>{badge(g['final_status'])}"
        f"{''.join(f' <span class=flag>{_e(f)}</span>' for f in g['flags'])}</td></tr>"
        for g in grades
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
<table><thead><tr><th>Key result</th><th>Commitment</th><th class=num>Final value</th>
<th class=num>Score</th><th class=num>Bar</th><th>Result</th><th>Final status</th></tr>
</thead><tbody>{rows}</tbody></table>
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
    overview = to_svg(overview_spec(report))
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

<section id="overview">
<h2>All key results at a glance</h2>
<figure class="overview" role="img" aria-label="Progress of every key result against its
expected pace">{overview}</figure>
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
