"""The short Markdown summary shown on each okr/kr_progress_daily materialisation in the
Dagster UI: counts by status, the key results that need attention, and where the week's
check-in report is."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from reports.formatting import (
    NEEDS_ATTENTION,
    derivation,
    format_points,
    format_share,
    format_value,
    not_started_lines,
    pace_gap,
    status_text,
)
from warehouse.status import STATUS_ORDER, status_rank


def progress_summary_markdown(
    rows: list[dict[str, Any]],
    report: Path | None,
    not_started: list[dict[str, Any]] | None = None,
) -> str:
    """`rows`: one day's current rows (warehouse.queries.current_rows); `not_started`: the
    key results whose period begins later (warehouse.progress.not_started_rows)."""
    upcoming = _not_started(not_started or [])
    if not rows:
        return "\n".join(["No key-result rows for this day.", *upcoming])
    day = rows[0]["as_of_date"]
    counts = Counter(r["status"] for r in rows)
    lines = [
        f"**{len(rows)} key results on {day}**: "
        + ", ".join(f"{counts[s]} {status_text(s)}" for s in STATUS_ORDER if counts[s]),
        "",
    ]
    attention = sorted(
        (r for r in rows if r["status"] in NEEDS_ATTENTION),
        key=lambda r: (status_rank(r["status"]), r["progress"] or 0.0, r["kr_id"]),
    )
    if attention:
        lines += [
            "**At risk or off track**",
            "",
            "| key result | team | status | value → target | progress | vs pace |",
            "|---|---|---|---:|---:|---:|",
        ]
        lines += [
            f"| {r['kr_id']} | {r['team']} | {status_text(r['status'])} "
            f"| {format_value(r['value'], r['unit'])} → {format_value(r['target'], r['unit'])} "
            f"| {format_share(r['progress'])} of {format_share(r['expected_progress'])} "
            f"| {format_points(pace_gap(r['progress'], r['expected_progress']))} |"
            for r in attention
        ]
    else:
        lines.append("Nothing is at risk or off track.")
    flagged = [r["kr_id"] for r in rows if r["flags"] or r["status"] == "stale"]
    if flagged:
        lines += ["", f"**Trust flags** on: {', '.join(flagged)}"]
    derived = [(r["kr_id"], derivation(r)) for r in rows]
    derived = [(kr_id, note) for kr_id, note in derived if note]
    if derived:
        lines += ["", "**Derived targets and baselines**", ""]
        lines += [f"- `{kr_id}`: {note}" for kr_id, note in derived]
    lines += upcoming
    if report is not None:
        lines += ["", f"**Weekly check-in report**: `{report}` (asset reports/weekly_checkin)"]
    return "\n".join(lines)


def _not_started(rows: list[dict[str, Any]]) -> list[str]:
    """`not_started` key results with their numbers as measured today and their sources."""
    if not rows:
        return []
    lines = ["", f"**{len(rows)} {status_text('not_started')}**", ""]
    for row in rows:
        numbers, data = not_started_lines(row)
        lines.append(f"- `{row['kr_id']}` ({row['team']}): {numbers}; {data}")
    return lines
