"""okr-tracker's API on 127.0.0.1, answering as its code does (API-NOTES.md §5.1).

Routes: `PUT /keyres/{id}/values/{date}` (one value per key result and day: re-posting replaces
it), `GET /keyres/{id}`. Auth as deployed: the API Gateway key `x-api-key`, then the team's API
client `okr-client-id` + `okr-client-secret`. Bodies are the code's templates
(functions/api/routes/keyres.js, helpers.js `checkApiAuth`, validateRules.js); the gateway's
own refusal body is the Google API Gateway shape. Everything received is recorded.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sandbox.base import Request, Response, SandboxServer

DEFAULT_API_KEY = "sandbox-okr-tracker-gateway-key"
DEFAULT_CLIENT_ID = "okr-sync-sandbox"
DEFAULT_CLIENT_SECRET = "sandbox-okr-tracker-client-secret"
TEAM = "Dataspeilet"
# express-rate-limit in functions/api: 1000 requests per 5 minutes, answered as plain text.
RATE_LIMIT_TEXT = b"Too many requests, please try again later."

_VALUES = re.compile(r"^/keyres/(?P<id>[^/]+)/values/(?P<date>[^/]+)$")
_KEYRES = re.compile(r"^/keyres/(?P<id>[^/]+)$")


def keyres_id(kr_id: str) -> str:
    """A Firestore-like id (20 letters and digits) for a key result the demo maps."""

    digest = hashlib.sha256(kr_id.encode()).hexdigest()
    return "".join(c if c.isdigit() else c.upper() if int(c, 16) % 2 else c for c in digest)[:20]


@dataclass
class KeyRes:
    name: str
    # day → (value, comment as stored: HTML-escaped), the per-day values of the progression
    values: dict[date, tuple[float, str]] = field(default_factory=dict)

    def as_json(self, kr_id: str) -> dict[str, Any]:
        latest = max(self.values) if self.values else None
        body: dict[str, Any] = {
            "id": kr_id,
            "name": self.name,
            "currentValue": self.values[latest][0] if latest else 0,
            "progression": 0,
            "createdBy": "sandbox",
            "editedBy": "API",
        }
        if latest:
            value, comment = self.values[latest]
            body["lastUpdated"] = {
                "value": value,
                "timestamp": f"{latest.isoformat()}T12:00:00.000Z",
                "comment": comment,
                "createdBy": "API",
            }
        return body


@dataclass
class OkrTrackerRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class OkrTrackerSandbox:
    def __init__(self, key_results: dict[str, str] | None = None) -> None:
        # id → KeyRes; ids are the tool's (Firestore) ids
        self.key_results = {kr_id: KeyRes(name) for kr_id, name in (key_results or {}).items()}
        self.api_key = DEFAULT_API_KEY
        self.client_id = DEFAULT_CLIENT_ID
        self.client_secret = DEFAULT_CLIENT_SECRET
        self.rate_limit = 1000
        self.rate_window_s = 300.0
        self.received: list[OkrTrackerRequest] = []
        self._hits: list[float] = []
        self._lock = threading.Lock()
        self.today = date.today  # future dates are refused relative to this

    def add(self, kr_id: str, name: str = "A key result") -> str:
        self.key_results[kr_id] = KeyRes(name)
        return kr_id

    def puts(self) -> list[OkrTrackerRequest]:
        return [r for r in self.received if r.method == "PUT"]

    def clear_received(self) -> None:
        with self._lock:
            self.received.clear()
            self._hits.clear()

    # -- the API -------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            body = request.json() if request.body else None
        except ValueError:
            body = request.body.decode(errors="replace")
        with self._lock:
            self.received.append(
                OkrTrackerRequest(request.method, request.path, request.headers, body)
            )
            now = time.monotonic()
            self._hits = [t for t in self._hits if now - t < self.rate_window_s] + [now]
            limited = len(self._hits) > self.rate_limit
        if limited:
            return Response(429, RATE_LIMIT_TEXT, content_type="text/html; charset=utf-8")
        refused = self._auth(request)
        if refused is not None:
            return refused
        if match := _VALUES.match(request.path):
            if request.method != "PUT":
                return _message(f"Cannot {request.method} {request.path}", 404)
            return self._put_value(match["id"], match["date"], body)
        if (match := _KEYRES.match(request.path)) and request.method == "GET":
            found = self.key_results.get(match["id"])
            if found is None:
                return _message(f"Could not find key result with ID: {match['id']}", 404)
            return Response.json(found.as_json(match["id"]))
        return _message(f"Cannot {request.method} {request.path}", 404)

    def _auth(self, request: Request) -> Response | None:
        if request.headers.get("x-api-key") != self.api_key:
            # Google API Gateway refuses before the function runs.
            return Response.json(
                {
                    "code": 403 if request.headers.get("x-api-key") else 401,
                    "message": "PERMISSION_DENIED: API key not valid."
                    if request.headers.get("x-api-key")
                    else "UNAUTHENTICATED: Method doesn't allow unregistered callers (callers "
                    "without established identity). Please use API Key or other form of API "
                    "consumer identity to call this API.",
                },
                403 if request.headers.get("x-api-key") else 401,
            )
        client_id = request.headers.get("okr-client-id", "")
        if client_id != self.client_id:
            return _message(
                f"No API client `{client_id}` exists for '{TEAM}'. Please create one in the "
                "OKR Tracker integrations admin.",
                401,
            )
        if request.headers.get("okr-client-secret") != self.client_secret:
            return _message(
                f"Invalid client secret provided for API client `{client_id}`. Please check "
                "the secret in the OKR Tracker integrations admin.",
                401,
            )
        return None

    def _put_value(self, kr_id: str, day_text: str, body: Any) -> Response:
        errors: dict[str, Any] = {}
        value = body.get("value") if isinstance(body, dict) else None
        # express-validator isFloat({min: 0}) on the JSON value
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < 0
        ):
            errors["value"] = _field_error(value, "value")
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            errors["date"] = _field_error(day_text, "date", "params")
            day = None
        comment = body.get("comment", "") if isinstance(body, dict) else ""
        if not isinstance(comment, str):
            errors["comment"] = _field_error(comment, "comment")
        if errors:
            return Response.json({"message": "Invalid request data", "errors": errors}, 400)
        assert day is not None
        if day > self.today():
            return _message("Future dates not allowed", 400)
        found = self.key_results.get(kr_id)
        if found is None:
            return _message(f"Could not find key result with ID: {kr_id}", 404)
        # updateKeyresProgressionValue: delete the day's values, add this one (12:00 that day)
        found.values[day] = (float(value), escape(comment))
        return Response.json({"message": f"Updated key result {kr_id} with value {value}"})

    def serve(self, port: int = 0) -> SandboxServer:
        return SandboxServer(self.handle, name="okr-tracker", port=port).start()


# validator.js escape(), which express-validator's `.escape()` applies to the comment.
_ESCAPES = {
    "&": "&amp;",
    '"': "&quot;",
    "'": "&#x27;",
    "<": "&lt;",
    ">": "&gt;",
    "/": "&#x2F;",
    "\\": "&#x5C;",
    "`": "&#96;",
}


def escape(text: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in text)


def _message(text: str, status: int) -> Response:
    return Response.json({"message": text}, status)


def _field_error(value: Any, path: str, location: str = "body") -> dict[str, Any]:
    return {
        "type": "field",
        "value": value,
        "msg": "Invalid value",
        "path": path,
        "location": location,
    }


def stored_on(sandbox: OkrTrackerSandbox, kr_id: str, day: date) -> tuple[float, str] | None:
    found = sandbox.key_results.get(kr_id)
    return found.values.get(day) if found else None


__all__ = ["OkrTrackerSandbox", "keyres_id", "stored_on"]
