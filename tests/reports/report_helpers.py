"""Helpers of the report tests (a module, not conftest, so test files can import them)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


def okr(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """The `okr` command in a subprocess, its output piped (as in CI or `| less`)."""
    base = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    return subprocess.run(
        [sys.executable, "-m", "okr_cli.main", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd or REPO,
        timeout=300,
    )


# --- a tiny project whose ten-day period has ended: the retro and the Dagster metadata ------

PERIOD_START = date(2026, 10, 1)
PERIOD_END = date(2026, 10, 10)

TINY_DEFINITIONS = """
organisation:
  name: Tiny Shop
  timezone: Europe/Berlin
  lookback_days: 2
sources:
  file: {allowed_lag_days: 2}
teams:
  - {id: growth, name: Growth, owner: growth@example.com}
metrics:
  - {id: signups, source: file, query: {path: data/signups.csv}}
  - {id: visits, source: file, query: {path: data/visits.csv}}
objectives:
  - id: grow
    title: More people sign up
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - id: signups-total
        title: 150 signups in ten days
        metric: signups
        measure: total
        target: 150
      - id: visits-total
        title: 900 visits in ten days
        metric: visits
        measure: total
        target: 900
        commitment: aspirational
"""


def write_series(path: Path, first: date, last: date, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["date,value"]
    day = first
    while day <= last:
        lines.append(f"{day.isoformat()},{value}")
        day += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n")


@dataclass
class FinishedProject:
    definitions: Path
    warehouse: Path
    reports: Path
    defs: dg.Definitions
    instance: dg.DagsterInstance
