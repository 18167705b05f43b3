"""Quantive end to end: the real client against the sandbox (metric check-ins, dated)."""

from __future__ import annotations

from datetime import date

import pytest
from push_testkit import connector, load, one_tool_definitions, set_progress, write_definitions

from destinations.push.ledger import push_tool
from sandbox.base import Fault

DAY = date(2026, 9, 14)
SESSIONS = "6543f0c2a1b2c3d4e5f60718"
CONVERSION = "6543f0c2a1b2c3d4e5f60719"
TOKEN = "canary-quantive-token-8Hq4"
ACCOUNT = "6543f0c2a1b2c3d4e5f6acc1"

QUANTIVE = one_tool_definitions(
    "quantive",
    "{base_url: {url}, token_env: TEST_QUANTIVE_TOKEN, account_id_env: TEST_QUANTIVE_ACCOUNT}",
    SESSIONS,
    CONVERSION,
)


@pytest.fixture
def quantive(quantive_server, monkeypatch, tmp_path):
    sandbox, server = quantive_server
    sandbox.metrics.clear()
    sandbox.add(SESSIONS, "Sessions")
    sandbox.add(CONVERSION, "Conversion")
    sandbox.token, sandbox.account_id = TOKEN, ACCOUNT
    sandbox.received.clear()
    server.clear_faults()
    monkeypatch.setenv("TEST_QUANTIVE_TOKEN", TOKEN)
    monkeypatch.setenv("TEST_QUANTIVE_ACCOUNT", ACCOUNT)
    folder = write_definitions(tmp_path / "defs", server.base_url, QUANTIVE)
    return sandbox, server, load(folder)


def _push(defs, warehouse, first=DAY, last=DAY):
    return push_tool(connector(warehouse), defs, "quantive", first, last)


def test_check_ins_arrive_once_dated_with_value_and_comment(quantive, warehouse_file) -> None:
    sandbox, _, defs = quantive
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    outcome = _push(defs, warehouse_file)
    assert not outcome.failed, outcome.failure_message()
    posts = {r.path: r for r in sandbox.posts()}
    assert set(posts) == {
        f"/api/v1/metrics/{SESSIONS}/checkin",
        f"/api/v1/metrics/{CONVERSION}/checkin",
    }
    conversion = posts[f"/api/v1/metrics/{CONVERSION}/checkin"]
    assert conversion.body == {
        "actual": 3.21,
        "checkInDate": "2026-09-14T12:00:00Z",
        "comment": "okr-sync, data through 2026-09-14, flags: none",
        "confidence": None,
    }
    assert conversion.headers["authorization"] == f"Bearer {TOKEN}"
    assert conversion.headers["gtmhub-accountid"] == ACCOUNT
    # The answer id is Quantive's check-in id.
    assert {a for _, a in outcome.sent} == {
        c["id"] for m in sandbox.metrics.values() for c in m.checkins
    }

    sandbox.received.clear()
    assert _push(defs, warehouse_file).planned == [] and sandbox.received == []
    set_progress(warehouse_file, DAY, {"sessions-up": 1300.0, "conversion-up": 0.0321})
    changed = _push(defs, warehouse_file)
    assert [(c.kr_id, c.value) for c, _ in changed.sent] == [("sessions-up", 1300.0)]
    assert len(sandbox.metrics[SESSIONS].checkins) == 2


def test_read_before_write_skips_a_check_in_already_there(quantive, warehouse_file) -> None:
    """A run that died after posting and before recording: Quantive already has the day's
    value, so nothing is posted twice."""
    sandbox, _, defs = quantive
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0})
    sandbox.metrics[SESSIONS].checkins.append(
        {"id": "x", "actual": 1234.0, "checkInDate": "2026-09-14T12:00:00Z"}
    )
    outcome = _push(defs, warehouse_file)
    assert outcome.sent[0][1] == "already checked in"
    assert sandbox.posts() == [] and len(sandbox.metrics[SESSIONS].checkins) == 1


def test_unknown_id_refused_token_and_rate_limit_fail_cleanly(quantive, warehouse_file) -> None:
    sandbox, server, defs = quantive
    del sandbox.metrics[CONVERSION]
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    unknown = _push(defs, warehouse_file)
    assert [c.kr_id for c, _ in unknown.refused] == ["conversion-up"]
    assert [c.kr_id for c, _ in unknown.sent] == ["sessions-up"]

    set_progress(warehouse_file, DAY, {"sessions-up": 1300.0})
    sandbox.token = "revoked"
    refused = _push(defs, warehouse_file)
    assert refused.error is not None and "HTTP 401" in refused.error
    assert "TEST_QUANTIVE_TOKEN, TEST_QUANTIVE_ACCOUNT" in refused.error
    assert TOKEN not in refused.failure_message()

    sandbox.token = TOKEN
    posted = len(sandbox.posts())
    server.inject(Fault("status", status=429, times=10, path_contains="/api/v2/metrics"))
    limited = _push(defs, warehouse_file)
    assert limited.error is not None and "rate limit" in limited.error
    assert "gave up after 6 attempts" in limited.error
    assert len(sandbox.posts()) == posted  # the read before writing was limited: no POST


def test_missing_ids_are_the_ones_quantive_does_not_list(quantive) -> None:
    from destinations.push.tools import make_client

    sandbox, _, defs = quantive
    del sandbox.metrics[CONVERSION]
    client = make_client("quantive", defs.push.quantive)
    try:
        assert client.missing_ids([SESSIONS, CONVERSION]) == [CONVERSION]
    finally:
        client.close()
    (listing,) = [r for r in sandbox.received if r.method == "GET"]
    assert listing.headers["authorization"] == f"Bearer {TOKEN}"
