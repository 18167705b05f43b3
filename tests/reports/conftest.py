"""Fixtures for the report tests: one real demo warehouse for the whole run, a tiny project
whose quarter has ended (for the retro), and helpers to run `okr` as people do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from filelock import FileLock

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


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """`okr demo` run once per test session, shared by the xdist workers (the pattern from
    pytest-xdist's docs: the first worker builds it under a lock, the others reuse it)."""
    shared = (
        tmp_path_factory.getbasetemp()
        if worker_id == "master"
        else (tmp_path_factory.getbasetemp().parent)
    )
    folder = shared / "reports-demo"
    with FileLock(str(shared / "reports-demo.lock")):
        marker = folder / "done.json"
        if not marker.exists():
            if folder.exists():
                shutil.rmtree(folder)
            result = okr("demo", "--dir", str(folder))
            assert result.returncode == 0, result.stderr
            marker.write_text(json.dumps({"ok": True}))
    return folder


@pytest.fixture(scope="session")
def demo_warehouse(demo_dir: Path) -> Path:
    return demo_dir / "okr_sync.duckdb"


@pytest.fixture(scope="session")
def demo_definitions(demo_dir: Path) -> Path:
    return demo_dir / "okr_definitions"


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


def _write_series(path: Path, first: date, last: date, value: int) -> None:
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


@pytest.fixture(scope="module")
def finished_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FinishedProject]:
    """The pipeline run over a finished period: signups end at 120 of 150 (a committed
    miss), visits at 700 of 900 (0.78: an aspirational key result that met its 0.7)."""
    from pipelines.definitions import build_definitions
    from pipelines.resources import load_valid_definitions
    from pipelines.runner import run_range

    root = tmp_path_factory.mktemp("finished")
    definitions = root / "okr_definitions"
    definitions.mkdir()
    (definitions / "okr.yaml").write_text(TINY_DEFINITIONS)
    _write_series(definitions / "data" / "signups.csv", date(2026, 9, 1), PERIOD_END, 12)
    _write_series(definitions / "data" / "visits.csv", date(2026, 9, 1), PERIOD_END, 70)
    warehouse, reports = root / "okr_sync.duckdb", root / "reports"
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.setenv("OKR_DEFINITIONS", str(definitions))
        mp.setenv("OKR_WAREHOUSE", str(warehouse))
        mp.setenv("OKR_REPORTS", str(reports))
        defs = build_definitions(load_valid_definitions(definitions))
        outcome = run_range(defs, date(2026, 9, 21), PERIOD_END, instance, log_level="ERROR")
        assert outcome.succeeded, outcome.errors
        yield FinishedProject(definitions, warehouse, reports, defs, instance)
