"""A Matomo Reporting API on 127.0.0.1 with deterministic data, for the demo, tests, benchmarks.

It speaks the wire format of Matomo 5 (`index.php?module=API`, `format=JSON`): day-range
answers keyed by date, `[]` for empty days, percentages as strings ("2.13%"), application
errors as HTTP 200 `{"result":"error","message":...}` (at the top level and inside bulk
lists), 401 for refused tokens, 400 above the bulk limit, and Matomo 5's secure-only tokens
(a `token_auth` in the URL is refused). Messages are Matomo's own where known.

Data is a pure function of (site, day): weekly seasonality, a trend, and small noise from a
hash (no global random state), so every run on any day sees the same numbers. The demo story
for 2026-Q4: the homepage loads in ~1.9 s on 1 Oct and ~1.5 s by late November; the
newsletter signup goal (idGoal 1) converts ~2 % of visits, rising a little.

Only `day` and `range` periods and the segments `pageUrl`, `visitorType` and `referrerType`
are simulated; anything else Matomo knows is refused with a message saying so. A `pageUrl`
segment keeps, in visit-level reports (VisitsSummary, Goals, Referrers), the visits that saw
a matching page, and in action-level reports (Actions.*, PagePerformance) only the matching
pages' pageviews; so PagePerformance.get and Actions.get of one segment count the same loads.

Usage: `server, sandbox = serve()` then point `MatomoSettings(base_url=server.base_url,
site_id=1, token=DEFAULT_TOKEN)` at it; `SandboxServer.inject(Fault(...))` for HTTP faults,
`sandbox.fail_method(...)` for Matomo application errors, `sandbox.set_day(...)` for
hand-made days, `sandbox.bulk_limit` / `unique_visitors_range` / `now` for server settings.
Sites: 1 "Shop" (Europe/Berlin), 2 "Shop NZ" (Pacific/Auckland), 3 "Shop IN" (UTC+5.5);
goals 1 "Newsletter signup" and 2 "Trial started"; pages https://shop.example/ (homepage),
/pricing, /signup, /about, /contact and 150 blog posts (`SandboxSite.blog_posts`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import random
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from sandbox.base import Request, Response, SandboxServer

DEFAULT_TOKEN = "sandbox-token"
MATOMO_VERSION = "5.2.0"
# Matomo's default `filter_limit` for row reports: silently keeps the first 100 rows.
DEFAULT_FILTER_LIMIT = 100
ANSWER_CACHE_SIZE = 500_000

VISITOR_TYPES = ("new", "returning")
REFERRER_TYPES = {
    "direct": "Direct Entry",
    "search": "Search Engines",
    "website": "Websites",
    "campaign": "Campaigns",
    "social": "Social Networks",
}
PERF_COMPONENTS = ("network", "server", "transfer", "dom_processing", "dom_completion", "on_load")
# Share of a page load spent in each component (sums to 1).
PERF_SHARES = (0.04, 0.16, 0.10, 0.44, 0.19, 0.07)

# --- the demo story -----------------------------------------------------------------------------

Q3_START = date(2026, 7, 1)
Q4_START = date(2026, 10, 1)
HOMEPAGE_IMPROVED_BY = date(2026, 11, 25)
HOMEPAGE_LOAD_BEFORE = 1.93  # seconds, all of Q3 and 1 Oct
HOMEPAGE_LOAD_AFTER = 1.50  # seconds, reached by HOMEPAGE_IMPROVED_BY
NEW_SHARE = 0.62
REFERRER_SHARES = {
    "direct": 0.28,
    "search": 0.41,
    "website": 0.12,
    "campaign": 0.11,
    "social": 0.08,
}
ACTIONS_PER_VISIT = {"direct": 3.1, "search": 3.6, "website": 2.9, "campaign": 2.4, "social": 1.9}
BOUNCE_RATE = {"direct": 0.42, "search": 0.38, "website": 0.45, "campaign": 0.52, "social": 0.61}
CONVERSION_FACTOR = {
    "new": 0.85,
    "returning": 1.25,
    "direct": 1.1,
    "search": 1.0,
    "website": 0.9,
    "campaign": 1.3,
    "social": 0.6,
}
WEEKDAY_FACTOR = (1.05, 1.08, 1.06, 1.02, 0.95, 0.68, 0.62)  # Monday first
# New visitors load pages with a cold cache: their loads are slower than returning ones'.
LOAD_TIME_NEW_VISITOR_EFFECT = 0.25


def _unit(*parts: object) -> float:
    """Deterministic noise in [0, 1) for any key (stable across processes, unlike hash())."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _day_noise(site_id: int, day: date, part: str) -> random.Random:
    """A private generator seeded by (site, day, part): one hash per day instead of one per
    number, still a pure function of its key, and no global random state."""
    return random.Random(int(_unit(site_id, day.toordinal(), part) * 2**53))


# --- sites --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    name: str
    revenue: float = 0.0
    base_rate: float = 0.006


@dataclass(frozen=True)
class SandboxSite:
    id: int
    name: str
    main_url: str
    timezone: str = "UTC"
    created: str = "2024-01-15 09:30:00"  # ts_created, UTC as Matomo stores it
    scale: float = 1.0  # traffic relative to the reference site
    currency: str = "EUR"
    # (idGoal, goal) pairs: a tuple keeps the site hashable for the day cache.
    goals: tuple[tuple[int, Goal], ...] = (
        (1, Goal("Newsletter signup")),
        (2, Goal("Trial started", revenue=25.0, base_rate=0.006)),
    )
    blog_posts: int = 150  # > 100 so that Matomo's default filter_limit truncates

    @property
    def goal_map(self) -> dict[int, Goal]:
        return dict(self.goals)


DEFAULT_SITES = (
    SandboxSite(1, "Shop", "https://shop.example", "Europe/Berlin"),
    SandboxSite(2, "Shop NZ", "https://shop.example.nz", "Pacific/Auckland", scale=0.35),
    SandboxSite(3, "Shop IN", "https://shop.example.in", "UTC+5.5", scale=0.2),
)


@lru_cache(maxsize=1024)
def _created_day(site: SandboxSite) -> date:
    created = datetime.fromisoformat(site.created).replace(tzinfo=UTC)
    return created.astimezone(site_tz(site.timezone)).date()


@lru_cache(maxsize=1024)
def site_tz(name: str) -> tzinfo:
    manual = re.fullmatch(r"UTC(?:([+-]\d{1,2}(?:\.\d+)?))?", name)
    if manual:
        return timezone(timedelta(hours=float(manual.group(1) or 0)))
    return ZoneInfo(name)


# --- one day of data ----------------------------------------------------------------------------


@dataclass(slots=True)
class Cell:
    """Visits of one (visitor type, referrer type) on one day, with what they did."""

    visitor_type: str
    referrer_type: str
    visits: int
    actions: int = 0
    bounces: int = 0
    visit_length: int = 0
    uniq_visitors: int = 0
    users: int = 0
    max_actions: int = 0
    conversions: dict[int, int] = field(default_factory=dict)
    revenue: dict[int, float] = field(default_factory=dict)


@dataclass(slots=True)
class PageDay:
    """One page on one day: its visits, pageviews and average load time (seconds)."""

    url: str
    label: str
    visits: int
    hits: int
    load_time: float
    entries: int = 0
    entry_bounces: int = 0
    exits: int = 0
    time_spent: int = 0


@dataclass(slots=True)
class Day:
    cells: list[Cell]
    page_list: list[PageDay] | None = None
    # Generated pages are built on first use: visit-level reports never need them.
    page_loader: Callable[[], list[PageDay]] | None = None
    # Memo of the cells as vectors, (goal ids, {cell key: vector}); see `_visits`.
    vectors: tuple[tuple[int, ...], dict[tuple[str, str], tuple]] | None = None

    @property
    def pages(self) -> list[PageDay]:
        if self.page_list is None:
            self.page_list = self.page_loader() if self.page_loader else []
        return self.page_list

    @classmethod
    def simple(
        cls,
        visits: int,
        *,
        conversions: dict[int, int] | None = None,
        revenue: dict[int, float] | None = None,
        bounces: int = 0,
        actions: int | None = None,
        visit_length: int = 0,
        pages: Iterable[PageDay] = (),
    ) -> Day:
        """A hand-made day: all visits new and direct, for tests with hand-computed numbers."""
        cell = Cell(
            "new",
            "direct",
            visits,
            actions if actions is not None else visits,
            bounces,
            visit_length,
            visits,
            0,
            1 if visits else 0,
            dict(conversions or {}),
            dict(revenue or {}),
        )
        return cls([cell], list(pages))


def page(url: str, visits: int, hits: int | None = None, load_time: float = 2.0) -> PageDay:
    """A hand-made page row (label as Matomo's flattened Page URLs report shows it)."""
    return PageDay(
        url,
        _label(url),
        visits,
        hits if hits is not None else visits,
        load_time,
        entries=visits // 2,
        exits=visits // 3,
        time_spent=30 * (hits or visits),
    )


def _label(url: str) -> str:
    path = urlsplit(url).path.strip("/")
    if not path:
        return "/index"
    return path if "/" in path else f"/{path}"


@dataclass(frozen=True)
class _PageDef:
    url: str
    label: str
    share: float  # of the day's visits that view it
    hits_per_visit: float
    entry_share: float
    exit_share: float
    kind: str  # home | static | blog
    base_load: float  # seconds, the page's usual load time (not used for the homepage)


@lru_cache(maxsize=64)
def _site_pages(site: SandboxSite) -> tuple[_PageDef, ...]:
    base = site.main_url.rstrip("/")
    pages = [
        _PageDef(f"{base}/", "/index", 0.55, 1.15, 0.58, 0.30, "home", 0.0),
        _PageDef(f"{base}/pricing", "/pricing", 0.20, 1.10, 0.10, 0.35, "static", 0.0),
        _PageDef(f"{base}/signup", "/signup", 0.09, 1.30, 0.03, 0.25, "static", 0.0),
        _PageDef(f"{base}/about", "/about", 0.05, 1.02, 0.04, 0.40, "static", 0.0),
        _PageDef(f"{base}/contact", "/contact", 0.03, 1.05, 0.01, 0.45, "static", 0.0),
    ]
    weights = [1 / (r**1.05) for r in range(1, site.blog_posts + 1)]
    total = sum(weights)
    for rank, weight in enumerate(weights, start=1):
        pages.append(
            _PageDef(
                f"{base}/blog/post-{rank:03d}",
                f"blog/post-{rank:03d}",
                0.30 * weight / total,
                1.08,
                0.70,
                0.75,
                "blog",
                0.0,
            )
        )
    return tuple(
        _PageDef(**{**p.__dict__, "base_load": 2.0 + 0.5 * _unit(site.id, p.url)}) for p in pages
    )


def homepage_load_time(day: date) -> float:
    """The demo's blended homepage load time before noise: flat in Q3, improving in Q4."""
    if day <= Q4_START:
        return HOMEPAGE_LOAD_BEFORE
    span = (HOMEPAGE_IMPROVED_BY - Q4_START).days
    progress = min(1.0, (day - Q4_START).days / span)
    settled = max(0, (day - HOMEPAGE_IMPROVED_BY).days)
    return (
        HOMEPAGE_LOAD_BEFORE
        - (HOMEPAGE_LOAD_BEFORE - HOMEPAGE_LOAD_AFTER) * progress
        - 0.02 * min(1.0, settled / 30)
    )


def newsletter_rate(day: date) -> float:
    """The demo's newsletter conversion rate before noise: ~1.9 % in Q3, rising in Q4."""
    if day < Q4_START:
        return 0.0186 + 0.0006 * min(1.0, max(0, (day - Q3_START).days) / 92)
    return 0.0195 + 0.0035 * min(1.0, (day - Q4_START).days / 80)


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    raw = [total * w for w in weights]
    counts = [math.floor(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


_CELL_KEYS = [(vt, rt) for vt in VISITOR_TYPES for rt in REFERRER_TYPES]
_CELL_WEIGHTS = [
    (NEW_SHARE if vt == "new" else 1 - NEW_SHARE) * REFERRER_SHARES[rt] for vt, rt in _CELL_KEYS
]


@lru_cache(maxsize=200_000)
def generated_day(site: SandboxSite, day: date) -> Day:
    """The full (finished) day of generated data for a site."""
    weekday = WEEKDAY_FACTOR[day.weekday()]
    trend = 1 + 0.15 * (day - date(2026, 1, 1)).days / 365
    rng = _day_noise(site.id, day, "visits")
    noise = 0.94 + 0.12 * rng.random()
    visits = max(0, round(1500 * site.scale * weekday * trend * noise))
    weekend = day.weekday() >= 5

    cells = []
    for (vt, rt), v in zip(_CELL_KEYS, _largest_remainder(visits, _CELL_WEIGHTS), strict=True):
        u = rng.random()
        apv = ACTIONS_PER_VISIT[rt] + (0.8 if vt == "returning" else 0.0)
        bounce = BOUNCE_RATE[rt] - (0.08 if vt == "returning" else 0.0)
        conversions: dict[int, int] = {}
        revenue: dict[int, float] = {}
        for goal_id, goal in site.goal_map.items():
            rate = newsletter_rate(day) if goal_id == 1 else goal.base_rate
            rate *= CONVERSION_FACTOR[vt] * CONVERSION_FACTOR[rt] * (1.06 if weekend else 1.0)
            n = round(v * rate * (0.85 + 0.3 * rng.random()))
            conversions[goal_id] = n
            revenue[goal_id] = round(n * goal.revenue, 2)
        actions = round(v * apv * (0.95 + 0.1 * u))
        cells.append(
            Cell(
                vt,
                rt,
                v,
                actions,
                round(v * bounce),
                round(actions * 62 * (0.9 + 0.2 * u)),
                round(v * 0.87),
                round(v * 0.04),
                (12 + int(25 * u)) if v else 0,
                conversions,
                revenue,
            )
        )

    return Day(cells, page_loader=functools.partial(_generated_pages, site, day, visits))


def _generated_pages(site: SandboxSite, day: date, visits: int) -> list[PageDay]:
    rng = _day_noise(site.id, day, "pages")
    weekend = day.weekday() >= 5
    pages = []
    for p in _site_pages(site):
        u = rng.random()
        pv = round(visits * p.share * (0.9 + 0.2 * u))
        if p.kind == "blog" and visits:
            pv += 1  # the long tail is read every day (keeps > 100 rows in the report)
        hits = max(pv, round(pv * p.hits_per_visit))
        if p.kind == "home":
            load = homepage_load_time(day) - (0.04 if weekend else 0.0) + 0.1 * (u - 0.5)
        else:
            load = p.base_load + 0.12 * (u - 0.5)
        entries = round(pv * p.entry_share)
        pages.append(
            PageDay(
                p.url,
                p.label,
                pv,
                hits,
                round(load, 4),
                entries,
                round(entries * 0.4),
                round(pv * p.exit_share),
                round(hits * (35 + 20 * u)),
            )
        )
    return pages


def _scaled(day: Day, fraction: float) -> Day:
    """A day seen part-way through: counts so far (today's numbers keep growing)."""

    def s(n: int) -> int:
        return round(n * fraction)

    cells = [
        Cell(
            c.visitor_type,
            c.referrer_type,
            s(c.visits),
            s(c.actions),
            s(c.bounces),
            s(c.visit_length),
            s(c.uniq_visitors),
            s(c.users),
            c.max_actions,
            {g: s(n) for g, n in c.conversions.items()},
            {g: round(r * fraction, 2) for g, r in c.revenue.items()},
        )
        for c in day.cells
    ]
    pages = [
        PageDay(
            p.url,
            p.label,
            s(p.visits),
            s(p.hits),
            p.load_time,
            s(p.entries),
            s(p.entry_bounces),
            s(p.exits),
            s(p.time_spent),
        )
        for p in day.pages
    ]
    return Day(cells, pages)


# --- segments -----------------------------------------------------------------------------------


class MatomoError(Exception):
    """An application error, rendered as {"result":"error","message":...}."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.status = status


_SEGMENT_OPS = ("==", "!=", "=@", "!@", "=^", "=$")
_SIMULATED_SEGMENTS = {"pageUrl", "visitorType", "referrerType"}
SEGMENTS_METADATA = [
    {"type": "dimension", "category": "Behaviour", "name": "Action URL", "segment": "pageUrl"},
    {
        "type": "dimension",
        "category": "Behaviour",
        "name": "Entry Page URL",
        "segment": "entryPageUrl",
    },
    {
        "type": "dimension",
        "category": "Behaviour",
        "name": "Exit Page URL",
        "segment": "exitPageUrl",
    },
    {
        "type": "dimension",
        "category": "Visitors",
        "name": "Visit type",
        "segment": "visitorType",
        "acceptedValues": "new, returning, returningCustomer.",
    },
    {
        "type": "dimension",
        "category": "Referrers",
        "name": "Channel type",
        "segment": "referrerType",
        "acceptedValues": "direct, search, website, campaign, social",
    },
    {
        "type": "dimension",
        "category": "Referrers",
        "name": "Referrer name",
        "segment": "referrerName",
    },
    {"type": "dimension", "category": "Devices", "name": "Device type", "segment": "deviceType"},
    {"type": "dimension", "category": "Software", "name": "Browser code", "segment": "browserCode"},
    {
        "type": "dimension",
        "category": "Visit Location",
        "name": "Country",
        "segment": "countryCode",
    },
    {"type": "dimension", "category": "Visitors", "name": "User ID", "segment": "userId"},
    {
        "type": "metric",
        "category": "Goals",
        "name": "Visit converted a specific Goal Id",
        "segment": "visitConvertedGoalId",
    },
]
_KNOWN_SEGMENTS = {s["segment"] for s in SEGMENTS_METADATA}


def _match(op: str, actual: str, wanted: str) -> bool:
    if op == "==":
        return actual == wanted
    if op == "!=":
        return actual != wanted
    if op == "=@":
        return wanted in actual
    if op == "!@":
        return wanted not in actual
    if op == "=^":
        return actual.startswith(wanted)
    return actual.endswith(wanted)


@dataclass(frozen=True)
class Selection:
    """What a segment keeps: (visitor type, referrer type) cells and, maybe, some pages."""

    cells: frozenset[tuple[str, str]]
    page_groups: tuple[tuple[tuple[str, str], ...], ...] = ()  # AND of ORs of (op, url)

    def keeps_page(self, url: str) -> bool:
        return _keeps_page(self, url)


@lru_cache(maxsize=200_000)
def _keeps_page(sel: Selection, url: str) -> bool:
    return all(any(_match(op, url, value) for op, value in group) for group in sel.page_groups)


ALL = Selection(frozenset(_CELL_KEYS))


@lru_cache(maxsize=4096)
def parse_segment(segment: str) -> Selection:
    if not segment:
        return ALL
    cells = set(_CELL_KEYS)
    page_groups = []
    for condition in segment.split(";"):
        terms = []
        for term in condition.split(","):
            for op in _SEGMENT_OPS:
                name, sep, value = term.partition(op)
                if sep and re.fullmatch(r"[A-Za-z0-9_.]+", name):
                    terms.append((name, op, unquote(value)))
                    break
            else:
                raise MatomoError(f"The segment condition '{term}' is not valid.")
        names = {name for name, _, _ in terms}
        for name in names:
            if name not in _KNOWN_SEGMENTS:
                raise MatomoError(f"Segment '{condition}' is not a supported segment.")
            if name not in _SIMULATED_SEGMENTS:
                raise MatomoError(
                    f"sandbox: segment '{name}' is valid in Matomo but not simulated here "
                    f"(simulated: {', '.join(sorted(_SIMULATED_SEGMENTS))})"
                )
        if names == {"pageUrl"}:
            page_groups.append(tuple((op, value) for _, op, value in terms))
            continue
        if "pageUrl" in names:
            raise MatomoError("sandbox: OR between pageUrl and other dimensions is not simulated")
        kept = set()
        for vt, rt in _CELL_KEYS:
            for name, op, value in terms:
                actual = vt if name == "visitorType" else rt
                if name == "visitorType" and value == "returningCustomer":
                    value = "returning"
                if _match(op, actual, value):
                    kept.add((vt, rt))
                    break
        cells &= kept
    return Selection(frozenset(cells), tuple(page_groups))


# --- counting what a selection sees ------------------------------------------------------------


# A cell's visit-level numbers as one tuple, so a selection is a handful of tuple sums:
# (visits, actions, bounces, visit length, unique visitors, users, max actions, visits
# converted, conversions per goal..., revenue per goal...). Goals in the site's id order.
V_VISITS, V_ACTIONS, V_BOUNCES, V_LENGTH, V_UNIQ, V_USERS, V_MAX, V_CONVERTED = range(8)
GOALS_AT = 8
Vector = tuple


def _cell_vector(c: Cell, goals: tuple[int, ...]) -> Vector:
    conversions = [c.conversions.get(g, 0) for g in goals]
    return (
        c.visits,
        c.actions,
        c.bounces,
        c.visit_length,
        c.uniq_visitors,
        c.users,
        c.max_actions,
        min(c.visits, sum(conversions)),
        *conversions,
        *[c.revenue.get(g, 0.0) for g in goals],
    )


def _scale_vector(vec: Vector, reach: float, n_goals: int) -> Vector | None:
    visits = round(vec[V_VISITS] * reach)
    if visits == 0:
        return None
    f = visits / vec[V_VISITS]
    conversions = [round(x * f) for x in vec[GOALS_AT : GOALS_AT + n_goals]]
    revenue = [round(x * f, 2) for x in vec[GOALS_AT + n_goals :]]
    return (
        visits,
        *[round(x * f) for x in vec[V_ACTIONS:V_MAX]],
        vec[V_MAX],
        min(visits, sum(conversions)),
        *conversions,
        *revenue,
    )


def _sum_vectors(vectors: Iterable[Vector]) -> Vector | None:
    vectors = list(vectors)
    if not vectors:
        return None
    if len(vectors) == 1:
        return vectors[0]
    total = [sum(column) for column in zip(*vectors, strict=True)]
    total[V_MAX] = max(v[V_MAX] for v in vectors)
    return tuple(total)


@dataclass(frozen=True)
class Visits:
    """The selected visits of one period, per (visitor type, referrer type) cell."""

    cells: dict[tuple[str, str], Vector]
    goals: tuple[int, ...]
    days: int  # distinct visitors over several days are fewer than the daily sum
    unique: bool  # False: the server doesn't compute uniques for this period

    def total(self, keep: Callable[[tuple[str, str]], bool] | None = None) -> Vector | None:
        return _sum_vectors(v for k, v in self.cells.items() if keep is None or keep(k))

    def uniques(self, vec: Vector) -> tuple[int | None, int | None]:
        if not self.unique:
            return None, None
        overlap = 1 - 0.35 * (1 - 1 / self.days)
        return round(vec[V_UNIQ] * overlap), round(vec[V_USERS] * overlap)


def _visits(days: list[Day], sel: Selection, goals: tuple[int, ...], unique: bool) -> Visits:
    """Visit-level numbers of the selected visits (with a page filter: visits that saw one)."""
    per_key: dict[tuple[str, str], list[Vector]] = {}
    for day in days:
        if day.vectors is None or day.vectors[0] != goals:
            day.vectors = (
                goals,
                {
                    (c.visitor_type, c.referrer_type): _cell_vector(c, goals)
                    for c in day.cells
                    if c.visits
                },
            )
        reach = 1.0
        if sel.page_groups:
            total = sum(c.visits for c in day.cells)
            seen = sum(p.visits for p in day.pages if sel.keeps_page(p.url))
            reach = min(1.0, seen / total) if total else 0.0
        for key, vec in day.vectors[1].items():
            if key in sel.cells:
                scaled = vec if reach == 1.0 else _scale_vector(vec, reach, len(goals))
                if scaled is not None:
                    per_key.setdefault(key, []).append(scaled)
    cells = {k: v for k, v in ((k, _sum_vectors(vs)) for k, vs in per_key.items()) if v}
    return Visits(cells, goals, max(1, len(days)), unique)


def _new_share(day: Day, sel: Selection) -> tuple[float, float]:
    """(selected visits / all visits, new-visitor share of the selected visits)."""
    total = sum(c.visits for c in day.cells)
    kept = [c for c in day.cells if (c.visitor_type, c.referrer_type) in sel.cells]
    kept_visits = sum(c.visits for c in kept)
    new = sum(c.visits for c in kept if c.visitor_type == "new")
    all_new = sum(c.visits for c in day.cells if c.visitor_type == "new")
    fraction = kept_visits / total if total else 0.0
    new_share = new / kept_visits if kept_visits else 0.0
    base_new = all_new / total if total else 0.0
    return fraction, new_share - base_new


def _page_counts(day: Day, sel: Selection) -> dict[str, dict[str, Any]]:
    """Per page URL: what the selected visits did there (action-level, pages filtered)."""
    fraction, new_excess = _new_share(day, sel)
    load_factor = 1 + LOAD_TIME_NEW_VISITOR_EFFECT * new_excess
    out = {}
    for p in day.pages:
        if sel.page_groups and not sel.keeps_page(p.url):
            continue
        visits = round(p.visits * fraction)
        hits = round(p.hits * fraction)
        if visits == 0 and hits == 0:
            continue
        load = p.load_time * load_factor
        out[p.url] = {
            "label": p.label,
            "visits": visits,
            "hits": hits,
            "uniq": round(visits * 0.93),
            "entries": round(p.entries * fraction),
            "entry_bounces": round(p.entry_bounces * fraction),
            "exits": round(p.exits * fraction),
            "time_spent": round(p.time_spent * fraction),
            "time": [hits * load * share for share in PERF_SHARES],
            "min": [load * share * 0.45 for share in PERF_SHARES],
            "max": [load * share * 2.8 for share in PERF_SHARES],
        }
    return out


def _merge_pages(per_day: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    if len(per_day) == 1:
        return per_day[0]
    merged: dict[str, dict[str, Any]] = {}
    for pages in per_day:
        for url, row in pages.items():
            into = merged.get(url)
            if into is None:
                merged[url] = {
                    **row,
                    "time": list(row["time"]),
                    "min": list(row["min"]),
                    "max": list(row["max"]),
                }
                continue
            for key in (
                "visits",
                "hits",
                "uniq",
                "entries",
                "entry_bounces",
                "exits",
                "time_spent",
            ):
                into[key] += row[key]
            into["time"] = [a + b for a, b in zip(into["time"], row["time"], strict=True)]
            into["min"] = [min(a, b) for a, b in zip(into["min"], row["min"], strict=True)]
            into["max"] = [max(a, b) for a, b in zip(into["max"], row["max"], strict=True)]
    return merged


# --- rendering like Matomo (format_metrics=bc unless asked otherwise) ---------------------------


def _pct(numerator: float, denominator: float, decimals: int, fmt: str) -> Any:
    quotient = numerator / denominator if denominator else 0.0
    if fmt == "0":
        return round(quotient, decimals + 2)
    text = f"{round(quotient * 100, decimals):.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def _seconds(value: float, decimals: int, fmt: str, clock: bool = False) -> Any:
    if fmt != "1":
        return round(value, decimals) if decimals else round(value)
    if clock:
        whole = round(value)
        return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"{round(value, decimals)}s"


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


def render_visits_summary(visits: Visits, fmt: str) -> Any:
    t = visits.total()
    if t is None:
        return []
    row: dict[str, Any] = {}
    uniq, users = visits.uniques(t)
    if uniq is not None:
        row.update(nb_uniq_visitors=uniq, nb_users=users)
    row.update(
        nb_visits=t[V_VISITS],
        nb_actions=t[V_ACTIONS],
        nb_visits_converted=t[V_CONVERTED],
        bounce_count=t[V_BOUNCES],
        sum_visit_length=t[V_LENGTH],
        max_actions=t[V_MAX],
        bounce_rate=_pct(t[V_BOUNCES], t[V_VISITS], 0, fmt),
        nb_actions_per_visit=round(_div(t[V_ACTIONS], t[V_VISITS]), 1),
        avg_time_on_site=_seconds(_div(t[V_LENGTH], t[V_VISITS]), 0, fmt, True),
    )
    return row


def _goal_parts(vec: Vector, goals: tuple[int, ...], id_goal: int | None) -> tuple[int, float]:
    """(conversions, revenue) of one goal, or of all goals when id_goal is None."""
    n = len(goals)
    picked = range(n) if id_goal is None else [i for i, g in enumerate(goals) if g == id_goal]
    return (
        sum(vec[GOALS_AT + i] for i in picked),
        round(sum(vec[GOALS_AT + n + i] for i in picked), 2),
    )


def render_goals(visits: Visits, id_goal: int | None, fmt: str) -> Any:
    t = visits.total()
    if t is None:
        return []
    # An unknown idGoal has no conversions: Matomo answers zeros, not an error.
    conversions, revenue = _goal_parts(t, visits.goals, id_goal)
    converted = conversions if id_goal is not None else t[V_CONVERTED]
    row: dict[str, Any] = {
        "nb_conversions": conversions,
        "nb_visits_converted": converted,
        "revenue": _money(revenue),
        "conversion_rate": _pct(converted, t[V_VISITS], 2, fmt),
    }
    for vt, suffix in (("new", "new_visit"), ("returning", "returning_visit")):
        part = visits.total(lambda key, vt=vt: key[0] == vt)
        n, amount = _goal_parts(part, visits.goals, id_goal) if part else (0, 0.0)
        row[f"nb_conversions_{suffix}"] = n
        row[f"nb_visits_converted_{suffix}"] = n
        row[f"revenue_{suffix}"] = _money(amount)
        row[f"conversion_rate_{suffix}"] = _pct(n, part[V_VISITS] if part else 0, 2, fmt)
    return row


def _money(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 2)


def render_actions(visits: Visits, pages: dict[str, dict[str, Any]]) -> Any:
    t = visits.total()
    if not pages or t is None:
        return []
    v = t[V_VISITS]
    return {
        "nb_pageviews": sum(p["hits"] for p in pages.values()),
        "nb_uniq_pageviews": sum(p["visits"] for p in pages.values()),
        "nb_downloads": round(v * 0.03),
        "nb_uniq_downloads": round(v * 0.025),
        "nb_outlinks": round(v * 0.05),
        "nb_uniq_outlinks": round(v * 0.04),
        "nb_searches": round(v * 0.02),
        "nb_keywords": round(v * 0.012),
    }


def render_page_performance(pages: dict[str, dict[str, Any]], fmt: str) -> Any:
    hits = sum(p["hits"] for p in pages.values())
    if not hits:
        return []
    row = {}
    totals = [sum(p["time"][i] for p in pages.values()) for i in range(len(PERF_COMPONENTS))]
    for name, total in zip(PERF_COMPONENTS, totals, strict=True):
        row[f"avg_time_{name}"] = _seconds(total / hits, 2, fmt)
    row["avg_page_load_time"] = _seconds(sum(totals) / hits, 2, fmt)
    return row


_PERF_KEYS = tuple(
    (f"sum_time_{c}", f"nb_hits_with_time_{c}", f"min_time_{c}", f"max_time_{c}", f"avg_time_{c}")
    for c in PERF_COMPONENTS
)


@lru_cache(maxsize=100_000)
def _page_segment(url: str) -> str:
    # Matomo shows a row's segment with the URL encoded twice ("pageUrl==http%253A%252F...").
    return "pageUrl==" + quote(quote(url, safe=""), safe="")


def render_page_rows(pages: dict[str, dict[str, Any]], fmt: str, flat: bool) -> list[dict]:
    # The hot path of big benchmark answers: plain dicts and local names only.
    rows = []
    for url, p in pages.items():
        hits = p["hits"]
        times, mins, maxs = p["time"], p["min"], p["max"]
        row: dict[str, Any] = {
            "label": p["label"],
            "nb_visits": p["visits"],
            "nb_uniq_visitors": p["uniq"],
            "nb_hits": hits,
            "sum_time_spent": p["time_spent"],
        }
        for (k_sum, k_hits, k_min, k_max, _), total, low, high in zip(
            _PERF_KEYS, times, mins, maxs, strict=True
        ):
            # Matomo renders these sums as 4-decimal strings ("0.0620").
            row[k_sum] = f"{total:.4f}"
            row[k_hits] = hits
            row[k_min] = f"{low:.4f}"
            row[k_max] = f"{high:.4f}"
        entries, exits = p["entries"], p["exits"]
        if entries:
            row.update(
                entry_nb_uniq_visitors=round(entries * 0.95),
                entry_nb_visits=entries,
                entry_nb_actions=entries * 3,
                entry_sum_visit_length=entries * 180,
                entry_bounce_count=p["entry_bounces"],
            )
        if exits:
            row.update(exit_nb_uniq_visitors=round(exits * 0.95), exit_nb_visits=exits)
        load = 0.0
        for keys, total in zip(_PERF_KEYS, times, strict=True):
            avg = total / hits if hits else 0.0
            load += avg
            row[keys[4]] = _seconds(avg, 3, fmt)
        row["avg_page_load_time"] = _seconds(load, 3, fmt)
        row["avg_time_on_page"] = _seconds(_div(p["time_spent"], hits), 0, fmt, True)
        row["bounce_rate"] = _pct(p["entry_bounces"], entries, 0, fmt)
        row["exit_rate"] = _pct(exits, p["visits"], 0, fmt)
        row["url"] = url
        row["segment"] = _page_segment(url)
        rows.append(row)
    if not flat:
        rows = _fold_folders(rows)
    rows.sort(key=lambda r: (-r["nb_visits"], r["label"]))
    return rows


def _fold_folders(rows: list[dict]) -> list[dict]:
    """Matomo's hierarchical Page URLs: pages in a folder collapse into one folder row."""
    out, folders = [], {}
    for row in rows:
        if "/" in row["label"].lstrip("/"):
            folder = row["label"].split("/")[0]
            agg = folders.setdefault(
                folder,
                {
                    "label": folder,
                    "nb_visits": 0,
                    "nb_hits": 0,
                    "sum_time_spent": 0,
                    "idsubdatatable": len(folders) + 1,
                },
            )
            for key in ("nb_visits", "nb_hits", "sum_time_spent"):
                agg[key] += row[key]
        else:
            out.append(row)
    return out + list(folders.values())


def render_referrer_rows(visits: Visits, fmt: str) -> list[dict]:
    rows = []
    n = len(visits.goals)
    for index, (rt, label) in enumerate(REFERRER_TYPES.items(), start=1):
        r = visits.total(lambda key, rt=rt: key[1] == rt)
        if r is None:
            continue
        row: dict[str, Any] = {"label": label}
        uniq, users = visits.uniques(r)
        if uniq is not None:
            row["nb_uniq_visitors"] = uniq
        row.update(nb_visits=r[V_VISITS], nb_actions=r[V_ACTIONS])
        if users is not None:
            row["nb_users"] = users
        row.update(
            max_actions=r[V_MAX],
            sum_visit_length=r[V_LENGTH],
            bounce_count=r[V_BOUNCES],
            nb_visits_converted=r[V_CONVERTED],
        )
        conversions = r[GOALS_AT : GOALS_AT + n]
        revenue = r[GOALS_AT + n :]
        if sum(conversions):
            row["goals"] = {
                f"idgoal={g}": {
                    "nb_conversions": c,
                    "nb_visits_converted": c,
                    "revenue": _money(round(amount, 2)),
                }
                for g, c, amount in zip(visits.goals, conversions, revenue, strict=True)
                if c
            }
            row["nb_conversions"] = sum(conversions)
            row["revenue"] = _money(round(sum(revenue), 2))
        row.update(
            bounce_rate=_pct(r[V_BOUNCES], r[V_VISITS], 0, fmt),
            nb_actions_per_visit=round(_div(r[V_ACTIONS], r[V_VISITS]), 1),
            avg_time_on_site=_seconds(_div(r[V_LENGTH], r[V_VISITS]), 0, fmt, True),
            conversion_rate=_pct(r[V_CONVERTED], r[V_VISITS], 2, fmt),
            segment=f"referrerType=={rt}",
        )
        if rt != "direct":
            row["idsubdatatable"] = index
        rows.append(row)
    rows.sort(key=lambda r: -r["nb_visits"])
    return rows


# --- report metadata ---------------------------------------------------------------------------

_VISIT_METRICS = {
    "nb_uniq_visitors": "Unique visitors",
    "nb_visits": "Visits",
    "nb_users": "Users",
    "nb_actions": "Actions",
    "max_actions": "Maximum actions in one visit",
}
_VISIT_PROCESSED = {
    "bounce_rate": "Bounce Rate",
    "nb_actions_per_visit": "Actions per Visit",
    "avg_time_on_site": "Avg. Visit Duration (in seconds)",
}


def report_metadata(site: SandboxSite) -> list[dict[str, Any]]:
    perf = {f"avg_time_{c}": f"Avg. {c.replace('_', ' ')} time" for c in PERF_COMPONENTS}
    perf["avg_page_load_time"] = "Avg. page load time"
    reports: list[dict[str, Any]] = [
        {
            "category": "Visitors",
            "subcategory": "Overview",
            "name": "Visits Summary",
            "module": "VisitsSummary",
            "action": "get",
            "metrics": _VISIT_METRICS,
            "processedMetrics": _VISIT_PROCESSED,
            "uniqueId": "VisitsSummary_get",
        },
        {
            "category": "Actions",
            "subcategory": "Pages",
            "name": "Page URLs",
            "module": "Actions",
            "action": "getPageUrls",
            "dimension": "Page URL",
            "metrics": {"nb_hits": "Pageviews", "nb_visits": "Unique Pageviews"},
            "processedMetrics": {
                "avg_time_on_page": "Avg. time on page",
                "bounce_rate": "Bounce Rate",
                "exit_rate": "Exit rate",
                **perf,
            },
            "metricsGoal": {"nb_conversions": "Conversions", "revenue_attrib": "Revenue"},
            "actionToLoadSubTables": "getPageUrls",
            "uniqueId": "Actions_getPageUrls",
        },
        {
            "category": "Actions",
            "subcategory": "Main metrics",
            "name": "Actions - Main metrics",
            "module": "Actions",
            "action": "get",
            "metrics": {
                "nb_pageviews": "Pageviews",
                "nb_uniq_pageviews": "Unique Pageviews",
                "nb_downloads": "Downloads",
                "nb_uniq_downloads": "Unique Downloads",
                "nb_outlinks": "Outlinks",
                "nb_uniq_outlinks": "Unique Outlinks",
                "nb_searches": "Searches",
                "nb_keywords": "Unique Keywords",
            },
            "uniqueId": "Actions_get",
        },
        {
            "category": "Actions",
            "subcategory": "Performance",
            "name": "Performance overview",
            "module": "PagePerformance",
            "action": "get",
            "metrics": perf,
            "processedMetrics": perf,
            "uniqueId": "PagePerformance_get",
        },
        {
            "category": "Referrers",
            "subcategory": "Channel Type",
            "name": "Channel Type",
            "module": "Referrers",
            "action": "getReferrerType",
            "dimension": "Channel Type",
            "metrics": {
                "nb_visits": "Visits",
                "nb_uniq_visitors": "Unique visitors",
                "nb_actions": "Actions",
                "nb_users": "Users",
            },
            "processedMetrics": {
                "nb_actions_per_visit": "Actions per Visit",
                "avg_time_on_site": "Avg. Time on Website",
                "bounce_rate": "Bounce Rate",
            },
            "metricsGoal": {"nb_conversions": "Conversions", "revenue": "Revenue"},
            "processedMetricsGoal": {"conversion_rate": "Conversion Rate"},
            "uniqueId": "Referrers_getReferrerType",
        },
        {
            "category": "Goals",
            "name": "Goals",
            "module": "Goals",
            "action": "get",
            "metrics": {
                "nb_conversions": "Conversions",
                "nb_visits_converted": "Visits with Conversions",
                "revenue": "Revenue",
            },
            "processedMetrics": {"conversion_rate": "Conversion Rate"},
            "uniqueId": "Goals_get",
        },
    ]
    for goal_id, goal in sorted(site.goal_map.items()):
        reports.append(
            {
                "category": "Goals",
                "subcategory": str(goal_id),
                "name": f"Goal {goal.name}",
                "module": "Goals",
                "action": "get",
                "parameters": {"idGoal": goal_id},
                "metrics": {
                    "nb_conversions": "Conversions",
                    "nb_visits_converted": "Visits with Conversions",
                    "revenue": "Revenue",
                },
                "processedMetrics": {"conversion_rate": "Conversion Rate"},
                "uniqueId": f"Goals_get_idGoal--{goal_id}",
            }
        )
    return reports


# --- the API ------------------------------------------------------------------------------------


@dataclass
class MatomoRequest:
    """One HTTP request as the sandbox saw it (for tests: where did the token travel?)."""

    http_method: str
    path: str
    url_params: dict[str, list[str]]
    form: dict[str, list[str]]
    sub_requests: list[dict[str, str]]


_DATE_ERROR = (
    "Date format must be: YYYY-MM-DD, or 'today' or 'yesterday' or any keyword "
    "supported by the strtotime function (see https://php.net/strtotime for more "
    "information): {}"
)
_REPORT_METHODS = {
    "VisitsSummary.get",
    "Goals.get",
    "Actions.get",
    "Actions.getPageUrls",
    "PagePerformance.get",
    "Referrers.getReferrerType",
}
_MODULES = {
    "VisitsSummary",
    "Goals",
    "Actions",
    "PagePerformance",
    "Referrers",
    "SitesManager",
    "API",
}


class MatomoSandbox:
    """The request handler. Wrap it in a `SandboxServer` (or call `server()`).

    bulk_limit: Matomo's `[General] API_bulk_request_limit` (-1 = unlimited, its default for
    token users). unique_visitors_range: `enable_processing_unique_visitors_range` (Matomo's
    default is 0; the sandbox enables it so range uniques work out of the box).
    now: the instant "today" is computed from (None = the real clock).
    """

    def __init__(
        self,
        *,
        sites: Iterable[SandboxSite] = DEFAULT_SITES,
        token: str = DEFAULT_TOKEN,
        bulk_limit: int = -1,
        unique_visitors_range: bool = True,
        now: datetime | None = None,
        record: int = 10_000,
    ) -> None:
        self.sites = {s.id: s for s in sites}
        self._initial_sites = dict(self.sites)
        self.token = token
        self.bulk_limit = bulk_limit
        self.unique_visitors_range = unique_visitors_range
        self.now = now
        self.received: deque[MatomoRequest] = deque(maxlen=record)
        self._overrides: dict[tuple[int, date], Day] = {}
        self._method_errors: dict[str, str] = {}
        # Rendered answers of finished generated days: repeated benchmark runs then measure
        # the client, not the sandbox. Never holds today, future days or hand-made days.
        self._answers: dict[tuple, Any] = {}
        self._lock = threading.Lock()
        # (user, password) of an HTTP basic auth proxy in front of Matomo; None: no proxy.
        self.basic_auth: tuple[str, str] | None = None

    # -- switches --------------------------------------------------------------------------------
    def reset(
        self,
        *,
        now: datetime | None = None,
        bulk_limit: int = -1,
        unique_visitors_range: bool = True,
    ) -> None:
        """Back to a fresh sandbox (one long-running server can serve many tests)."""
        self.now = now
        self.bulk_limit = bulk_limit
        self.unique_visitors_range = unique_visitors_range
        self.sites = dict(self._initial_sites)
        self.basic_auth = None
        self.received.clear()
        self._overrides.clear()
        self._method_errors.clear()
        self._answers.clear()

    def set_day(self, site_id: int, day: date, data: Day) -> None:
        """Replace a generated day with hand-made data (for hand-computed test expectations)."""
        self._overrides[(site_id, day)] = data
        self._answers.clear()

    def set_currency(self, site_id: int, currency: str) -> None:
        """Serve the site (its `currency` in SitesManager's answers) in another currency;
        `reset` restores it. Revenue figures stay the same numbers."""
        with self._lock:
            self.sites[site_id] = replace(self.sites[site_id], currency=currency)
            self._answers.clear()

    def fail_method(self, method: str, message: str) -> None:
        """Make every call of `method` (also inside bulk requests) answer a Matomo error."""
        self._method_errors[method] = message

    def clear_failures(self) -> None:
        self._method_errors.clear()

    def server(self, port: int = 0) -> SandboxServer:
        return SandboxServer(self, name="matomo", port=port)

    # -- time ------------------------------------------------------------------------------------
    def site_now(self, site: SandboxSite) -> datetime:
        return (self.now or datetime.now(UTC)).astimezone(site_tz(site.timezone))

    def day_data(self, site: SandboxSite, day: date, now: datetime | None = None) -> Day | None:
        """The site's data for a day as Matomo would show it now; None if it has no data yet."""
        now = now or self.site_now(site)
        if day > now.date() or day < _created_day(site):
            return None
        data = self._overrides.get((site.id, day)) or generated_day(site, day)
        if day == now.date():
            midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
            return _scaled(data, (now - midnight).total_seconds() / 86400)
        return data

    # -- HTTP ------------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        if self.basic_auth is not None:
            user, password = self.basic_auth
            expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            if request.headers.get("authorization") != expected:
                # What nginx answers in front of it: HTML, and a Basic challenge.
                return Response(
                    401,
                    b"<html><head><title>401 Authorization Required</title></head></html>",
                    {"WWW-Authenticate": 'Basic realm="Matomo"'},
                    content_type="text/html",
                )
        form = request.form() if request.method == "POST" else {}
        record = MatomoRequest(request.method, request.path, request.query, form, [])
        self.received.append(record)
        if request.path not in ("/index.php", "/"):
            return Response(404, b"<html><body>Not Found</body></html>", content_type="text/html")
        params = {k: v[-1] for k, v in request.query.items()}
        params.update({k: v[-1] for k, v in form.items()})
        try:
            self._authenticate(request.query, form)
            if params.get("module") != "API":
                raise MatomoError("sandbox: only module=API is served")
            if params.get("format", "xml").lower() != "json":
                raise MatomoError("sandbox: only format=JSON is simulated")
            method = params.get("method", "")
            if method == "API.getBulkRequest":
                urls = [
                    v[-1]
                    for k, v in {**request.query, **form}.items()
                    if re.fullmatch(r"urls\[\d+\]", k)
                ]
                if self.bulk_limit > -1 and len(urls) > self.bulk_limit:
                    raise MatomoError(
                        f"The maximum number of bulk request URLs is {self.bulk_limit}.", 400
                    )
                outer = {k: v for k, v in params.items() if not k.startswith("urls[")}
                outer.pop("method", None)
                results = []
                for url in urls:
                    sub = {
                        k: v[-1]
                        for k, v in parse_qs(url.lstrip("?"), keep_blank_values=True).items()
                    }
                    record.sub_requests.append(sub)
                    merged = {**outer, **sub}  # Matomo: `$params += $queryParameters`
                    try:
                        results.append(
                            self.call(
                                merged.get("method", ""), merged, authenticated="token_auth" in form
                            )
                        )
                    except MatomoError as exc:
                        results.append({"result": "error", "message": str(exc)})
                return _json(results)
            return _json(self.call(method, params, authenticated="token_auth" in form))
        except MatomoError as exc:
            return _json({"result": "error", "message": str(exc)}, exc.status)

    def _authenticate(self, url_params: dict[str, list[str]], form: dict[str, list[str]]) -> None:
        if "token_auth" in url_params:
            # Matomo 5 secure-only tokens: a token in the URL is refused outright.
            raise MatomoError(
                "Unable to authenticate with the provided token. It is either invalid, expired "
                "or is required to be sent as a POST parameter.",
                401,
            )
        if "token_auth" in form and form["token_auth"][-1] != self.token:
            raise MatomoError(
                "Unable to authenticate with the provided token. It is either invalid or expired.",
                401,
            )

    # -- methods ---------------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, str], authenticated: bool) -> Any:
        if method in self._method_errors:
            raise MatomoError(self._method_errors[method])
        module, _, action = method.partition(".")
        if module not in _MODULES:
            raise MatomoError(
                f"The plugin {module} is not enabled. You can activate the plugin on "
                "Settings > Plugins page in Matomo."
            )
        if method == "API.getMatomoVersion":
            return {"value": MATOMO_VERSION}
        known = _REPORT_METHODS | {
            "SitesManager.getSiteFromId",
            "API.getReportMetadata",
            "API.getSegmentsMetadata",
        }
        if method not in known:
            raise MatomoError(
                f"The method '{action}' does not exist or is not available in the module "
                f"'\\Piwik\\Plugins\\{module}\\API'."
            )
        site = self._site(params.get("idSite") or params.get("idSites") or "", authenticated)
        if method == "SitesManager.getSiteFromId":
            return _site_record(site)
        if method == "API.getReportMetadata":
            return report_metadata(site)
        if method == "API.getSegmentsMetadata":
            return SEGMENTS_METADATA
        return self.report(method, site, params)

    def _site(self, raw: str, authenticated: bool) -> SandboxSite:
        if not raw.isdigit():
            raise MatomoError("Please specify a value for 'idSite'.")
        site_id = int(raw)
        if not authenticated:
            raise MatomoError(
                f"You can't access this resource as it requires 'view' access for the website "
                f"id = {site_id}.",
                401,
            )
        if site_id not in self.sites:
            raise MatomoError(
                f"An unexpected website was found in the request: website id was set to "
                f"'{site_id}' ."
            )
        return self.sites[site_id]

    def report(self, method: str, site: SandboxSite, params: dict[str, str]) -> Any:
        period = params.get("period", "")
        if period in ("week", "month", "year"):
            raise MatomoError(f"sandbox: period '{period}' is not simulated (day and range are)")
        if period not in ("day", "range"):
            raise MatomoError(
                f"The period '{period}' is not supported. Try any of the following instead: "
                "day, week, month, year, range"
            )
        selection = parse_segment(params.get("segment", ""))
        fmt = params.get("format_metrics", "bc")
        id_goal = params.get("idGoal")
        goal = int(id_goal) if id_goal and id_goal.isdigit() else None
        days, multiple = self._dates(site, params.get("date", ""), period)

        now = self.site_now(site)
        flat = params.get("flat") == "1"

        def one(span: list[date]) -> Any:
            data = [d for d in (self.day_data(site, day, now) for day in span) if d is not None]
            return self._render(
                method, site, selection, data, fmt, goal, flat, is_range=period == "range"
            )

        def day_answer(day: date) -> Any:
            if day >= now.date() or (site.id, day) in self._overrides:
                return one([day])
            key = (site, day, method, selection, goal, fmt, flat)
            answer = self._answers.get(key)
            if answer is None:
                if len(self._answers) > ANSWER_CACHE_SIZE:
                    self._answers.clear()
                answer = self._answers[key] = one([day])
            return answer

        if period == "range":
            return _limit(one(days), params)
        if not multiple:
            return _limit(day_answer(days[0]), params)
        return {day.isoformat(): _limit(day_answer(day), params) for day in days}

    def _dates(self, site: SandboxSite, raw: str, period: str) -> tuple[list[date], bool]:
        today = self.site_now(site).date()

        def parse(text: str) -> date:
            if text == "today":
                return today
            if text == "yesterday":
                return today - timedelta(days=1)
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise MatomoError(_DATE_ERROR.format(raw)) from None

        last = re.fullmatch(r"(last|previous)(\d+)", raw)
        if last:
            n = int(last.group(2))
            end = today if last.group(1) == "last" else today - timedelta(days=1)
            start = end - timedelta(days=n - 1)
        elif "," in raw:
            start_s, _, end_s = raw.partition(",")
            start, end = parse(start_s), parse(end_s)
        else:
            if period == "range":
                raise MatomoError(
                    f"The date '{raw}' is not a correct date range (expected YYYY-MM-DD,YYYY-MM-DD)"
                )
            return [parse(raw)], False
        if end < start:
            raise MatomoError(_DATE_ERROR.format(raw))
        return [start + timedelta(days=i) for i in range((end - start).days + 1)], True

    def _render(
        self,
        method: str,
        site: SandboxSite,
        sel: Selection,
        data: list[Day],
        fmt: str,
        goal: int | None,
        flat: bool,
        is_range: bool,
    ) -> Any:
        if not data:
            return []
        goals = tuple(sorted(site.goal_map))
        if method in ("VisitsSummary.get", "Goals.get", "Referrers.getReferrerType", "Actions.get"):
            visits = _visits(data, sel, goals, unique=self.unique_visitors_range or not is_range)
            if method == "VisitsSummary.get":
                return render_visits_summary(visits, fmt)
            if method == "Goals.get":
                return render_goals(visits, goal, fmt)
            if method == "Referrers.getReferrerType":
                return render_referrer_rows(visits, fmt)
            return render_actions(visits, _merge_pages([_page_counts(d, sel) for d in data]))
        pages = _merge_pages([_page_counts(d, sel) for d in data])
        if method == "PagePerformance.get":
            return render_page_performance(pages, fmt)
        return render_page_rows(pages, fmt, flat)


def _limit(rows: Any, params: dict[str, str]) -> Any:
    """Matomo's filter_limit / filter_offset on a table's rows (default: the first 100)."""
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return rows
    try:
        limit = int(params.get("filter_limit", DEFAULT_FILTER_LIMIT))
        offset = int(params.get("filter_offset", 0))
    except ValueError:
        raise MatomoError("filter_limit and filter_offset must be integers") from None
    rows = rows[offset:]
    return rows if limit < 0 else rows[:limit]


def _site_record(site: SandboxSite) -> dict[str, str]:
    # Matomo returns every field of a site as a string.
    return {
        "idsite": str(site.id),
        "name": site.name,
        "main_url": site.main_url,
        "ts_created": site.created,
        "ecommerce": "0",
        "sitesearch": "1",
        "sitesearch_keyword_parameters": "",
        "sitesearch_category_parameters": "",
        "timezone": site.timezone,
        "currency": site.currency,
        "exclude_unknown_urls": "0",
        "excluded_ips": "",
        "excluded_parameters": "",
        "excluded_user_agents": "",
        "excluded_referrers": "",
        "group": "",
        "type": "website",
        "keep_url_fragment": "0",
        "creator_login": "superUserLogin",
        "timezone_name": site.timezone,
        "currency_name": site.currency,
    }


def _json(payload: Any, status: int = 200) -> Response:
    # Matomo escapes slashes in JSON ("https:\/\/..."); clients must not care, so neither do we.
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status=status, body=body, content_type="application/json; charset=utf-8")


def serve(
    sandbox: MatomoSandbox | None = None, port: int = 0
) -> tuple[SandboxServer, MatomoSandbox]:
    """Start a Matomo sandbox server; returns (server, handler). Stop with `server.stop()`."""
    handler = sandbox or MatomoSandbox()
    return handler.server(port).start(), handler
