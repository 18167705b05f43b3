"""POST one JSON check-in per key result to a webhook, signed when a secret is set."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from connectors.urls import url_secrets
from destinations.push.http import ToolHttp
from destinations.push.tools import KNOWN_SECRETS, CheckIn, read_env
from destinations.webhook import settings as s

TOOL = "webhook"


def payload(checkin: CheckIn) -> dict[str, Any]:
    """The documented body (README): one key result's value for one day."""
    return {
        "event": s.EVENT,
        "version": s.PAYLOAD_VERSION,
        "idempotency_key": idempotency_key(checkin),
        "key_result": {"id": checkin.kr_id, "tool_id": checkin.target_id},
        "day": checkin.day.isoformat(),
        "value": checkin.value,
        "comment": checkin.comment,
    }


def idempotency_key(checkin: CheckIn) -> str:
    """The same key result, day and value give the same key: receivers drop repeats."""
    text = f"{checkin.kr_id}|{checkin.target_id}|{checkin.day.isoformat()}|{checkin.value!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def signature(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{s.SIGNATURE_PREFIX}{digest}"


class WebhookClient:
    dated = False

    def __init__(self, url: str, secret: str | None, auth_hint: str) -> None:
        self._url = url
        self._secret = secret
        self._http = ToolHttp(
            TOOL,
            "",
            headers={"Content-Type": "application/json"},
            secrets=[url, secret or ""],
            auth_hint=auth_hint,
            idempotent=False,
            default_timeout=s.TIMEOUT_S,
        )

    def send(self, checkin: CheckIn) -> str:
        body = json.dumps(payload(checkin), separators=(",", ":")).encode()
        headers = {s.SIGNATURE_HEADER: signature(body, self._secret)} if self._secret else {}
        # The URL is a secret (whoever has it can post): messages name the request, not it.
        response = self._http.request(
            "POST", self._url, "POST to the webhook", content=body, headers=headers
        )
        try:
            answer: Any = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            for key in ("id", "request_id", "executionId"):
                if answer.get(key):
                    return str(answer[key])
        return idempotency_key(checkin)

    def missing_ids(self, target_ids: list[str]) -> list[str]:
        return []  # a webhook cannot be asked which ids its receiver knows

    def close(self) -> None:
        self._http.close()


def make_client(settings: Any) -> WebhookClient:
    secret = read_env(TOOL, settings.secret_env, "secret_env") if settings.secret_env else None
    hint = settings.url_env + (f", {settings.secret_env}" if settings.secret_env else "")
    url = read_env(TOOL, settings.url_env, "url_env")
    KNOWN_SECRETS.update(url_secrets(url))
    return WebhookClient(url, secret, hint)
