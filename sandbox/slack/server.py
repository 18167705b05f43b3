"""A Slack incoming webhook on 127.0.0.1: `POST /services/T…/B…/<secret>` with a JSON body.

It answers like Slack does (api.slack.com/messaging/webhooks, "Handling errors"): 200 `ok`
(text/plain) for a valid message, 400 `invalid_payload` (not JSON), `no_text` (neither text
nor blocks), `invalid_blocks` (a block breaks Block Kit's shape or limits), 404 `no_service`
for an unknown webhook. Block Kit limits checked (api.slack.com/reference/block-kit/blocks):
at most 50 blocks; header plain_text ≤ 150 characters; section text ≤ 3000, fields ≤ 10 of
≤ 2000; context 1–10 elements; divider has nothing else. Accepted messages are kept in
`messages` for tests to read. Faults (429 with Retry-After, 500, slow) come from the base.
"""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any

from sandbox.base import Fault, Response, SandboxServer

MAX_BLOCKS = 50
HEADER_TEXT_MAX = 150
SECTION_TEXT_MAX = 3000
FIELDS_MAX, FIELD_TEXT_MAX = 10, 2000
CONTEXT_ELEMENTS_MAX = 10
TEXT_TYPES = {"plain_text", "mrkdwn"}


def _text_problem(text: Any, limit: int, types: set[str], where: str) -> str | None:
    if not isinstance(text, dict) or text.get("type") not in types:
        return f"{where} must be a text object of type {' or '.join(sorted(types))}"
    value = text.get("text")
    if not isinstance(value, str) or not value:
        return f"{where}.text must be a non-empty string"
    if len(value) > limit:
        return f"{where}.text is {len(value)} characters, more than {limit}"
    return None


def block_problems(blocks: Any) -> list[str]:
    """Why `blocks` breaks Block Kit's documented shape or limits (empty when valid)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    problems = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks, more than {MAX_BLOCKS}")
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "header":
            problem = _text_problem(block.get("text"), HEADER_TEXT_MAX, {"plain_text"}, where)
            problems += [problem] if problem else []
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where} needs text or fields")
            if "text" in block:
                problem = _text_problem(block["text"], SECTION_TEXT_MAX, TEXT_TYPES, where)
                problems += [problem] if problem else []
            fields = block.get("fields", [])
            if len(fields) > FIELDS_MAX:
                problems.append(f"{where} has {len(fields)} fields, more than {FIELDS_MAX}")
            for j, item in enumerate(fields):
                problem = _text_problem(item, FIELD_TEXT_MAX, TEXT_TYPES, f"{where}.fields[{j}]")
                problems += [problem] if problem else []
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= CONTEXT_ELEMENTS_MAX:
                problems.append(f"{where}.elements must hold 1 to {CONTEXT_ELEMENTS_MAX} items")
            else:
                for j, item in enumerate(elements):
                    problem = _text_problem(
                        item, SECTION_TEXT_MAX, TEXT_TYPES, f"{where}.elements[{j}]"
                    )
                    problems += [problem] if problem else []
        elif kind == "divider":
            if set(block) - {"type", "block_id"}:
                problems.append(f"{where}: a divider takes no content")
        else:
            problems.append(f"{where} has an unknown type {kind!r}")
    return problems


class SlackSandbox(SandboxServer):
    """Incoming webhooks; `new_webhook()` returns a URL whose last segment is a fresh secret."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(self._handle, name="slack", port=port)
        self._paths: set[str] = set()
        self._received: list[tuple[str, dict[str, Any]]] = []
        self._messages_lock = threading.Lock()

    def new_webhook(self, secret: str | None = None) -> str:
        path = (
            f"/services/T0OKRSYNC/B{secrets.token_hex(4).upper()}/{secret or secrets.token_hex(12)}"
        )
        self._paths.add(path)
        return self.base_url + path

    def messages(self, url: str | None = None) -> list[dict[str, Any]]:
        """Accepted message bodies, oldest first (only those to `url` when given)."""
        path = url.removeprefix(self.base_url) if url else None
        with self._messages_lock:
            return [body for p, body in self._received if path is None or p == path]

    def clear(self) -> None:
        with self._messages_lock:
            self._received.clear()

    def _handle(self, request: Any) -> Response:
        if request.method != "POST" or request.path not in self._paths:
            return Response(404, b"no_service", content_type="text/plain")
        try:
            body = json.loads(request.body)
        except ValueError:
            return Response(400, b"invalid_payload", content_type="text/plain")
        if not isinstance(body, dict):
            return Response(400, b"invalid_payload", content_type="text/plain")
        if not body.get("text") and not body.get("blocks"):
            return Response(400, b"no_text", content_type="text/plain")
        if "blocks" in body and block_problems(body["blocks"]):
            return Response(400, b"invalid_blocks", content_type="text/plain")
        with self._messages_lock:
            self._received.append((request.path, body))
        return Response(200, b"ok", content_type="text/plain")


def rate_limited(retry_after: int = 1, times: int = 1) -> Fault:
    """Slack's answer when a webhook posts more than about one message a second."""
    return Fault("status", 429, b"rate_limited", {"Retry-After": str(retry_after)}, times=times)
