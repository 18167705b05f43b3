"""HubSpot through the whole pipeline: the real client against the sandbox, real Dagster runs
(pipelines.runner.run_range), a real DuckDB file; and `okr validate` against the sandbox.

Expected values are worked out from the sandbox's own ground truth (`sandbox.objects()`),
independently of the connector: won revenue = the company-currency amounts of deals in a stage
whose pipeline marks it closed with probability 1.0, on their close day in Berlin; new MQLs =
contacts on the Berlin day they entered the stage.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest
from pipeline_testkit import warehouse_rows

from connectors.hubspot.settings import MODIFIED_OVERLAP
from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import RunOutcome, run_range
from sandbox.base import Response, SandboxServer
from sandbox.hubspot.server import ARCHIVE_RETENTION, PIPELINES, HubSpotSandbox

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_DAY, PERIOD_START, FIRST_END = date(2026, 9, 21), date(2026, 10, 1), date(2026, 10, 5)
SECOND_START, SECOND_END = date(2026, 10, 6), date(2026, 10, 8)
# The CRM's clock at each run: the morning after the last day each run fetches.
FIRST_NOW = datetime(2026, 10, 6, 12, 0, tzinfo=UTC)
SECOND_NOW = datetime(2026, 10, 9, 12, 0, tzinfo=UTC)
WON_STAGES = {
    s["id"]
    for p in PIPELINES
    for s in p["stages"]
    if s["metadata"]["isClosed"] == "true" and float(s["metadata"]["probability"]) == 1.0
}

ORGANISATION = """
organisation:
  name: Test Shop
  timezone: Europe/Berlin
  lookback_days: 2
sources:
  file: {allowed_lag_days: 2}
  hubspot: {allowed_lag_days: 1}
teams:
  - {id: growth, name: Growth, owner: growth@example.com}
  - {id: sales, name: Sales, owner: sales@example.com}
"""
METRICS = """
metrics:
  - {id: signups, source: file, query: {path: data/signups.csv}}
  - id: won_revenue
    source: hubspot
    query: {object: deals, aggregate: sum, property: amount, date_property: closedate,
            stage: won}
  - id: new_mqls
    source: hubspot
    query: {object: contacts, date_property: hs_v2_date_entered_marketingqualifiedlead}
"""
OBJECTIVES = """
objectives:
  - id: grow
    title: More people sign up
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: signups-total, title: 120 signups, metric: signups, measure: total, target: 120}
      - {id: signups-daily, title: 12 signups a day, metric: signups, measure: latest,
         target: 12, direction: at_least}
  - id: sell
    title: New customers choose us
    team: sales
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: won-revenue, title: Won revenue reaches €150k, metric: won_revenue,
         measure: total, target: 150000}
      - {id: new-mqls, title: 40 new MQLs, metric: new_mqls, measure: total, target: 40}
"""


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "organisation.yaml").write_text(ORGANISATION)
    (folder / "metrics.yaml").write_text(METRICS)
    (folder / "objectives.yaml").write_text(OBJECTIVES)
    (folder / "data").mkdir()
    days = [date(2026, 9, 1) + timedelta(days=i) for i in range(40)]
    (folder / "data" / "signups.csv").write_text(
        "date,value\n" + "".join(f"{d.isoformat()},12\n" for d in days)
    )
    return folder


def _environment(mp: pytest.MonkeyPatch, folder: Path, server: SandboxServer, token: str) -> None:
    mp.setenv("OKR_DEFINITIONS", str(folder))
    mp.setenv("OKR_WAREHOUSE", str(folder.parent / "warehouse.duckdb"))
    mp.setenv("HUBSPOT_ACCESS_TOKEN", token)
    mp.setenv("HUBSPOT_HOST", server.base_url)
    # The sandbox has no rate limit; the limiter's own pacing is tested with a fake clock.
    mp.setenv("HUBSPOT_SEARCH_REQUESTS_PER_SECOND", "10000")
    mp.setenv("HUBSPOT_REQUESTS_PER_SECOND", "10000")
    mp.setenv("OKR_RETRY_WAIT_SCALE", "0")


# -- ground truth from the sandbox ------------------------------------------------------------
def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _berlin_day(text: str | None) -> date | None:
    return _moment(text).astimezone(BERLIN).date() if text else None


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def expected_daily(
    sandbox: HubSpotSandbox, first: date, last: date
) -> dict[tuple[str, date], float]:
    """(metric, day) → value for every day in [first, last], from the CRM as it is now."""
    values = {(m, d): 0.0 for m in ("won_revenue", "new_mqls") for d in _days(first, last)}
    for deal in sandbox.objects("deals"):
        p = deal["properties"]
        day = _berlin_day(p["closedate"])
        if p["dealstage"] in WON_STAGES and ("won_revenue", day) in values:
            values["won_revenue", day] += float(p["amount_in_home_currency"] or p["amount"] or 0)
    for contact in sandbox.objects("contacts"):
        day = _berlin_day(contact["properties"].get("hs_v2_date_entered_marketingqualifiedlead"))
        if ("new_mqls", day) in values:
            values["new_mqls", day] += 1
    return values


def listed_objects(sandbox: HubSpotSandbox, object_type: str) -> dict[str, dict[str, Any]]:
    """What HubSpot can still show: live objects and the recycle bin (archived < 90 days)."""
    oldest = sandbox.now - ARCHIVE_RETENTION
    return {
        o["id"]: o
        for o in sandbox.objects(object_type, archived=None)
        if not o["archived"] or _moment(o["archivedAt"]) >= oldest
    }


def _total(values: dict[tuple[str, date], float], metric: str, first: date, last: date) -> float:
    return sum(v for (m, d), v in values.items() if m == metric and first <= d <= last)


# -- the shared scenario: a full first run, then an incremental second run --------------------
@pytest.fixture(scope="module")
def hubspot_server() -> Iterator[SandboxServer]:
    server = SandboxServer(
        lambda request: Response.json({"message": "no sandbox"}, 503), name="hubspot"
    ).start()
    yield server
    server.stop()


@dataclass
class Scenario:
    sandbox: HubSpotSandbox
    first: RunOutcome
    second: RunOutcome
    first_requests: dict[str, int]
    second_requests: dict[str, int]
    first_state: dict[str, tuple]  # object_type → (cursor, objects_read, last_full_read_at)
    first_truth: dict[tuple[str, date], float]
    second_truth: dict[tuple[str, date], float]
    first_listed: dict[str, dict[str, dict[str, Any]]]
    first_staged: dict[tuple[str, date], float]
    first_kr: dict[str, float]
    edited_deal: str
    archived_deal: str
    warehouse: str


@pytest.fixture(scope="module")
def scenario(
    tmp_path_factory: pytest.TempPathFactory, hubspot_server: SandboxServer
) -> Iterator[Scenario]:
    """More than 10,000 deals (search must page past its cap), a deal whose amount and close
    date are edited between the runs, and a deal archived between them."""
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        folder = _project(tmp_path_factory.mktemp("hubspot") / "okr_definitions")
        sandbox = HubSpotSandbox(deals=11_500, contacts=4_000, now=FIRST_NOW)
        _environment(mp, folder, hubspot_server, sandbox.token)
        # Won on Oct 2 for 5,000; on Oct 7 corrected to 4,200 and backdated to Oct 1.
        edited = sandbox.add_deal(
            datetime(2026, 9, 20, 9, tzinfo=UTC),
            {
                "pipeline": "default",
                "dealstage": "closedwon",
                "amount": 5000,
                "amount_in_home_currency": 5000,
                "closedate": datetime(2026, 10, 2, 10, tzinfo=UTC),
            },
            changes=[
                (
                    datetime(2026, 10, 7, 9, tzinfo=UTC),
                    {
                        "amount": 4200,
                        "amount_in_home_currency": 4200,
                        "closedate": datetime(2026, 10, 1, 9, tzinfo=UTC),
                    },
                )
            ],
        )
        # Won on Oct 3 for 777, deleted on Oct 8.
        archived = sandbox.add_deal(
            datetime(2026, 9, 22, 9, tzinfo=UTC),
            {
                "pipeline": "default",
                "dealstage": "closedwon",
                "amount": 777,
                "amount_in_home_currency": 777,
                "closedate": datetime(2026, 10, 3, 10, tzinfo=UTC),
            },
            archived_at=datetime(2026, 10, 8, 8, tzinfo=UTC),
        )
        hubspot_server.handler = sandbox.handle
        hubspot_server.reset_counts()
        defs = build_definitions(load_valid_definitions(folder))

        first = run_range(defs, FIRST_DAY, FIRST_END, instance)
        first_requests = dict(hubspot_server.request_counts)
        first_state = {
            t: (c, n, f)
            for t, c, n, f in warehouse_rows(
                "SELECT object_type, cursor_updated_at, objects_read, last_full_read_at "
                "FROM raw.hubspot_sync_state"
            )
        }
        first_staged = {
            (m, d): v
            for m, d, v in warehouse_rows(
                "SELECT metric_id, date, value FROM staging.metric_daily WHERE source = 'hubspot'"
            )
        }
        first_kr = dict(
            warehouse_rows(
                "SELECT kr_id, value FROM okr.kr_progress_daily WHERE as_of_date = ?", FIRST_END
            )
        )
        first_truth = expected_daily(sandbox, FIRST_DAY, FIRST_END)
        first_listed = {t: listed_objects(sandbox, t) for t in ("deals", "contacts")}

        sandbox.set_now(SECOND_NOW)
        hubspot_server.reset_counts()
        second = run_range(defs, SECOND_START, SECOND_END, instance)
        yield Scenario(
            sandbox=sandbox,
            first=first,
            second=second,
            first_requests=first_requests,
            second_requests=dict(hubspot_server.request_counts),
            first_state=first_state,
            first_truth=first_truth,
            second_truth=expected_daily(sandbox, FIRST_DAY, SECOND_END),
            first_listed=first_listed,
            first_staged=first_staged,
            first_kr=first_kr,
            edited_deal=edited,
            archived_deal=archived,
            warehouse=os.environ["OKR_WAREHOUSE"],
        )


@pytest.fixture
def warehouse_of(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    monkeypatch.setenv("OKR_WAREHOUSE", scenario.warehouse)
    return scenario


def test_first_run_loads_every_object_the_cursor_and_the_daily_values(
    warehouse_of: Scenario,
) -> None:
    s = warehouse_of
    assert s.first.succeeded, s.first.errors
    for object_type, listed in s.first_listed.items():
        cursor, objects_read, full_read_at = s.first_state[object_type]
        assert full_read_at is not None  # the first read is a full one
        assert cursor == max(_moment(o["updatedAt"]) for o in listed.values())
        assert objects_read == len(listed)
    # Every day of the window, both metrics, exactly the ground truth.
    assert s.first_staged == pytest.approx(s.first_truth)
    assert s.first_kr["won-revenue"] == pytest.approx(
        _total(s.first_truth, "won_revenue", PERIOD_START, FIRST_END)
    )
    assert s.first_kr["new-mqls"] == _total(s.first_truth, "new_mqls", PERIOD_START, FIRST_END)
    assert s.first_kr["new-mqls"] > 0 and s.first_kr["won-revenue"] > 10_000  # not vacuous


def test_more_than_ten_thousand_deals_are_read_completely_without_duplicates(
    warehouse_of: Scenario,
) -> None:
    s = warehouse_of
    listed = s.first_listed["deals"]
    live = [o for o in listed.values() if not o["archived"]]
    assert len(live) > 10_000  # past the search API's 10,000-result cap
    _, objects_read, _ = s.first_state["deals"]
    # The connector returned each object once (the raw table's key would hide a repeat).
    assert objects_read == len(listed)
    # The search walked every page: 200 objects a page, restarting past the cap.
    assert s.first_requests["/crm/v3/objects/deals/search"] == math.ceil(len(live) / 200)
    # After both runs the table holds what HubSpot can show now, once each.
    stored = dict(
        warehouse_rows(
            "SELECT object_id, archived FROM raw.hubspot_objects WHERE object_type = 'deals'"
        )
    )
    now_listed = listed_objects(s.sandbox, "deals")
    assert set(stored) == set(now_listed)
    assert {i for i, a in stored.items() if a} == {
        i for i, o in now_listed.items() if o["archived"]
    }


def test_second_run_reads_only_what_changed_since_the_cursor(warehouse_of: Scenario) -> None:
    s = warehouse_of
    assert s.second.succeeded, s.second.errors
    state = {
        t: (n, f)
        for t, n, f in warehouse_rows(
            "SELECT object_type, objects_read, last_full_read_at FROM raw.hubspot_sync_state"
        )
    }
    for object_type in ("deals", "contacts"):
        since = s.first_state[object_type][0] - MODIFIED_OVERLAP
        listed = listed_objects(s.sandbox, object_type)
        changed = [o for o in listed.values() if _moment(o["updatedAt"]) >= since]
        objects_read, full_read_at = state[object_type]
        assert objects_read == len(changed)
        assert full_read_at == s.first_state[object_type][2]  # no new full read
        live_changed = sum(not o["archived"] for o in changed)
        in_bin = sum(o["archived"] for o in listed.values())
        path = f"/crm/v3/objects/{object_type}"
        assert s.second_requests[f"{path}/search"] == max(1, math.ceil(live_changed / 200))
        # The recycle bin cannot be filtered by date: it is listed whole (100 a page).
        assert s.second_requests[path] == max(1, math.ceil(in_bin / 100))
    assert 0 < state["deals"][0] < len(s.first_listed["deals"]) / 20
    assert sum(s.second_requests.values()) < sum(s.first_requests.values()) / 5
    # Each changed deal has a new version in the history beside its first one.
    ((versions,),) = warehouse_rows(
        "SELECT count(*) FROM raw.hubspot_object_history WHERE object_id = ?", s.edited_deal
    )
    assert versions == 2


def test_an_edited_past_deal_is_a_revision_and_corrects_the_key_result(
    warehouse_of: Scenario,
) -> None:
    s = warehouse_of
    revisions = {
        (m, d): (old, new)
        for m, d, old, new in warehouse_rows(
            "SELECT metric_id, date, old_value, new_value FROM staging.metric_revisions "
            "WHERE source = 'hubspot'"
        )
    }
    # Exactly the days whose true value changed between the runs, with both values.
    expected = {
        key: (old, s.second_truth[key])
        for key, old in s.first_truth.items()
        if s.second_truth[key] != pytest.approx(old)
    }
    assert set(revisions) == set(expected)
    for key, (old, new) in expected.items():
        assert revisions[key] == (pytest.approx(old), pytest.approx(new)), key
    # The edited deal left Oct 2 and arrived on Oct 1 (both days are revisions).
    assert {("won_revenue", date(2026, 10, 1)), ("won_revenue", date(2026, 10, 2))} <= set(
        revisions
    )
    ((value,),) = warehouse_rows(
        "SELECT value FROM okr.kr_progress_daily WHERE kr_id = 'won-revenue' AND as_of_date = ?",
        SECOND_END,
    )
    assert value == pytest.approx(_total(s.second_truth, "won_revenue", PERIOD_START, SECOND_END))
    ((amount, closedate),) = warehouse_rows(
        "SELECT properties['amount'], properties['closedate'] FROM raw.hubspot_objects "
        "WHERE object_id = ?",
        s.edited_deal,
    )
    assert (amount, closedate) == ("4200", "2026-10-01T09:00:00.000Z")


def test_an_archived_deal_stops_counting(warehouse_of: Scenario) -> None:
    s = warehouse_of
    oct3 = date(2026, 10, 3)
    ((archived, archived_at),) = warehouse_rows(
        "SELECT archived, archived_at FROM raw.hubspot_objects WHERE object_id = ?",
        s.archived_deal,
    )
    assert archived is True
    assert archived_at == datetime(2026, 10, 8, 8, tzinfo=UTC)
    ((staged,),) = warehouse_rows(
        "SELECT value FROM staging.metric_daily WHERE metric_id = 'won_revenue' AND date = ?",
        oct3,
    )
    # Live (and counted on Oct 3) at the first run, in the recycle bin at the second.
    assert s.first_listed["deals"][s.archived_deal]["archived"] is False
    assert listed_objects(s.sandbox, "deals")[s.archived_deal]["archived"] is True
    assert s.first_staged["won_revenue", oct3] == pytest.approx(s.first_truth["won_revenue", oct3])
    # Now Oct 3 is the sum of the live won deals only.
    assert staged == pytest.approx(s.second_truth["won_revenue", oct3])
    assert ("won_revenue", oct3) in {
        (m, d) for m, d in warehouse_rows("SELECT metric_id, date FROM staging.metric_revisions")
    }


# -- a refused token ----------------------------------------------------------------------------
def test_a_refused_token_fails_hubspot_only_and_its_key_results_turn_stale(
    tmp_path: Path, hubspot_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _project(tmp_path / "okr_definitions")
    sandbox = HubSpotSandbox(deals=1_500, contacts=1_000, now=FIRST_NOW)
    hubspot_server.handler = sandbox.handle
    _environment(monkeypatch, folder, hubspot_server, sandbox.token)
    defs = build_definitions(load_valid_definitions(folder))
    canary = "pat-na1-canary-0123456789abcdef"
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_range(defs, FIRST_DAY, FIRST_END, instance).succeeded
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", canary)
        sandbox.set_now(datetime(2026, 10, 10, 12, tzinfo=UTC))
        outcome = run_range(defs, SECOND_START, date(2026, 10, 9), instance)
        logs = [str(record) for run_id in outcome.run_ids for record in instance.all_logs(run_id)]
    assert not outcome.succeeded
    assert outcome.failed_steps == ["raw__hubspot"]
    assert any("HUBSPOT_ACCESS_TOKEN" in e and "refused" in e for e in outcome.errors), (
        outcome.errors
    )
    assert all(canary not in e for e in outcome.errors)
    # The event log searched holds the failure itself, with the variable's name in its message
    assert any(
        "STEP_FAILURE" in line and "raw__hubspot" in line and "HUBSPOT_ACCESS_TOKEN" in line
        for line in logs
    ), logs
    assert all(canary not in line for line in logs)
    rows = {
        kr: (status, through)
        for kr, status, through in warehouse_rows(
            "SELECT kr_id, status, data_through FROM okr.kr_progress_daily "
            "WHERE as_of_date = '2026-10-09'"
        )
    }
    # HubSpot's key results keep their data through Oct 5: 4 days > 1 allowed.
    assert rows["won-revenue"] == ("stale", FIRST_END)
    assert rows["new-mqls"] == ("stale", FIRST_END)
    # The file source delivered through Oct 9.
    assert rows["signups-total"][1] == date(2026, 10, 9)
    assert rows["signups-daily"] == ("achieved", date(2026, 10, 9))
    # Nothing of the refused token reached the warehouse.
    files = list(Path(os.environ["OKR_WAREHOUSE"]).parent.glob("warehouse.duckdb*"))
    assert Path(os.environ["OKR_WAREHOUSE"]) in files  # the scan reads the warehouse itself
    for file in files:
        assert canary.encode() not in file.read_bytes()


def test_without_a_token_only_hubspot_fails_and_says_how_to_get_one(
    tmp_path: Path, hubspot_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _project(tmp_path / "okr_definitions")
    _environment(monkeypatch, folder, hubspot_server, "unused")
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    defs = build_definitions(load_valid_definitions(folder))
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_range(defs, PERIOD_START, FIRST_END, instance)
    assert outcome.failed_steps == ["raw__hubspot"]
    (error,) = outcome.errors
    assert "HUBSPOT_ACCESS_TOKEN is not set" in error and "crm.objects.deals.read" in error
    status = dict(
        warehouse_rows(
            "SELECT kr_id, status FROM okr.kr_progress_daily WHERE as_of_date = ?", FIRST_END
        )
    )
    assert status["signups-daily"] == "achieved"
    assert status["won-revenue"] == "no_data"


# -- when an incremental read is not enough ---------------------------------------------------
@pytest.fixture
def small_crm(
    tmp_path: Path, hubspot_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, HubSpotSandbox]:
    folder = _project(tmp_path / "okr_definitions")
    sandbox = HubSpotSandbox(deals=1_500, contacts=1_000, now=FIRST_NOW)
    hubspot_server.handler = sandbox.handle
    _environment(monkeypatch, folder, hubspot_server, sandbox.token)
    return folder, sandbox


def test_a_read_older_than_the_recycle_bin_is_a_full_read_that_drops_vanished_deals(
    small_crm: tuple[Path, HubSpotSandbox],
) -> None:
    folder, sandbox = small_crm
    defs = build_definitions(load_valid_definitions(folder))
    with dg.DagsterInstance.ephemeral() as instance:
        assert run_range(defs, FIRST_DAY, FIRST_END, instance).succeeded
        # A won deal HubSpot no longer knows (purged from the recycle bin while no run read
        # it), and a last read longer ago than the bin keeps anything.
        con = duckdb.connect(os.environ["OKR_WAREHOUSE"])
        con.execute(
            "INSERT INTO raw.hubspot_objects SELECT * REPLACE ('1' AS object_id) "
            "FROM raw.hubspot_objects WHERE object_type = 'deals' AND NOT archived "
            "AND properties['dealstage'] = 'closedwon' AND properties['closedate'] >= '2026-10-01' "
            "ORDER BY object_id LIMIT 1"
        )
        con.execute(
            "UPDATE raw.hubspot_sync_state SET last_fetched_at = last_fetched_at - INTERVAL 91 DAY"
        )
        con.close()
        sandbox.set_now(SECOND_NOW)
        outcome = run_range(defs, SECOND_START, SECOND_END, instance)
    assert outcome.succeeded, outcome.errors
    ((archived, versions),) = warehouse_rows(
        "SELECT archived, (SELECT count(*) FROM raw.hubspot_object_history AS h "
        "WHERE h.object_id = '1') FROM raw.hubspot_objects WHERE object_id = '1'"
    )
    assert archived is True and versions == 1  # its vanishing is part of the history
    state = dict(warehouse_rows("SELECT object_type, objects_read FROM raw.hubspot_sync_state"))
    assert state == {t: len(listed_objects(sandbox, t)) for t in ("deals", "contacts")}
    staged = {
        (m, d): v
        for m, d, v in warehouse_rows(
            "SELECT metric_id, date, value FROM staging.metric_daily WHERE source = 'hubspot'"
        )
    }
    assert staged == pytest.approx(expected_daily(sandbox, FIRST_DAY, SECOND_END))


def test_a_metric_needing_a_property_not_read_before_triggers_a_full_read(
    small_crm: tuple[Path, HubSpotSandbox],
) -> None:
    folder, sandbox = small_crm
    with dg.DagsterInstance.ephemeral() as instance:
        defs = build_definitions(load_valid_definitions(folder))
        assert run_range(defs, FIRST_DAY, FIRST_END, instance).succeeded
        ((first_full,),) = warehouse_rows(
            "SELECT last_full_read_at FROM raw.hubspot_sync_state WHERE object_type = 'contacts'"
        )
        # Contacts reaching SQL: a property the stored contacts were read without.
        with (folder / "metrics.yaml").open("a") as handle:
            handle.write(
                "  - id: new_sqls\n    source: hubspot\n    query: {object: contacts, "
                "date_property: hs_v2_date_entered_salesqualifiedlead}\n"
            )
        sandbox.set_now(SECOND_NOW)
        defs = build_definitions(load_valid_definitions(folder))
        outcome = run_range(defs, SECOND_START, SECOND_END, instance)
    assert outcome.succeeded, outcome.errors
    rows = {
        t: (n, full)
        for t, n, full in warehouse_rows(
            "SELECT object_type, objects_read, last_full_read_at FROM raw.hubspot_sync_state"
        )
    }
    assert rows["contacts"][0] == len(listed_objects(sandbox, "contacts"))
    assert rows["contacts"][1] > first_full
    assert rows["deals"][0] < len(listed_objects(sandbox, "deals")) / 5  # deals: changes only
    ((missing,),) = warehouse_rows(
        "SELECT count(*) FROM raw.hubspot_objects WHERE object_type = 'contacts' AND NOT "
        "archived AND NOT list_contains(map_keys(properties), "
        "'hs_v2_date_entered_salesqualifiedlead')"
    )
    assert missing == 0


# -- okr validate against HubSpot's metadata ---------------------------------------------------
def test_validate_checks_hubspot_properties_and_suggests_the_closest(
    tmp_path: Path, hubspot_server: SandboxServer
) -> None:
    folder = _project(tmp_path / "okr_definitions")
    sandbox = HubSpotSandbox(deals=0, contacts=0, now=FIRST_NOW)
    hubspot_server.handler = sandbox.handle
    metrics = folder / "metrics.yaml"
    metrics.write_text(
        metrics.read_text().replace("date_property: closedate", "date_property: close_date")
    )
    env = {
        **os.environ,
        "COLUMNS": "200",
        "HUBSPOT_ACCESS_TOKEN": sandbox.token,
        "HUBSPOT_HOST": hubspot_server.base_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "validate", str(folder)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(ln for ln in result.stderr.splitlines() if "close_date" in ln)
    assert "metrics.yaml:6:" in line and "query.date_property" in line  # the line of the key
    assert "'closedate'" in line  # the closest name the account has
