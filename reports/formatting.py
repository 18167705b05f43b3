"""Numbers and statuses as people read them, the same in the terminal, HTML and Markdown."""

from __future__ import annotations

import math

NEEDS_ATTENTION = ("off_track", "at_risk")

STATUS_LABEL = {
    "off_track": "off track",
    "at_risk": "at risk",
    "no_data": "no data",
    "stale": "stale",
    "on_track": "on track",
    "achieved": "achieved",
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
}

# Colour-blind-safe-ish pairs: red/orange are told apart by the symbol and the word too.
STATUS_COLOUR = {
    "off_track": "#c0392b",
    "at_risk": "#d35400",
    "no_data": "#7f8c8d",
    "stale": "#8e44ad",
    "on_track": "#1e8449",
    "achieved": "#117864",
}

# What each trust flag means, for readers who have never seen the source's own wording.
FLAG_MEANING = {
    "stale": "the newest data is older than the source's allowed lag",
    "sampled": "the source computed the value from a sample of its data",
    "thresholded": "the source withheld rows with few users (data thresholds)",
    "restated": "the source changed days it had already delivered",
    "other_row": "the source rolled rare rows into “(other)”",
    "provisional": "the source's newest days are not final yet",
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
