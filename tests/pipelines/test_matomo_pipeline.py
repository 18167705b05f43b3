"""Matomo through the whole pipeline: the real connector against the sandbox, real Dagster
materialisations, a real DuckDB file; and `okr validate` against the sandbox's metadata."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from pipeline_testkit import add_source, warehouse_rows

import sandbox.matomo.server as matomo_sandbox
from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import run_range
from sandbox.base import SandboxServer

MATOMO_METRICS = """
  - id: load_time
    unit: s
    source: matomo
    query: {method: PagePerformance.get, column: avg_page_load_time,
            page_url: "https://shop.example/"}
"""
MATOMO_OBJECTIVE = """
  - id: fast
    title: The homepage is fast
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - id: homepage-fast
        title: Homepage loads in under 1.5 s
        metric: load_time
        measure: rolling_7d
        target: 1.5
        direction: at_most
      - id: signups-again
        title: Signups hold at 12 a day
        metric: signups
        measure: latest
        target: 12
        direction: at_least
"""


@pytest.fixture
def matomo_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    server, _ = matomo_sandbox.serve()
    monkeypatch.setenv("MATOMO_URL", server.base_url)
    monkeypatch.setenv("MATOMO_TOKEN", matomo_sandbox.DEFAULT_TOKEN)
    yield server
    server.stop()


@pytest.fixture
def matomo_project(project: Path) -> Path:
    matomo = "matomo: {site_id: 1, allowed_lag_days: 2}"
    return add_source(project, matomo, MATOMO_METRICS, MATOMO_OBJECTIVE)


def test_matomo_key_result_from_the_sandbox(
    matomo_project: Path, matomo_server: SandboxServer, instance: dg.DagsterInstance
) -> None:
    defs = build_definitions(load_valid_definitions(matomo_project))
    matomo_server.reset_counts()
    outcome = run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance)
    assert outcome.succeeded, outcome.errors
    # one bulk request for the whole 15-day window (site info travels inside it)
    assert matomo_server.total_requests == 1
    (answers,) = warehouse_rows("SELECT count(*) FROM raw.matomo_answers")[0]
    assert answers > 0
    # every staged value points at the answer of the sub-request that delivered it
    assert warehouse_rows(
        "SELECT count(*) FROM staging.metric_daily AS s WHERE s.source = 'matomo' AND NOT EXISTS "
        "(SELECT 1 FROM raw.matomo_answers AS r WHERE r.request_hash = s.request_hash "
        " AND r.partition_date = s.date)"
    ) == [(0,)]
    # the key result's value is total load seconds / page views over the last 7 days,
    # recomputed here from the staged numerators and denominators
    ((value, status, data_through),) = warehouse_rows(
        "SELECT value, status, data_through FROM okr.kr_progress_daily "
        "WHERE kr_id = 'homepage-fast' AND as_of_date = '2026-10-05'"
    )
    ((expected,),) = warehouse_rows(
        "SELECT sum(numerator) / sum(denominator) FROM staging.metric_daily "
        "WHERE metric_id = 'load_time' AND date BETWEEN '2026-09-29' AND '2026-10-05'"
    )
    assert value == pytest.approx(expected)
    assert 1.5 < value < 2.5
    assert data_through == date(2026, 10, 5)
    assert status in ("on_track", "at_risk", "off_track")


def test_a_refused_token_fails_matomo_only_and_its_krs_turn_stale(
    matomo_project: Path,
    matomo_server: SandboxServer,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defs = build_definitions(load_valid_definitions(matomo_project))
    assert run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    canary = "canary-token-0123456789"
    monkeypatch.setenv("MATOMO_TOKEN", canary)
    outcome = run_range(defs, date(2026, 10, 6), date(2026, 10, 9), instance)
    logs = [str(record) for run_id in outcome.run_ids for record in instance.all_logs(run_id)]
    assert not outcome.succeeded
    assert outcome.failed_steps == ["raw__matomo"]
    assert any("MATOMO_TOKEN" in e or "token" in e.lower() for e in outcome.errors)
    assert all(canary not in e for e in outcome.errors)
    # The event log holds the failure (so the scan below searched something), not the token.
    assert any("STEP_FAILURE" in line and "raw__matomo" in line for line in logs), logs
    assert all(canary not in line for line in logs)
    rows = dict(
        warehouse_rows(
            "SELECT kr_id, status FROM okr.kr_progress_daily WHERE as_of_date = '2026-10-09'"
        )
    )
    assert rows["homepage-fast"] == "stale"  # data through 10-05, 4 days > 2 allowed
    assert rows["signups-again"] == "achieved"  # the file source still delivered


def test_validate_checks_metric_names_against_matomo(
    matomo_project: Path, matomo_server: SandboxServer
) -> None:
    metrics = matomo_project / "metrics.yaml"
    metrics.write_text(metrics.read_text().replace("avg_page_load_time", "avg_page_lod_time"))
    result = subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "validate", str(matomo_project)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(ln for ln in result.stderr.splitlines() if "avg_page_lod_time" in ln)
    assert "metrics.yaml:" in line and "query.column" in line
    assert "avg_page_load_time" in line  # the suggestion


def test_missing_matomo_settings_fail_only_the_matomo_step(
    matomo_project: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MATOMO_URL", raising=False)
    monkeypatch.delenv("MATOMO_TOKEN", raising=False)
    defs = build_definitions(load_valid_definitions(matomo_project))
    outcome = run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance)
    assert outcome.failed_steps == ["raw__matomo"]
    assert any("MATOMO_URL" in e and "MATOMO_TOKEN" in e for e in outcome.errors)
    # the file source and the models still ran
    rows = dict(
        warehouse_rows(
            "SELECT kr_id, status FROM okr.kr_progress_daily WHERE as_of_date = '2026-10-05'"
        )
    )
    assert rows["signups-again"] == "achieved"
    assert rows["homepage-fast"] == "no_data"
