"""Sending one message to one channel, under the one retry policy (connectors/retry.py).

Transient failures (429 with its Retry-After, 5xx, timeouts, refused connections, SMTP 4xx)
raise RetryableSourceError and are tried again; anything else (a 4xx from a webhook, a refused
SMTP login) raises SourceError at once. Error messages are built from the channel's name and
the server's status, never from the URL or the password.
"""

from __future__ import annotations

import re
import smtplib
import ssl

import httpx

from connectors.errors import RetryableSourceError, SourceError
from connectors.retry import request_timeout, retry_after_seconds, retrying
from connectors.tls import tls_context
from destinations.notify import settings as s
from destinations.notify.messages import Content, email_message, render


class SendFailed(Exception):
    """A message was not sent: why (secret-free), and after how many attempts."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


def send_with_retry(name: str, kind: str, channel: object, content: Content) -> int:
    """Send `content` to channel `name`; returns the number of attempts it took, or raises
    SendFailed once the policy gives up (at once for a refusal or a missing setting)."""
    attempts = 0
    try:
        for attempt in retrying():
            with attempt:
                attempts = attempt.retry_state.attempt_number
                _send_once(name, kind, channel, content)
    except (SourceError, RetryableSourceError, s.NotifyConfigError) as exc:
        raise SendFailed(str(exc), attempts) from None
    return attempts


def _send_once(name: str, kind: str, channel: object, content: Content) -> None:
    if kind == "email":
        smtp = s.SmtpSettings.from_env(channel.smtp_env_prefix)  # type: ignore[attr-defined]
        send_email(name, smtp, list(channel.email), content)  # type: ignore[attr-defined]
        return
    env = channel.slack_webhook_env if kind == "slack" else channel.teams_webhook_env  # type: ignore[attr-defined]
    post_webhook(name, s.webhook_url(env), render(kind, content) or {})


def _redacted(text: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


_CODE = re.compile(r"[A-Za-z_]{1,64}")


def _error_code(response: httpx.Response) -> str:
    """Slack's error word (`invalid_blocks`) or Teams' error code (`InvalidRequestContent`).
    Nothing else of the body is repeated: a proxy may quote the request's URL, the secret."""
    text = response.text.strip()
    if _CODE.fullmatch(text):
        return text
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""
    return code if isinstance(code, str) and _CODE.fullmatch(code) else ""


def post_webhook(name: str, url: str, payload: dict) -> None:
    """POST a JSON body to a Slack or Teams webhook; Slack answers 200 `ok`, Workflows 202."""
    try:
        response = httpx.post(
            url, json=payload, timeout=request_timeout(s.REQUEST_TIMEOUT_S), verify=tls_context()
        )
    except httpx.TimeoutException:
        raise RetryableSourceError(name, "the webhook did not answer in time") from None
    except httpx.TransportError as exc:
        raise RetryableSourceError(
            name, f"could not reach the webhook ({type(exc).__name__})"
        ) from None
    if response.status_code in (200, 201, 202, 204):
        return
    said = _error_code(response)
    message = f"the webhook answered HTTP {response.status_code}" + (f": {said}" if said else "")
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableSourceError(
            name, message, retry_after_seconds(response.headers.get("Retry-After"))
        )
    raise SourceError(name, message)


def send_email(name: str, smtp: s.SmtpSettings, recipients: list[str], content: Content) -> None:
    """One SMTP session: EHLO, STARTTLS (required: verified against the system's CAs or
    <PREFIX>_CA_FILE), LOGIN when a user is set, the message to every recipient."""
    message = email_message(content, smtp.sender, recipients)
    context = ssl.create_default_context(cafile=smtp.ca_file)
    try:
        with smtplib.SMTP(
            smtp.host, smtp.port, timeout=request_timeout(s.REQUEST_TIMEOUT_S)
        ) as client:
            client.ehlo()
            if not client.has_extn("starttls"):
                raise SourceError(name, f"{smtp.host}:{smtp.port} does not offer STARTTLS")
            client.starttls(context=context)
            client.ehlo()
            if smtp.user and smtp.password:
                client.login(smtp.user, smtp.password)
            client.send_message(message, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise SourceError(
            name,
            f"the SMTP server refused the login ({exc.smtp_code}); check the user and "
            "password in the environment",
        ) from None
    except smtplib.SMTPResponseException as exc:
        said = _redacted(exc.smtp_error.decode(errors="replace")[:200], smtp.password)
        message_text = f"the SMTP server answered {exc.smtp_code}: {said}"
        if 400 <= exc.smtp_code < 500:
            raise RetryableSourceError(name, message_text) from None
        raise SourceError(name, message_text) from None
    except ssl.SSLError as exc:
        raise SourceError(
            name, f"STARTTLS failed ({exc.reason}); is the relay's certificate trusted?"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise RetryableSourceError(
            name, f"could not talk to the SMTP server ({type(exc).__name__})"
        ) from None
