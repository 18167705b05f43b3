"""The generic webhook target: the documented payload, its HMAC signature, and failures."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from push_testkit import WEBHOOK_SECRET, connector, load, set_progress

from destinations.push.ledger import push_tool
from sandbox.base import Fault
from warehouse.db import connection

DAY = date(2026, 9, 14)


def _push(defs_dir, warehouse):
    return push_tool(connector(warehouse), load(defs_dir), "webhook", DAY, DAY)


def test_the_payload_is_the_documented_one_and_signed(
    tools, push_definitions, warehouse_file
) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    outcome = _push(push_definitions, warehouse_file)
    assert not outcome.failed, outcome.failure_message()
    (caught,) = tools.webhook.caught  # only sessions-up maps to the webhook
    body = caught.body
    assert set(body) == {
        "event",
        "version",
        "idempotency_key",
        "key_result",
        "day",
        "value",
        "comment",
    }
    assert body["event"] == "okr_sync.checkin" and body["version"] == 1
    assert body["key_result"] == {"id": "sessions-up", "tool_id": "sessions-kr"}
    assert (body["day"], body["value"]) == ("2026-09-14", 1234.0)
    assert body["comment"] == "okr-sync, data through 2026-09-14, flags: none"
    expected = hmac.new(WEBHOOK_SECRET.encode(), caught.raw, hashlib.sha256).hexdigest()
    assert caught.headers["x-okr-sync-signature"] == f"sha256={expected}"
    # The answer id is the receiver's (Zapier's request id), recorded in push.sent.
    with connection(warehouse_file) as con:
        (answer,) = con.execute("SELECT answer_id FROM push.sent").fetchone()
    assert len(answer) == 36 and answer == outcome.sent[0][1]


def test_a_wrong_secret_is_refused_cleanly(tools, push_definitions, warehouse_file) -> None:
    tools.webhook.secret = "the receiver expects another secret"
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0})
    outcome = _push(push_definitions, warehouse_file)
    assert outcome.sent == [] and outcome.error is not None
    assert "HTTP 401: bad signature" in outcome.error
    assert "TEST_WEBHOOK_URL, TEST_WEBHOOK_SECRET" in outcome.error
    url = tools.webhook.url(tools.webhook_server)
    assert url not in outcome.failure_message() and WEBHOOK_SECRET not in outcome.error


def test_a_429_is_retried_but_a_500_is_not_resent(tools, push_definitions, warehouse_file) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0})
    tools.webhook_server.inject(Fault("status", status=429, times=1))
    assert len(_push(push_definitions, warehouse_file).sent) == 1
    assert len(tools.webhook.caught) == 1

    set_progress(warehouse_file, DAY, {"sessions-up": 1300.0})
    tools.webhook_server.reset_counts()
    tools.webhook_server.inject(Fault("status", status=500, times=3, body=b"Internal error"))
    outcome = _push(push_definitions, warehouse_file)
    # The POST may have been taken: one attempt, and a message that says to check.
    assert tools.webhook_server.total_requests == 1
    assert outcome.error is not None and "not retried" in outcome.error
