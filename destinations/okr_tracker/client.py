"""okr-tracker's key-result values API: one dated value per key result and day."""

from __future__ import annotations

from typing import Any

from destinations.okr_tracker import settings as s
from destinations.push.http import ToolHttp
from destinations.push.tools import CheckIn, RejectedValueError, UnknownTargetError, read_env

TOOL = "okr_tracker"


class OkrTrackerClient:
    dated = True

    def __init__(
        self, base_url: str, api_key: str, client_id: str, client_secret: str, auth_hint: str
    ) -> None:
        self._http = ToolHttp(
            TOOL,
            base_url,
            headers={
                s.API_KEY_HEADER: api_key,
                s.CLIENT_ID_HEADER: client_id,
                s.CLIENT_SECRET_HEADER: client_secret,
            },
            secrets=[api_key, client_secret],
            auth_hint=auth_hint,
            idempotent=True,
            default_timeout=s.TIMEOUT_S,
        )

    def send(self, checkin: CheckIn) -> str:
        if checkin.value < s.MIN_VALUE:
            raise RejectedValueError(
                TOOL, f"okr-tracker accepts only values ≥ 0, not {checkin.value:g}"
            )
        path = s.VALUES_PATH.format(id=checkin.target_id, date=checkin.day.isoformat())
        response = self._http.request(
            "PUT",
            path,
            f"PUT {path}",
            json={"value": checkin.value, "comment": checkin.comment},
        )
        # The answer is a message ("Updated key result <id> with value <v>"): the value of the
        # day is identified by (key result, date), there is no separate id.
        body: Any = response.json()
        return str(body.get("message", "")) if isinstance(body, dict) else str(body)

    def missing_ids(self, target_ids: list[str]) -> list[str]:
        missing = []
        for target_id in target_ids:
            path = s.KEYRES_PATH.format(id=target_id)
            try:
                self._http.request("GET", path, f"GET {path}")
            except UnknownTargetError:
                missing.append(target_id)
        return missing

    def close(self) -> None:
        self._http.close()


def make_client(settings: Any) -> OkrTrackerClient:
    names = (settings.token_env, settings.client_id_env, settings.client_secret_env)
    return OkrTrackerClient(
        settings.base_url,
        api_key=read_env(TOOL, settings.token_env, "token_env"),
        client_id=read_env(TOOL, settings.client_id_env, "client_id_env"),
        client_secret=read_env(TOOL, settings.client_secret_env, "client_secret_env"),
        auth_hint=", ".join(names),
    )
