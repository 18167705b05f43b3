"""`okr status` in the terminal: one table per team, objectives as row groups.

Colour only repeats what the symbol and the word already say, so the table reads the same
piped into a file or a chat (rich drops the colour itself for NO_COLOR and non-terminals).
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from reports.formatting import (
    STATUS_ORDER,
    format_delta,
    format_points,
    format_share,
    format_value,
    pace_gap,
    status_text,
)

STATUS_STYLE = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "bold red",
    "stale": "magenta",
    "no_data": "dim",
}

COLUMNS = (
    ("objective · key result", "left"),
    ("status", "left"),
    ("value", "right"),
    ("target", "right"),
    ("progress", "right"),
    ("expected", "right"),
    ("vs pace", "right"),
    ("7 days", "right"),
    ("data through", "left"),
    ("trust", "left"),
)


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
    text = Text("  " + row["kr_id"])
    text.append("\n  " + row["title"], style="dim")
    return text


def _objective_row(rows: list[dict[str, Any]]) -> list[RenderableType]:
    first = rows[0]
    title = Text(f"{first['objective_title']} ", style="bold")
    title.append(f"({first['objective_id']})", style="dim")
    return [
        title,
        _status_cell(first["objective_status"]),
        "",
        "",
        Text(format_share(first["objective_score"]), style="bold"),
        format_share(first["objective_expected"]),
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
        format_value(row["value"], row["unit"]),
        format_value(row["target"], row["unit"]),
        format_share(row["progress"]),
        format_share(row["expected_progress"]),
        _gap_cell(row["progress"], row["expected_progress"]),
        _change_cell(row),
        str(row["data_through"] or "—"),
        Text(", ".join(flags), style="magenta") if flags else Text("—", style="dim"),
    ]


def team_table(rows: list[dict[str, Any]]) -> Table:
    """One team's key results, grouped by objective (rows come ordered by the query)."""
    first = rows[0]
    table = Table(
        title=f"{first['team_name']} ({first['team']})",
        title_justify="left",
        title_style="bold",
        show_lines=False,
    )
    for name, justify in COLUMNS:
        # fold, never "…": a piped table keeps every character of every cell
        table.add_column(name, justify=justify, overflow="fold")
    for _, group in groupby(rows, key=lambda r: r["objective_id"]):
        krs = list(group)
        table.add_row(*_objective_row(krs))
        for i, row in enumerate(krs):
            table.add_row(*_kr_row(row), end_section=i == len(krs) - 1)
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


def status_renderables(rows: list[dict[str, Any]]) -> list[RenderableType]:
    """The headline, one table per team, then the trust notes."""
    out: list[RenderableType] = [headline(rows)]
    for _, group in groupby(rows, key=lambda r: r["team"]):
        out.append(team_table(list(group)))
    notes = trust_notes(rows)
    if notes is not None:
        out.append(notes)
    return out


def print_renderables(console: Console, renderables: list[RenderableType]) -> None:
    """Print; when the output is not a terminal, widen to fit so no cell is wrapped or cut."""
    for item in renderables:
        width = None
        if not console.is_terminal:
            width = max(console.width, console.measure(item).maximum)
        console.print(item, width=width, soft_wrap=False)
