"""GA4 through the whole pipeline: the real client against the sandbox, real Dagster runs,
a real DuckDB file; and `okr validate` against the sandbox's getMetadata."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from pipeline_testkit import add_source, warehouse_rows

from connectors.base import RangeRequest
from connectors.ga4 import GA4Settings, fetch_ga4_ranges
from okr_definitions.sources.ga4 import GA4Query
from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import run_range
from sandbox.base import SandboxServer
from sandbox.ga4.server import DEMO_PROPERTY_ID, GA4Sandbox, quota_fault

GA4_METRICS = """
  - id: product_sessions
    source: ga4
    query: {metric: sessions, filter: {dimension: pagePath, begins_with: /products/}}
  - id: product_purchases
    source: ga4
    query: {metric: "keyEvents:purchase", filter: {dimension: pagePath, begins_with: /products/}}
  - id: product_conversion
    ratio: {numerator: product_purchases, denominator: product_sessions}
  - id: users
    source: ga4
    query: {metric: totalUsers}
"""
GA4_OBJECTIVE = """
  - id: shop
    title: The shop converts and reaches people
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - id: conversion-up
        title: Product-page conversion from 3 % to 5 %
        metric: product_conversion
        measure: rolling_3d
        baseline: 3%
        target: 5%
      - id: users-reached
        title: 200,000 people reached this period
        metric: users
        measure: total
        target: 200000
"""
PUBLIC = ["okr.kr_progress_daily", "okr.objective_progress_daily", "staging.metric_daily"]


@pytest.fixture
def ga4(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SandboxServer, GA4Sandbox]]:
    sandbox = GA4Sandbox()
    server = sandbox.serve()
    monkeypatch.setenv("GA4_ENDPOINT", server.base_url)
    monkeypatch.setenv("GA4_ANONYMOUS", "1")
    yield server, sandbox
    server.stop()


@pytest.fixture
def ga4_project(project: Path) -> Path:
    ga4 = f'ga4: {{property_id: "{DEMO_PROPERTY_ID}", allowed_lag_days: 2}}'
    return add_source(project, ga4, GA4_METRICS, GA4_OBJECTIVE)


def _checksum(table: str) -> str:
    rows = (
        sorted(repr(r) for r in warehouse_rows(f"SELECT * EXCLUDE (fetched_at) FROM {table}"))
        if table == "staging.metric_daily"
        else sorted(repr(r) for r in warehouse_rows(f"SELECT * FROM {table}"))
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _defs(project: Path) -> dg.Definitions:
    return build_definitions(load_valid_definitions(project))


def test_ga4_key_results_from_the_sandbox(
    ga4_project: Path, ga4: tuple[SandboxServer, GA4Sandbox], instance: dg.DagsterInstance
) -> None:
    server, _ = ga4
    server.reset_counts()
    outcome = run_range(_defs(ga4_project), date(2026, 9, 21), date(2026, 10, 5), instance)
    assert outcome.succeeded, outcome.errors
    # sessions and purchases share property, filter and dimensions: one runReport; totalUsers
    # daily is a second report — both in one batchRunReports; the exact windows totalUsers
    # needs (10-01..each day, and the baseline) go in a second batch.
    assert server.total_requests <= 3
    ((value, through),) = warehouse_rows(
        "SELECT value, data_through FROM okr.kr_progress_daily "
        "WHERE kr_id = 'conversion-up' AND as_of_date = '2026-10-05'"
    )
    ((purchases, sessions),) = warehouse_rows(
        "SELECT sum(value) FILTER (WHERE metric_id = 'product_purchases'), "
        "sum(value) FILTER (WHERE metric_id = 'product_sessions') FROM staging.metric_daily "
        "WHERE date BETWEEN '2026-10-03' AND '2026-10-05'"
    )
    assert value == pytest.approx(purchases / sessions)
    assert through == date(2026, 10, 5)
    (answers,) = warehouse_rows("SELECT count(*) FROM raw.ga4_responses")[0]
    assert answers >= 2
    # every staged GA4 value points at the answer pages of the report that delivered it
    assert warehouse_rows(
        "SELECT count(*) FROM staging.metric_daily AS s WHERE s.source = 'ga4' AND NOT EXISTS "
        "(SELECT 1 FROM raw.ga4_responses AS r WHERE r.report_hash = s.request_hash "
        " AND list_contains(r.metric_ids, s.metric_id))"
    ) == [(0,)]


def test_non_additive_total_is_the_apis_range_answer(
    ga4_project: Path, ga4: tuple[SandboxServer, GA4Sandbox], instance: dg.DagsterInstance
) -> None:
    server, _ = ga4
    assert run_range(_defs(ga4_project), date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    ((value, summed),) = warehouse_rows(
        "SELECT p.value, (SELECT sum(value) FROM staging.metric_daily WHERE metric_id = 'users' "
        "AND date BETWEEN '2026-10-01' AND '2026-10-05') FROM okr.kr_progress_daily AS p "
        "WHERE kr_id = 'users-reached' AND as_of_date = '2026-10-05'"
    )
    settings = GA4Settings.for_sandbox(server.base_url, DEMO_PROPERTY_ID)
    answer = fetch_ga4_ranges(
        settings,
        [
            RangeRequest(
                "users", GA4Query(metric="totalUsers"), date(2026, 10, 1), date(2026, 10, 5)
            )
        ],
    )
    (api_value,) = answer.ranges.column("value").to_pylist()
    assert value == api_value
    assert value < summed  # people who came on several days are counted once


def test_hourly_quota_429_then_success_gives_identical_tables(
    ga4_project: Path, ga4: tuple[SandboxServer, GA4Sandbox], instance: dg.DagsterInstance
) -> None:
    server, _ = ga4
    defs = _defs(ga4_project)
    assert run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    clean = {t: _checksum(t) for t in PUBLIC}
    server.inject(quota_fault("tokensPerHour", times=2))
    outcome = run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance)
    assert outcome.succeeded, outcome.errors
    assert {t: _checksum(t) for t in PUBLIC} == clean


def test_daily_quota_exhausted_fails_ga4_cleanly_and_its_krs_turn_stale(
    ga4_project: Path, ga4: tuple[SandboxServer, GA4Sandbox], instance: dg.DagsterInstance
) -> None:
    server, _ = ga4
    defs = _defs(ga4_project)
    assert run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    server.inject(quota_fault("tokensPerDay", times=50))
    outcome = run_range(defs, date(2026, 10, 6), date(2026, 10, 9), instance)
    assert outcome.failed_steps == ["raw__ga4"]
    assert any("per day" in e or "daily" in e.lower() for e in outcome.errors), outcome.errors
    status = dict(
        warehouse_rows(
            "SELECT kr_id, status FROM okr.kr_progress_daily WHERE as_of_date = '2026-10-09'"
        )
    )
    assert status["conversion-up"] == "stale"
    assert status["users-reached"] in ("stale", "no_data")
    assert status["signups-total"] not in ("stale", "no_data")  # the file source is fresh


def test_sampling_flag_reaches_the_key_result_and_the_check_warns(
    ga4_project: Path, ga4: tuple[SandboxServer, GA4Sandbox], instance: dg.DagsterInstance
) -> None:
    _, sandbox = ga4
    sandbox.configure(DEMO_PROPERTY_ID, sampled=True)
    outcome = run_range(_defs(ga4_project), date(2026, 9, 21), date(2026, 10, 5), instance)
    assert outcome.succeeded, outcome.errors
    ((flags,),) = warehouse_rows(
        "SELECT flags FROM okr.kr_progress_daily "
        "WHERE kr_id = 'conversion-up' AND as_of_date = '2026-10-05'"
    )
    assert "sampled" in flags
    evaluations = [
        e.dagster_event.event_specific_data
        for e in instance.all_logs(
            outcome.run_ids[-1], of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
    ]
    trust = next(e for e in evaluations if e.check_name == "no_key_result_built_on_flagged_data")
    assert trust.passed is False
    assert trust.severity == dg.AssetCheckSeverity.WARN


def test_validate_suggests_the_closest_ga4_metric(
    ga4_project: Path, ga4: tuple[SandboxServer, GA4Sandbox]
) -> None:
    metrics = ga4_project / "metrics.yaml"
    metrics.write_text(metrics.read_text().replace("metric: totalUsers", "metric: totalUser"))
    result = subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "validate", str(ga4_project)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 1, result.stderr
    line = next(ln for ln in result.stderr.splitlines() if "totalUser" in ln)
    assert "metrics.yaml:" in line and "query.metric" in line and "totalUsers" in line
