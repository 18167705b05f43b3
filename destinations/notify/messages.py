"""What an alert and the digest say, and how each channel's wire format carries it.

A message is first built as channel-neutral `Content` (a title, facts, sections of lines, a
footer); `slack_payload`, `teams_payload` and `email_message` lay it out in Slack Block Kit,
a Teams Adaptive Card and a multipart e-mail, each within its channel's documented limits.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from destinations.notify import settings as s
from reports.formatting import STATUS_LABEL, STATUS_SYMBOL, format_share, format_value
from warehouse.status import status_rank


def status_text(status: str | None) -> str:
    """`at risk`; a status the labels do not know yet is shown as written, without `_`."""
    return STATUS_LABEL.get(status or "", (status or "none").replace("_", " "))


@dataclass(frozen=True)
class Section:
    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Content:
    title: str
    facts: tuple[tuple[str, str], ...] = ()
    sections: tuple[Section, ...] = ()
    footer: tuple[str, ...] = ()
    # (file name, a function rendering the HTML) attached to e-mails only: chat channels link
    # the file instead, and a plan (or --dry-run) never pays for rendering the charts
    attachment: tuple[str, Callable[[], str]] | None = field(default=None, compare=False)

    def plain_text(self) -> str:
        out = [self.title, ""]
        out += [f"{label}: {value}" for label, value in self.facts]
        for section in self.sections:
            out += ["", section.heading, *(f"- {line}" for line in section.lines)]
        if self.footer:
            out += ["", *self.footer]
        return "\n".join(out) + "\n"

    def digest_hash(self) -> str:
        """SHA-256 of what is said (the ledger's message_hash)."""
        return hashlib.sha256(self.plain_text().encode()).hexdigest()


# -- what is said ----------------------------------------------------------------------------


def alert_content(row: dict[str, Any], report: str, asset: str) -> Content:
    """`row`: a status change (outbox.status_changes): today's kr_progress_daily row with
    `old_status`, `title` and `objective_title`."""
    old, new = row["old_status"], row["status"]
    unit = row["unit"]
    facts = [
        ("Key result", f"{row['title']} ({row['kr_id']})"),
        ("Objective", f"{row['objective_title']} ({row['objective_id']}, team {row['team']})"),
        ("Status", f"{status_text(old)} → {status_text(new)} on {row['as_of_date']}"),
        (
            "Value → target",
            f"{format_value(row['value'], unit)} → {format_value(row['target'], unit)}",
        ),
        (
            "Progress",
            f"{format_share(row['progress'])} of the {format_share(row['expected_progress'])} "
            "expected by today",
        ),
    ]
    if row["status_reason"]:
        facts.append(("Reason", row["status_reason"]))
    if row["flags"]:
        facts.append(("Flags", ", ".join(row["flags"])))
    return Content(
        title=f"{STATUS_SYMBOL.get(new, '')} {row['kr_id']}: {status_text(old)} → "
        f"{status_text(new)}".strip(),
        facts=tuple(facts),
        footer=(f"Report: {report}", f"Dagster: {asset}"),
    )


def digest_content(
    report: Any, report_file: str, attachment_html: Callable[[], str] | None
) -> Content:
    """The check-in report's summary (`report`: reports.weekly.WeeklyReport): off track and at
    risk first, what changed this week, the confidence notes."""
    counts = ", ".join(f"{n} {status_text(st)}" for st, n in report.status_counts)
    attention = tuple(
        f"{status_text(kr.status)}: {kr.kr_id} — {format_value(kr['value'], kr['unit'])} → "
        f"{format_value(kr['target'], kr['unit'])}, {format_share(kr['progress'])} of "
        f"{format_share(kr['expected_progress'])} expected"
        for kr in report.attention
    )
    changes = tuple(
        f"{kr.kr_id}: {status_text(kr['prev_status'])} → {status_text(kr.status)}"
        for kr in report.status_changes
    )
    notes = tuple(
        f"{c.kr_id}: "
        + (f"confidence {c.confidence}/10" if c.confidence is not None else "")
        + (" — " if c.confidence is not None and c.comment else "")
        + (c.comment or "")
        for c in sorted(report.checkins, key=lambda c: c.kr_id)
    )
    sections = [
        Section("Off track and at risk", attention or ("Nothing is off track or at risk.",)),
        Section("What changed this week", changes or ("No status changed.",)),
    ]
    if notes:
        sections.append(Section("Confidence notes", notes))
    label = report.week_label
    return Content(
        title=f"OKR check-in {label}"
        + (f" — {report.organisation}" if report.organisation else ""),
        facts=(
            ("As of", str(report.as_of)),
            ("Key results", f"{len(report.key_results)}: {counts}"),
        ),
        sections=tuple(sections),
        footer=(f"Report: {report_file}",),
        attachment=(f"okr-checkin-{label}.html", attachment_html) if attachment_html else None,
    )


def sort_key(row: dict[str, Any]) -> tuple[int, str]:
    return status_rank(row["status"]), row["kr_id"]


# -- Slack Block Kit --------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    # mrkdwn treats &, < and > as control characters (api.slack.com: "Escaping text").
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(content: Content) -> dict[str, Any]:
    """An incoming-webhook body: `text` (the notification) and Block Kit `blocks`."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(content.title, s.SLACK_HEADER_TEXT_MAX)},
        }
    ]
    if content.facts:
        facts = "\n".join(f"*{label}:* {_slack_escape(v)}" for label, v in content.facts)
        blocks.append(_slack_section(facts))
    for section in content.sections:
        chunk = f"*{_slack_escape(section.heading)}*"
        for line in section.lines:
            entry = f"• {_slack_escape(line)}"
            if len(chunk) + 1 + len(entry) > s.SLACK_SECTION_TEXT_MAX:
                blocks.append(_slack_section(chunk))
                chunk = ""
            chunk = f"{chunk}\n{entry}" if chunk else entry
        blocks.append(_slack_section(chunk))
    footer = [
        {"type": "mrkdwn", "text": _cut(_slack_escape(line), s.SLACK_SECTION_TEXT_MAX)}
        for line in content.footer[: s.SLACK_CONTEXT_ELEMENTS_MAX]
    ]
    room = s.SLACK_MAX_BLOCKS - (1 if footer else 0)
    if len(blocks) > room:
        dropped = len(blocks) - (room - 1)
        blocks = blocks[: room - 1]
        blocks.append(_slack_section(f"_{dropped} more parts in the report._"))
    if footer:
        blocks.append({"type": "context", "elements": footer})
    return {"text": _cut(content.title, s.SLACK_TEXT_MAX), "blocks": blocks}


def _slack_section(text: str) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _cut(text, s.SLACK_SECTION_TEXT_MAX)},
    }


# -- Microsoft Teams Adaptive Card -------------------------------------------------------------


def teams_payload(content: Content) -> dict[str, Any]:
    """A Workflows webhook body: a message with one Adaptive Card attachment, cut to Teams'
    message size by dropping section lines from the end (the title, facts and footer stay)."""
    head: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": content.title, "size": "Large", "weight": "Bolder"}
    ]
    if content.facts:
        head.append(
            {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in content.facts]}
        )
    middle: list[dict[str, Any]] = []
    for section in content.sections:
        middle.append({"type": "TextBlock", "text": section.heading, "weight": "Bolder"})
        middle += [{"type": "TextBlock", "text": f"- {line}"} for line in section.lines]
    tail = [
        {"type": "TextBlock", "text": line, "isSubtle": True, "size": "Small"}
        for line in content.footer
    ]

    def card(kept: int) -> dict[str, Any]:
        cut = [{"type": "TextBlock", "text": "More in the report."}] if kept < len(middle) else []
        body = [*head, *middle[:kept], *cut, *tail]
        return _teams_message([{**element, "wrap": True} for element in body])

    def fits(kept: int) -> bool:
        return len(json.dumps(card(kept)).encode()) <= s.TEAMS_MAX_PAYLOAD_BYTES

    if fits(len(middle)):
        return card(len(middle))
    low, high = 0, len(middle)  # fits(low) holds, fits(high) does not
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return card(low)


def _teams_message(body: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": s.ADAPTIVE_CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": s.ADAPTIVE_CARD_VERSION,
                    "body": body,
                },
            }
        ],
    }


# -- e-mail -----------------------------------------------------------------------------------


def email_message(content: Content, sender: str, recipients: list[str]) -> EmailMessage:
    """multipart/alternative (plain text and HTML), inside multipart/mixed with the HTML
    report attached when the content carries one."""
    message = EmailMessage()
    message["Subject"] = content.title
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(content.plain_text())
    message.add_alternative(_email_html(content), subtype="html")
    if content.attachment is not None:
        name, render_attachment = content.attachment
        message.add_attachment(
            render_attachment().encode(), maintype="text", subtype="html", filename=name
        )
    return message


def _email_html(content: Content) -> str:
    e = html.escape
    parts = [f"<h2>{e(content.title)}</h2>"]
    if content.facts:
        rows = "".join(
            f"<tr><th align='left'>{e(t)}</th><td>{e(v)}</td></tr>" for t, v in content.facts
        )
        parts.append(f"<table>{rows}</table>")
    for section in content.sections:
        items = "".join(f"<li>{e(line)}</li>" for line in section.lines)
        parts.append(f"<h3>{e(section.heading)}</h3><ul>{items}</ul>")
    parts += [f"<p style='color:#666'>{e(line)}</p>" for line in content.footer]
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


def render(kind: str, content: Content) -> dict[str, Any] | None:
    """The JSON a chat channel is sent (None for e-mail, built at send time)."""
    if kind == "slack":
        return slack_payload(content)
    if kind == "teams":
        return teams_payload(content)
    return None
