"""Fixtures for the report tests: one real demo warehouse for the whole run, a tiny project
whose quarter has ended (for the retro), and helpers to run `okr` as people do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from filelock import FileLock
from report_helpers import PERIOD_END, TINY_DEFINITIONS, FinishedProject, okr, write_series


@pytest.fixture(scope="session")
def demo_dir(shared_demo, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The session's shared `okr demo` (tests/conftest.py), with the newest week's report
    rendered once for the content and the browser tests."""
    assert shared_demo.returncode == 0, shared_demo.stderr
    folder = shared_demo.folder
    with FileLock(str(folder.parent / "reports-demo.lock")):
        marker = folder / "report" / "done.json"
        if not marker.exists():
            out = folder / "report" / "okr-checkin.html"
            args = ["-w", str(folder / "okr_sync.duckdb"), "-d", str(folder / "okr_definitions")]
            result = okr("report", "--out", str(out), *args)
            assert result.returncode == 0, result.stderr
            assert f"wrote {out}" in result.stdout
            marker.write_text(json.dumps({"ok": True}))
    return folder


@pytest.fixture(scope="session")
def demo_report(demo_dir: Path) -> Path:
    """The HTML report `okr report` wrote for the demo's newest week (.md beside it)."""
    return demo_dir / "report" / "okr-checkin.html"


@pytest.fixture(scope="session")
def demo_warehouse(demo_dir: Path) -> Path:
    return demo_dir / "okr_sync.duckdb"


@pytest.fixture(scope="session")
def demo_definitions(demo_dir: Path) -> Path:
    return demo_dir / "okr_definitions"


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
    write_series(definitions / "data" / "signups.csv", date(2026, 9, 1), PERIOD_END, 12)
    write_series(definitions / "data" / "visits.csv", date(2026, 9, 1), PERIOD_END, 70)
    warehouse, reports = root / "okr_sync.duckdb", root / "reports"
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.setenv("OKR_DEFINITIONS", str(definitions))
        mp.setenv("OKR_WAREHOUSE", str(warehouse))
        mp.setenv("OKR_REPORTS", str(reports))
        defs = build_definitions(load_valid_definitions(definitions))
        outcome = run_range(defs, date(2026, 9, 21), PERIOD_END, instance, log_level="ERROR")
        assert outcome.succeeded, outcome.errors
        yield FinishedProject(definitions, warehouse, reports, defs, instance)
