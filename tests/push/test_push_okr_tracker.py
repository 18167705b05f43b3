"""okr-tracker end to end: the real client against the sandbox, push.sent in a real DuckDB
file. Values are hand-computed: a conversion of 0.0321 with unit % is sent as 3.21."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from push_testkit import (
    CONVERSION_ID,
    SESSIONS_ID,
    connector,
    load,
    set_progress,
)

from destinations.push.ledger import push_tool
from sandbox.base import Fault
from warehouse.db import connection

DAY = date(2026, 9, 14)
NEXT = date(2026, 9, 15)


def _push(defs_dir: Path, warehouse: Path, first: date, last: date | None = None, **kw):
    return push_tool(
        connector(warehouse), load(defs_dir), "okr_tracker", first, last or first, **kw
    )


def _sent(warehouse: Path) -> list[tuple]:
    with connection(warehouse) as con:
        return con.execute(
            "SELECT tool, kr_id, target_id, day, value, comment, answer_id FROM push.sent "
            "ORDER BY sent_at, kr_id"
        ).fetchall()


def test_a_days_values_arrive_once_with_value_and_comment(
    tools, push_definitions, warehouse_file
) -> None:
    set_progress(
        warehouse_file,
        DAY,
        {"sessions-up": 1234.0, "conversion-up": 0.0321, "signups-up": 500.0},
        data_through=date(2026, 9, 13),
        flags={"conversion-up": ["provisional", "sampled"]},
    )
    outcome = _push(push_definitions, warehouse_file, DAY)

    assert not outcome.failed, outcome.failure_message()
    puts = {r.path: r for r in tools.okr_tracker.puts()}
    assert set(puts) == {
        f"/keyres/{SESSIONS_ID}/values/2026-09-14",
        f"/keyres/{CONVERSION_ID}/values/2026-09-14",
    }  # signups-up maps to no tool
    conversion = puts[f"/keyres/{CONVERSION_ID}/values/2026-09-14"]
    assert conversion.body == {
        "value": 3.21,
        "comment": "okr-sync, data through 2026-09-13, flags: provisional, sampled",
    }
    assert conversion.headers["x-api-key"] == tools.okr_tracker.api_key
    assert conversion.headers["okr-client-id"] == tools.okr_tracker.client_id
    assert puts[f"/keyres/{SESSIONS_ID}/values/2026-09-14"].body["value"] == 1234.0
    assert tools.okr_tracker.key_results[SESSIONS_ID].values[DAY][0] == 1234.0
    assert _sent(warehouse_file) == [
        (
            "okr_tracker",
            "conversion-up",
            CONVERSION_ID,
            DAY,
            3.21,
            "okr-sync, data through 2026-09-13, flags: provisional, sampled",
            f"Updated key result {CONVERSION_ID} with value 3.21",
        ),
        (
            "okr_tracker",
            "sessions-up",
            SESSIONS_ID,
            DAY,
            1234.0,
            "okr-sync, data through 2026-09-13, flags: none",
            f"Updated key result {SESSIONS_ID} with value 1234.0",
        ),
    ]


def test_a_rerun_sends_nothing_and_a_changed_value_one_update(
    tools, push_definitions, warehouse_file
) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    assert len(_push(push_definitions, warehouse_file, DAY).sent) == 2
    tools.okr_tracker.clear_received()

    again = _push(push_definitions, warehouse_file, DAY)
    assert again.planned == [] and tools.okr_tracker.received == []

    # The next day: sessions grew, conversion did not move → one check-in.
    set_progress(warehouse_file, NEXT, {"sessions-up": 1300.0, "conversion-up": 0.0321})
    changed = _push(push_definitions, warehouse_file, NEXT)
    assert [(c.kr_id, c.day, c.value) for c, _ in changed.sent] == [("sessions-up", NEXT, 1300.0)]
    assert [r.path for r in tools.okr_tracker.puts()] == [
        f"/keyres/{SESSIONS_ID}/values/2026-09-15"
    ]
    assert len(_sent(warehouse_file)) == 3


def test_a_restated_day_is_sent_again_and_replaces_the_tools_value(
    tools, push_definitions, warehouse_file
) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0})
    _push(push_definitions, warehouse_file, DAY)
    set_progress(warehouse_file, DAY, {"sessions-up": 1240.0})
    outcome = _push(push_definitions, warehouse_file, DAY)
    assert [c.value for c, _ in outcome.sent] == [1240.0]
    # okr-tracker keeps one value per day: the PUT replaced it.
    assert tools.okr_tracker.key_results[SESSIONS_ID].values == {
        DAY: (1240.0, "okr-sync, data through 2026-09-14, flags: none")
    }


def test_a_backfill_writes_past_days_here_but_the_webhook_gets_only_the_newest(
    tools, push_definitions, warehouse_file
) -> None:
    days = [date(2026, 9, d) for d in (10, 11, 12)]
    for day, value in zip(days, (100.0, 100.0, 130.0), strict=True):
        set_progress(warehouse_file, day, {"sessions-up": value})
    defs = load(push_definitions)
    tracker = push_tool(connector(warehouse_file), defs, "okr_tracker", days[0], days[-1])
    # The 11th equals the 10th: "only when the value changed since the last push".
    assert [(c.day, c.value) for c, _ in tracker.sent] == [(days[0], 100.0), (days[2], 130.0)]
    hook = push_tool(connector(warehouse_file), defs, "webhook", days[0], days[-1])
    assert [(c.day, c.value) for c, _ in hook.sent] == [(days[2], 130.0)]
    assert [c.body["day"] for c in tools.webhook.caught] == ["2026-09-12"]
    # A backfill of days before the newest sends the webhook nothing at all.
    assert push_tool(connector(warehouse_file), defs, "webhook", days[0], days[1]).planned == []


def test_dry_run_sends_and_records_nothing(tools, push_definitions, warehouse_file) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    outcome = _push(push_definitions, warehouse_file, DAY, dry_run=True)
    assert [(c.kr_id, c.value) for c in outcome.planned] == [
        ("conversion-up", 3.21),
        ("sessions-up", 1234.0),
    ]
    assert tools.okr_tracker.received == [] and _sent(warehouse_file) == []


def test_an_unknown_id_fails_only_that_key_result(tools, push_definitions, warehouse_file) -> None:
    del tools.okr_tracker.key_results[CONVERSION_ID]
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    outcome = _push(push_definitions, warehouse_file, DAY)
    assert outcome.failed and outcome.error is None
    assert [c.kr_id for c, _ in outcome.sent] == ["sessions-up"]
    assert [c.kr_id for c, _ in outcome.refused] == ["conversion-up"]
    assert f"Could not find key result with ID: {CONVERSION_ID}" in outcome.failure_message()
    assert [row[1] for row in _sent(warehouse_file)] == ["sessions-up"]
    # Once the id exists, the next run sends only the key result that was refused.
    tools.okr_tracker.add(CONVERSION_ID)
    tools.okr_tracker.clear_received()
    retry = _push(push_definitions, warehouse_file, DAY)
    assert [c.kr_id for c, _ in retry.sent] == ["conversion-up"]


def test_a_refused_token_stops_the_tool_with_a_clean_message(
    tools, push_definitions, warehouse_file
) -> None:
    tools.okr_tracker.client_secret = "rotated-by-an-admin"
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    outcome = _push(push_definitions, warehouse_file, DAY)
    assert outcome.sent == [] and outcome.error is not None
    assert "HTTP 401" in outcome.error and "Invalid client secret" in outcome.error
    assert "TEST_OKR_TRACKER_SECRET" in outcome.error  # names the variable to check
    assert tools.okr_tracker.client_secret not in outcome.failure_message()
    assert len(tools.okr_tracker.received) == 1  # no retry of a refusal, no second key result
    assert _sent(warehouse_file) == []


def test_an_unset_credential_names_the_variable(
    tools, push_definitions, warehouse_file, monkeypatch
) -> None:
    monkeypatch.delenv("TEST_OKR_TRACKER_KEY")
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0})
    outcome = _push(push_definitions, warehouse_file, DAY)
    assert outcome.error == (
        "set the environment variable TEST_OKR_TRACKER_KEY (push.okr_tracker.token_env)"
    )
    assert tools.okr_tracker.received == []


def test_a_rate_limit_is_retried_then_fails_the_tool_keeping_what_was_sent(
    tools, push_definitions, warehouse_file
) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    # Two 429s are waited out (the retry policy) and the push goes through.
    tools.okr_tracker_server.inject(
        Fault("status", status=429, body=b"Too many requests, please try again later.", times=2)
    )
    assert len(_push(push_definitions, warehouse_file, DAY).sent) == 2
    assert tools.okr_tracker_server.pending_faults == 0

    # The express-rate-limit window of the sandbox: one request, then 429 until it passes.
    set_progress(warehouse_file, NEXT, {"sessions-up": 1300.0, "conversion-up": 0.04})
    tools.okr_tracker.clear_received()
    tools.okr_tracker.rate_limit = 1
    outcome = _push(push_definitions, warehouse_file, NEXT)
    assert [c.kr_id for c, _ in outcome.sent] == ["conversion-up"]
    assert outcome.error is not None
    assert "HTTP 429: Too many requests" in outcome.error and "gave up after 6" in outcome.error
    assert len(tools.okr_tracker.received) == 1 + 6
    assert [(r[1], r[3]) for r in _sent(warehouse_file)][-1] == ("conversion-up", NEXT)


def test_negative_values_are_refused_before_sending(
    tools, push_definitions, warehouse_file
) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": -5.0})
    outcome = _push(push_definitions, warehouse_file, DAY)
    assert outcome.refused and "only values ≥ 0" in outcome.refused[0][1]
    assert tools.okr_tracker.received == []


def test_comments_are_stored_html_escaped_by_the_sandbox_as_by_okr_tracker(tools) -> None:
    import httpx

    tracker, server = tools.okr_tracker, tools.okr_tracker_server
    headers = {
        "x-api-key": tracker.api_key,
        "okr-client-id": tracker.client_id,
        "okr-client-secret": tracker.client_secret,
    }
    url = f"{server.base_url}/keyres/{SESSIONS_ID}/values/2026-09-14"
    answer = httpx.put(url, json={"value": 3, "comment": "a < b & 'c'"}, headers=headers)
    assert answer.status_code == 200
    assert tracker.key_results[SESSIONS_ID].values[DAY][1] == "a &lt; b &amp; &#x27;c&#x27;"
    refused = httpx.put(url, json={"value": -1}, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["errors"]["value"]["msg"] == "Invalid value"
    future = httpx.put(url.replace("2026-09-14", "2999-01-01"), json={"value": 1}, headers=headers)
    assert future.json() == {"message": "Future dates not allowed"}
    gateway = httpx.put(url, json={"value": 1}, headers={})
    assert gateway.status_code == 401 and gateway.json()["message"].startswith("UNAUTHENTICATED")
