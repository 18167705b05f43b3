"""An inbound webhook on 127.0.0.1 that answers like Zapier's "Catch Hook".

Zapier answers a caught hook with 200 `{"attempt", "id", "request_id", "status": "success"}`;
a hook URL that does not exist with 404; its rate limit with 429. With a secret set, the
sandbox checks the X-Okr-Sync-Signature header as a receiver's code step would and refuses a
bad one with 401. Every POST is recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sandbox.base import Request, Response, SandboxServer

HOOK_PATH = "/hooks/catch/123456/abcdef/"


@dataclass
class Caught:
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any


class WebhookSandbox:
    def __init__(self, secret: str | None = None, hook_path: str = HOOK_PATH) -> None:
        self.secret = secret
        # The path's last parts are the hook's secret token in Zapier's URLs.
        self.hook_path = hook_path
        self.caught: list[Caught] = []
        self._lock = threading.Lock()

    def url(self, server: SandboxServer) -> str:
        return server.base_url + self.hook_path

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != self.hook_path:
            return Response.json({"status": "error", "message": "Hook not found."}, 404)
        if self.secret is not None:
            expected = (
                "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
            )
            given = request.headers.get("x-okr-sync-signature", "")
            if not hmac.compare_digest(expected, given):
                return Response.json({"status": "error", "message": "bad signature"}, 401)
        try:
            body = request.json()
        except ValueError:
            return Response.json({"status": "error", "message": "body is not JSON"}, 400)
        with self._lock:
            self.caught.append(Caught(request.path, request.headers, request.body, body))
        attempt = str(uuid.uuid4())
        return Response.json(
            {"attempt": attempt, "id": attempt, "request_id": attempt, "status": "success"}
        )

    def serve(self, port: int = 0) -> SandboxServer:
        return SandboxServer(self.handle, name="webhook", port=port).start()
