"""The wire formats against the sandboxes' checks of Slack's and Teams' documented shapes and
limits: the sandboxes refuse what Slack and Teams refuse, and our builders stay inside."""

from __future__ import annotations

import httpx

from destinations.notify.messages import Content, Section, slack_payload, teams_payload
from destinations.notify.settings import SLACK_MAX_BLOCKS, TEAMS_MAX_PAYLOAD_BYTES

HUGE = Content(
    title="OKR check-in 2026-W48 " + "x" * 200,
    facts=(("As of", "2026-11-29"),),
    sections=tuple(
        Section(f"Objective {i}", tuple(f"kr-{i}-{j}: " + "words " * 40 for j in range(30)))
        for i in range(60)
    ),
    footer=tuple(f"footer {i}" for i in range(12)),
)


def test_the_slack_sandbox_refuses_what_slack_refuses(slack) -> None:
    url = slack.new_webhook()
    header = {"type": "header", "text": {"type": "plain_text", "text": "h"}}
    cases = {
        b"not json": b"invalid_payload",
        b"{}": b"no_text",
        b'{"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]}': (
            b"invalid_blocks"
        ),
    }
    for body, answer in cases.items():
        response = httpx.post(url, content=body)
        assert (response.status_code, response.content) == (400, answer)
    too_many = {"text": "t", "blocks": [header] * (SLACK_MAX_BLOCKS + 1)}
    assert httpx.post(url, json=too_many).content == b"invalid_blocks"
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert httpx.post(url, json={"text": "t", "blocks": [long_section]}).status_code == 400
    long_header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    assert httpx.post(url, json={"text": "t", "blocks": [long_header]}).status_code == 400
    assert httpx.post(url + "x", json={"text": "t"}).content == b"no_service"
    ok = httpx.post(url, json={"text": "t", "blocks": [header] * SLACK_MAX_BLOCKS})
    assert (ok.status_code, ok.text) == (200, "ok")


def test_a_huge_digest_stays_inside_slacks_limits(slack) -> None:
    url = slack.new_webhook()
    payload = slack_payload(HUGE)

    assert len(payload["blocks"]) == SLACK_MAX_BLOCKS
    assert payload["blocks"][0]["text"]["text"].endswith("…")
    assert len(payload["blocks"][0]["text"]["text"]) == 150
    assert len(payload["blocks"][-1]["elements"]) == 10  # context: at most 10 elements
    assert payload["blocks"][-2]["text"]["text"].endswith("more parts in the report._")
    response = httpx.post(url, json=payload)
    assert (response.status_code, response.text) == (200, "ok")


def test_the_teams_sandbox_refuses_what_workflows_refuse(teams) -> None:
    url = teams.new_webhook()
    message_card = {"@type": "MessageCard", "text": "the Office 365 connector format"}
    response = httpx.post(url, json=message_card)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequestContent"
    card = teams_payload(Content(title="t"))
    card["attachments"][0]["content"]["version"] = "2.0"
    assert "not 1.0–1.5" in httpx.post(url, json=card).json()["error"]["message"]
    wrong_sig = url.rsplit("sig=", 1)[0] + "sig=guess"
    assert httpx.post(wrong_sig, json=teams_payload(Content(title="t"))).status_code == 401
    accepted = httpx.post(url, json=teams_payload(Content(title="t")))
    assert (accepted.status_code, accepted.content) == (202, b"")


def test_a_huge_digest_stays_inside_teams_message_size(teams) -> None:
    url = teams.new_webhook()
    payload = teams_payload(HUGE)

    size = len(httpx.Request("POST", url, json=payload).content)
    assert size <= TEAMS_MAX_PAYLOAD_BYTES
    body = payload["attachments"][0]["content"]["body"]
    assert body[0]["text"] == HUGE.title
    assert body[-1]["text"] == "footer 11"  # the footer (where to look) survives the cut
    assert any(element.get("text") == "More in the report." for element in body)
    assert httpx.post(url, json=payload).status_code == 202
    (received,) = teams.messages(url)
    assert received == payload
