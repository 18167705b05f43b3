"""What is due, and sending it exactly once: the plan and the `notify.sent` ledger.

Only the newest computed day speaks: alerts are the status changes from the day before to the
newest `as_of_date`, and nothing at all is said when that day is older than the daily run's
window (yesterday minus the organisation's lookback) — a backfill of last quarter into a fresh
warehouse messages no one. The weekly digest is due once per calendar week, from the rule's
day and time (organisation time zone) on, and summarises the week of the newest day.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from destinations.notify import settings as s
from destinations.notify.messages import Content, alert_content, digest_content, sort_key
from destinations.notify.senders import SendFailed, send_with_retry
from okr_definitions.checkins import iso_week
from okr_definitions.destinations.notify import WEEKDAYS, AlertRule, DigestRule, channel_kind
from okr_definitions.resolve import Definitions
from reports.weekly import build_weekly_report, report_path, reports_dir
from warehouse.db import connection, transaction

# The status change of every key result from the day before to `day` (a key result's first
# day in its period has no day before and so no change).
_STATUS_CHANGES = """
SELECT today.*, before.status AS old_status, k.title, o.title AS objective_title
FROM okr.kr_progress_daily AS today
JOIN okr.kr_progress_daily AS before
  ON before.kr_id = today.kr_id AND before.as_of_date = today.as_of_date - 1
JOIN okr.key_results AS k ON k.kr_id = today.kr_id
JOIN okr.objectives AS o ON o.objective_id = today.objective_id
WHERE today.as_of_date = $day AND before.status <> today.status
"""


@dataclass(frozen=True)
class Outgoing:
    """One message for one channel; (channel, kind, kr_id, change, day) is its ledger key."""

    channel: str
    channel_kind: str  # slack | teams | email
    kind: str  # alert | digest
    kr_id: str  # '' for a digest
    change: str  # 'at_risk -> off_track', or the digest's ISO week
    day: date  # the alert's as-of day; the Monday of the week the digest is due in
    content: Content

    @property
    def key(self) -> tuple[str, str, str, str, date]:
        return (self.channel, self.kind, self.kr_id, self.change, self.day)


@dataclass(frozen=True)
class Delivery:
    outgoing: Outgoing
    status: str  # sent | failed
    attempts: int
    error: str | None = None


def _rows(con: Any, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def speaking_day(newest: date | None, now: datetime, definitions: Definitions) -> date | None:
    """The newest computed day when it may speak (see the module docstring), else None."""
    if newest is None:
        return None
    org = definitions.organisation
    today = now.astimezone(ZoneInfo(org.timezone)).date()
    oldest_live_day = today - timedelta(days=1 + org.lookback_days)
    return newest if newest >= oldest_live_day else None


def digest_due_week(rule: DigestRule, now: datetime, timezone: str) -> date | None:
    """The Monday of this week when the rule's day and time have come, else None."""
    local = now.astimezone(ZoneInfo(timezone))
    monday = local.date() - timedelta(days=local.weekday())
    hour, minute = (int(part) for part in rule.time.split(":"))
    due = datetime.combine(
        monday + timedelta(days=WEEKDAYS.index(rule.day)),
        time(hour, minute),
        tzinfo=ZoneInfo(timezone),
    )
    return monday if local >= due else None


def plan_messages(
    warehouse: Path | str, definitions: Definitions, now: datetime | None = None
) -> list[Outgoing]:
    """Every message due now that `notify.sent` does not hold as sent, ordered by channel."""
    if definitions.notify is None:
        return []
    notify = definitions.notify.item
    now = now or datetime.now(UTC)
    with connection(warehouse) as con:  # read-write: applies 0020_notify before reading it
        newest = con.execute("SELECT max(as_of_date) FROM okr.kr_progress_daily").fetchone()[0]
        day = speaking_day(newest, now, definitions)
        changes = _rows(con, _STATUS_CHANGES, {"day": day}) if day else []
        sent = {
            tuple(row)
            for row in con.execute(
                "SELECT channel, kind, kr_id, change, day FROM notify.sent WHERE status = 'sent'"
            ).fetchall()
        }
    # A digest goes once per week it is due in, whichever report week it summarised.
    digests_sent = {(channel, day) for channel, kind, _, _, day in sent if kind == "digest"}
    if day is None:
        return []
    week_of_day = day - timedelta(days=day.weekday())
    report_file = str(report_path(reports_dir(warehouse), week_of_day))
    planned: dict[tuple, Outgoing] = {}

    def add(name: str, kind: str, kr_id: str, change: str, on: date, content: Content) -> None:
        channel = notify.channels[name]
        item = Outgoing(name, channel_kind(channel), kind, kr_id, change, on, content)
        if item.key not in sent:
            planned.setdefault(item.key, item)

    for rule in notify.rules:
        if not isinstance(rule, AlertRule):
            continue
        for row in sorted(changes, key=sort_key):
            if row["status"] not in rule.on or (rule.teams and row["team"] not in rule.teams):
                continue
            asset = f"okr/kr_progress_daily, okr/objective/{row['objective_id']}"
            content = alert_content(row, report_file, asset)
            change = f"{row['old_status']} -> {row['status']}"
            for name in rule.to:
                add(name, "alert", row["kr_id"], change, day, content)

    for rule in notify.rules:
        if not isinstance(rule, DigestRule):
            continue
        due_week = digest_due_week(rule, now, definitions.organisation.timezone)
        pending = [
            name
            for name in rule.to
            if due_week is not None and (name, due_week) not in digests_sent
        ]
        if not pending:
            continue
        from reports.html import render_html  # charts: only when a digest is due

        report = build_weekly_report(warehouse, week_of_day, definitions.base_dir)
        mails = any(channel_kind(notify.channels[name]) == "email" for name in pending)
        html = functools.cache(functools.partial(render_html, report)) if mails else None
        content = digest_content(report, report_file, html)
        for name in pending:
            add(name, "digest", "", iso_week(week_of_day), due_week, content)  # type: ignore[arg-type]
    return sorted(planned.values(), key=lambda o: (o.channel, o.kind, o.kr_id))


def deliver(
    warehouse: Path | str, definitions: Definitions, outgoing: list[Outgoing]
) -> list[Delivery]:
    """Send each message and record the outcome in `notify.sent` right after it, so a crash
    between two sends never sends the first one again. Never raises for a failed send."""
    if definitions.notify is None:
        return []
    channels = definitions.notify.item.channels
    failed_channels: set[str] = set()
    deliveries = []
    for item in outgoing:
        if item.channel in failed_channels:
            delivery = Delivery(item, "failed", 0, s.SKIPPED_AFTER_FAILURE)
        else:
            try:
                attempts = send_with_retry(
                    item.channel, item.channel_kind, channels[item.channel], item.content
                )
                delivery = Delivery(item, "sent", attempts)
            except SendFailed as exc:
                failed_channels.add(item.channel)
                delivery = Delivery(item, "failed", exc.attempts, str(exc))
        record(warehouse, delivery)
        deliveries.append(delivery)
    return deliveries


def record(warehouse: Path | str, delivery: Delivery) -> None:
    """The outcome replaces an earlier failed try of the same message (for a digest: of the
    same week's digest, which may have summarised an older report week)."""
    item = delivery.outgoing
    with connection(warehouse) as con, transaction(con):
        con.execute(
            "DELETE FROM notify.sent WHERE channel = ? AND kind = ? AND kr_id = ? AND day = ? "
            "AND (change = ? OR kind = 'digest')",
            [item.channel, item.kind, item.kr_id, item.day, item.change],
        )
        con.execute(
            "INSERT INTO notify.sent VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                item.channel,
                item.kind,
                item.kr_id,
                item.change,
                item.day,
                item.content.digest_hash(),
                delivery.status,
                delivery.attempts,
                delivery.error,
                datetime.now(UTC),
            ],
        )
