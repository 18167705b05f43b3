"""`okr status` in the terminal: one table per team, objectives as row groups.

Colour only repeats what the symbol and the word already say, so the table reads the same
piped into a file or a chat (rich drops the colour itself for NO_COLOR and non-terminals).
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from okr_definitions.checkins import iso_week
from reports.checkin_trends import CheckinTrend
from reports.formatting import (
    confidence_line,
    derivation,
    format_delta,
    format_points,
    format_share,
    format_value,
    level_verdict,
    not_started_lines,
    pace_gap,
    status_text,
    trend_line,
)
from warehouse.status import STATUS_ORDER

STATUS_STYLE = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "bold red",
    "stale": "magenta",
    "no_data": "dim",
    "not_started": "dim",
}

# (header, justify, min_width): in a narrow terminal rich wraps cells at spaces; the minimum
# widths keep ids and statuses on one line (rich would otherwise fold them a letter per line)
COLUMNS = (
    ("objective · key result", "left", 26),
    ("status", "left", 11),
    ("value → target", "right", 9),
    ("progress of pace", "right", 8),
    ("vs pace", "right", 7),
    ("7 days", "right", 8),
    ("data through", "left", 10),
    ("trust", "left", 5),
)

COMPACT_WIDTHS = {"status": 11, "value → target": 16, "progress of pace": 9}


class ValueTarget:
    """`value → target` on one line where it fits, else `value →` over `target`: a narrow
    column wraps at the arrow, never inside a number or between a number and its unit."""

    def __init__(self, row: dict[str, Any]) -> None:
        value, target = (
            format_value(row["value"], row["unit"]),
            format_value(row["target"], row["unit"]),
        )
        self.one_line = f"{value} → {target}"
        self.two_lines = (f"{value} →", target)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(max(map(cell_len, self.two_lines)), cell_len(self.one_line))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        fits = cell_len(self.one_line) <= options.max_width
        yield Text(self.one_line if fits else "\n".join(self.two_lines), no_wrap=True)


def _status_cell(status: str | None) -> Text:
    return Text(status_text(status), style=STATUS_STYLE.get(status or "", ""))


def _gap_cell(progress: float | None, expected: float | None) -> Text:
    gap = pace_gap(progress, expected)
    style = "" if gap is None else "red" if gap < -0.10 else "green" if gap >= 0 else "yellow"
    return Text(format_points(gap), style=style)


def _change_cell(row: dict[str, Any]) -> Text:
    """Value change since the row 7 days earlier, and the old status when it changed."""
    if row["prev_as_of_date"] is None:
        return Text("new this week", style="dim")
    delta = (
        None
        if row["value"] is None or row["prev_value"] is None
        else row["value"] - row["prev_value"]
    )
    text = Text(format_delta(delta, row["unit"]))
    if row["prev_status"] != row["status"]:
        text.append(f"\nwas {row['prev_status']}", style=STATUS_STYLE.get(row["prev_status"], ""))
    return text


def trust_flags(row: dict[str, Any]) -> list[str]:
    """The flags a reader should weigh the number by: `stale` first, then the source's."""
    flags = ["stale"] if row["status"] == "stale" else []
    return flags + [f for f in row["flags"] if f not in flags]


def _kr_cell(row: dict[str, Any]) -> Text:
    # The id first: it is what people grep for and type into `okr sql`.
    text = Text("  " + row["kr_id"], overflow="fold")
    text.append("\n  " + row["title"], style="dim")
    # The numbers behind a relative target or a measured baseline, and a level's verdict.
    for note in (derivation(row), level_verdict(row)):
        if note:
            text.append("\n  " + note, style="dim")
    return text


def _objective_row(rows: list[dict[str, Any]]) -> list[RenderableType]:
    """The objective's own pace in the status column (its score against the expected pace,
    beside it), and its weakest key result under the title: two facts, each named."""
    first = rows[0]
    title = Text(f"{first['objective_title']} ", style="bold")
    title.append(f"({first['objective_id']})", style="dim")
    weakest = next((r for r in rows if r["kr_id"] == first.get("objective_weakest")), None)
    if weakest is not None:
        title.append("\nweakest key result: ", style="dim")
        title.append(weakest["kr_id"])
        title.append(" ")
        title.append_text(_status_cell(weakest["status"]))
    pace = Text("pace ", style="dim")
    pace.append_text(_status_cell(first.get("objective_pace")))
    score = Text(format_share(first["objective_score"]), style="bold")
    score.append(f" of {format_share(first['objective_expected'])}")
    return [
        title,
        pace,
        Text("score", style="dim"),
        score,
        _gap_cell(first["objective_score"], first["objective_expected"]),
        "",
        "",
        "",
    ]


def _kr_row(row: dict[str, Any]) -> list[RenderableType]:
    flags = trust_flags(row)
    return [
        _kr_cell(row),
        _status_cell(row["status"]),
        ValueTarget(row),
        f"{format_share(row['progress'])} of {format_share(row['expected_progress'])}",
        _gap_cell(row["progress"], row["expected_progress"]),
        _change_cell(row),
        str(row["data_through"] or "—"),
        Text(", ".join(flags), style="magenta") if flags else Text("—", style="dim"),
    ]


def _compact_kr_row(row: dict[str, Any]) -> list[RenderableType]:
    """The same facts in four columns: change, data date and flags go under the title."""
    cell = _kr_cell(row)
    cell.append("\n  7 days: ", style="dim")
    cell.append_text(_change_cell(row).split("\n")[0])
    cell.append(f" · through {row['data_through'] or '—'}", style="dim")
    flags = trust_flags(row)
    if flags:
        cell.append(f"\n  ⚑ {', '.join(flags)}", style="magenta")
    progress = Text(
        f"{format_share(row['progress'])} of {format_share(row['expected_progress'])}\n"
    )
    progress.append_text(_gap_cell(row["progress"], row["expected_progress"]))
    status = _status_cell(row["status"])
    if row["prev_as_of_date"] is not None and row["prev_status"] != row["status"]:
        status.append(f"\nwas {row['prev_status']}", style="dim")
    return [
        cell,
        status,
        ValueTarget(row),
        progress,
    ]


def team_table(rows: list[dict[str, Any]], compact: bool = False) -> Table:
    """One team's key results, grouped by objective (rows come ordered by the query).

    `compact` folds the last four columns into the key-result cell, for terminals too
    narrow for the full table (rich would otherwise crop the right-hand columns).
    """
    first = rows[0]
    table = Table(
        title=Text(f"{first['team_name']} ({first['team']})"),  # as written, never markup
        title_justify="left",
        title_style="bold",
        show_lines=False,
    )
    # "value →" and "target" each on one line at least: the cell wraps at the arrow, never
    # between a number and its unit.
    value_width = max(max(map(cell_len, ValueTarget(r).two_lines)) for r in rows)
    for name, justify, min_width in COLUMNS[:4] if compact else COLUMNS:
        # Compact: fixed widths for the numbers, so only the titles give way (rich shrinks
        # every flexible column alike and then overshoots the ones with long ids).
        width = COMPACT_WIDTHS.get(name) if compact else None
        if name == "value → target" and width:
            width = max(width, value_width)
        # fold, never "…": a table keeps every character of every cell
        table.add_column(name, justify=justify, overflow="fold", min_width=min_width, width=width)
    for _, group in groupby(rows, key=lambda r: r["objective_id"]):
        krs = list(group)
        objective = _objective_row(krs)
        table.add_row(*(objective[:4] if compact else objective))
        for i, row in enumerate(krs):
            cells = _compact_kr_row(row) if compact else _kr_row(row)
            table.add_row(*cells, end_section=i == len(krs) - 1)
    return table


def headline(rows: list[dict[str, Any]]) -> Text:
    counts = Counter(r["status"] for r in rows)
    text = Text(f"{len(rows)} key results as of {rows[0]['as_of_date']}: ", style="bold")
    parts = [(s, counts[s]) for s in STATUS_ORDER if counts[s]]
    for i, (status, count) in enumerate(parts):
        if i:
            text.append(", ")
        text.append(f"{count} {status}", style=STATUS_STYLE.get(status, ""))
    return text


def trust_notes(rows: list[dict[str, Any]]) -> Text | None:
    """Why flagged key results are flagged: the status reason and the sources' own words."""
    text = Text()
    for row in rows:
        notes = []
        if row["status"] in ("stale", "no_data") and row["status_reason"]:
            notes.append(f"{row['status']}: {row['status_reason']}")
        notes += [f"{flag}: {reason or 'no reason given'}" for flag, reason in row["flag_notes"]]
        notes += [
            f"{flag}: see the source's flags"
            for flag in row["flags"]
            if flag not in {f for f, _ in row["flag_notes"]}
        ]
        for note in notes:
            text.append(f"⚑ {row['kr_id']}", style="magenta")
            text.append(f" — {note}\n")
    if not text.plain:
        return None
    return Text("Trust notes\n", style="bold") + text


def not_started_notes(rows: list[dict[str, Any]]) -> Text | None:
    """Key results whose period has not started: the numbers as they would be measured
    today, and whether every metric they read has data."""
    if not rows:
        return None
    text = Text(f"Not started ({len(rows)})\n", style="bold")
    for row in rows:
        numbers, data = not_started_lines(row)
        text.append(status_text("not_started"), style=STATUS_STYLE["not_started"])
        text.append(f" {row['kr_id']}", style="bold")
        text.append(f" — {row['title']} ({row['team_name']} · {row['objective_id']})\n")
        text.append(f"    {numbers}\n")
        missing = bool(row.get("metrics_without_data"))
        text.append(f"    {data}\n", style="bold red" if missing else "dim")
    return text


def checkin_notes(rows: list[dict[str, Any]], trends: dict[str, CheckinTrend]) -> Text | None:
    """Per key result: confidence beside value over the last weeks, the last check-in's
    comment beside this week's, and the check-in signals (reports.checkin_trends)."""
    mine = [(row, trends[row["kr_id"]]) for row in rows if row["kr_id"] in trends]
    if not mine:
        return None
    labels = mine[0][1].labels
    text = Text(f"Check-ins, {labels[0]} → {labels[-1]} (oldest first)\n", style="bold")
    for row, trend in mine:
        text.append(row["kr_id"], style="bold")
        text.append(f"  confidence {confidence_line(trend.confidences)}")
        text.append(f" · value {trend_line(trend.values, row['unit'])}\n", style="dim")
        if trend.previous is not None and trend.previous.comment:
            last = " ".join(trend.previous.comment.split())
            text.append(f"    last ({iso_week(trend.previous.week_start)}): ")
            text.append(f"{last}\n", style="dim")
        if trend.this_week is not None and trend.this_week.comment:
            text.append("    this week: ")
            text.append(" ".join(trend.this_week.comment.split()) + "\n", style="dim")
        for _, words in trend.signals:
            text.append(f"    ⚑ {words}\n", style="yellow")
    return text


def status_renderables(
    rows: list[dict[str, Any]],
    compact: bool = False,
    not_started: list[dict[str, Any]] | None = None,
    trends: dict[str, CheckinTrend] | None = None,
) -> list[RenderableType]:
    """The headline, one table per team, the check-ins over the last weeks, the trust notes,
    then the key results whose period has not started."""
    out: list[RenderableType] = [headline(rows)] if rows else []
    for _, group in groupby(rows, key=lambda r: r["team"]):
        out.append(team_table(list(group), compact))
    checkins = checkin_notes(rows, trends or {})
    if checkins is not None:
        out.append(checkins)
    notes = trust_notes(rows)
    if notes is not None:
        out.append(notes)
    upcoming = not_started_notes(not_started or [])
    if upcoming is not None:
        out.append(upcoming)
    return out


def print_status(
    console: Console,
    rows: list[dict[str, Any]],
    not_started: list[dict[str, Any]] | None = None,
    fit_width: bool | None = None,
    trends: dict[str, CheckinTrend] | None = None,
) -> None:
    """`okr status`: the full table, or the compact one where the width is too narrow.

    `fit_width` (default: at a terminal) lays the tables out within the console's width —
    a terminal's, or COLUMNS when piped — wrapping titles; otherwise each is printed at its
    natural width."""
    fit = console.is_terminal if fit_width is None else fit_width
    renderables = status_renderables(rows, not_started=not_started, trends=trends)
    wide = console.options.update_width(10_000)  # unclamped, to see what the table needs
    if fit and any(
        console.measure(item, options=wide).minimum > console.width for item in renderables
    ):
        renderables = status_renderables(rows, compact=True, not_started=not_started, trends=trends)
    print_renderables(console, renderables, fit)


def print_renderables(
    console: Console, renderables: list[RenderableType], fit_width: bool | None = None
) -> None:
    """Print within the console's width (`fit_width`, default: at a terminal) or at each
    item's natural width. Never narrower than an item's minimum: a number or an id is never
    folded or cut, the line runs over the width instead."""
    fit = console.is_terminal if fit_width is None else fit_width
    # Measure against a wide page (the console's own options cap a measurement at its
    # width), and widen the console itself (print(width=…) cannot go beyond it).
    wide = console.options.update_width(10_000)
    saved = console.width
    try:
        for item in renderables:
            need = console.measure(item, options=wide)
            console.width = max(saved, need.minimum if fit else need.maximum)
            console.print(item)
    finally:
        console.width = saved
