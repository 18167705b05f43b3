"""Constants of the notify destination (limits with where they come from) and the secrets it
reads from the environment. Nothing secret is ever written in YAML, logged or stored."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# Slack Block Kit (api.slack.com/reference/block-kit/blocks): up to 50 blocks in a message;
# a section's text up to 3000 characters; a header's plain_text up to 150; a context block up
# to 10 elements. A message over a limit is refused with 400 invalid_blocks.
SLACK_MAX_BLOCKS = 50
SLACK_SECTION_TEXT_MAX = 3000
SLACK_HEADER_TEXT_MAX = 150
SLACK_CONTEXT_ELEMENTS_MAX = 10
# Slack truncates a message's top-level `text` (the notification fallback) at 40,000 characters.
SLACK_TEXT_MAX = 40_000

# Microsoft Teams: a message (card included) may be at most ~28 KB; Workflows' "When a Teams
# webhook request is received" posts Adaptive Cards only, wrapped as a message attachment.
TEAMS_MAX_PAYLOAD_BYTES = 28 * 1024
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams renders Adaptive Cards up to 1.5 on desktop and 1.4 everywhere (mobile included).
ADAPTIVE_CARD_VERSION = "1.4"

# One webhook call or SMTP session; the shared retry policy (connectors/retry.py) decides how
# often a transient failure is tried again. OKR_REQUEST_TIMEOUT_S shortens it in tests.
REQUEST_TIMEOUT_S = 15.0
SMTP_PORT = 587  # submission with STARTTLS (RFC 6409)

# Once a channel has spent its retry budget in a run, its remaining messages are recorded as
# failed without trying: a dead webhook must not hold the run for minutes per message.
SKIPPED_AFTER_FAILURE = "not tried: the channel failed earlier in this run"


class NotifyConfigError(ValueError):
    """A channel's setting is missing from the environment; says which variable, never a value."""


def webhook_url(env_name: str) -> str:
    url = os.environ.get(env_name, "").strip()
    if not url:
        raise NotifyConfigError(
            f"{env_name} is not set; export the channel's webhook URL as {env_name}"
        )
    if not url.startswith(("https://", "http://")):
        raise NotifyConfigError(f"{env_name} does not hold an http(s) URL")
    return url


@dataclass(frozen=True)
class SmtpSettings:
    """<PREFIX>_HOST, _PORT (587), _USER, _PASSWORD, _FROM, and _CA_FILE for a relay whose
    certificate is signed by a private CA. STARTTLS is always required."""

    host: str
    port: int
    user: str | None
    sender: str
    ca_file: str | None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, prefix: str) -> SmtpSettings:
        def get(name: str) -> str | None:
            return os.environ.get(f"{prefix}_{name}", "").strip() or None

        host, sender = get("HOST"), get("FROM")
        missing = [f"{prefix}_{n}" for n, v in (("HOST", host), ("FROM", sender)) if not v]
        if missing:
            raise NotifyConfigError(
                f"{' and '.join(missing)} not set; export the SMTP relay's host and the "
                "sender address"
            )
        port_text = get("PORT") or str(SMTP_PORT)
        if not port_text.isdigit():
            raise NotifyConfigError(f"{prefix}_PORT must be a port number such as 587")
        user, password = get("USER"), get("PASSWORD")
        if bool(user) != bool(password):
            raise NotifyConfigError(f"set both {prefix}_USER and {prefix}_PASSWORD, or neither")
        return cls(str(host), int(port_text), user, str(sender), get("CA_FILE"), password)
