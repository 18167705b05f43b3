"""The Mixpanel sandbox: the Raw Event Export API and the Query API's saved reports on 127.0.0.1.

Real paths and parameters (docs.mixpanel.com/reference, OpenAPI `export.openapi.yaml` and
`query.openapi.yaml`): `GET /api/2.0/export` (JSONL, gzip when asked), `GET /api/query/insights`
(`bookmark_id`), `GET /api/query/funnels` (`funnel_id`, `from_date`, `to_date`, `unit=day`),
`GET /api/query/events/names` and `/api/query/events/properties/top`. Answers follow the
samples in ../shared/api-samples (mixpanel_*): series keys with the project's UTC offset, funnel
`steps[].count`, the 429 body quoted in airbytehq/airbyte#9410 (no Retry-After). The 400/401
bodies use the same `{"request", "error"}` shape; their exact texts are not published.

Events are deterministic; each has an arrival time (`mp_processing_time_ms`), and an answer
holds only the events that have arrived by the sandbox's clock, so moving the clock on makes a
past day's count grow, as Mixpanel's late events do.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.base import Request, Response, SandboxServer

DEFAULT_USERNAME = "okr-sync.sandbox.mp-service-account"
DEFAULT_SECRET = "sandbox-mixpanel-service-account-secret"
DEMO_PROJECT_ID = 3141592

# The 429 answer as Mixpanel sends it (airbytehq/airbyte#9410), for the query path asked.
RATE_LIMIT_ERROR = (
    "Query rate limit exceeded for project_id: {project}. 1/5 queries running concurrently and "
    "61/60 queries running in the last hour. For more information, please consult our "
    "documentation at https://help.mixpanel.com/hc/en-us/articles/115004602563-Rate-Limits-for-"
    "Export-API-Endpoints"
)


@dataclass(frozen=True)
class Event:
    """One tracked event; `arrives` is when Mixpanel has it (late events arrive days later)."""

    event: str
    distinct_id: str
    time: int  # epoch seconds
    properties: dict[str, str] = field(default_factory=dict)
    arrives: int | None = None  # epoch seconds; None = at `time`

    @property
    def arrival(self) -> int:
        return self.time if self.arrives is None else self.arrives

    def line(self) -> dict[str, Any]:
        insert_id = hashlib.sha1(f"{self.event}|{self.distinct_id}|{self.time}".encode())
        return {
            "event": self.event,
            "properties": {
                "time": self.time,
                "distinct_id": self.distinct_id,
                "$insert_id": insert_id.hexdigest()[:36],
                "mp_processing_time_ms": self.arrival * 1000 + 417,
                **self.properties,
            },
        }


DEMO_EVENTS = ("Sign Up", "Project Created", "Editor Opened")
PLANS = ("free", "pro", "team")


def demo_events(
    first: date, last: date, timezone: str, extra_events: int = 0, users: int = 30
) -> list[Event]:
    """A product's events, the same every time: `users` users (30); every user opens the editor
    (k + day) % 3 times a day; every fifth user (by day) signs up at 09:00 and, for even k,
    creates a project 3 hours later (k % 4 == 2: two days later, outside a one-day window).
    Every seventh user's opens arrive two days late. `extra_events` more event names
    ("Event 001", ...) for the benchmark, (k + n + day) % 2 events each per user and day."""
    zone = ZoneInfo(timezone)
    out: list[Event] = []
    day = first
    while day <= last:
        start = int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())
        d = day.toordinal()
        for k in range(users):
            user = f"user-{k:03d}"
            plan = {"plan": PLANS[k % 3]}
            late = start + 2 * 86_400 + 3_600 if k % 7 == 0 else None
            for i in range((k + d) % 3):
                out.append(Event("Editor Opened", user, start + 36_000 + 600 * i + k, plan, late))
            if (k + d) % 5 == 0:
                out.append(Event("Sign Up", user, start + 32_400 + k, plan))
                if k % 2 == 0:
                    later = 2 * 86_400 if k % 4 == 2 else 10_800
                    out.append(Event("Project Created", user, start + 32_400 + later + k, plan))
            for n in range(extra_events):
                if (k + n + d) % 2:
                    out.append(Event(f"Event {n + 1:03d}", user, start + 40_000 + n + k, plan))
        day += timedelta(days=1)
    return out


# -- Mixpanel's filter expressions (the subset the connector writes) ---------------------------
_TOKEN = re.compile(
    r'\s*(?:(?P<prop>properties\[(?P<name>"(?:[^"\\]|\\.)*")\])|(?P<str>"(?:[^"\\]|\\.)*")'
    r"|(?P<op>==|!=|\(|\))|(?P<word>and|or|not)\b)"
)


def parse_where(text: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for `properties["p"] == "v"`, `!=`, `and`, `or`, `not` and parentheses;
    ValueError for anything else (Mixpanel answers 400)."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"cannot parse the where expression at {text[pos : pos + 20]!r}")
        kind = match.lastgroup if match.lastgroup != "name" else "prop"
        value = match.group("name") if match.group("prop") else match.group(kind)
        tokens.append(("prop" if match.group("prop") else kind, value))
        pos = match.end()
    at = 0

    def take() -> tuple[str, str]:
        nonlocal at
        if at >= len(tokens):
            raise ValueError("the where expression ends too early")
        at += 1
        return tokens[at - 1]

    def peek() -> str:
        return tokens[at][1] if at < len(tokens) else ""

    def disjunction() -> Callable[[dict[str, Any]], bool]:
        parts = [conjunction()]
        while peek() == "or":
            take()
            parts.append(conjunction())
        return lambda p: any(f(p) for f in parts)

    def conjunction() -> Callable[[dict[str, Any]], bool]:
        parts = [unary()]
        while peek() == "and":
            take()
            parts.append(unary())
        return lambda p: all(f(p) for f in parts)

    def unary() -> Callable[[dict[str, Any]], bool]:
        kind, value = take()
        if value == "not":
            inner = unary()
            return lambda p: not inner(p)
        if value == "(":
            inner = disjunction()
            if take()[1] != ")":
                raise ValueError("missing )")
            return inner
        if kind != "prop":
            raise ValueError(f"expected properties[...], found {value!r}")
        name = json.loads(value)
        op = take()[1]
        kind2, literal = take()
        if op not in ("==", "!=") or kind2 != "str":
            raise ValueError("expected == or != and a string")
        wanted = json.loads(literal)
        if op == "==":
            return lambda p: str(p.get(name)) == wanted
        return lambda p: str(p.get(name)) != wanted

    predicate = disjunction()
    if at != len(tokens):
        raise ValueError(f"unexpected {peek()!r} in the where expression")
    return predicate


@dataclass
class SavedReport:
    """A saved Insights report (total events per day of some events) or a saved funnel."""

    kind: str  # "insights" or "funnel"
    events: list[str]
    window_days: int = 7  # funnels: the conversion window
    days: int = 30  # insights: the report's own range, ending today


class MixpanelSandbox:
    """One project's events and saved reports behind Mixpanel's real paths."""

    def __init__(
        self,
        events: list[Event] | None = None,
        *,
        username: str = DEFAULT_USERNAME,
        secret: str = DEFAULT_SECRET,
        project_id: int = DEMO_PROJECT_ID,
        timezone: str = "UTC",
        now: datetime | None = None,
        reports: dict[int, SavedReport] | None = None,
        cache_exports: bool = False,
    ) -> None:
        self.username = username
        self.secret = secret
        self.project_id = project_id
        self.timezone = timezone
        self.now = now  # None: the wall clock
        self.events = list(events or [])
        self.reports = reports or {
            4113521: SavedReport("insights", ["Editor Opened"]),
            7509: SavedReport("funnel", ["Sign Up", "Project Created"], window_days=7),
        }
        self._lock = threading.Lock()
        self._sorted: list[Event] | None = None
        # The benchmark serves the same export answers to both of its clients: built once.
        self._export_cache: dict[tuple, Response] | None = {} if cache_exports else None

    # -- state -----------------------------------------------------------------------------
    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def add(self, *events: Event) -> None:
        with self._lock:
            self.events.extend(events)
            self._sorted = None

    def arrived(self) -> list[Event]:
        cutoff = int(self.clock().timestamp())
        with self._lock:
            if self._sorted is None:
                self._sorted = sorted(self.events, key=lambda e: e.time)
            return [e for e in self._sorted if e.arrival <= cutoff]

    def counted(self) -> list[Event]:
        """The arrived events as Mixpanel's reports count them: one per event name,
        distinct_id, time and $insert_id (the export hands out repeats as they were sent)."""
        seen: set[tuple[str, str, int]] = set()
        out = []
        for e in self.arrived():
            key = (e.event, e.distinct_id, e.time)
            if key not in seen:
                seen.add(key)
                out.append(e)
        return out

    def today(self) -> date:
        """Mixpanel's today in the project's zone, by the wall clock: a later to_date is a 400.
        (The sandbox's `now` only decides which events have arrived, so tests can replay
        October while the connector caps its requests at the real today.)"""
        return datetime.now(UTC).astimezone(ZoneInfo(self.timezone)).date()

    def arrival_day(self) -> date:
        return self.clock().astimezone(ZoneInfo(self.timezone)).date()

    def serve(self, port: int = 0) -> SandboxServer:
        return SandboxServer(self, name="mixpanel", port=port).start()

    # -- HTTP ------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        def error(status: int, message: str) -> Response:
            return Response.json({"request": request.path, "error": message}, status)

        if not self._authorised(request.headers.get("authorization", "")):
            return error(401, "Invalid credentials: check the service account")
        params = {k: v[-1] for k, v in request.query.items()}
        if params.get("project_id") != str(self.project_id):
            return error(400, "project_id is required and must be a project of this account")
        routes = {
            "/api/2.0/export": self._export,
            "/api/query/insights": self._insights,
            "/api/query/funnels": self._funnels,
            "/api/query/events/names": self._names,
            "/api/query/events/properties/top": self._properties,
        }
        route = routes.get(request.path)
        if route is None:
            return error(404, f"unknown path {request.path}")
        try:
            return route(request, params)
        except ValueError as exc:
            return error(400, str(exc))

    def rate_limited(self) -> Response:
        """The 429 Mixpanel answers when the hourly query limit is spent (for fault tests)."""
        return Response.json(
            {
                "request": "/api/2.0/export",
                "error": RATE_LIMIT_ERROR.format(project=self.project_id),
            },
            429,
        )

    def _authorised(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == self.username and password == self.secret

    def _dates(self, params: dict[str, str]) -> tuple[date, date]:
        try:
            first = date.fromisoformat(params["from_date"])
            last = date.fromisoformat(params["to_date"])
        except (KeyError, ValueError) as exc:
            raise ValueError("from_date and to_date are required, as yyyy-mm-dd") from exc
        if last > self.today():
            raise ValueError("to_date cannot be later than today")
        if first > last:
            raise ValueError("from_date cannot be later than to_date")
        return first, last

    def _export(self, request: Request, params: dict[str, str]) -> Response:
        if self._export_cache is None:
            return self._export_answer(request, params)
        key = (tuple(sorted(params.items())), request.headers.get("accept-encoding", ""))
        if key not in self._export_cache:
            self._export_cache[key] = self._export_answer(request, params)
        return self._export_cache[key]

    def _export_answer(self, request: Request, params: dict[str, str]) -> Response:
        # Days of projects created since 2023 are UTC days (export.openapi.yaml, from_date).
        first, last = self._dates(params)
        low = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp())
        high = int(datetime(last.year, last.month, last.day, tzinfo=UTC).timestamp()) + 86_400
        names = set(json.loads(params["event"])) if params.get("event") else None
        keep = parse_where(params["where"]) if params.get("where") else None
        lines = []
        for e in self.arrived():
            wanted = low <= e.time < high and (names is None or e.event in names)
            if wanted and (keep is None or keep(e.properties)):
                lines.append(json.dumps(e.line()))
        body = "".join(line + "\n" for line in lines).encode()
        headers = {}
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        return Response(200, body, headers, content_type="text/plain; charset=utf-8")

    def _day_of(self, e: Event) -> date:
        return datetime.fromtimestamp(e.time, ZoneInfo(self.timezone)).date()

    def _offset_key(self, day: date) -> str:
        local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(self.timezone))
        return local.isoformat()

    def _insights(self, _request: Request, params: dict[str, str]) -> Response:
        report = self.reports.get(int(params.get("bookmark_id") or 0))
        if report is None or report.kind != "insights":
            raise ValueError(f"bookmark_id {params.get('bookmark_id')} is not a saved report")
        last = self.arrival_day()
        first = last - timedelta(days=report.days - 1)
        series: dict[str, dict[str, int]] = {}
        for name in report.events:
            counts = {self._offset_key(first + timedelta(days=i)): 0 for i in range(report.days)}
            for e in self.counted():
                day = self._day_of(e)
                if e.event == name and first <= day <= last:
                    counts[self._offset_key(day)] += 1
            series[name] = counts
        zone = ZoneInfo(self.timezone)
        end = datetime(last.year, last.month, last.day, 23, 59, 59, 999000, tzinfo=zone)
        return Response.json(
            {
                "computed_at": self.clock().isoformat(),
                "date_range": {
                    "from_date": self._offset_key(first),
                    "to_date": end.isoformat(),
                },
                "headers": ["$event"],
                "series": series,
            }
        )

    def _funnels(self, _request: Request, params: dict[str, str]) -> Response:
        report = self.reports.get(int(params.get("funnel_id") or 0))
        if report is None or report.kind != "funnel":
            raise ValueError(f"funnel_id {params.get('funnel_id')} is not a saved funnel")
        first, last = self._dates(params)
        window = report.window_days * 86_400
        by_user: dict[str, list[Event]] = {}
        for e in self.counted():
            by_user.setdefault(e.distinct_id, []).append(e)
        data: dict[str, Any] = {}
        day = first
        while day <= last:
            counts = [0] * len(report.events)
            for events in by_user.values():
                starts = [
                    e.time for e in events if e.event == report.events[0] and self._day_of(e) == day
                ]
                if not starts:
                    continue
                t0 = t = min(starts)
                reached = 1
                for step in report.events[1:]:
                    later = [
                        e.time for e in events if e.event == step and t <= e.time <= t0 + window
                    ]
                    if not later:
                        break
                    t = min(later)
                    reached += 1
                for i in range(reached):
                    counts[i] += 1
            data[day.isoformat()] = {
                "steps": [
                    {
                        "count": n,
                        "step_conv_ratio": (n / counts[i - 1]) if i and counts[i - 1] else 1,
                        "goal": name,
                        "overall_conv_ratio": (n / counts[0]) if counts[0] else 0,
                        "event": name,
                    }
                    for i, (name, n) in enumerate(zip(report.events, counts, strict=True))
                ],
                "analysis": {
                    "completion": counts[-1],
                    "starting_amount": counts[0],
                    "steps": len(counts),
                    "worst": 1,
                },
            }
            day += timedelta(days=1)
        dates = sorted(data)
        return Response.json({"meta": {"dates": dates}, "data": data})

    def _names(self, _request: Request, _params: dict[str, str]) -> Response:
        return Response.json(sorted({e.event for e in self.events}))

    def _properties(self, _request: Request, params: dict[str, str]) -> Response:
        counts: dict[str, int] = {}
        for e in self.events:
            if e.event == params.get("event"):
                for name in ("distinct_id", "time", *e.properties):
                    counts[name] = counts.get(name, 0) + 1
        return Response.json({name: {"count": n} for name, n in counts.items()})
