"""A Microsoft Teams Workflows webhook on 127.0.0.1 ("When a Teams webhook request is
received" → "Post card in a chat or channel").

`POST /workflows/<id>/triggers/manual/paths/invoke?…&sig=<secret>` with a message whose
attachments are Adaptive Cards — the only format Workflows post (the old MessageCard of Office
365 connectors is refused). Answers 202 Accepted with no body like the Workflows trigger;
400 with a JSON error for a body that is not a message with Adaptive Card attachments, an
unknown card version (Teams renders 1.0–1.5), a body element of an unknown type, a TextBlock
without text or a FactSet without title/value facts; 413 over Teams' ~28 KB message size;
401 for an unknown path or signature. Accepted cards are kept in `messages`.
"""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any

from sandbox.base import Response, SandboxServer

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSIONS = {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"}
MAX_MESSAGE_BYTES = 28 * 1024
ELEMENT_TYPES = {"TextBlock", "FactSet", "ColumnSet", "Container", "Image", "RichTextBlock"}


def _error(status: int, code: str, message: str) -> Response:
    return Response.json({"error": {"code": code, "message": message}}, status)


def card_problems(body: Any) -> list[str]:
    """Why a webhook body is not a message carrying valid Adaptive Cards (empty when valid)."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return ['the body must be {"type": "message", "attachments": [...]}']
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return ["attachments must be a non-empty array"]
    problems = []
    for i, attachment in enumerate(attachments):
        where = f"attachments[{i}]"
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_CONTENT_TYPE:
            problems.append(f"{where}.contentType must be {CARD_CONTENT_TYPE}")
            continue
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            problems.append(f"{where}.content must be an AdaptiveCard")
            continue
        if card.get("version") not in CARD_VERSIONS:
            problems.append(f"{where}: card version {card.get('version')!r} is not 1.0–1.5")
        elements = card.get("body")
        if not isinstance(elements, list):
            problems.append(f"{where}.content.body must be an array")
            continue
        for j, element in enumerate(elements):
            kind = element.get("type") if isinstance(element, dict) else None
            at = f"{where}.content.body[{j}]"
            if kind not in ELEMENT_TYPES:
                problems.append(f"{at}: unknown element type {kind!r}")
            elif kind == "TextBlock" and not (
                isinstance(element.get("text"), str) and element["text"]
            ):
                problems.append(f"{at}: a TextBlock needs text")
            elif kind == "FactSet":
                facts = element.get("facts")
                if not isinstance(facts, list) or not all(
                    isinstance(f, dict)
                    and isinstance(f.get("title"), str)
                    and isinstance(f.get("value"), str)
                    for f in facts
                ):
                    problems.append(f"{at}: a FactSet needs facts with title and value strings")
    return problems


class TeamsSandbox(SandboxServer):
    """Workflows webhooks; `new_webhook()` returns a URL whose `sig` is a fresh secret."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(self._handle, name="teams", port=port)
        self._signatures: dict[str, str] = {}
        self._received: list[tuple[str, dict[str, Any]]] = []
        self._messages_lock = threading.Lock()

    def new_webhook(self, secret: str | None = None) -> str:
        flow = secrets.token_hex(16)
        path = f"/workflows/{flow}/triggers/manual/paths/invoke"
        signature = secret or secrets.token_urlsafe(24)
        self._signatures[path] = signature
        query = f"api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={signature}"
        return f"{self.base_url}{path}?{query}"

    def messages(self, url: str | None = None) -> list[dict[str, Any]]:
        path = url.removeprefix(self.base_url).split("?")[0] if url else None
        with self._messages_lock:
            return [body for p, body in self._received if path is None or p == path]

    def clear(self) -> None:
        with self._messages_lock:
            self._received.clear()

    def _handle(self, request: Any) -> Response:
        signature = self._signatures.get(request.path)
        if request.method != "POST" or signature is None:
            return _error(404, "TriggerNotFound", "The workflow trigger was not found.")
        if request.query.get("sig") != [signature]:
            return _error(401, "DirectApiAuthorizationRequired", "The signature is invalid.")
        if len(request.body) > MAX_MESSAGE_BYTES:
            return _error(413, "MessageTooLarge", f"{len(request.body)} bytes, over 28 KB.")
        try:
            body = json.loads(request.body)
        except ValueError:
            return _error(400, "InvalidRequestContent", "The body is not JSON.")
        problems = card_problems(body)
        if problems:
            return _error(400, "InvalidRequestContent", "; ".join(problems))
        with self._messages_lock:
            self._received.append((request.path, body))
        return Response(202, b"", content_type="text/plain")
