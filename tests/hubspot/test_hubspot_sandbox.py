"""The sandbox itself: deterministic over time, a CRM that changes as `now` advances, the
demo's calibration, and HubSpot's error answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from connectors.hubspot import fetch_hubspot_objects, fetch_hubspot_pipelines
from sandbox.base import Request
from sandbox.hubspot.server import (
    HubSpotSandbox,
    demo_expectations,
    rate_limit_fault,
)

ROOT = Path(__file__).resolve().parents[2]


def _t(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def test_the_same_settings_give_the_same_crm_whatever_the_order_of_clock_moves():
    travelled = HubSpotSandbox(deals=400, contacts=400, now=_t(12, 20))
    travelled.objects("deals")
    travelled.set_now(_t(10, 1))
    fresh = HubSpotSandbox(deals=400, contacts=400, now=_t(10, 1))

    assert travelled.objects("deals", archived=None) == fresh.objects("deals", archived=None)
    assert travelled.objects("contacts", archived=None) == fresh.objects("contacts", archived=None)


def test_deals_move_on_get_edited_and_archived_as_now_advances():
    sandbox = HubSpotSandbox(deals=3_000, contacts=0, now=_t(9, 1))
    before = {d["id"]: d for d in sandbox.objects("deals", archived=None)}
    sandbox.set_now(_t(11, 26))
    after = {d["id"]: d for d in sandbox.objects("deals", archived=None)}

    both = [i for i in before if i in after]
    changed_stage = [
        i
        for i in both
        if before[i]["properties"]["dealstage"] != after[i]["properties"]["dealstage"]
    ]
    won = {"closedwon", "81234571"}
    edited_won_amount = [
        i
        for i in both
        if before[i]["properties"]["dealstage"] in won
        and before[i]["properties"]["amount"] != after[i]["properties"]["amount"]
    ]
    newly_archived = [i for i in both if not before[i]["archived"] and after[i]["archived"]]
    assert len(after) > len(before)  # new deals were created
    assert changed_stage and edited_won_amount and newly_archived


def test_demo_data_puts_q4_won_revenue_near_target_and_mqls_in_range():
    sandbox = HubSpotSandbox(now=_t(11, 26))
    today = demo_expectations(sandbox)
    sandbox.set_now(datetime(2026, 12, 31, 23, tzinfo=UTC))
    quarter_end = demo_expectations(sandbox)

    # €600k target: 70-90 % reached by the end of the quarter, and on that course today.
    assert 0.70 * 600_000 <= quarter_end["won_2026_q4"] <= 0.90 * 600_000
    elapsed = 57 / 92  # 2026-11-26 is day 57 of 92
    assert 0.70 * 600_000 <= today["won_2026_q4"] / elapsed <= 0.95 * 600_000
    assert 40 <= today["mql_per_week_2026_q4"] <= 60


def _request(
    sandbox: HubSpotSandbox, path: str, body: dict | None = None, token: str | None = None
) -> tuple[int, dict]:
    headers = {"authorization": f"Bearer {token or sandbox.token}"}
    response = sandbox.handle(
        Request(
            "POST" if body is not None else "GET",
            path,
            {},
            headers,
            json.dumps(body or {}).encode(),
        )
    )
    return response.status, json.loads(response.body)


def test_hubspot_error_shapes():
    sandbox = HubSpotSandbox(deals=50, contacts=0, now=_t(10, 1))

    status, body = _request(sandbox, "/crm/v3/objects/deals/search", {}, token="wrong")
    assert (status, body["category"]) == (401, "INVALID_AUTHENTICATION")
    assert "wrong" not in json.dumps(body)

    status, body = _request(
        sandbox,
        "/crm/v3/objects/deals/search",
        {
            "filterGroups": [
                {"filters": [{"propertyName": "closdate", "operator": "GT", "value": "0"}]}
            ]
        },
    )
    assert (status, body["category"]) == (400, "VALIDATION_ERROR")

    fault = rate_limit_fault("TEN_SECONDLY_ROLLING", retry_after=1.5)
    body = json.loads(fault.body)
    assert (fault.status, body["policyName"], body["errorType"]) == (
        429,
        "TEN_SECONDLY_ROLLING",
        "RATE_LIMIT",
    )
    assert fault.headers["Retry-After"] == "1.5"
    assert fault.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in rate_limit_fault("SECONDLY", path_contains="/search").headers


def test_the_raw_migration_takes_the_connector_tables_as_they_are(start_sandbox, settings_for):
    sandbox, server = start_sandbox(deals=200, contacts=0, now=_t(11, 26))
    settings = settings_for(server, sandbox)
    objects = fetch_hubspot_objects(settings, "deals", None, ["amount"])
    stages = fetch_hubspot_pipelines(settings)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute((ROOT / "warehouse/migrations/0005_hubspot_raw.sql").read_text())

    for table, rows in (
        ("raw.hubspot_objects", objects),
        ("raw.hubspot_object_history", objects),
        ("raw.hubspot_pipelines", stages),
    ):
        loaded = rows.append_column("run_id", pa.array(["run-1"] * rows.num_rows))  # noqa: F841
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM loaded")
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows.num_rows
    archived = con.execute("SELECT count(*) FROM raw.hubspot_objects WHERE archived").fetchone()[0]
    # HubSpot's recycle bin (and so the connector) keeps archived objects for 90 days.
    in_bin = [
        d
        for d in sandbox.objects("deals", archived=True)
        if datetime.fromisoformat(d["archivedAt"]) >= _t(11, 26) - timedelta(days=90)
    ]
    assert archived == len(in_bin) > 0


def test_the_search_limit_answers_secondly_429_beyond_n_per_second():
    sandbox = HubSpotSandbox(deals=10, contacts=0, now=_t(10, 1))
    clock = [50.0]
    sandbox.clock = lambda: clock[0]
    sandbox.search_limit_per_second = 2

    statuses = [_request(sandbox, "/crm/v3/objects/deals/search", {})[0] for _ in range(3)]
    status, body = _request(sandbox, "/crm/v3/objects/deals/search", {})
    clock[0] += 1.0
    later = _request(sandbox, "/crm/v3/objects/deals/search", {})[0]

    assert statuses == [200, 200, 429]
    assert (status, body["policyName"]) == (429, "SECONDLY")
    assert later == 200
