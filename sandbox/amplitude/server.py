"""A stand-in for Amplitude's Dashboard REST API on 127.0.0.1, computing every answer from an
event log it holds (deterministic, with events that arrive late).

Wire format (Dashboard REST API docs; real answers quoted in airbytehq/airbyte#46712):

- `GET /api/2/events/segmentation?e=<event JSON>&m=totals|uniques|sums&start&end&i=1[&limit]`
  → `{"data": {"series": [[...]], "seriesLabels": [0], "seriesCollapsed": [[{"setId": "",
  "value": n}]], "seriesMeta": [{"segmentIndex": 0}], "xValues": [...]}}`; with a group-by,
  one series per group (labels are the group values, largest first); `seriesCollapsed` is the
  whole range's value (distinct users for uniques);
- `GET /api/2/funnels?e=...&e=...&start&end&mode=ordered&cs=<seconds>&i=1` → `{"data":
  [{"meta", "dayFunnels": {"series": [[step counts] per day], "xValues", "formattedXValues"},
  "cumulativeRaw", "cumulative", "stepByStep", "events", ...}]}`;
- `GET /api/2/events/list` → `{"data": [{"value", "display", "totals", "deleted", "hidden",
  "non_active", "flow_hidden"}]}`; `GET /api/2/taxonomy/event-property?event_type=` and
  `/user-property` → `{"success": true, "data": [...]}`.

Errors: the 400 envelope is Amplitude's (`{"error": {"http_code": 400, "type": "invalid",
"message": "Invalid chart definition", "metadata": {"details": ...}}}`, quoted verbatim in
airbytehq/airbyte#46712). No 401, 403 or 429 body of Amplitude is public: those below keep the
same envelope, and the 403's words are those Airbyte's connector shows for it ("Access denied
due to lack of permission or invalid API/Secret key or wrong data region"). The server serves
both regions under path prefixes `/us` and `/eu`; the project lives in one, the other answers
403 — as Amplitude does for a project asked in the wrong data centre.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sandbox.base import Request, Response, SandboxServer

DEFAULT_API_KEY = "sandbox-amplitude-api-key"
DEFAULT_SECRET_KEY = "sandbox-amplitude-secret-key"

# What the demo project tracks: event types and the users' own properties.
DEMO_EVENTS = ("Sign Up", "Project Created", "Editor Opened", "Purchase Completed")
PLANS = ("free", "pro", "team")
PLATFORMS = ("iOS", "Android", "Web")
COUNTRIES = ("Germany", "France", "United States")
USERS = 60
# Days before the sandbox's "now" that the demo log covers.
DEMO_DAYS = 200


@dataclass(frozen=True)
class AmplitudeEvent:
    """One tracked event: who, what, when (day and second of the day), its event properties,
    and the day Amplitude has it (late events count into their own day once they arrive)."""

    user: int
    event_type: str
    day: date
    second: int = 0
    properties: dict[str, Any] = field(default_factory=dict)
    arrives: date | None = None

    def arrived_by(self, now: date) -> bool:
        return (self.arrives or self.day) <= now


def _hash(*parts: Any) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


def user_properties(user: int) -> dict[str, str]:
    return {
        "plan": PLANS[user % 3],
        "platform": PLATFORMS[(user // 3) % 3],
        "country": COUNTRIES[(user // 9) % 3],
    }


def generate_events(
    event_types: tuple[str, ...], first: date, last: date, users: int = USERS
) -> list[AmplitudeEvent]:
    """A deterministic log: each user does each event type on about one day in four, one to
    three times; purchases carry a `price`; about one event in ten arrives a day or two late."""
    events = []
    day = first
    while day <= last:
        for rank, event_type in enumerate(event_types):
            for user in range(users):
                h = _hash(event_type, user, day.toordinal())
                # Later funnel steps are rarer than earlier ones.
                if h % 100 >= 30 - 5 * min(rank, 4):
                    continue
                late = (h // 100) % 10
                arrives = day + timedelta(days=1 if late == 0 else 2 if late == 1 else 0)
                for n in range(1 + (h // 1000) % 3):
                    props: dict[str, Any] = {"plan": PLANS[user % 3]}
                    if event_type == "Purchase Completed":
                        props["price"] = 5 * (1 + (h // 10_000 + n) % 4)
                    events.append(
                        AmplitudeEvent(user, event_type, day, 3_600 * rank + 60 * n, props, arrives)
                    )
        day += timedelta(days=1)
    return events


def _error(status: int, kind: str, message: str, details: str = "", **headers: str) -> Response:
    error: dict[str, Any] = {"http_code": status, "type": kind, "message": message}
    if details:
        error["metadata"] = {"details": details}
    return Response.json({"error": error}, status, headers=dict(headers))


class InvalidChartDefinition(Exception):
    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


def _day(text: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError) as exc:
        raise InvalidChartDefinition(f"Invalid date {text!r}, expected YYYYMMDD") from exc


def _matches(op: str, actual: Any, values: list[str]) -> bool:
    if actual is None:
        return op in ("is not", "does not contain")
    text = str(actual)
    if op == "is":
        return text in values
    if op == "is not":
        return text not in values
    if op == "contains":
        return any(v in text for v in values)
    if op == "does not contain":
        return not any(v in text for v in values)
    try:
        number, bound = float(actual), float(values[0])
    except (TypeError, ValueError, IndexError):
        return False
    return {
        "less": number < bound,
        "less or equal": number <= bound,
        "greater": number > bound,
        "greater or equal": number >= bound,
    }.get(op, False)


class AmplitudeSandbox:
    """The handler: one project, its keys and data region, its event log and clock.

    `now` is the project's today: events that arrive later are not counted yet, so a day's
    numbers grow on a later run (`advance`). `cost_budget` (None: unlimited) answers 429 once a
    request would exceed that much Amplitude cost within `budget_window_s` seconds.
    """

    def __init__(
        self,
        events: list[AmplitudeEvent] | None = None,
        *,
        now: date | None = None,
        api_key: str = DEFAULT_API_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        region: str = "us",
        event_types: tuple[str, ...] = DEMO_EVENTS,
        cost_budget: int | None = None,
        budget_window_s: float = 300.0,
    ) -> None:
        self.now = now or date.today()
        self.event_types = event_types
        if events is None:
            events = generate_events(event_types, self.now - timedelta(days=DEMO_DAYS), self.now)
        self._by_type: dict[str, list[AmplitudeEvent]] = defaultdict(list)
        for event in events:
            self._by_type[event.event_type].append(event)
        self._users: dict[int, dict[str, str]] = {}
        self.api_key = api_key
        self.secret_key = secret_key
        self.region = region
        self.cost_budget = cost_budget
        self.budget_window_s = budget_window_s
        self._spent: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self.costs: list[int] = []  # Amplitude cost of every answered query

    def reset_costs(self) -> None:
        """Forget the cost spent so far (a new budget window, an empty `costs`)."""
        with self._lock:
            self._spent.clear()
            self.costs.clear()

    # -- the data ---------------------------------------------------------------------------
    def advance(self, days: int = 1) -> None:
        """The project's clock moves on: late events of earlier days arrive."""
        self.now += timedelta(days=days)

    def user(self, user: int) -> dict[str, str]:
        return self._users.get(user) or user_properties(user)

    def set_user(self, user: int, properties: dict[str, str]) -> None:
        self._users[user] = properties

    def _events(self, event_def: dict[str, Any], first: date, last: date) -> list[AmplitudeEvent]:
        event_type = event_def.get("event_type")
        if not isinstance(event_type, str):
            raise InvalidChartDefinition("Invalid event: missing event_type")
        if event_type in ("_all", "_active"):
            pool = [e for events in self._by_type.values() for e in events]
        else:
            pool = self._by_type.get(event_type.removeprefix("ce:"), [])
        filters = event_def.get("filters") or []
        for f in filters:
            if not isinstance(f, dict) or {"subprop_type", "subprop_key", "subprop_op"} - set(f):
                raise InvalidChartDefinition("Invalid filter")
        chosen = []
        for e in pool:
            if not (first <= e.day <= last and e.arrived_by(self.now)):
                continue
            if all(self._passes(e, f) for f in filters):
                chosen.append(e)
        return chosen

    def _property(self, e: AmplitudeEvent, kind: str, key: str) -> Any:
        if kind == "user":
            return self.user(e.user).get(key.removeprefix("gp:"))
        return e.properties.get(key)

    def _passes(self, e: AmplitudeEvent, f: dict[str, Any]) -> bool:
        values = [str(v) for v in f.get("subprop_value") or []]
        actual = self._property(e, f["subprop_type"], f["subprop_key"])
        return _matches(f["subprop_op"], actual, values)

    # -- HTTP -------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        region, _, path = request.path.lstrip("/").partition("/")
        path = "/" + path
        auth = self._auth_problem(request)
        if auth:
            return auth
        if region != self.region:
            return _error(
                403,
                "forbidden",
                "Access denied due to lack of permission or invalid API/Secret key or wrong "
                "data region.",
            )
        try:
            if path == "/api/2/events/segmentation":
                return self._charged(self._segmentation(request))
            if path == "/api/2/funnels":
                return self._charged(self._funnels(request))
            if path == "/api/2/events/list":
                return self._charged((Response.json({"data": self._events_list()}), 1))
            if path == "/api/2/taxonomy/event-property":
                return self._event_properties(request)
            if path == "/api/2/taxonomy/user-property":
                return self._user_properties()
        except InvalidChartDefinition as exc:
            return _error(400, "invalid", "Invalid chart definition", exc.details)
        return _error(404, "not_found", f"No endpoint {path}")

    def _auth_problem(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Basic realm="Amplitude"'}
        if scheme.lower() != "basic" or not encoded:
            return _error(401, "unauthorized", "Missing basic authentication", **challenge)
        try:
            key, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return _error(401, "unauthorized", "Malformed basic authentication", **challenge)
        if key != self.api_key or secret != self.secret_key:
            return _error(401, "unauthorized", "Invalid API key or secret key", **challenge)
        return None

    def _charged(self, answer: tuple[Response, int]) -> Response:
        response, cost = answer
        with self._lock:
            clock = time.monotonic()
            self._spent = [(t, c) for t, c in self._spent if clock - t < self.budget_window_s]
            spent = sum(c for _, c in self._spent)
            if self.cost_budget is not None and spent + cost > self.cost_budget:
                wait = self.budget_window_s - (clock - self._spent[0][0]) if self._spent else 1
                return _error(
                    429,
                    "rate_limit",
                    f"Exceeded the cost limit of {self.cost_budget} per "
                    f"{self.budget_window_s:g} s: {spent} spent, this query costs {cost}",
                    **{"Retry-After": str(max(1, round(wait)))},
                )
            self._spent.append((clock, cost))
            self.costs.append(cost)
        return response

    def _window(self, request: Request) -> tuple[date, date, list[date]]:
        q = request.query
        if q.get("i", ["1"])[0] != "1":
            raise InvalidChartDefinition("Only daily intervals (i=1) are served by this sandbox")
        first, last = _day(q.get("start", [""])[0]), _day(q.get("end", [""])[0])
        if last < first:
            raise InvalidChartDefinition("end is before start")
        if (last - first).days + 1 > 365:
            raise InvalidChartDefinition("Daily series cover at most 365 days")
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return first, last, days

    def _event_def(self, text: str) -> dict[str, Any]:
        try:
            event_def = json.loads(text)
        except ValueError as exc:
            raise InvalidChartDefinition(f"Invalid event JSON: {exc}") from exc
        if not isinstance(event_def, dict):
            raise InvalidChartDefinition("Invalid event JSON: not an object")
        return event_def

    def _segmentation(self, request: Request) -> tuple[Response, int]:
        q = request.query
        if "e" not in q:
            raise InvalidChartDefinition("Missing event parameter e")
        event_def = self._event_def(q["e"][0])
        metric = q.get("m", ["uniques"])[0]
        if metric not in ("uniques", "totals", "sums"):
            raise InvalidChartDefinition(f"Unsupported metric {metric!r} in this sandbox")
        first, last, days = self._window(request)
        group_by = event_def.get("group_by") or []
        if len(group_by) > 1:
            raise InvalidChartDefinition("This sandbox groups by one property at most")
        events = self._events(event_def, first, last)
        groups: dict[Any, list[AmplitudeEvent]] = {}
        if metric == "sums":
            if not group_by:
                raise InvalidChartDefinition("Property metrics need a group by value in e")
            key = group_by[0]["value"]
            groups[0] = events
        elif group_by:
            kind, key = group_by[0].get("type"), group_by[0].get("value")
            known = {"user": {"plan", "platform", "country", "gp:plan"}}.get(kind)
            if known is not None and key not in known and key.removeprefix("gp:") not in known:
                raise InvalidChartDefinition(f"Invalid user property {key}")
            for e in events:
                value = self._property(e, kind, key)
                groups.setdefault("(none)" if value is None else str(value), []).append(e)
        else:
            groups[0] = events

        def measure(group: list[AmplitudeEvent]) -> float:
            if metric == "totals":
                return len(group)
            if metric == "uniques":
                return len({e.user for e in group})
            return sum(float(e.properties.get(key) or 0) for e in group)

        by_day: dict[Any, dict[date, list[AmplitudeEvent]]] = {
            label: defaultdict(list) for label in groups
        }
        for label, group in groups.items():
            for e in group:
                by_day[label][e.day].append(e)
        labels = list(groups)
        if group_by and metric != "sums":
            labels.sort(key=lambda g: -measure(groups[g]))
        limit = int(q.get("limit", ["100"])[0])
        labels = labels[:limit]
        series = [[_plain(measure(by_day[g][d])) for d in days] for g in labels]
        collapsed = [[{"setId": "", "value": _plain(measure(groups[g]))}] for g in labels]
        payload = {
            "data": {
                "series": series,
                "seriesLabels": labels,
                "seriesCollapsed": collapsed,
                "seriesMeta": [{"segmentIndex": 0} for _ in labels],
                "xValues": [d.isoformat() for d in days],
            }
        }
        cost = len(days) * (1 + 4 * len(group_by))
        return Response.json(payload), cost

    def _funnels(self, request: Request) -> tuple[Response, int]:
        q = request.query
        steps = [self._event_def(text) for text in q.get("e", [])]
        if len(steps) < 2:
            raise InvalidChartDefinition("A funnel needs at least two events")
        if q.get("mode", ["ordered"])[0] != "ordered":
            raise InvalidChartDefinition("This sandbox serves ordered funnels only")
        first, last, days = self._window(request)
        window = int(q.get("cs", [str(30 * 86_400)])[0])
        reach = timedelta(seconds=window)
        # Steps may complete after `last` (within the window), as in Amplitude.
        logs = [self._events(step, first, last + reach + timedelta(days=1)) for step in steps]
        by_user: list[dict[int, list[tuple[date, int]]]] = []
        for log in logs:
            times: dict[int, list[tuple[date, int]]] = defaultdict(list)
            for e in log:
                times[e.user].append((e.day, e.second))
            by_user.append({u: sorted(t) for u, t in times.items()})
        series = []
        for day in days:
            counts = [0] * len(steps)
            entrants = {
                u: min(t for t in ts if t[0] == day)
                for u, ts in by_user[0].items()
                if any(t[0] == day for t in ts)
            }
            for user, start in entrants.items():
                counts[0] += 1
                at = start
                deadline = (start[0] + reach, start[1])
                for i in range(1, len(steps)):
                    later = [t for t in by_user[i].get(user, []) if at <= t <= deadline]
                    if not later:
                        break
                    at = later[0]
                    counts[i] += 1
            series.append(counts)
        totals = [sum(day[i] for day in series) for i in range(len(steps))]
        cumulative = [t / totals[0] if totals[0] else 0.0 for t in totals]
        step_by_step = [1.0] + [
            totals[i] / totals[i - 1] if totals[i - 1] else 0.0 for i in range(1, len(steps))
        ]
        x_values = [d.isoformat() for d in days]
        formatted = [d.strftime("%b %d") for d in days]
        zeros = [[0] * len(steps) for _ in days]
        payload = {
            "data": [
                {
                    "meta": {"segmentIndex": 0},
                    "dayMedianTransTimes": {
                        "series": zeros,
                        "xValues": x_values,
                        "formattedXValues": formatted,
                    },
                    "dayAvgTransTimes": {
                        "series": zeros,
                        "xValues": x_values,
                        "formattedXValues": formatted,
                    },
                    "stepByStep": step_by_step,
                    "medianTransTimes": [0] * len(steps),
                    "cumulative": cumulative,
                    "cumulativeRaw": totals,
                    "avgTransTimes": [0] * len(steps),
                    "dayFunnels": {
                        "series": series,
                        "xValues": x_values,
                        "formattedXValues": formatted,
                    },
                    "events": [s.get("event_type") for s in steps],
                }
            ]
        }
        return Response.json(payload), len(days) * 2 * len(steps)

    def _events_list(self) -> list[dict[str, Any]]:
        week = self.now - timedelta(days=6)
        return [
            {
                "non_active": False,
                "value": name,
                "totals": sum(1 for e in self._by_type.get(name, []) if week <= e.day <= self.now),
                "deleted": False,
                "flow_hidden": False,
                "hidden": False,
                "display": name,
            }
            for name in sorted(set(self.event_types) | set(self._by_type))
        ]

    def _event_properties(self, request: Request) -> Response:
        event_type = request.query.get("event_type", [""])[0]
        names = sorted({k for e in self._by_type.get(event_type, []) for k in e.properties})
        return Response.json(
            {
                "success": True,
                "data": [
                    {
                        "event_property": n,
                        "event_type": event_type,
                        "description": "",
                        "type": "any",
                    }
                    for n in names
                ],
            }
        )

    def _user_properties(self) -> Response:
        return Response.json(
            {
                "success": True,
                "data": [{"user_property": "gp:plan", "description": "", "type": "string"}],
            }
        )


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def serve(
    sandbox: AmplitudeSandbox | None = None, port: int = 0
) -> tuple[SandboxServer, AmplitudeSandbox]:
    sandbox = sandbox or AmplitudeSandbox()
    return SandboxServer(sandbox, name="amplitude", port=port).start(), sandbox


def hosts(server: SandboxServer) -> dict[str, str]:
    """The environment that points the connector's two regions at the sandbox."""
    return {
        "AMPLITUDE_HOST": f"{server.base_url}/us",
        "AMPLITUDE_EU_HOST": f"{server.base_url}/eu",
    }
