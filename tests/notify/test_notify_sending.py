"""Alerts and the digest through the real wire formats: the Slack and Teams sandboxes
validate every body against the documented shapes and limits, aiosmtpd receives the mails
over STARTTLS, and notify.sent (a real DuckDB file) keeps each message to once."""

from __future__ import annotations

import datetime as dt

from notify_kit import DAY, NOW, SMTP_USER, STATUSES, Project, sent_rows, write_warehouse

from connectors.retry import MAX_ATTEMPTS
from destinations.notify import deliver, plan_messages
from sandbox.base import Fault
from sandbox.slack.server import rate_limited

BEFORE_DIGEST = dt.datetime(2026, 11, 30, 7, 59, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _send(project: Project, now: dt.datetime = BEFORE_DIGEST) -> list:
    definitions = project.load()
    return deliver(
        project.warehouse, definitions, plan_messages(project.warehouse, definitions, now)
    )


def _texts(payload: dict) -> str:
    return "\n".join(
        block["text"]["text"] if "text" in block else str(block.get("elements"))
        for block in payload["blocks"]
    )


def test_a_status_change_sends_one_alert_to_the_right_channels_only(
    project: Project, channels: dict[str, str], slack, teams, smtp_relay
) -> None:
    deliveries = _send(project)

    # growth: signups-total on_track → at_risk, to Slack only
    (growth,) = slack.messages()
    assert growth["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "▲ signups-total: on track → at risk"},
    }
    assert "*Value → target:* 40 → 1,500" in _texts(growth)
    assert "40 % of the 65 % expected by today" in _texts(growth)
    assert "okr-checkin-2026-W48.html" in _texts(growth)
    # sales: deals-total at_risk → off_track, to Teams and mail; deals-week went to at_risk,
    # which the sales rule does not alert on
    (card,) = teams.messages()
    body = card["attachments"][0]["content"]["body"]
    assert body[0]["text"] == "✖ deals-total: at risk → off track"
    facts = {f["title"]: f["value"] for f in body[1]["facts"]}
    assert facts["Flags"] == "sampled"
    assert facts["Objective"] == "Sales close more deals (sell, team sales)"
    (mail,) = smtp_relay.handler.mails
    assert mail.message["Subject"] == "✖ deals-total: at risk → off track"
    assert sorted(mail.recipients) == ["ceo@example.com", "growth-lead@example.com"]
    assert mail.over_tls and mail.login == SMTP_USER
    assert mail.message.get_body(("plain",)).get_content().startswith("✖ deals-total")
    assert "<h2>✖ deals-total: at risk → off track</h2>" in (
        mail.message.get_body(("html",)).get_content()
    )
    assert not any("deals-week" in str(m) for m in slack.messages() + teams.messages())

    assert [(d.outgoing.channel, d.outgoing.kr_id, d.status) for d in deliveries] == [
        ("growth-slack", "signups-total", "sent"),
        ("leads-mail", "deals-total", "sent"),
        ("sales-teams", "deals-total", "sent"),
    ]
    rows = sent_rows(project.warehouse)
    assert [(r["channel"], r["kr_id"], r["change"], r["day"], r["status"]) for r in rows] == [
        ("growth-slack", "signups-total", "on_track -> at_risk", DAY, "sent"),
        ("leads-mail", "deals-total", "at_risk -> off_track", DAY, "sent"),
        ("sales-teams", "deals-total", "at_risk -> off_track", DAY, "sent"),
    ]
    assert all(len(r["message_hash"]) == 64 and r["attempts"] == 1 for r in rows)


def test_a_rerun_sends_nothing(project: Project, channels, slack, teams, smtp_relay) -> None:
    assert len(_send(project)) == 3
    requests = slack.total_requests + teams.total_requests

    assert plan_messages(project.warehouse, project.load(), BEFORE_DIGEST) == []
    assert _send(project) == []
    # recomputing the same days (the daily lookback) changes nothing either
    write_warehouse(project.warehouse, project.definitions, STATUSES)
    assert _send(project) == []
    assert slack.total_requests + teams.total_requests == requests
    assert len(smtp_relay.handler.mails) == 1
    assert len(sent_rows(project.warehouse)) == 3


def test_a_failing_channel_is_retried_then_recorded_and_the_others_still_get_theirs(
    project: Project, channels, slack, teams, smtp_relay
) -> None:
    slack.inject(Fault("status", 500, b"internal_error", times=MAX_ATTEMPTS))
    teams.inject(rate_limited(retry_after=1))  # Teams' 429 once, then through
    smtp_relay.handler.refusals.append("451 4.3.0 try again later")

    deliveries = {d.outgoing.channel: d for d in _send(project)}

    assert slack.request_counts.total() == MAX_ATTEMPTS and slack.pending_faults == 0
    assert slack.messages() == []
    failed = deliveries["growth-slack"]
    assert failed.status == "failed" and failed.attempts == MAX_ATTEMPTS
    assert "HTTP 500: internal_error" in (failed.error or "")
    assert channels["SLACK_WEBHOOK_GROWTH"].rsplit("/", 1)[1] not in (failed.error or "")
    assert (deliveries["sales-teams"].status, deliveries["sales-teams"].attempts) == ("sent", 2)
    assert len(teams.messages()) == 1
    assert (deliveries["leads-mail"].status, deliveries["leads-mail"].attempts) == ("sent", 2)
    assert len(smtp_relay.handler.mails) == 1
    by_channel = {r["channel"]: r for r in sent_rows(project.warehouse)}
    assert by_channel["growth-slack"]["status"] == "failed"
    assert by_channel["growth-slack"]["attempts"] == MAX_ATTEMPTS

    # The next run sends what failed, and only that.
    (retried,) = _send(project)
    assert (retried.outgoing.channel, retried.status) == ("growth-slack", "sent")
    assert len(slack.messages()) == 1 and len(teams.messages()) == 1
    assert {r["status"] for r in sent_rows(project.warehouse)} == {"sent"}


def test_a_webhook_that_hangs_times_out_and_is_retried(project: Project, channels, slack) -> None:
    slack.inject(Fault("slow", delay=1.5))  # the client gives up after OKR_REQUEST_TIMEOUT_S

    deliveries = {d.outgoing.channel: d for d in _send(project)}

    assert (deliveries["growth-slack"].status, deliveries["growth-slack"].attempts) == ("sent", 2)


def test_after_a_channel_fails_its_other_messages_wait_for_the_next_run(
    project: Project, channels, slack
) -> None:
    slack.inject(Fault("status", 503, times=MAX_ATTEMPTS))

    deliveries = [d for d in _send(project, NOW) if d.outgoing.channel == "growth-slack"]

    # the alert spent the retry budget; the digest to the same webhook is not tried
    assert [(d.outgoing.kind, d.status, d.attempts) for d in deliveries] == [
        ("alert", "failed", MAX_ATTEMPTS),
        ("digest", "failed", 0),
    ]
    assert slack.request_counts.total() == MAX_ATTEMPTS


def test_a_source_turning_a_key_result_stale_alerts_with_the_reason(
    project: Project, channels, slack
) -> None:
    statuses = {**STATUSES, "signups-week": ("on_track", "stale")}
    write_warehouse(project.warehouse, project.definitions, statuses)

    _send(project)

    stale = [m for m in slack.messages() if "signups-week" in m["text"]]
    assert [m["text"] for m in stale] == ["◇ signups-week: on track → stale"]
    assert "*Reason:* the newest data is 4 days old" in _texts(stale[0])


def test_the_digest_goes_out_for_the_week(project: Project, channels, slack, smtp_relay) -> None:
    (project.definitions_dir / "checkins").mkdir()
    (project.definitions_dir / "checkins" / "2026-W48.yaml").write_text(
        "week: 2026-W48\nkey_results:\n"
        "  deals-total: {confidence: 3, comment: Two deals slipped.}\n"
    )
    # a week earlier everything was on track: the digest's "what changed" compares with it
    on_track = {kr: ("on_track", "on_track") for kr in STATUSES}
    write_warehouse(project.warehouse, project.definitions, on_track, DAY - dt.timedelta(days=6))
    early = plan_messages(project.warehouse, project.load(), BEFORE_DIGEST)
    assert [o.kind for o in early] == ["alert"] * 3  # Monday 07:59: not due yet

    _send(project, NOW)

    digests = [m for m in slack.messages() if m["text"].startswith("OKR check-in")]
    (digest,) = digests
    assert digest["text"] == "OKR check-in 2026-W48 — Tiny Shop"
    text = _texts(digest)
    # off track and at risk first, then what changed this week
    assert text.index("*Off track and at risk*") < text.index("*What changed this week*")
    assert "• off track: deals-total" in text and "• at risk: signups-total" in text
    assert "*What changed this week*\n• deals-total: on track → off track\n" in text
    assert "*Confidence notes*\n• deals-total: confidence 3/10 — Two deals slipped." in text
    mails = {m.message["Subject"]: m for m in smtp_relay.handler.mails}
    mail = mails["OKR check-in 2026-W48 — Tiny Shop"]
    assert mail.over_tls
    (attachment,) = list(mail.message.iter_attachments())
    assert attachment.get_filename() == "okr-checkin-2026-W48.html"
    assert "deals-total" in attachment.get_content()
    assert mail.message.get_body(("plain",)).get_content().count("Off track and at risk") == 1
    rows = [r for r in sent_rows(project.warehouse) if r["kind"] == "digest"]
    assert [(r["channel"], r["change"], str(r["day"])) for r in rows] == [
        ("growth-slack", "2026-W48", "2026-11-30"),
        ("leads-mail", "2026-W48", "2026-11-30"),
    ]

    # once a week: on Tuesday (Monday computed, a day of the new report week) nothing more
    tuesday = NOW + dt.timedelta(days=1)
    write_warehouse(project.warehouse, project.definitions, STATUSES, DAY + dt.timedelta(days=1))
    tuesdays = plan_messages(project.warehouse, project.load(), tuesday)
    assert [o.kind for o in tuesdays] == ["alert"] * 3  # Monday's own status changes
    write_warehouse(
        project.warehouse,
        project.definitions,
        STATUSES,
        DAY + dt.timedelta(days=7),
    )
    next_monday = NOW + dt.timedelta(days=7)
    due = plan_messages(project.warehouse, project.load(), next_monday)
    assert sorted((o.channel, o.change) for o in due if o.kind == "digest") == [
        ("growth-slack", "2026-W49"),
        ("leads-mail", "2026-W49"),
    ]


def test_a_backfill_sends_nothing(project: Project, channels, slack, teams, smtp_relay) -> None:
    """The warehouse's newest day is 2026-11-29; run three months later (a backfill of last
    quarter into a fresh warehouse looks exactly like this), nothing may speak."""
    later = NOW + dt.timedelta(days=90)

    assert plan_messages(project.warehouse, project.load(), later) == []
    assert _send(project, later) == []
    assert slack.total_requests == teams.total_requests == 0
    assert smtp_relay.handler.mails == []
    # the day still speaks within the daily run's window (yesterday minus the lookback of 3)
    assert len(plan_messages(project.warehouse, project.load(), NOW + dt.timedelta(days=3)))
    assert plan_messages(project.warehouse, project.load(), NOW + dt.timedelta(days=4)) == []


def test_a_refusal_is_not_retried(project: Project, channels, slack) -> None:
    """A 4xx other than 429 (Slack's 404 `no_service`: the webhook was removed) will not get
    better by asking again: one attempt, recorded with Slack's error word."""
    slack.inject(Fault("status", 404, b"no_service", times=MAX_ATTEMPTS))

    (failed,) = [d for d in _send(project) if d.outgoing.channel == "growth-slack"]

    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.error == "growth-slack: the webhook answered HTTP 404: no_service"
    assert slack.pending_faults == MAX_ATTEMPTS - 1
