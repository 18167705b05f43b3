"""Currencies through the whole pipeline: the real GA4, Matomo and HubSpot clients against their
sandboxes, real Dagster runs, real DuckDB files, and `okr validate` asking the sandboxes.

One project reads money from all three sources: Matomo goal revenue, GA4 purchase revenue (per
Matomo visit, and as a share of the Matomo revenue) and HubSpot won deals, every key result's
unit naming EUR. With every source in EUR nothing changes (the same tables as with units that
name no currency); with GA4 and HubSpot switched to USD the key results reading them carry
`currency_mismatch` and `okr validate` names file, field and fix.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest
from pipeline_testkit import warehouse_rows

import sandbox.matomo.server as matomo_sandbox
from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import run_range
from sandbox.base import SandboxServer
from sandbox.ga4.server import DEMO_PROPERTY_ID, GA4Sandbox
from sandbox.hubspot.server import HubSpotSandbox

FIRST, LAST = date(2026, 9, 21), date(2026, 10, 5)
AS_OF = LAST
CRM_NOW = datetime(2026, 10, 6, 12, 0, tzinfo=UTC)

ORGANISATION = f"""
organisation:
  name: Test Shop
  timezone: Europe/Berlin
  lookback_days: 2
sources:
  ga4: {{property_id: "{DEMO_PROPERTY_ID}", allowed_lag_days: 2}}
  matomo: {{site_id: 1, allowed_lag_days: 2}}
  hubspot: {{allowed_lag_days: 1}}
teams:
  - {{id: growth, name: Growth, owner: growth@example.com}}
"""
METRICS = """
metrics:
  - id: trial_revenue
    source: matomo
    query: {method: Goals.get, column: revenue, id_goal: 2}
  - id: visits
    source: matomo
    query: {method: VisitsSummary.get, column: nb_visits}
  - id: shop_revenue
    source: ga4
    query: {metric: purchaseRevenue}
  - id: revenue_per_visit
    ratio: {numerator: shop_revenue, denominator: visits}
  - id: shop_to_trial_revenue
    ratio: {numerator: shop_revenue, denominator: trial_revenue}
  - id: won_revenue
    source: hubspot
    query: {object: deals, aggregate: sum, property: amount, date_property: closedate,
            stage: won}
"""
OBJECTIVES = """
objectives:
  - id: earn
    title: The shop and the sales team earn more
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: trial-revenue, title: Trial revenue reaches 5000 EUR, metric: trial_revenue,
         measure: total, target: 5000, unit: "€"}
      - {id: revenue-per-visit, title: Revenue per visit reaches 2 EUR,
         metric: revenue_per_visit, measure: total, baseline: 1, target: 2, unit: EUR}
      - {id: shop-to-trial, title: Shop revenue is ten times the trial revenue,
         metric: shop_to_trial_revenue, measure: total, target: 10, direction: at_least,
         unit: x}
      - {id: won-revenue, title: Won revenue reaches 30000 EUR, metric: won_revenue,
         measure: total, target: 30000, unit: "€"}
"""
CURRENCY_UNITS = ('unit: "€"', "unit: EUR")


@dataclass
class Sandboxes:
    ga4: GA4Sandbox
    matomo: matomo_sandbox.MatomoSandbox
    hubspot: HubSpotSandbox


def _won_deals(crm: HubSpotSandbox) -> None:
    for day, amount in ((2, 12000), (3, 9000), (5, 4000)):
        crm.add_deal(
            datetime(2026, 9, day, 9, tzinfo=UTC),
            {
                "pipeline": "default",
                "dealstage": "closedwon",
                "closedate": datetime(2026, 10, day, 10, tzinfo=UTC),
                "amount": amount,
                "amount_in_home_currency": amount,
            },
        )


@pytest.fixture
def sandboxes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandboxes]:
    ga4 = GA4Sandbox()
    ga4_server = ga4.serve()
    matomo_server, matomo = matomo_sandbox.serve()
    crm = HubSpotSandbox(deals=0, contacts=0, now=CRM_NOW)
    _won_deals(crm)
    crm_server = SandboxServer(crm.handle, name="hubspot").start()
    for name, value in {
        "GA4_ENDPOINT": ga4_server.base_url,
        "GA4_ANONYMOUS": "1",
        "MATOMO_URL": matomo_server.base_url,
        "MATOMO_TOKEN": matomo_sandbox.DEFAULT_TOKEN,
        "HUBSPOT_ACCESS_TOKEN": crm.token,
        "HUBSPOT_HOST": crm_server.base_url,
        "HUBSPOT_SEARCH_REQUESTS_PER_SECOND": "10000",
        "HUBSPOT_REQUESTS_PER_SECOND": "10000",
    }.items():
        monkeypatch.setenv(name, value)
    yield Sandboxes(ga4, matomo, crm)
    for server in (ga4_server, matomo_server, crm_server):
        server.stop()


def _project(folder: Path, *, units_name_currencies: bool = True) -> Path:
    folder.mkdir(parents=True)
    objectives = OBJECTIVES
    if not units_name_currencies:
        for unit in CURRENCY_UNITS:
            objectives = objectives.replace(unit, "unit: revenue")
    (folder / "organisation.yaml").write_text(ORGANISATION)
    (folder / "metrics.yaml").write_text(METRICS)
    (folder / "objectives.yaml").write_text(objectives)
    return folder


def _run(folder: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKR_DEFINITIONS", str(folder))
    monkeypatch.setenv("OKR_WAREHOUSE", str(warehouse))
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_range(
            build_definitions(load_valid_definitions(folder)), FIRST, LAST, instance
        )
    assert outcome.succeeded, outcome.errors


def _progress() -> dict[str, tuple]:
    """kr_id → (value, progress, status, flags) on the as-of day."""
    rows = warehouse_rows(
        "SELECT kr_id, value, progress, status, flags FROM okr.kr_progress_daily "
        "WHERE as_of_date = ?",
        AS_OF,
    )
    return {kr_id: rest for kr_id, *rest in rows}


def _validate(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "validate", str(folder)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_matching_currencies_pass_untouched(
    tmp_path: Path, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    neutral = _project(tmp_path / "neutral" / "okr_definitions", units_name_currencies=False)
    _run(neutral, tmp_path / "neutral.duckdb", monkeypatch)
    # (the unit is part of a key result's definition hash: both are left out)
    neutral_progress = warehouse_rows(
        "SELECT * EXCLUDE (unit, definition_hash) FROM okr.kr_progress_daily "
        "ORDER BY as_of_date, kr_id"
    )
    neutral_staging = warehouse_rows(
        "SELECT * EXCLUDE (fetched_at) FROM staging.metric_daily ORDER BY metric_id, date"
    )

    folder = _project(tmp_path / "euro" / "okr_definitions")
    assert _validate(folder).returncode == 0
    _run(folder, tmp_path / "euro.duckdb", monkeypatch)

    # Every source reports EUR, the units say EUR: the same numbers, statuses and flags as
    # when no unit names a currency.
    assert (
        warehouse_rows(
            "SELECT * EXCLUDE (unit, definition_hash) FROM okr.kr_progress_daily "
            "ORDER BY as_of_date, kr_id"
        )
        == neutral_progress
    )
    assert (
        warehouse_rows(
            "SELECT * EXCLUDE (fetched_at) FROM staging.metric_daily ORDER BY metric_id, date"
        )
        == neutral_staging
    )
    progress = _progress()
    assert all("currency_mismatch" not in flags for *_, flags in progress.values())
    assert progress["won-revenue"][0] == 25000.0  # 12,000 + 9,000 + 4,000 won Oct 2..5
    # Each money metric's days name the currency the source reported; counts name none.
    currencies = dict(
        warehouse_rows(
            "SELECT metric_id, list(DISTINCT currency) FROM staging.metric_daily GROUP BY ALL"
        )
    )
    assert currencies == {
        "trial_revenue": ["EUR"],
        "shop_revenue": ["EUR"],
        "won_revenue": ["EUR"],
        "visits": [None],
    }
    assert warehouse_rows("SELECT DISTINCT currency FROM okr.key_results ORDER BY 1") == [
        ("EUR",),
        (None,),
    ]


def test_another_currency_is_a_validate_error_and_a_flag_with_its_reason(
    tmp_path: Path, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _project(tmp_path / "okr_definitions")
    _run(folder, tmp_path / "warehouse.duckdb", monkeypatch)
    before = _progress()

    # The GA4 property and the HubSpot account now report in USD; Matomo stays in EUR.
    sandboxes.ga4.configure(DEMO_PROPERTY_ID, currency_code="USD")
    sandboxes.hubspot.company_currency = "USD"

    result = _validate(folder)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [ln for ln in result.stderr.splitlines() if "error:" in ln and "USD" in ln]
    assert len(errors) == 3, result.stderr
    per_visit = next(ln for ln in errors if "'revenue-per-visit'" in ln)
    assert "objectives.yaml:" in per_visit and "key_results[1].unit:" in per_visit
    assert "'shop_revenue' comes from ga4 in USD" in per_visit
    assert "Fix: write the unit in the source's currency (`unit: USD`)" in per_visit
    won = next(ln for ln in errors if "'won-revenue'" in ln)
    assert "key_results[3].unit:" in won and "hubspot in USD" in won
    assert "company currency" in won
    ratio = next(ln for ln in errors if "'shop_to_trial_revenue'" in ln)
    assert "metrics.yaml:" in ratio and ".ratio:" in ratio
    assert "(ga4, USD)" in ratio and "(matomo, EUR)" in ratio
    assert "trial-revenue" not in result.stderr  # Matomo and its key result agree

    _run(folder, tmp_path / "warehouse.duckdb", monkeypatch)
    after = _progress()
    flagged = {kr for kr, (*_, flags) in after.items() if "currency_mismatch" in flags}
    assert flagged == {"revenue-per-visit", "shop-to-trial", "won-revenue"}
    # The numbers are shown as they are, visibly untrustworthy rather than converted.
    assert {kr: row[:3] for kr, row in after.items()} == {kr: row[:3] for kr, row in before.items()}
    reasons = dict(
        warehouse_rows(
            "SELECT metric_id, list(DISTINCT reason ORDER BY reason) FROM staging.metric_flags "
            "WHERE flag = 'currency_mismatch' GROUP BY ALL"
        )
    )
    assert reasons == {
        "revenue_per_visit": [
            "amounts of shop_revenue are in USD (ga4), but key result revenue-per-visit is in "
            "EUR: shown unconverted"
        ],
        "shop_to_trial_revenue": [
            "numerator shop_revenue is in USD (ga4), denominator trial_revenue in EUR "
            "(matomo): the ratio divides amounts in different currencies"
        ],
        "won_revenue": [
            "amounts of won_revenue are in USD (hubspot), but key result won-revenue is in "
            "EUR: shown unconverted"
        ],
    }
