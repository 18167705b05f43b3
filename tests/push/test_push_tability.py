"""Tability end to end: the real client against the sandbox (remote check-ins, no date)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from push_testkit import connector, load, one_tool_definitions, set_progress, write_definitions

from destinations.push.ledger import push_tool
from sandbox.base import Fault
from sandbox.tability.server import WORKSPACE

DAY = date(2026, 9, 14)
SESSIONS = "561a1404-ae77-40a3-86be-a255ed0b77f4"
CONVERSION = "561a1404-ae77-40a3-86be-a255ed0b77f5"
TOKEN = "canary-tability-personal-token-2Wm6"
REMOTE = {SESSIONS: "canary-remote-sessions-4Tg1", CONVERSION: "canary-remote-conv-0Pa7"}

TABILITY = one_tool_definitions(
    "tability",
    f"{{workspace_id: {WORKSPACE}, base_url: {{url}}, token_env: TEST_TABILITY_TOKEN, "
    "checkin_tokens_env: TEST_TABILITY_CHECKINS}",
    SESSIONS,
    CONVERSION,
)


@pytest.fixture
def tability(tability_server, monkeypatch, tmp_path):
    sandbox, server = tability_server
    sandbox.outcomes.clear()
    for outcome_id, remote in REMOTE.items():
        sandbox.add(outcome_id, remote)
    sandbox.token = TOKEN
    sandbox.received.clear()
    server.clear_faults()
    monkeypatch.setenv("TEST_TABILITY_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_TABILITY_CHECKINS", json.dumps(REMOTE))
    folder = write_definitions(tmp_path / "defs", server.base_url, TABILITY)
    return sandbox, server, load(folder)


def _push(defs, warehouse, first=DAY, last=DAY):
    return push_tool(connector(warehouse), defs, "tability", first, last)


def test_check_ins_arrive_once_as_documented(tability, warehouse_file) -> None:
    sandbox, _, defs = tability
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    outcome = _push(defs, warehouse_file)
    assert not outcome.failed, outcome.failure_message()
    posts = {r.query["remote_checkins_token"][0]: r.body for r in sandbox.posts()}
    assert posts == {
        REMOTE[SESSIONS]: {
            "personal_api_token": TOKEN,
            "score": "1234",
            "body": "okr-sync, data through 2026-09-14, flags: none",
        },
        REMOTE[CONVERSION]: {
            "personal_api_token": TOKEN,
            "score": "3.21",
            "body": "okr-sync, data through 2026-09-14, flags: none",
        },
    }
    reads = [r for r in sandbox.received if r.method == "GET"]
    assert {r.headers["authorization"] for r in reads} == {f"API {TOKEN}"}
    assert sandbox.outcomes[CONVERSION].checkins[0]["score"] == 3.21

    sandbox.received.clear()
    assert _push(defs, warehouse_file).planned == [] and sandbox.received == []
    set_progress(warehouse_file, DAY, {"sessions-up": 1300.0, "conversion-up": 0.0321})
    changed = _push(defs, warehouse_file)
    assert [(c.kr_id, c.value) for c, _ in changed.sent] == [("sessions-up", 1300.0)]
    assert len(sandbox.outcomes[SESSIONS].checkins) == 2


def test_no_backfill_and_no_second_identical_check_in(tability, warehouse_file) -> None:
    sandbox, _, defs = tability
    set_progress(warehouse_file, date(2026, 9, 13), {"sessions-up": 1000.0})
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0})
    # A backfill of the day before the newest writes nothing: Tability takes no date.
    assert _push(defs, warehouse_file, date(2026, 9, 13), date(2026, 9, 13)).planned == []
    # The outcome already shows 1234 (typed by hand, or a run that died before recording).
    sandbox.outcomes[SESSIONS].checkins.append(
        {"id": "typed", "score": 1234.0, "checkin_date": "2026-09-14T00:00:00.000Z",
         "created_at": "2026-09-14T08:00:00.000Z"}
    )  # fmt: skip
    outcome = _push(defs, warehouse_file)
    assert outcome.sent[0][1] == "typed" and sandbox.posts() == []


def test_unknown_outcome_refused_token_and_rate_limit_fail_cleanly(
    tability, warehouse_file
) -> None:
    sandbox, server, defs = tability
    del sandbox.outcomes[CONVERSION]
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    unknown = _push(defs, warehouse_file)
    assert [c.kr_id for c, _ in unknown.refused] == ["conversion-up"]
    assert [c.kr_id for c, _ in unknown.sent] == ["sessions-up"]

    set_progress(warehouse_file, DAY, {"sessions-up": 1300.0})
    sandbox.token = "rotated"
    refused = _push(defs, warehouse_file)
    assert refused.error is not None and "HTTP 401" in refused.error
    assert "TEST_TABILITY_TOKEN, TEST_TABILITY_CHECKINS" in refused.error
    message = refused.failure_message()
    assert TOKEN not in message and REMOTE[SESSIONS] not in message

    sandbox.token = TOKEN
    posted = len(sandbox.posts())
    server.inject(Fault("status", status=429, times=10, path_contains="/v2/workspaces"))
    limited = _push(defs, warehouse_file)
    assert limited.error is not None and "gave up after 6 attempts" in limited.error
    assert len(sandbox.posts()) == posted
