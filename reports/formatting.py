"""Numbers and statuses as people read them, the same in the terminal, HTML and Markdown."""

from __future__ import annotations

import math
from typing import Any

NEEDS_ATTENTION = ("off_track", "at_risk")

STATUS_LABEL = {
    "off_track": "off track",
    "at_risk": "at risk",
    "no_data": "no data",
    "stale": "stale",
    "on_track": "on track",
    "achieved": "achieved",
    "not_started": "not started",
}

# A symbol beside the word, so the status still stands out without colour (piped, NO_COLOR,
# printed, colour-blind readers).
STATUS_SYMBOL = {
    "off_track": "✖",
    "at_risk": "▲",
    "no_data": "?",
    "stale": "◇",
    "on_track": "●",
    "achieved": "✔",
    # not a status of okr.kr_progress_daily (its rows stay inside the period): a key result
    # whose period has not begun, listed so a missing source is caught before day one
    "not_started": "◌",
}

# Colour-blind-safe-ish pairs: red/orange are told apart by the symbol and the word too.
STATUS_COLOUR = {
    "off_track": "#c0392b",
    "at_risk": "#d35400",
    "no_data": "#7f8c8d",
    "stale": "#8e44ad",
    "on_track": "#1e8449",
    "achieved": "#117864",
    "not_started": "#95a5a6",
}

# What each trust flag means, for readers who have never seen the source's own wording.
FLAG_MEANING = {
    "stale": "the newest data is older than the source's allowed lag",
    "sampled": "the source computed the value from a sample of its data",
    "thresholded": "the source withheld rows with few users (data thresholds)",
    "restated": "the source changed days it had already delivered",
    "other_row": "the source rolled rare rows into “(other)”",
    "provisional": "the source's newest days are not final yet",
    "currency_mismatch": "amounts in another currency than the unit, shown unconverted",
    "currency_unconverted": "amounts in a currency without a conversion rate are left out",
    "no_denominator": "days with a numerator but a denominator of 0 or none are left out",
}


def status_text(status: str | None) -> str:
    """`✖ off_track`: the symbol and the status as the warehouse spells it (grep-able)."""
    if status is None:
        return "—"
    return f"{STATUS_SYMBOL.get(status, '·')} {status}"


def _finite(value: float | None) -> bool:
    return value is not None and not (math.isnan(value) or math.isinf(value))


def format_value(value: float | None, unit: str | None) -> str:
    """A key-result value in its unit: `3.90 %` (a share stored as 0.039), `1.51 s`,
    `€391,335`, `120,144 sessions`."""
    if not _finite(value):
        return "—"
    assert value is not None
    if unit == "%":
        return f"{value * 100:.2f} %"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "€":
        return f"€{value:,.0f}" if abs(value) >= 100 else f"€{value:,.2f}"
    number = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return f"{number} {unit}" if unit else number


def format_delta(delta: float | None, unit: str | None) -> str:
    """A change in the value's unit, signed: `+0.21 pp` (percentage points), `−0.05 s`,
    `+€42,301`, `+1,234 sessions`."""
    if not _finite(delta):
        return "—"
    assert delta is not None
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    size = abs(delta)
    if unit == "%":
        return f"{sign}{size * 100:.2f} pp"
    if unit == "€":
        return f"{sign}€{size:,.0f}" if size >= 100 else f"{sign}€{size:,.2f}"
    if unit == "s":
        return f"{sign}{size:.2f} s"
    number = f"{size:,.0f}" if size >= 100 else f"{size:,.3g}"
    return f"{sign}{number} {unit}" if unit else f"{sign}{number}"


def format_share(share: float | None) -> str:
    """Progress, score and pace as a whole percentage: `31 %`, `-8 %`."""
    if not _finite(share):
        return "—"
    assert share is not None
    return f"{share * 100:.0f} %"


def format_points(points: float | None) -> str:
    """A difference of two shares in percentage points: `+4 pts`, `−30 pts`."""
    if not _finite(points):
        return "—"
    assert points is not None
    rounded = round(points * 100)
    sign = "+" if rounded > 0 else "−" if rounded < 0 else "±"
    return f"{sign}{abs(rounded)} pts"


def pace_gap(progress: float | None, expected: float | None) -> float | None:
    """How far progress is ahead (+) or behind (−) the expected pace, as a share."""
    if not (_finite(progress) and _finite(expected)):
        return None
    assert progress is not None and expected is not None
    return progress - expected


def bar(share: float | None, expected: float | None = None, width: int = 10) -> str:
    """A text progress bar with the expected pace marked: `███░░│░░░░`."""
    if not _finite(share):
        return "·" * width
    assert share is not None
    filled = max(0, min(width, round(share * width)))
    cells = ["█"] * filled + ["░"] * (width - filled)
    if _finite(expected):
        assert expected is not None
        mark = max(0, min(width - 1, round(expected * width) - 1))
        cells[mark] = "│" if cells[mark] == "░" else "┃"
    return "".join(cells)


def is_level(row: dict[str, Any]) -> bool:
    """An at_least / at_most key result: a level to hold every day, with no pace."""
    return row.get("direction") in ("at_least", "at_most")


def format_change(change: float) -> str:
    """A relative target as written: `+40 %`, `−10 %`."""
    return f"{'+' if change >= 0 else '−'}{abs(change) * 100:g} %"


def derivation(row: dict[str, Any]) -> str | None:
    """Where a relative target or a measured baseline comes from, with its numbers:
    `+40 % on 910 over 2026-04-01..2026-06-30 → 1,274`; None for numbers as written."""
    unit = row.get("unit")
    measured = row.get("measured_value")
    window = (
        f"{row['measured_from']}..{row['measured_through']}"
        if row.get("measured_from") is not None
        else None
    )
    relative = row.get("target_kind") == "relative" and row.get("target_change") is not None
    if not relative and row.get("baseline_kind") != "measured":
        return None
    if window is None:
        return (
            f"target {format_change(row['target_change'])}, baseline not measured yet"
            if relative
            else "baseline measured before the period starts; not measured yet"
        )
    over = f"{format_value(measured, unit)} over {window}"
    if relative:
        return f"target {format_change(row['target_change'])} on {over} → " + format_value(
            row.get("target"), unit
        )
    return f"baseline measured: {over}"


def level_verdict(row: dict[str, Any]) -> str | None:
    """For a level (at_least / at_most): `met` or `breached`, with the days in breach so far
    (`breached on 3 of 64 days`); None for other key results."""
    if not is_level(row) or row.get("progress") is None:
        return None
    verdict = "met" if row["progress"] >= 1.0 - 1e-9 else "breached"
    days, breached = row.get("level_days") or 0, row.get("breach_days") or 0
    if not days:
        return verdict
    return f"{verdict} · in breach on {breached} of {days} days"


def not_started_lines(row: dict[str, Any]) -> tuple[str, str]:
    """A key result whose period has not started (warehouse.progress.not_started_rows), in
    two lines: the numbers as they would be measured today, and whether its sources deliver.
    """
    unit = row.get("unit")
    numbers = (
        f"starts {row['period_start']} · baseline {format_value(row.get('baseline'), unit)} "
        f"→ target {format_value(row.get('target'), unit)}"
    )
    if row.get("measured_from") is not None:
        if row.get("measured_value") is None:
            numbers += (
                f" · not measurable yet: no data over {row['measured_from']}.."
                f"{row['measured_through']}"
            )
        else:
            numbers += f" · {derivation(row)} (as of today)"
    missing = row.get("metrics_without_data") or []
    if missing:
        data = f"no data yet from {', '.join(missing)}: check its source before day one"
    else:
        data = f"every metric has data (through {row.get('data_through')})"
    return numbers, data


def trend_line(values: list[float | None], unit: str | None) -> str:
    """Week-by-week values, oldest first: `4.1 % → 4.2 % → — → 4.3 %`."""
    return " → ".join(format_value(v, unit) for v in values)


def confidence_line(values: list[int | None]) -> str:
    """Week-by-week confidence, oldest first, `—` for a week without one: `7 → 6 → — → 4`."""
    return " → ".join("—" if v is None else str(v) for v in values)
