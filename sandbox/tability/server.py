"""Tability's remote check-ins webhook and check-ins list on 127.0.0.1.

Routes as documented: `POST /webhooks/checkins?remote_checkins_token=<per outcome>` with JSON
`{"personal_api_token", "score" (a string), "body"}` adds a remote check-in dated today; `GET
/v2/workspaces/{workspace}/outcomes/{outcome}/checkins` with `Authorization: API <token>` lists
them in the shape of the API reference's example. Tability documents no answer or error bodies:
the `{"error": ...}` bodies and the created check-in answered here are assumed. Every request
is recorded.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.base import Request, RequestRecorder, Response, SandboxServer

DEFAULT_TOKEN = "sandbox-tability-personal-api-token"
WORKSPACE = "f709df85-fa72-43d4-b398-db159ec6f8da"

_CHECKINS = re.compile(r"^/v2/workspaces/(?P<ws>[^/]+)/outcomes/(?P<outcome>[^/]+)/checkins$")


@dataclass
class Outcome:
    remote_token: str
    checkins: list[dict[str, Any]] = field(default_factory=list)


class TabilitySandbox(RequestRecorder):
    def __init__(self) -> None:
        super().__init__()
        self.outcomes: dict[str, Outcome] = {}
        self.token = DEFAULT_TOKEN
        self.workspace = WORKSPACE

    def add(self, outcome_id: str, remote_token: str) -> str:
        self.outcomes[outcome_id] = Outcome(remote_token)
        return outcome_id

    def handle(self, request: Request) -> Response:
        body = self.record(request).body
        if request.method == "POST" and request.path == "/webhooks/checkins":
            return self._remote_checkin(request.query.get("remote_checkins_token", [""])[0], body)
        if (match := _CHECKINS.match(request.path)) and request.method == "GET":
            if request.headers.get("authorization") != f"API {self.token}":
                return Response.json({"error": "Unauthorized"}, 401)
            outcome = self.outcomes.get(match["outcome"])
            if match["ws"] != self.workspace or outcome is None:
                return Response.json({"error": "Not found"}, 404)
            newest_first = sorted(
                outcome.checkins, key=lambda c: (c["checkin_date"], c["created_at"]), reverse=True
            )
            return Response.json(newest_first)
        return Response.json({"error": "Not found"}, 404)

    def _remote_checkin(self, remote_token: str, body: Any) -> Response:
        found = next(
            ((oid, o) for oid, o in self.outcomes.items() if o.remote_token == remote_token), None
        )
        if found is None:
            return Response.json({"error": "Remote check-ins are not enabled"}, 404)
        if not isinstance(body, dict) or body.get("personal_api_token") != self.token:
            return Response.json({"error": "Invalid personal API token"}, 401)
        try:
            score = float(body.get("score"))
        except (TypeError, ValueError):
            return Response.json({"error": "score must be a number"}, 400)
        outcome_id, outcome = found
        now = datetime.now(UTC)
        checkin = {
            "id": str(uuid.uuid4()),
            "workspace_id": self.workspace,
            "outcome_id": outcome_id,
            "checkin_date": now.strftime("%Y-%m-%dT00:00:00.000Z"),
            "score": score,
            "confidence": "green",
            "body": body.get("body", ""),
            "created_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "is_remote": True,
        }
        outcome.checkins.append(checkin)
        return Response.json(checkin)

    def serve(self, port: int = 0) -> SandboxServer:
        return SandboxServer(self.handle, name="tability", port=port).start()
