"""The push bookkeeping every OKR tool shares: what to send, sending it, and `push.sent`.

- Only the newest computed day speaks, except to tools that take a check-in date: a backfill
  writes past check-ins there, and nothing anywhere else.
- A key result's value is sent only when it differs from the last value pushed to that tool
  for that key result (the newest `push.sent` row on or before the day): a re-run sends nothing.
- One key result the tool does not know fails that key result; a refused token, a rate limit
  that outlasts the retry policy or an outage stops that tool. Either way what was accepted
  before is recorded, and the caller fails only this tool.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from connectors.errors import RetryableSourceError, SourceError
from destinations.push.tools import (
    CheckIn,
    PushClient,
    RejectedValueError,
    UnknownTargetError,
    is_dated,
    know_secrets,
    make_client,
)
from okr_definitions.resolve import Definitions
from warehouse.db import transaction

# Values are sent and compared at this many decimals: 3.2000000000000006 % is 3.2 %, and a
# re-run must not see a "change" in the 16th digit.
DECIMALS = 6

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


def tool_value(value: float, unit: str | None) -> float:
    """The value in the unit OKR tools store: a share (0.032) with unit % as the percentage
    people typed into the tool (3.2); counts, seconds and currency amounts as they are."""
    return round(value * 100 if unit == "%" else value, DECIMALS)


def checkin_comment(data_through: date | None, flags: list[str]) -> str:
    """Where the number came from, in the tool's check-in: 'okr-sync, data through
    2026-12-03, flags: provisional'."""
    through = data_through.isoformat() if data_through else "no data yet"
    return f"okr-sync, data through {through}, flags: {', '.join(sorted(flags)) or 'none'}"


def newest_day(con: duckdb.DuckDBPyConnection) -> date | None:
    (day,) = con.execute("SELECT max(as_of_date) FROM okr.kr_progress_daily").fetchone()
    return day


def days_to_push(
    con: duckdb.DuckDBPyConnection, first: date, last: date, dated: bool
) -> list[date]:
    """Of the days [first, last]: the newest computed day if it is among them, and for a tool
    that takes a check-in date every computed day of the range."""
    newest = newest_day(con)
    if newest is None or newest < first:
        return []
    if not dated:
        return [newest] if newest <= last else []
    rows = con.execute(
        "SELECT DISTINCT as_of_date FROM okr.kr_progress_daily "
        "WHERE as_of_date BETWEEN ? AND ? ORDER BY 1",
        [first, min(last, newest)],
    ).fetchall()
    return [row[0] for row in rows]


def mapped_key_results(definitions: Definitions, tool: str) -> dict[str, str]:
    """kr_id → the tool's id, for the key results that push to `tool`."""
    return {
        kr_id: loc.item.push[tool]
        for kr_id, loc in definitions.key_results.items()
        if tool in loc.item.push
    }


def _last_sent(
    con: duckdb.DuckDBPyConnection, tool: str, until: date
) -> dict[tuple[str, str], dict[date, float]]:
    """(kr_id, target_id) → day → the value last sent for that day."""
    rows = con.execute(
        "SELECT kr_id, target_id, day, value FROM push.sent WHERE tool = ? AND day <= ? "
        "ORDER BY day, sent_at",
        [tool, until],
    ).fetchall()
    sent: dict[tuple[str, str], dict[date, float]] = {}
    for kr_id, target_id, day, value in rows:
        sent.setdefault((kr_id, target_id), {})[day] = value
    return sent


def _value_before(sent_days: dict[date, float], day: date) -> float | None:
    days = sorted(sent_days)
    index = bisect.bisect_right(days, day)
    return sent_days[days[index - 1]] if index else None


def plan_checkins(
    con: duckdb.DuckDBPyConnection, definitions: Definitions, tool: str, days: list[date]
) -> list[CheckIn]:
    """The check-ins to send to `tool` for `days` (oldest first): each mapped key result with
    a value whose value differs from the last one pushed for it."""
    targets = mapped_key_results(definitions, tool)
    if not days or not targets:
        return []
    rows = con.execute(
        "SELECT as_of_date, kr_id, value, unit, data_through, flags "
        "FROM okr.kr_progress_daily "
        "WHERE as_of_date IN (SELECT unnest(?::DATE[])) AND kr_id IN (SELECT unnest(?)) "
        "AND value IS NOT NULL ORDER BY as_of_date, kr_id",
        [days, sorted(targets)],
    ).fetchall()
    sent = _last_sent(con, tool, max(days))
    planned: list[CheckIn] = []
    for day, kr_id, value, unit, data_through, flags in rows:
        target_id = targets[kr_id]
        checkin = CheckIn(
            tool=tool,
            kr_id=kr_id,
            target_id=target_id,
            day=day,
            value=tool_value(value, unit),
            comment=checkin_comment(data_through, list(flags)),
        )
        history = sent.setdefault((kr_id, target_id), {})
        if _value_before(history, day) == checkin.value:
            continue
        history[day] = checkin.value  # the next day compares with this one
        planned.append(checkin)
    return planned


@dataclass
class PushOutcome:
    """What one tool's push did: accepted check-ins with the tool's answer id, check-ins the
    tool refused one by one, and the error that stopped the tool (None when it got through)."""

    tool: str
    planned: list[CheckIn] = field(default_factory=list)
    sent: list[tuple[CheckIn, str]] = field(default_factory=list)
    refused: list[tuple[CheckIn, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or bool(self.refused)

    def failure_message(self) -> str:
        lines = [f"{self.tool}: {len(self.sent)} of {len(self.planned)} check-ins sent"]
        lines += [f"- {c.kr_id} ({c.target_id}, {c.day}): {reason}" for c, reason in self.refused]
        if self.error:
            lines.append(f"- stopped: {self.error}")
        return "\n".join(lines)


def send_checkins(client: PushClient, outcome: PushOutcome) -> None:
    """Send the planned check-ins in order; stops at the first tool-wide failure."""
    for checkin in outcome.planned:
        try:
            answer = client.send(checkin)
        except (UnknownTargetError, RejectedValueError) as exc:
            outcome.refused.append((checkin, str(exc).removeprefix(f"{exc.source}: ")))
            continue
        except (SourceError, RetryableSourceError) as exc:
            outcome.error = str(exc).removeprefix(f"{exc.source}: ")
            return
        outcome.sent.append((checkin, answer))


def record_sent(con: duckdb.DuckDBPyConnection, sent: list[tuple[CheckIn, str]]) -> None:
    """Append what the tool accepted to push.sent, in one transaction."""
    if not sent:
        return
    now = datetime.now(UTC)
    with transaction(con):
        con.executemany(
            "INSERT INTO push.sent VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [c.tool, c.kr_id, c.target_id, c.day, c.value, c.comment, answer, now]
                for c, answer in sent
            ],
        )


def push_tool(
    connect: Connect,
    definitions: Definitions,
    tool: str,
    first: date,
    last: date,
    dry_run: bool = False,
    client_factory: Callable[[str, Any], PushClient] = make_client,
) -> PushOutcome:
    """Plan, send and record one tool's check-ins for the days [first, last].

    The warehouse is open only to plan and to record: sending waits on the network (and on
    rate-limit backoff), and other writers should not wait with it. A process killed between
    sending and recording sends those check-ins again on the next run — harmless where the
    tool upserts per day (okr-tracker), a duplicate check-in elsewhere.
    """
    settings = definitions.push.configured()[tool]
    outcome = PushOutcome(tool)
    with connect() as con:
        days = days_to_push(con, first, last, is_dated(tool))
        outcome.planned = plan_checkins(con, definitions, tool, days)
    if dry_run or not outcome.planned:
        return outcome
    know_secrets(definitions.push)
    try:
        client = client_factory(tool, settings)
    except SourceError as exc:
        outcome.error = str(exc).removeprefix(f"{exc.source}: ")
        return outcome
    try:
        send_checkins(client, outcome)
    finally:
        client.close()
        with connect() as con:
            record_sent(con, outcome.sent)
    return outcome


def sent_rows(con: duckdb.DuckDBPyConnection, tool: str | None = None) -> Iterator[tuple]:
    """push.sent as (tool, kr_id, target_id, day, value, answer_id), oldest first."""
    query = "SELECT tool, kr_id, target_id, day, value, answer_id FROM push.sent"
    params: list[Any] = []
    if tool:
        query += " WHERE tool = ?"
        params.append(tool)
    yield from con.execute(query + " ORDER BY sent_at, tool, kr_id, day", params).fetchall()
