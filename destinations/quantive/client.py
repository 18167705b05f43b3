"""Quantive's metric check-in: one dated check-in per key result and day, read before
writing because a POST always adds one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from destinations.push.http import ToolHttp
from destinations.push.tools import CheckIn, read_env
from destinations.quantive import settings as s

TOOL = "quantive"


def checkin_body(checkin: CheckIn) -> dict[str, Any]:
    """model/metric.go's CheckInMetricRequest; the check-in dated at noon UTC of the day."""
    return {
        "actual": checkin.value,
        "checkInDate": f"{checkin.day.isoformat()}T12:00:00Z",
        "comment": checkin.comment,
        "confidence": None,
    }


class QuantiveClient:
    dated = True

    def __init__(self, base_url: str, token: str, account_id: str, auth_hint: str) -> None:
        self._http = ToolHttp(
            TOOL,
            base_url,
            headers={"Authorization": f"Bearer {token}", s.ACCOUNT_HEADER: account_id},
            secrets=[token],
            auth_hint=auth_hint,
            idempotent=False,
            default_timeout=s.TIMEOUT_S,
        )

    def metrics(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """id → {actual, lastCheckInDate, ...} for the ids Quantive knows."""
        query = json.dumps({"_id": {"$in": ids}}, separators=(",", ":"))
        response = self._http.request(
            "GET",
            s.METRICS_PATH,
            f"GET {s.METRICS_PATH}",
            params={"filter": query, "fields": "name,actual,target,lastCheckInDate"},
        )
        items = response.json().get("items") or []
        return {str(item.get("id")): item for item in items}

    def send(self, checkin: CheckIn) -> str:
        # No idempotency key: a check-in of this day with this value already there (a run that
        # died after sending, before recording) is not posted twice.
        metric = self.metrics([checkin.target_id]).get(checkin.target_id)
        if metric and _same_checkin(metric, checkin):
            return "already checked in"
        path = s.CHECKIN_PATH.format(id=checkin.target_id)
        response = self._http.request("POST", path, f"POST {path}", json=checkin_body(checkin))
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        return str(body.get("id", "")) if isinstance(body, dict) else ""

    def missing_ids(self, target_ids: list[str]) -> list[str]:
        known: dict[str, Any] = {}
        # One page per request: the list answers at most PAGE_SIZE items.
        for start in range(0, len(target_ids), s.PAGE_SIZE):
            known |= self.metrics(target_ids[start : start + s.PAGE_SIZE])
        return [target_id for target_id in target_ids if target_id not in known]

    def close(self) -> None:
        self._http.close()


def _same_checkin(metric: dict[str, Any], checkin: CheckIn) -> bool:
    last = metric.get("lastCheckInDate")
    if not last:
        return False
    try:
        day = datetime.fromisoformat(str(last).replace("Z", "+00:00")).date()
    except ValueError:
        return False
    return day == checkin.day and metric.get("actual") == checkin.value


def make_client(settings: Any) -> QuantiveClient:
    return QuantiveClient(
        settings.base_url or s.HOSTS[settings.region],
        token=read_env(TOOL, settings.token_env, "token_env"),
        account_id=read_env(TOOL, settings.account_id_env, "account_id_env"),
        auth_hint=f"{settings.token_env}, {settings.account_id_env}",
    )
