"""Perdoo's GraphQL endpoint on 127.0.0.1, for the operations okr-sync sends.

`POST /graphql/` with JSON `{operationName, query, variables}`, dispatched on the operation's
root field (a hand-rolled dispatcher, not a GraphQL engine): `result(id: UUID!)` reads a key
result (with `commits(first, after)`, its commits as a Relay connection, oldest first, the
cursors Graphene's `arrayconnection:<index>` in base64), `upsertCommit(input:
UpsertCommitMutationInput!)` adds a commit (a progress update) and moves the key result's
currentValue. Answers follow Graphene (Django) conventions as the
third-party clients expect them (API-NOTES.md §5.3; Perdoo's own bodies are not published, so
they are assumed): a refused token → HTTP 200 `{"errors": [{"message": "Unauthorized", …}],
"data": {<field>: null}}`; a variable that does not coerce (a non-UUID id, a non-number value) →
HTTP 400 `{"errors": [{"message": "Variable \"$…\" got invalid value …"}]}`; an unknown key
result in a mutation → HTTP 200 with the form error `{"field": "keyResult", "messages": ["Select a
valid choice. …"]}` in the payload's `errors`; `result` of an unknown id → `null`. Every request
is recorded.
"""

from __future__ import annotations

import math
import re
import uuid
from base64 import b64decode, b64encode
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sandbox.base import RecordedRequest, Request, RequestRecorder, Response, SandboxServer

DEFAULT_TOKEN = "sandbox-perdoo-personal-api-token"
PATH = "/graphql/"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Graphene-Django's RELAY_CONNECTION_MAX_LIMIT default: a page holds at most this many edges.
MAX_PAGE = 100
# Django's ModelChoiceField message for an id that names no row.
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


@dataclass
class PerdooKeyResult:
    name: str
    current_value: float = 0.0
    commits: list[dict[str, Any]] = field(default_factory=list)


def _variable_error(name: str, value: Any, why: str) -> Response:
    message = f'Variable "${name}" got invalid value {value!r}; {why}'
    return Response.json({"errors": [{"message": message}]}, 400)


class PerdooSandbox(RequestRecorder):
    def __init__(self) -> None:
        super().__init__()
        self.key_results: dict[str, PerdooKeyResult] = {}
        self.token = DEFAULT_TOKEN

    def add(self, key_result_id: str, name: str = "A key result") -> str:
        self.key_results[key_result_id] = PerdooKeyResult(name)
        return key_result_id

    def mutations(self) -> list[RecordedRequest]:
        return [r for r in self.received if "upsertCommit" in _query(r.body)]

    def handle(self, request: Request) -> Response:
        body = self.record(request).body
        if request.path != PATH or request.method != "POST":
            return Response(404, b"<h1>Not Found</h1>", content_type="text/html")
        if not isinstance(body, dict) or not _query(body):
            return Response.json({"errors": [{"message": "Must provide query string."}]}, 400)
        query, variables = _query(body), body.get("variables") or {}
        root = "upsertCommit" if "upsertCommit" in query else "result" if "result(" in query else ""
        if not root:
            return Response.json({"errors": [{"message": "Unknown operation."}]}, 400)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            error = {"message": "Unauthorized", "locations": [{"line": 2, "column": 3}]}
            return Response.json({"errors": [{**error, "path": [root]}], "data": {root: None}})
        with self._lock:
            if root == "result":
                if "commits(" in query:
                    return self._commits(variables)
                return self._result(variables.get("id"))
            return self._upsert_commit(variables.get("input"))

    def _result(self, key_result_id: Any) -> Response:
        if not isinstance(key_result_id, str) or not _UUID.match(key_result_id):
            return _variable_error("id", key_result_id, "UUID cannot represent this value.")
        key_result = self.key_results.get(key_result_id)
        if key_result is None:
            return Response.json({"data": {"result": None}})
        node = {"id": key_result_id, "currentValue": key_result.current_value}
        return Response.json({"data": {"result": node}})

    def _commits(self, variables: dict[str, Any]) -> Response:
        key_result_id = variables.get("id")
        if not isinstance(key_result_id, str) or not _UUID.match(key_result_id):
            return _variable_error("id", key_result_id, "UUID cannot represent this value.")
        key_result = self.key_results.get(key_result_id)
        if key_result is None:
            return Response.json({"data": {"result": None}})
        first = min(int(variables.get("first") or MAX_PAGE), MAX_PAGE)
        after = variables.get("after")
        start = int(b64decode(after).decode().split(":")[1]) + 1 if after else 0
        page = key_result.commits[start : start + first]
        edges = [
            {
                "cursor": _cursor(start + n),
                "node": {k: commit[k] for k in ("id", "value", "commitDate")},
            }
            for n, commit in enumerate(page)
        ]
        info = {
            "endCursor": edges[-1]["cursor"] if edges else None,
            "hasNextPage": start + len(page) < len(key_result.commits),
        }
        node = {"id": key_result_id, "commits": {"edges": edges, "pageInfo": info}}
        return Response.json({"data": {"result": node}})

    def _upsert_commit(self, given: Any) -> Response:
        data = given if isinstance(given, dict) else {}
        value = data.get("value")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            return _variable_error("input", data, "Float cannot represent this value (value).")
        target = data.get("keyResult")
        if isinstance(target, str) and not _UUID.match(target):
            return _variable_error("input", data, "UUID cannot represent this value (keyResult).")
        key_result = self.key_results.get(target) if isinstance(target, str) else None
        if key_result is None:
            errors = [{"field": "keyResult", "messages": [INVALID_CHOICE]}]
            return Response.json({"data": {"upsertCommit": {"commit": None, "errors": errors}}})
        commit_date = data.get("commitDate") or date.today().isoformat()
        try:
            date.fromisoformat(str(commit_date))
        except ValueError:
            errors = [{"field": "commitDate", "messages": ["Enter a valid date."]}]
            return Response.json({"data": {"upsertCommit": {"commit": None, "errors": errors}}})
        commit = {
            "id": str(uuid.uuid4()),
            "value": float(value),
            "valueBefore": key_result.current_value,
            "description": data.get("description", ""),
            "commitDate": commit_date,
            "createdDate": datetime.now(UTC).isoformat(),
        }
        key_result.commits.append(commit)
        # The key result shows its newest commit by commitDate (a backfilled one stays behind).
        key_result.current_value = max(key_result.commits, key=lambda c: c["commitDate"])["value"]
        answer = {k: commit[k] for k in ("id", "value", "commitDate")}
        return Response.json({"data": {"upsertCommit": {"commit": answer, "errors": []}}})

    def serve(self, port: int = 0) -> SandboxServer:
        return SandboxServer(self.handle, name="perdoo", port=port).start()


def _cursor(index: int) -> str:
    return b64encode(f"arrayconnection:{index}".encode()).decode()


def _query(body: Any) -> str:
    return str(body.get("query") or "") if isinstance(body, dict) else ""
