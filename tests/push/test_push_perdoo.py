"""Perdoo end to end: the real client against the GraphQL sandbox (commits, dated)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from push_testkit import connector, load, one_tool_definitions, set_progress, write_definitions

from destinations.push.ledger import push_tool
from destinations.push.tools import make_client
from sandbox.base import Fault
from sandbox.perdoo.server import PATH, PerdooSandbox

DAY = date(2026, 9, 14)
SESSIONS = "0b6f1c2e-5d3a-4e8b-9c7d-1a2b3c4d5e6f"
CONVERSION = "0b6f1c2e-5d3a-4e8b-9c7d-1a2b3c4d5e70"
TOKEN = "canary-perdoo-personal-token-5Jv2"
COMMENT = "okr-sync, data through 2026-09-14, flags: none"

PERDOO = one_tool_definitions(
    "perdoo", "{base_url: {url}, token_env: TEST_PERDOO_TOKEN}", SESSIONS, CONVERSION
)


@pytest.fixture
def perdoo(perdoo_server, monkeypatch, tmp_path):
    sandbox, server = perdoo_server
    sandbox.key_results.clear()
    sandbox.add(SESSIONS, "Sessions")
    sandbox.add(CONVERSION, "Conversion")
    sandbox.token = TOKEN
    sandbox.received.clear()
    server.clear_faults()
    monkeypatch.setenv("TEST_PERDOO_TOKEN", TOKEN)
    folder = write_definitions(tmp_path / "defs", server.base_url + PATH, PERDOO)
    return sandbox, server, load(folder)


def _push(defs, warehouse, first=DAY, last=DAY):
    return push_tool(connector(warehouse), defs, "perdoo", first, last)


def _inputs(sandbox: PerdooSandbox) -> dict[str, dict]:
    return {r.body["variables"]["input"]["keyResult"]: r for r in sandbox.mutations()}


def test_commits_arrive_once_dated_with_value_and_comment(perdoo, warehouse_file) -> None:
    sandbox, _, defs = perdoo
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    outcome = _push(defs, warehouse_file)
    assert not outcome.failed, outcome.failure_message()
    sent = _inputs(sandbox)
    assert sent[CONVERSION].body["variables"]["input"] == {
        "keyResult": CONVERSION,
        "value": 3.21,
        "description": COMMENT,
        "commitDate": "2026-09-14",
    }
    assert sent[SESSIONS].body["variables"]["input"]["value"] == 1234.0
    assert sent[SESSIONS].body["operationName"] == "OkrSyncCommit"
    assert sent[SESSIONS].headers["authorization"] == f"Bearer {TOKEN}"
    assert sent[SESSIONS].path == PATH
    # No read before a write that went through; the answer id is Perdoo's commit id.
    assert len(sandbox.received) == 2
    assert {a for _, a in outcome.sent} == {
        c["id"] for kr in sandbox.key_results.values() for c in kr.commits
    }
    assert sandbox.key_results[CONVERSION].current_value == 3.21

    sandbox.received.clear()
    assert _push(defs, warehouse_file).planned == [] and sandbox.received == []
    set_progress(warehouse_file, DAY, {"sessions-up": 1300.0, "conversion-up": 0.0321})
    changed = _push(defs, warehouse_file)
    assert [(c.kr_id, c.value) for c, _ in changed.sent] == [("sessions-up", 1300.0)]
    assert len(sandbox.mutations()) == 1 and len(sandbox.key_results[SESSIONS].commits) == 2


def test_a_backfill_writes_past_commits_with_their_dates(perdoo, warehouse_file) -> None:
    sandbox, _, defs = perdoo
    set_progress(warehouse_file, date(2026, 9, 12), {"sessions-up": 1000.0})
    set_progress(warehouse_file, date(2026, 9, 13), {"sessions-up": 1100.0})
    set_progress(warehouse_file, DAY, {"sessions-up": 1100.0})
    outcome = _push(defs, warehouse_file, date(2026, 9, 12), DAY)
    assert not outcome.failed, outcome.failure_message()
    # The 14th repeats the 13th's value: not sent again.
    assert [(c["commitDate"], c["value"]) for c in sandbox.key_results[SESSIONS].commits] == [
        ("2026-09-12", 1000.0),
        ("2026-09-13", 1100.0),
    ]


def test_a_lost_answer_is_read_back_never_sent_twice(perdoo, warehouse_file) -> None:
    sandbox, server, defs = perdoo
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0})
    # The commit is written, its answer cut in half: the key result is read back, not re-sent.
    server.inject(Fault("truncate", path_contains=PATH))
    taken = _push(defs, warehouse_file)
    (commit,) = sandbox.key_results[SESSIONS].commits
    assert taken.sent[0][1] == commit["id"], taken.failure_message()
    assert [r.body["operationName"] for r in sandbox.received] == [
        "OkrSyncCommit",
        "OkrSyncCommits",
    ]

    # The connection drops before Perdoo sees the mutation: read back, not written, not retried.
    set_progress(warehouse_file, DAY, {"sessions-up": 1300.0})
    sandbox.received.clear()
    server.inject(Fault("reset", path_contains=PATH))
    lost = _push(defs, warehouse_file)
    assert lost.error is not None and "read back: not written" in lost.error
    assert len(sandbox.key_results[SESSIONS].commits) == 1
    assert [r.body["operationName"] for r in sandbox.received] == ["OkrSyncCommits"]


def _hand_typed(sandbox: PerdooSandbox, key_result: str, *commits: tuple[str, float]) -> None:
    """Commits typed in Perdoo by hand, oldest first; the key result shows the newest's value."""
    for day, value in commits:
        kr = sandbox.key_results[key_result]
        kr.commits.append({"id": f"typed-{day}-{value}", "value": value, "commitDate": day})
        kr.current_value = value


def test_a_lost_backfill_commit_is_written_only_if_perdoo_holds_that_day(
    perdoo, warehouse_file
) -> None:
    sandbox, server, defs = perdoo
    # Perdoo holds 130 commits (two pages of the read-back), the newest on the 14th at 1100:
    # the key result's currentValue is 1100.
    days = [date(2026, 7, 1) + timedelta(days=n) for n in range(129)]
    _hand_typed(sandbox, SESSIONS, *[(d.isoformat(), 500.0 + n) for n, d in enumerate(days)])
    _hand_typed(sandbox, SESSIONS, ("2026-09-14", 1100.0))
    # A backfill of the 12th with the same value, 1100, whose mutation never reaches Perdoo: the
    # key result's currentValue equals the value, but no commit of the 12th holds it.
    set_progress(warehouse_file, date(2026, 9, 12), {"sessions-up": 1100.0})
    server.inject(Fault("reset", path_contains=PATH))
    backfill = date(2026, 9, 12)
    lost = _push(defs, warehouse_file, backfill, backfill)
    assert lost.sent == []
    assert lost.error is not None and "read back: not written" in lost.error
    assert len(sandbox.key_results[SESSIONS].commits) == 130
    # Both pages read (the mutation never reached the handler that records requests).
    reads = [r.body["variables"] for r in sandbox.received]
    assert [r.body["operationName"] for r in sandbox.received] == ["OkrSyncCommits"] * 2
    assert reads[0]["after"] is None and reads[1]["after"] is not None

    # The same backfill written, its answer cut: the read-back finds the 12th's commit on the
    # second page and records its id.
    sandbox.received.clear()
    server.inject(Fault("truncate", path_contains=PATH))
    taken = _push(defs, warehouse_file, backfill, backfill)
    written = sandbox.key_results[SESSIONS].commits[-1]
    assert (written["commitDate"], written["value"]) == ("2026-09-12", 1100.0)
    assert [(c.day, c.value, answer) for c, answer in taken.sent] == [
        (backfill, 1100.0, written["id"])
    ]
    assert [r.body["operationName"] for r in sandbox.received] == [
        "OkrSyncCommit",
        "OkrSyncCommits",
        "OkrSyncCommits",
    ]


def test_unknown_id_refused_token_and_rate_limit_fail_cleanly(perdoo, warehouse_file) -> None:
    sandbox, server, defs = perdoo
    del sandbox.key_results[CONVERSION]
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    unknown = _push(defs, warehouse_file)
    assert [c.kr_id for c, _ in unknown.refused] == ["conversion-up"]
    assert "keyResult: Select a valid choice" in unknown.refused[0][1]
    assert [c.kr_id for c, _ in unknown.sent] == ["sessions-up"]

    set_progress(warehouse_file, DAY, {"sessions-up": 1300.0})
    sandbox.token = "revoked"
    refused = _push(defs, warehouse_file)
    assert refused.error is not None and "Unauthorized" in refused.error
    assert "credentials refused: check TEST_PERDOO_TOKEN" in refused.error
    assert TOKEN not in refused.failure_message()
    assert len(sandbox.key_results[SESSIONS].commits) == 1

    sandbox.token = TOKEN
    server.inject(Fault("status", status=429, times=10, path_contains=PATH))
    limited = _push(defs, warehouse_file)
    assert limited.error is not None and "rate limit" in limited.error
    assert "gave up after 6 attempts" in limited.error
    assert len(sandbox.key_results[SESSIONS].commits) == 1


def test_missing_ids_are_the_ones_perdoo_does_not_know(perdoo) -> None:
    sandbox, _, defs = perdoo
    del sandbox.key_results[CONVERSION]
    client = make_client("perdoo", defs.push.perdoo)
    try:
        assert client.missing_ids([SESSIONS, CONVERSION, "not-a-uuid"]) == [
            CONVERSION,
            "not-a-uuid",
        ]
    finally:
        client.close()
    # A non-UUID is known to be missing without asking Perdoo.
    assert [r.body["variables"]["id"] for r in sandbox.received] == [SESSIONS, CONVERSION]
    assert {r.headers["authorization"] for r in sandbox.received} == {f"Bearer {TOKEN}"}
