"""Salesforce through the whole pipeline: simple-salesforce against the sandbox org, real
Dagster runs (pipelines.runner.run_range), a real DuckDB file.

A small fixed org whose values are worked out by hand (organisation time zone Europe/Berlin,
corporate currency EUR, 1 EUR = 1.1 USD):

| opportunity | stage (process)        | amount   | close date | between the runs          |
|-------------|------------------------|----------|------------|---------------------------|
| O1          | Closed Won             | 1000 EUR | 10-01      |                           |
| O2          | Closed Won             | 1100 USD | 10-02      |                           |
| O3          | Signed (custom: won)   | 500 EUR  | 10-02      |                           |
| O4          | Closed Lost            | 700 EUR  | 10-03      |                           |
| O5          | Churned (custom: lost) | 300 EUR  | 10-03      |                           |
| O6          | Negotiation (open)     | 900 EUR  | 10-04      |                           |
| O7          | Closed Won             | 2000 EUR | 10-04      | deleted                   |
| O8          | Closed Won             | 400 EUR  | 10-05      | amount edited to 600      |
| O9          | Closed Won             | 800 EUR  | 10-03      | moved to Closed Lost      |
| O10         | Closed Won (deleted)   | 250 EUR  | 10-01      | undeleted                 |
| O11         | —                      | 400 GBP  | 10-02      | created Closed Won        |

First run, won revenue: 10-01 1000, 10-02 1000 + 500, 10-03 800, 10-04 2000, 10-05 400
(5,700 in all); win rate 6 won / 8 closed. Second run: 10-01 1250, 10-02 1500, 10-03 0,
10-04 0, 10-05 600 (3,350); win rate 6 / 9. The org has no rate for GBP: O11's amount cannot
be converted, so it is left out of 10-02's sum and the day is flagged `currency_unconverted`
(it still counts in the win rate, which counts opportunities).

Leads (Web or Partner, by CreatedDate on the Berlin day): L1 Web 10-01 10:00 UTC, L2 Partner
09-30 22:30 UTC (10-01 in Berlin), L3 Event (not counted), L4 Web 10-02, L5 Partner 10-05
21:59 UTC (still 10-05 in Berlin): 2, 1, 0, 0, 1. Converted (by ConvertedDate): L1 10-03,
L4 10-04.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest
from pipeline_testkit import warehouse_rows

from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import RunOutcome, run_range
from sandbox.salesforce.server import CLIENT_ID, CLIENT_SECRET, SalesforceSandbox

FIRST, LAST = date(2026, 10, 1), date(2026, 10, 5)

ORGANISATION = """
organisation:
  name: Test Shop
  timezone: Europe/Berlin
  lookback_days: 2
sources:
  salesforce: {allowed_lag_days: 1}
teams:
  - {id: sales, name: Sales, owner: sales@example.com}
"""
METRICS = """
metrics:
  - id: won_revenue_sf
    unit: €
    source: salesforce
    query: {object: Opportunity, aggregate: sum, field: Amount, date_field: CloseDate,
            stage: won}
  - id: win_rate_sf
    unit: "%"
    source: salesforce
    query: {object: Opportunity, date_field: CloseDate, stage: won,
            denominator: {stage: closed}}
  - id: new_leads_sf
    unit: leads
    source: salesforce
    query: {object: Lead, date_field: CreatedDate,
            filter: {field: LeadSource, in: [Web, Partner]}}
  - id: converted_leads_sf
    unit: leads
    source: salesforce
    query: {object: Lead, date_field: ConvertedDate,
            filter: {field: IsConverted, equals: true}}
"""
OBJECTIVES = """
objectives:
  - id: sell
    title: New customers choose us
    team: sales
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: won-revenue, title: Won revenue reaches €10k, metric: won_revenue_sf,
         measure: total, target: 10000}
      - {id: win-rate, title: Win rate 80 %, metric: win_rate_sf, measure: total,
         target: 80%}
      - {id: new-leads, title: 10 new leads, metric: new_leads_sf, measure: total, target: 10}
      - {id: converted, title: 5 converted leads, metric: converted_leads_sf, measure: total,
         target: 5}
"""


def _at(day: str, time: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{time}:00+00:00")


def _org() -> tuple[SalesforceSandbox, dict[str, str]]:
    org = SalesforceSandbox()
    ids = {}
    rows = [
        ("O1", "Closed Won", 1000, "EUR", "10-01"),
        ("O2", "Closed Won", 1100, "USD", "10-02"),
        ("O3", "Signed", 500, "EUR", "10-02"),
        ("O4", "Closed Lost", 700, "EUR", "10-03"),
        ("O5", "Churned", 300, "EUR", "10-03"),
        ("O6", "Negotiation/Review", 900, "EUR", "10-04"),
        ("O7", "Closed Won", 2000, "EUR", "10-04"),
        ("O8", "Closed Won", 400, "EUR", "10-05"),
        ("O9", "Closed Won", 800, "EUR", "10-03"),
        ("O10", "Closed Won", 250, "EUR", "10-01"),
    ]
    for name, stage, amount, currency, close in rows:
        ids[name] = org.insert(
            "Opportunity",
            at=_at("09-20"),
            Name=name,
            StageName=stage,
            Amount=float(amount),
            CurrencyIsoCode=currency,
            CloseDate=date.fromisoformat(f"2026-{close}"),
        )
    org.delete("Opportunity", ids["O10"], at=_at("09-25"))
    leads = [
        ("L1", "Web", _at("10-01", "10:00"), date(2026, 10, 3)),
        ("L2", "Partner", _at("09-30", "22:30"), None),
        ("L3", "Event", _at("10-02"), None),
        ("L4", "Web", _at("10-02", "12:00"), date(2026, 10, 4)),
        ("L5", "Partner", _at("10-05", "21:59"), None),
    ]
    for name, source, created, converted in leads:
        ids[name] = org.insert("Lead", at=created, LastName=name, LeadSource=source)
        if converted:
            org.update("Lead", ids[name], at=created, ConvertedDate=converted)
    return org, ids


@dataclass
class Scenario:
    org: SalesforceSandbox
    first: RunOutcome
    second: RunOutcome
    first_staged: dict[tuple[str, date], tuple]
    first_kr: dict[str, float]
    first_requests: int
    second_requests: int
    warehouse: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        folder: Path = tmp_path_factory.mktemp("salesforce") / "okr_definitions"
        folder.mkdir()
        (folder / "organisation.yaml").write_text(ORGANISATION)
        (folder / "metrics.yaml").write_text(METRICS)
        (folder / "objectives.yaml").write_text(OBJECTIVES)
        org, ids = _org()
        server = org.serve()
        mp.setenv("OKR_DEFINITIONS", str(folder))
        mp.setenv("OKR_WAREHOUSE", str(folder.parent / "warehouse.duckdb"))
        mp.setenv("SALESFORCE_HOST", server.base_url)
        mp.setenv("SALESFORCE_DOMAIN", "test-shop.my.salesforce.com")
        mp.setenv("SALESFORCE_CLIENT_ID", CLIENT_ID)
        mp.setenv("SALESFORCE_CLIENT_SECRET", CLIENT_SECRET)
        mp.setenv("OKR_RETRY_WAIT_SCALE", "0")
        try:
            defs = build_definitions(load_valid_definitions(folder))
            first = run_range(defs, FIRST, LAST, instance)
            first_requests = server.total_requests
            first_staged = {
                (m, d): (v, n, dn)
                for m, d, v, n, dn in warehouse_rows(
                    "SELECT metric_id, date, value, numerator, denominator "
                    "FROM staging.metric_daily WHERE source = 'salesforce'"
                )
            }
            first_kr = dict(
                warehouse_rows(
                    "SELECT kr_id, value FROM okr.kr_progress_daily WHERE as_of_date = ?", LAST
                )
            )
            org.delete("Opportunity", ids["O7"])
            org.update("Opportunity", ids["O8"], Amount=600.0)
            org.update("Opportunity", ids["O9"], StageName="Closed Lost")
            org.undelete("Opportunity", ids["O10"])
            ids["O11"] = org.insert(
                "Opportunity",
                Name="O11",
                StageName="Closed Won",
                Amount=400.0,
                CurrencyIsoCode="GBP",
                CloseDate=date(2026, 10, 2),
            )
            server.reset_counts()
            second = run_range(defs, FIRST, LAST, instance)
            yield Scenario(
                org,
                first,
                second,
                first_staged,
                first_kr,
                first_requests,
                server.total_requests,
                os.environ["OKR_WAREHOUSE"],
                ids,
            )
        finally:
            server.stop()


@pytest.fixture
def s(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setenv("OKR_WAREHOUSE", scenario.warehouse)
    return scenario


def _staged() -> dict[tuple[str, date], tuple]:
    return {
        (m, d): (v, n, dn)
        for m, d, v, n, dn in warehouse_rows(
            "SELECT metric_id, date, value, numerator, denominator "
            "FROM staging.metric_daily WHERE source = 'salesforce'"
        )
    }


def _days(metric: str, staged: dict[tuple[str, date], tuple]) -> list[float]:
    return [staged[metric, date(2026, 10, d)][0] for d in range(1, 6)]


def test_first_run_gives_the_hand_computed_values(s: Scenario) -> None:
    assert s.first.succeeded, s.first.errors
    staged = s.first_staged
    # USD 1100 is EUR 1000 at the org's rate; Signed (custom process) counts as won.
    assert _days("won_revenue_sf", staged) == [1000, 1500, 800, 2000, 400]
    assert [staged["win_rate_sf", date(2026, 10, d)][1:] for d in range(1, 6)] == [
        (1, 1),
        (2, 2),
        (1, 3),
        (1, 1),
        (1, 1),
    ]
    # L2 was created at 22:30 UTC on 09-30: 00:30 on 10-01 in Berlin.
    assert _days("new_leads_sf", staged) == [2, 1, 0, 0, 1]
    assert _days("converted_leads_sf", staged) == [0, 0, 1, 1, 0]
    assert s.first_kr["won-revenue"] == 5700
    assert s.first_kr["win-rate"] == pytest.approx(6 / 8)
    assert s.first_kr["new-leads"] == 4
    assert s.first_kr["converted"] == 2


def test_edits_losses_deletions_and_undeletions_correct_the_past(s: Scenario) -> None:
    assert s.second.succeeded, s.second.errors
    staged = _staged()
    assert _days("won_revenue_sf", staged) == [1250, 1500, 0, 0, 600]
    kr = dict(
        warehouse_rows("SELECT kr_id, value FROM okr.kr_progress_daily WHERE as_of_date = ?", LAST)
    )
    assert kr["won-revenue"] == 3350
    assert kr["win-rate"] == pytest.approx(6 / 9)
    revisions = {
        (m, d): (old, new)
        for m, d, old, new in warehouse_rows(
            "SELECT metric_id, date, old_value, new_value FROM staging.metric_revisions "
            "WHERE source = 'salesforce' AND metric_id = 'won_revenue_sf'"
        )
    }
    assert revisions == {
        ("won_revenue_sf", date(2026, 10, 1)): (1000, 1250),  # O10 undeleted
        ("won_revenue_sf", date(2026, 10, 3)): (800, 0),  # O9 lost
        ("won_revenue_sf", date(2026, 10, 4)): (2000, 0),  # O7 deleted
        ("won_revenue_sf", date(2026, 10, 5)): (400, 600),  # O8 edited after it was won
    }
    # The history keeps every version: O8's two amounts, O10 deleted and back.
    history = warehouse_rows(
        "SELECT record_id, is_deleted, fields['Amount'] FROM raw.salesforce_record_history "
        "ORDER BY system_modstamp"
    )
    assert [float(a) for r, _, a in history if r == s.ids["O8"]] == [400, 600]
    assert [d for r, d, _ in history if r == s.ids["O10"]] == [True, False]


def test_second_run_reads_only_the_changes(s: Scenario) -> None:
    state = dict(warehouse_rows("SELECT object, records_read FROM raw.salesforce_sync_state"))
    # Four opportunities changed and one was created; no lead did: the one lead read is the
    # newest, at the cursor, re-read by the overlap (and stored once).
    assert state == {"Opportunity": 5, "Lead": 1}
    ((lead_versions,),) = warehouse_rows(
        "SELECT count(*) FROM raw.salesforce_record_history WHERE object = 'Lead'"
    )
    # L3 (Event, not converted) matches no metric: the first, full read left it out.
    assert lead_versions == 4
    # login, 2 describes, one query page per object, the currency rates.
    assert s.second_requests == 6
    requests = dict(warehouse_rows("SELECT object, requests FROM raw.salesforce_sync_state"))
    assert requests == {"Opportunity": 1, "Lead": 1}


def test_an_amount_in_a_currency_without_a_rate_flags_its_day_and_the_key_result(
    s: Scenario,
) -> None:
    """O11's 400 GBP has no rate in the org: 10-02 stays 1,500 (O2's USD 1,100 → EUR 1,000,
    O3's 500) and says why it is incomplete, and so does the key result reading it."""
    assert s.first.succeeded and s.second.succeeded
    assert s.first_kr["won-revenue"] == 5700  # no GBP amount then: no flag in the first run
    flags = warehouse_rows(
        "SELECT metric_id, date, flag, reason FROM staging.metric_flags "
        "WHERE flag = 'currency_unconverted'"
    )
    assert [(m, d, f) for m, d, f, _ in flags] == [
        ("won_revenue_sf", date(2026, 10, 2), "currency_unconverted")
    ]
    reason = flags[0][3]
    assert reason.startswith("1 amount(s) in GBP left out of the sum") and "EUR" in reason
    assert _days("won_revenue_sf", _staged())[1] == 1500
    kr_flags = dict(
        warehouse_rows("SELECT kr_id, flags FROM okr.kr_progress_daily WHERE as_of_date = ?", LAST)
    )
    assert "currency_unconverted" in kr_flags["won-revenue"]
    assert "currency_unconverted" not in (kr_flags["win-rate"] or [])
