"""Deterministic demo exports for the `file` source (what a newsletter tool would export).

Values are a pure function of (metric, day): weekly seasonality, a trend and small noise from
a hash, so the demo, the tests and the benchmarks agree whatever day they run.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Callable
from datetime import date
from pathlib import Path

from connectors.base import day_range

# Monday .. Sunday: newsletters are read on weekdays, shops browsed at weekends.
NEWSLETTER_WEEKDAY = (1.1, 1.15, 1.1, 1.05, 0.95, 0.75, 0.8)


def noise(key: str, day: date, spread: float = 0.05) -> float:
    """A deterministic factor in [1 - spread, 1 + spread] for (key, day)."""
    digest = hashlib.blake2b(f"{key}:{day.isoformat()}".encode(), digest_size=8).digest()
    unit = int.from_bytes(digest, "big") / 2**64
    return 1 + spread * (2 * unit - 1)


def quarter_fraction(day: date) -> float:
    """How far `day` is into its calendar quarter, 0..1."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end_month = first_month + 3
    end = date(day.year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
    return (day - start).days / (end - start).days


def newsletter(day: date) -> dict[str, float]:
    """Daily newsletter sends and opens; the open rate improves by ~10 % a quarter."""
    delivered = round(4000 * NEWSLETTER_WEEKDAY[day.weekday()] * noise("nl-sent", day, 0.03))
    days = (day - date(2026, 1, 1)).days
    rate = 0.24 * (1 + 0.1 * days / 91) * (1 + 0.02 * math.sin(days / 5)) * noise("nl-open", day)
    return {"numerator": round(delivered * min(rate, 0.6)), "denominator": delivered}


SHOP_WEEKDAY = (0.95, 1.0, 1.0, 0.95, 0.9, 1.1, 1.1)


def _days_since(day: date) -> int:
    return (day - date(2026, 1, 1)).days


DEMO_FILES: dict[str, Callable[[date], dict[str, float]]] = {
    "newsletter.csv": newsletter,
}


def write_demo_files(folder: Path, start: date, end: date) -> list[Path]:
    """Write every demo export for [start, end] into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, generate in DEMO_FILES.items():
        path = folder / name
        rows = [{"date": d.isoformat(), **generate(d)} for d in day_range(start, end)]
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        written.append(path)
    return written
