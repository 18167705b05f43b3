"""The week's check-in file, pre-filled so an owner only changes what changed (`okr checkin`).

Per key result it writes what the numbers say as YAML comments (owner, value → target, status,
progress against the expected pace) and, as real fields, the newest earlier check-in's
`confidence`, `comment` and `by`: a file nobody edited still validates and says "as last
week". A key result that never had a check-in gets its entry commented out, because a check-in
needs a confidence or a comment (okr_definitions/README.md, "Weekly check-ins") and an empty
one would not validate.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

from okr_definitions.checkins import Checkin, iso_week
from okr_definitions.yaml_source import printable
from reports.formatting import format_points, format_share, format_value, pace_gap


def _one_line(text: str) -> str:
    """Text as it may stand in a YAML comment: one line, printable."""
    return " ".join(printable(str(text)).split())


def _fields(checkin: Checkin) -> str:
    """The earlier check-in's fields as YAML, indented under the key result."""
    data: dict[str, Any] = {}
    if checkin.confidence is not None:
        data["confidence"] = checkin.confidence
    if checkin.comment is not None:
        data["comment"] = checkin.comment
    if checkin.by is not None:
        data["by"] = checkin.by
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=96)
    return "".join(f"    {line}\n" for line in text.splitlines())


def _numbers(row: dict[str, Any]) -> str:
    unit = row["unit"]
    value = f"{format_value(row['value'], unit)} → {format_value(row['target'], unit)}"
    pace = (
        f"progress {format_share(row['progress'])} of {format_share(row['expected_progress'])}"
        f" expected ({format_points(pace_gap(row['progress'], row['expected_progress']))})"
    )
    return f"{row['status']} · {value} · {pace} · data through {row['data_through'] or '—'}"


def checkin_template(
    week: date,
    rows: list[dict[str, Any]],
    owners: dict[str, str | None],
    earlier: dict[str, Checkin],
) -> str:
    """The YAML text of `checkins/<week>.yaml`.

    `rows` are the key results' current rows of the week (warehouse.queries.current_rows),
    `owners` team id → owner, `earlier` kr_id → its newest check-in before `week`.
    """
    label = iso_week(week)
    lines = [
        f"# Check-in for {label}, written by `okr checkin`. Change what changed since the last",
        "# check-in (confidence 1 = won't make it .. 10 = certain; a comment for what helps or",
        "# blocks), then `okr validate` and `okr report`. The numbers in the comments are the",
        "# warehouse's as of the day shown; the fields are the last check-in's.",
        f"week: {label}",
        "key_results:",
    ]
    for row in rows:
        kr_id = row["kr_id"]
        owner = owners.get(row["team"]) or "no owner declared"
        lines.append("")
        lines.append(f"  # {_one_line(row['title'])}")
        lines.append(f"  # owner {_one_line(owner)} ({_one_line(row['team_name'])})")
        lines.append(f"  # as of {row['as_of_date']}: {_one_line(_numbers(row))}")
        before = earlier.get(kr_id)
        if before is None:
            lines.append("  # no earlier check-in: uncomment and fill in")
            lines.append(f"  # {kr_id}:")
            lines.append("  #   confidence: 5")
            lines.append("  #   comment: what helps or blocks this key result")
            continue
        lines.append(f"  # from the check-in of {iso_week(before.week_start)}")
        lines.append(f"  {kr_id}:")
        lines.append(_fields(before).rstrip("\n"))
    if not any(kr["kr_id"] in earlier for kr in rows):
        # no entry is live yet: an empty mapping keeps the file valid YAML and a valid check-in
        lines[lines.index("key_results:")] = (
            "key_results: {}  # drop the {} when you uncomment a key result below"
        )
    return "\n".join(lines) + "\n"
