"""Tability's remote check-ins: one check-in per outcome and push, newest day only."""

from __future__ import annotations

import json
from typing import Any

from connectors.errors import AuthError
from destinations.push.http import ToolHttp
from destinations.push.tools import (
    KNOWN_SECRETS,
    CheckIn,
    RejectedValueError,
    UnknownTargetError,
    read_env,
)
from destinations.tability import settings as s

TOOL = "tability"


def score_text(value: float) -> str:
    """The score as the guide sends it, a string of the number ("25000", "3.21")."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class TabilityClient:
    dated = False

    def __init__(
        self,
        base_url: str,
        workspace_id: str,
        token: str,
        checkin_tokens: dict[str, str],
        auth_hint: str,
    ) -> None:
        self._workspace = workspace_id
        self._token = token
        self._checkin_tokens = checkin_tokens
        self._auth_hint = auth_hint
        self._http = ToolHttp(
            TOOL,
            base_url,
            headers={"Authorization": f"{s.AUTH_SCHEME} {token}"},
            secrets=[token, *checkin_tokens.values()],
            auth_hint=auth_hint,
            idempotent=False,
            default_timeout=s.TIMEOUT_S,
        )

    def checkins(self, outcome_id: str) -> list[dict[str, Any]]:
        path = s.CHECKINS_PATH.format(workspace=self._workspace, outcome=outcome_id)
        answer = self._http.request("GET", path, f"GET {path}").json()
        return answer if isinstance(answer, list) else []

    def send(self, checkin: CheckIn) -> str:
        remote_token = self._checkin_tokens.get(checkin.target_id)
        if not remote_token:
            raise RejectedValueError(
                TOOL,
                f"no remote check-ins token for outcome {checkin.target_id}: enable the "
                f"outcome's Check-ins API and add its token to {self._auth_hint.split(', ')[-1]}",
            )
        score = score_text(checkin.value)
        newest = _newest(self.checkins(checkin.target_id))
        if newest is not None and float(newest.get("score") or 0) == float(score):
            # The outcome already shows this value (a run that died before recording, or a
            # check-in typed by hand): a second identical check-in only adds noise.
            return str(newest.get("id") or "already checked in")
        response = self._http.request(
            "POST",
            s.CHECKIN_WEBHOOK_PATH,
            f"POST {s.CHECKIN_WEBHOOK_PATH} for outcome {checkin.target_id}",
            params={"remote_checkins_token": remote_token},
            json={"personal_api_token": self._token, "score": score, "body": checkin.comment},
        )
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        return str(body.get("id", "")) if isinstance(body, dict) else ""

    def missing_ids(self, target_ids: list[str]) -> list[str]:
        missing = []
        for outcome_id in target_ids:
            try:
                self.checkins(outcome_id)
            except UnknownTargetError:
                missing.append(outcome_id)
        return missing

    def close(self) -> None:
        self._http.close()


def _newest(checkins: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not checkins:
        return None
    return max(checkins, key=lambda c: (str(c.get("checkin_date")), str(c.get("created_at"))))


def make_client(settings: Any) -> TabilityClient:
    token = read_env(TOOL, settings.token_env, "token_env")
    text = read_env(TOOL, settings.checkin_tokens_env, "checkin_tokens_env")
    try:
        tokens = json.loads(text)
        if not isinstance(tokens, dict) or not all(isinstance(v, str) for v in tokens.values()):
            raise ValueError
    except ValueError:
        raise AuthError(
            TOOL,
            f"{settings.checkin_tokens_env} must hold a JSON object "
            '{"<outcome id>": "<remote check-ins token>"}',
        ) from None
    KNOWN_SECRETS.update(v for v in tokens.values() if v)
    return TabilityClient(
        settings.base_url or s.API_HOST,
        settings.workspace_id,
        token,
        tokens,
        auth_hint=f"{settings.token_env}, {settings.checkin_tokens_env}",
    )
