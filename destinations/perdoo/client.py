"""Perdoo's GraphQL API: a key result's value as a commit (`upsertCommit`), dated.

A mutation is not idempotent and Perdoo offers no idempotency key, so it is never retried on
a timeout or a 5xx: the key result's commits are read back instead, and only a commit dated the
check-in's day with its value counts as sent (the key result's currentValue is its newest
commit's, which says nothing about a backfilled day). The commit's id is the answer id kept in
`push.sent`.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from connectors.errors import AuthError, RetryableSourceError, SourceError
from destinations.perdoo import settings as s
from destinations.push.http import MESSAGE_CHARS, MaybeWrittenError, ToolHttp, scrub
from destinations.push.tools import CheckIn, RejectedValueError, UnknownTargetError, read_env

TOOL = "perdoo"

READ_KEY_RESULT = """query OkrSyncKeyResult($id: UUID!) {
  result(id: $id) { id currentValue }
}"""
# The key result's commits, a Relay connection (Perdoo pages with first/after and pageInfo).
READ_COMMITS = """query OkrSyncCommits($id: UUID!, $first: Int!, $after: String) {
  result(id: $id) {
    id
    commits(first: $first, after: $after) {
      edges { node { id value commitDate } }
      pageInfo { endCursor hasNextPage }
    }
  }
}"""
UPSERT_COMMIT = """mutation OkrSyncCommit($input: UpsertCommitMutationInput!) {
  upsertCommit(input: $input) {
    commit { id value commitDate }
    errors { field messages }
  }
}"""
# Perdoo's ids are UUIDs (`UUID!`): anything else is not an id Perdoo can know.
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def commit_input(checkin: CheckIn) -> dict[str, Any]:
    """UpsertCommitMutationInput for one check-in: a new commit on the key result, dated."""
    return {
        "keyResult": checkin.target_id,
        "value": checkin.value,
        "description": checkin.comment,
        "commitDate": checkin.day.strftime(s.COMMIT_DATE_FORMAT),
    }


class PerdooClient:
    dated = True

    def __init__(self, url: str, token: str, auth_hint: str) -> None:
        self.url = url
        self.auth_hint = auth_hint
        self._token = token
        # An empty base URL: the GraphQL endpoint is the one whole URL, trailing slash kept.
        self._http = ToolHttp(
            TOOL,
            "",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            secrets=[token],
            auth_hint=auth_hint,
            idempotent=False,
            default_timeout=s.TIMEOUT_S,
        )

    def _graphql(self, operation: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The `data` of one GraphQL answer; its `errors[]` raised as the connectors' errors."""
        what = f"POST {self.url} {operation}"
        payload = {"operationName": operation, "query": query, "variables": variables}
        response = self._http.request("POST", self.url, what, json=payload)
        body = _json(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            message = scrub(_messages(errors), [self._token])
            if any(word in message.lower() for word in s.AUTH_WORDS):
                raise AuthError(
                    TOOL, f"{what}: {message}; credentials refused: check {self.auth_hint}"
                )
            if "does not exist" in message.lower():
                raise UnknownTargetError(TOOL, f"{what}: {message}")
            raise SourceError(TOOL, f"{what}: {message}")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise SourceError(TOOL, f"{what}: the answer has no GraphQL data")
        return data

    def current_value(self, target_id: str) -> float | None:
        """The key result's currentValue; UnknownTargetError when Perdoo has no such id."""
        if not _UUID.match(target_id):
            raise UnknownTargetError(TOOL, f"{target_id!r} is not a Perdoo id (a UUID)")
        result = self._graphql("OkrSyncKeyResult", READ_KEY_RESULT, {"id": target_id})["result"]
        if result is None:
            raise UnknownTargetError(TOOL, f"Perdoo has no key result {target_id}")
        value = result.get("currentValue")
        return float(value) if isinstance(value, (int, float)) else None

    def commit_of(self, checkin: CheckIn) -> str | None:
        """The id of a commit Perdoo holds on the key result dated the check-in's day with its
        value, or None: the read-back after an answer that was lost."""
        day = checkin.day.strftime(s.COMMIT_DATE_FORMAT)
        after: str | None = None
        while True:
            variables = {"id": checkin.target_id, "first": s.COMMITS_PAGE_SIZE, "after": after}
            result = self._graphql("OkrSyncCommits", READ_COMMITS, variables)["result"]
            if result is None:
                raise UnknownTargetError(TOOL, f"Perdoo has no key result {checkin.target_id}")
            page = result.get("commits") or {}
            for edge in page.get("edges") or []:
                node = (edge or {}).get("node") or {}
                # commitDate may come back as a DateTime: its date part is the day.
                if (
                    str(node.get("commitDate", ""))[:10] == day
                    and node.get("value") == checkin.value
                ):
                    return str(node.get("id") or "read back: commit found")
            info = page.get("pageInfo") or {}
            if not info.get("hasNextPage") or not info.get("endCursor"):
                return None
            after = str(info["endCursor"])

    def send(self, checkin: CheckIn) -> str:
        if not _UUID.match(checkin.target_id):
            raise UnknownTargetError(TOOL, f"{checkin.target_id!r} is not a Perdoo id (a UUID)")
        try:
            data = self._graphql("OkrSyncCommit", UPSERT_COMMIT, {"input": commit_input(checkin)})
        except MaybeWrittenError as exc:
            # Perdoo may have taken the commit: read back before calling it a failure.
            said = str(exc).removeprefix(f"{TOOL}: ")
            try:
                commit_id = self.commit_of(checkin)
            except (SourceError, RetryableSourceError) as read:
                reason = str(read).removeprefix(f"{TOOL}: ")
                raise MaybeWrittenError(TOOL, f"{said}; read back failed: {reason}") from None
            if commit_id is not None:
                return commit_id
            raise MaybeWrittenError(TOOL, f"{said}; read back: not written") from None
        answer = data.get("upsertCommit") or {}
        if errors := answer.get("errors"):
            message = scrub(_field_messages(errors), [self._token])
            fields = {str(e.get("field")) for e in errors if isinstance(e, dict)}
            if "keyResult" in fields:
                raise UnknownTargetError(TOOL, f"key result {checkin.target_id}: {message}")
            raise RejectedValueError(TOOL, f"key result {checkin.target_id}: {message}")
        commit = answer.get("commit")
        if not isinstance(commit, dict) or not commit.get("id"):
            raise SourceError(TOOL, f"upsertCommit answered no commit for {checkin.target_id}")
        return str(commit["id"])

    def missing_ids(self, target_ids: list[str]) -> list[str]:
        missing = []
        for target_id in target_ids:
            try:
                self.current_value(target_id)
            except UnknownTargetError:
                missing.append(target_id)
        return missing

    def close(self) -> None:
        self._http.close()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        # A 2xx whose body is cut or garbled: Perdoo ran the operation, a mutation may be in.
        raise MaybeWrittenError(TOOL, f"answer is not JSON (HTTP {response.status_code})") from None


def _messages(errors: Any) -> str:
    items = errors if isinstance(errors, list) else [errors]
    texts = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in items]
    return "; ".join(texts)[:MESSAGE_CHARS]


def _field_messages(errors: list[Any]) -> str:
    texts = [
        f"{e.get('field')}: {' '.join(map(str, e.get('messages') or []))}"
        for e in errors
        if isinstance(e, dict)
    ]
    return "; ".join(texts)[:MESSAGE_CHARS]


def make_client(settings: Any) -> PerdooClient:
    return PerdooClient(
        settings.base_url or s.GRAPHQL_URL,
        token=read_env(TOOL, settings.token_env, "token_env"),
        auth_hint=settings.token_env,
    )
