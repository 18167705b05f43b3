"""Quantive Results' metric API on 127.0.0.1, as the official gtmhub-cli calls it.

Routes: `POST /api/v1/metrics/{id}/checkin` (adds a check-in: no idempotency), `GET
/api/v2/metrics?filter={"_id":{"$in":[...]}}` answering `{"items": [...]}`. Auth: `Authorization:
Bearer <token>` and `gtmhub-accountid`. Quantive documents the status codes (400, 401, 402, 403,
404, 500) but not their bodies: the `{"message": ...}` bodies here are assumed. Every request is
recorded.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.base import Request, RequestRecorder, Response, SandboxServer

DEFAULT_TOKEN = "sandbox-quantive-api-token"
DEFAULT_ACCOUNT = "6543f0c2a1b2c3d4e5f60000"

_CHECKIN = re.compile(r"^/api/v1/metrics/(?P<id>[^/]+)/checkin$")


@dataclass
class Metric:
    name: str
    target: float = 100.0
    checkins: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self, metric_id: str) -> dict[str, Any]:
        last = max(self.checkins, key=lambda c: c["checkInDate"]) if self.checkins else None
        return {
            "id": metric_id,
            "name": self.name,
            "actual": last["actual"] if last else 0,
            "target": self.target,
            "lastCheckInDate": last["checkInDate"] if last else None,
        }


class QuantiveSandbox(RequestRecorder):
    def __init__(self, metrics: dict[str, str] | None = None) -> None:
        super().__init__()
        self.metrics = {metric_id: Metric(name) for metric_id, name in (metrics or {}).items()}
        self.token = DEFAULT_TOKEN
        self.account_id = DEFAULT_ACCOUNT

    def add(self, metric_id: str, name: str = "A metric") -> str:
        self.metrics[metric_id] = Metric(name)
        return metric_id

    def handle(self, request: Request) -> Response:
        body = self.record(request).body
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response.json({"message": "Unauthorized: invalid or expired token"}, 401)
        if request.headers.get("gtmhub-accountid") != self.account_id:
            return Response.json({"message": "Forbidden: no access to this account"}, 403)
        if request.method == "GET" and request.path == "/api/v2/metrics":
            return self._list(request)
        if (match := _CHECKIN.match(request.path)) and request.method == "POST":
            return self._checkin(match["id"], body)
        return Response.json({"message": f"Cannot {request.method} {request.path}"}, 404)

    def _list(self, request: Request) -> Response:
        try:
            query = json.loads(request.query.get("filter", ["{}"])[0])
            ids = query.get("_id", {}).get("$in", list(self.metrics))
        except (ValueError, AttributeError):
            return Response.json({"message": "invalid filter"}, 400)
        items = [self.metrics[i].as_json(i) for i in ids if i in self.metrics]
        return Response.json({"items": items, "totalCount": len(items)})

    def _checkin(self, metric_id: str, body: Any) -> Response:
        metric = self.metrics.get(metric_id)
        if metric is None:
            return Response.json({"message": f"metric {metric_id} not found"}, 404)
        actual = body.get("actual") if isinstance(body, dict) else None
        if not isinstance(actual, (int, float)) or isinstance(actual, bool):
            return Response.json({"message": "actual must be a number"}, 400)
        if not math.isfinite(actual):
            return Response.json({"message": "actual must be a number"}, 400)
        date_text = body.get("checkInDate") or datetime.now().isoformat()
        try:
            datetime.fromisoformat(str(date_text).replace("Z", "+00:00"))
        except ValueError:
            return Response.json({"message": "checkInDate must be RFC 3339"}, 400)
        checkin = {
            "id": uuid.uuid4().hex[:24],
            "metricId": metric_id,
            "actual": float(actual),
            "checkInDate": date_text,
            "comment": body.get("comment", ""),
            "confidence": body.get("confidence"),
        }
        metric.checkins.append(checkin)
        return Response.json(checkin)

    def serve(self, port: int = 0) -> SandboxServer:
        return SandboxServer(self.handle, name="quantive", port=port).start()
