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

# Monday .. Sunday: newsletters go out and are read on weekdays.
NEWSLETTER_WEEKDAY = (1.1, 1.15, 1.1, 1.05, 0.95, 0.75, 0.8)


def noise(key: str, day: date, spread: float = 0.05) -> float:
    """A deterministic factor in [1 - spread, 1 + spread] for (key, day)."""
    digest = hashlib.blake2b(f"{key}:{day.isoformat()}".encode(), digest_size=8).digest()
    unit = int.from_bytes(digest, "big") / 2**64
    return 1 + spread * (2 * unit - 1)


def newsletter(day: date) -> dict[str, float]:
    """Daily newsletter sends and opens; the open rate improves by ~10 % a quarter."""
    delivered = round(4000 * NEWSLETTER_WEEKDAY[day.weekday()] * noise("nl-sent", day, 0.03))
    days = (day - date(2026, 1, 1)).days
    rate = 0.24 * (1 + 0.1 * days / 91) * (1 + 0.02 * math.sin(days / 5)) * noise("nl-open", day)
    return {"numerator": round(delivered * min(rate, 0.6)), "denominator": delivered}


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
