"""A GA4 Data API v1beta server on 127.0.0.1 with deterministic, realistic data.

Speaks the REST wire format of `analyticsdata.googleapis.com` for the three methods the
connector uses:

    POST /v1beta/properties/{id}:runReport
    POST /v1beta/properties/{id}:batchRunReports
    GET  /v1beta/properties/{id}/metadata

with real paging (`offset`/`limit`, `rowCount`), dimension filters (string match types,
in-list, and/or/not), metric filters, orderBys, several date ranges (implicit `dateRange`
dimension), relative dates, `propertyQuota` accounting with GA4's 429 messages, and GA4's trust
signals on demand (sampling, thresholding, "(other)" rows, emptyReason). Enums are answered as
numbers when the client asks for `$alt=json;enum-encoding=int` (as the official client does).

The data model (documented so tests can compute expectations by hand):

- A cell is (property day, page, channel, device, country). Sessions are generated per
  (day, page) from the page's base traffic × weekday factor × trend × a ±6 % deterministic
  noise (a hash of property, day and page: no global random state) × the share of the day that
  has passed (hours elapsed / 24, so a 25-hour DST day has 25/24 of a normal day and "today"
  is partial). Other counters (engaged sessions, views, purchases, revenue, users, ...) derive
  from sessions with page-type ratios. They are then split over channels (by page type),
  devices and countries with largest-remainder apportionment, so every breakdown adds up to
  its parent exactly, whatever dimensions a request asks for.
- `pagePath` is the session's landing page (`landingPage` is the same value).
- Users are deduplicated across days: a group spanning n days has
  round(sum of daily users / (1 + 0.3·ln n)) users, so a month's users are fewer than the sum
  of its days' users. Rates are computed on each answer row from its sums.
- Profile "shop" (the demo): product-page conversion (purchases / sessions on /products/) is
  3.2 % on 2026-07-01 and climbs linearly to 4.5 % on 2026-12-20; blog traffic grows by
  ln(1.3)/92 per day, so organic blog sessions in 2026-Q4 are ~30 % above 2026-Q3.
  Profile "flat": one page "/", exactly 100 sessions per hour of the property's day, no noise
  (hand-checkable: a 25-hour day has 2,500 sessions). Profile "bench": `bench_pages` pages
  with at least a few sessions every day, for ~1M-row reports.

Run standalone: `python -m sandbox.ga4.server --port 8765` (prints the endpoint).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.base import Fault, Request, Response, SandboxServer, wait_until_interrupted

DEMO_PROPERTY_ID = "314159265"

# --- errors (google.rpc.Status JSON, as Google's REST endpoints send them) -----------------

QUOTA_MESSAGES = {
    "tokensPerDay": (
        "Exhausted property tokens per day. These quota tokens will return in under 24 hours."
    ),
    "tokensPerHour": (
        "Exhausted property tokens per hour. These quota tokens will return in under an hour."
    ),
    "tokensPerProjectPerHour": "Exhausted property tokens for a project per hour.",
    "concurrentRequests": "Exhausted concurrent requests quota.",
    "potentiallyThresholdedRequestsPerHour": "Exhausted potentially thresholded requests quota.",
    "serverErrorsPerProjectPerHour": "Exhausted server errors per project per hour quota.",
}
_STATUS_FOR_CODE = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_SCHEMA_HINT = (
    "For a list of valid dimensions and metrics, see "
    "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
)


def error_body(code: int, message: str, status: str | None = None) -> bytes:
    payload = {
        "error": {
            "code": code,
            "message": message,
            "status": status or _STATUS_FOR_CODE.get(code, "UNKNOWN"),
        }
    }
    return json.dumps(payload).encode()


def quota_fault(bucket: str = "tokensPerHour", times: int = 1, path_contains: str = "") -> Fault:
    """A 429 RESOURCE_EXHAUSTED answer for one quota bucket, for `SandboxServer.inject`."""
    return Fault(
        kind="status",
        status=429,
        body=error_body(429, QUOTA_MESSAGES[bucket]),
        headers={"Content-Type": "application/json"},
        times=times,
        path_contains=path_contains,
    )


def server_error_fault(status: int = 503, times: int = 1, path_contains: str = "") -> Fault:
    message = {
        500: "Internal error encountered.",
        503: "The service is currently unavailable.",
    }.get(status, "Backend error.")
    return Fault(
        kind="status",
        status=status,
        body=error_body(status, message),
        headers={"Content-Type": "application/json"},
        times=times,
        path_contains=path_contains,
    )


def asks_for_several_ranges(request: Request) -> bool:
    """Whether a runReport / batchRunReports request holds a report with several date ranges."""
    try:
        body = request.json()
    except ValueError:
        return False
    reports = body.get("requests", [body]) if isinstance(body, dict) else []
    return any(len(r.get("dateRanges") or []) > 1 for r in reports if isinstance(r, dict))


def report_fault(
    rewrite: Callable[[dict[str, Any]], dict[str, Any]],
    times: int = 1,
    path_contains: str = "",
    when: Callable[[Request], bool] | None = None,
) -> Fault:
    """A runReport / batchRunReports answer whose every report goes through `rewrite`: a
    well-formed answer to another question (see the `answer_with_*` rewrites below). `when`
    picks the requests it answers (e.g. `asks_for_several_ranges`)."""

    def rewrite_answer(request: Any, payload: Any) -> Any:
        if not isinstance(payload, dict):
            return payload
        if "reports" in payload:
            return {**payload, "reports": [rewrite(r) for r in payload["reports"]]}
        return rewrite(payload) if "metricHeaders" in payload else payload

    return Fault(
        "rewrite", rewrite=rewrite_answer, times=times, path_contains=path_contains, when=when
    )


def answer_with_extra_dimension(report: dict[str, Any]) -> dict[str, Any]:
    """An unrequested breakdown: a `country` dimension nobody asked for, after the others."""
    return {
        **report,
        "dimensionHeaders": [*report.get("dimensionHeaders", []), {"name": "country"}],
        "rows": [
            {**row, "dimensionValues": [*row.get("dimensionValues", []), {"value": "Germany"}]}
            for row in report.get("rows", [])
        ],
    }


def answer_with_metrics_reversed(report: dict[str, Any]) -> dict[str, Any]:
    """The metric headers (and each row's values with them) in reverse order: consistent in
    itself, but not in the order the request named them."""
    return {
        **report,
        "metricHeaders": report["metricHeaders"][::-1],
        "rows": [
            {**row, "metricValues": row.get("metricValues", [])[::-1]}
            for row in report.get("rows", [])
        ],
    }


def answer_without_last_metric(report: dict[str, Any]) -> dict[str, Any]:
    """The last requested metric left out of the headers and of every row (of a report with
    several: one without any metric is not a report at all)."""
    if len(report["metricHeaders"]) < 2:
        return report
    return {
        **report,
        "metricHeaders": report["metricHeaders"][:-1],
        "rows": [
            {**row, "metricValues": row.get("metricValues", [])[:-1]}
            for row in report.get("rows", [])
        ],
    }


def answer_with_ranges_reversed(report: dict[str, Any]) -> dict[str, Any]:
    """A multi-range answer with its rows in reverse order, last range first (GA4 promises no
    row order without orderBys); other answers as they are."""
    if not any(h.get("name") == "dateRange" for h in report.get("dimensionHeaders", [])):
        return report
    return {**report, "rows": report.get("rows", [])[::-1]}


def answer_with_zero_row_per_range(report: dict[str, Any]) -> dict[str, Any]:
    """A multi-range answer with one more, zero-filled row for each range after the real ones,
    counted in its rowCount (what a proxy merging answers produced in issue 23)."""
    names = [h["name"] for h in report.get("dimensionHeaders", [])]
    if "dateRange" not in names:
        return report
    at = names.index("dateRange")
    zeros = [
        {
            "dimensionValues": row["dimensionValues"],
            "metricValues": [{"value": "0"} for _ in row.get("metricValues", [])],
        }
        for row in report.get("rows", [])
        if row["dimensionValues"][at]["value"].startswith("date_range_")
    ]
    rows = [*report.get("rows", []), *zeros]
    return {**report, "rows": rows, "rowCount": len(rows)}


class ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- properties -----------------------------------------------------------------------------


@dataclass
class QuotaLimits:
    """Per-property quota buckets; defaults are GA4's standard-property limits."""

    tokens_per_day: int = 200_000
    tokens_per_hour: int = 40_000
    tokens_per_project_per_hour: int = 14_000
    concurrent_requests: int = 10
    server_errors_per_project_per_hour: int = 10
    potentially_thresholded_requests_per_hour: int = 120


@dataclass
class SandboxProperty:
    """One GA4 property the sandbox serves. Mutable at run time (tests flip flags)."""

    property_id: str
    time_zone: str = "Europe/Berlin"
    currency_code: str = "EUR"
    profile: str = "shop"  # "shop", "flat" or "bench"
    bench_pages: int = 5_000
    key_events: tuple[str, ...] = ("purchase", "sign_up", "generate_lead")
    sampled: bool = False  # answers carry samplingMetadatas (10 % of events read)
    thresholded: bool = False  # answers say subjectToThresholding
    other_row_limit: int | None = None  # pages per day beyond this roll into "(other)"
    empty_reason: str | None = None  # emptyReason of answers without rows
    integers_as_floats: bool = False  # TYPE_INTEGER values sent as "12.0"
    quota: QuotaLimits = field(default_factory=QuotaLimits)


def default_properties() -> list[SandboxProperty]:
    return [
        SandboxProperty(DEMO_PROPERTY_ID, time_zone="Europe/Berlin"),
        SandboxProperty("271828182", time_zone="America/Los_Angeles", currency_code="USD"),
    ]


# --- catalog (getMetadata) ------------------------------------------------------------------

_T = {
    "TYPE_INTEGER": 1,
    "TYPE_FLOAT": 2,
    "TYPE_SECONDS": 4,
    "TYPE_MILLISECONDS": 5,
    "TYPE_STANDARD": 8,
    "TYPE_CURRENCY": 9,
}
_MATCH = {
    1: "EXACT",
    2: "BEGINS_WITH",
    3: "ENDS_WITH",
    4: "CONTAINS",
    5: "FULL_REGEXP",
    6: "PARTIAL_REGEXP",
}
_OPS = {
    1: "EQUAL",
    2: "LESS_THAN",
    3: "LESS_THAN_OR_EQUAL",
    4: "GREATER_THAN",
    5: "GREATER_THAN_OR_EQUAL",
}
_ORDER_TYPES = {1: "ALPHANUMERIC", 2: "CASE_INSENSITIVE_ALPHANUMERIC", 3: "NUMERIC"}

# Dimension → (level in the cell hierarchy, uiName, category). Level 0: the day, 1: the page,
# 2: the channel, 3: the device, 4: the country.
DIMENSIONS: dict[str, tuple[int, str, str]] = {
    "date": (0, "Date", "Time"),
    "dayOfWeek": (0, "Day of week", "Time"),
    "dayOfWeekName": (0, "Day of week name", "Time"),
    "month": (0, "Month", "Time"),
    "year": (0, "Year", "Time"),
    "yearMonth": (0, "Month + year", "Time"),
    "pagePath": (1, "Page path", "Page / screen"),
    "landingPage": (1, "Landing page", "Page / screen"),
    "landingPagePlusQueryString": (1, "Landing page + query string", "Page / screen"),
    "pageTitle": (1, "Page title", "Page / screen"),
    "hostName": (1, "Hostname", "Page / screen"),
    "sessionDefaultChannelGroup": (2, "Session default channel group", "Traffic source"),
    "sessionSource": (2, "Session source", "Traffic source"),
    "sessionMedium": (2, "Session medium", "Traffic source"),
    "sessionSourceMedium": (2, "Session source / medium", "Traffic source"),
    "deviceCategory": (3, "Device category", "Platform / device"),
    "country": (4, "Country", "Geography"),
    "countryId": (4, "Country ID", "Geography"),
}

# Counters generated per cell (indexes into a counter vector).
S, NONENG, VIEWS, EVENTS, PUR, REV, SIGN, LEAD, PSESS, KES, USERS, ACTIVE, NEW, KEU, ENGS, LOAD = (
    range(16)
)
_COUNTER_DEPS: dict[int, tuple[int, ...]] = {
    REV: (PUR,),
    PSESS: (PUR,),
    KES: (PSESS, SIGN, LEAD),
    ACTIVE: (USERS,),
    NEW: (USERS,),
    KEU: (KES,),
    ENGS: (NONENG,),
    EVENTS: (VIEWS,),
    LOAD: (VIEWS,),
}
_EVENT_COUNTER = {"purchase": PUR, "sign_up": SIGN, "generate_lead": LEAD}


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


@dataclass(frozen=True)
class MetricDef:
    type: str
    category: str
    counters: tuple[int, ...]
    value: Callable[..., float]  # (counter sums, dedupe_users(total)) -> value
    custom: bool = False


INT, FLT, SEC, MSEC, CUR = (
    "TYPE_INTEGER",
    "TYPE_FLOAT",
    "TYPE_SECONDS",
    "TYPE_MILLISECONDS",
    "TYPE_CURRENCY",
)


def _metric_table(key_events: tuple[str, ...]) -> dict[str, MetricDef]:
    """The metrics the sandbox computes, from per-cell counter sums (`c`)."""
    m = MetricDef
    table = {
        "sessions": m(INT, "Session", (S,), lambda c, dd: c[S]),
        "engagedSessions": m(INT, "Session", (NONENG,), lambda c, dd: c[S] - c[NONENG]),
        "engagementRate": m(
            FLT, "Session", (NONENG,), lambda c, dd: _ratio(c[S] - c[NONENG], c[S])
        ),
        "bounceRate": m(FLT, "Session", (NONENG,), lambda c, dd: _ratio(c[NONENG], c[S])),
        "screenPageViews": m(INT, "Page / screen", (VIEWS,), lambda c, dd: c[VIEWS]),
        "screenPageViewsPerSession": m(
            FLT, "Page / screen", (VIEWS,), lambda c, dd: _ratio(c[VIEWS], c[S])
        ),
        "eventCount": m(INT, "Event", (EVENTS,), lambda c, dd: c[EVENTS]),
        "eventsPerSession": m(FLT, "Event", (EVENTS,), lambda c, dd: _ratio(c[EVENTS], c[S])),
        "ecommercePurchases": m(INT, "Ecommerce", (PUR,), lambda c, dd: c[PUR]),
        "purchaseRevenue": m(CUR, "Revenue", (REV,), lambda c, dd: c[REV] / 100),
        "totalRevenue": m(CUR, "Revenue", (REV,), lambda c, dd: c[REV] / 100),
        "totalUsers": m(INT, "User", (USERS,), lambda c, dd: dd(c[USERS])),
        "activeUsers": m(INT, "User", (ACTIVE,), lambda c, dd: dd(c[ACTIVE])),
        "newUsers": m(INT, "User", (NEW,), lambda c, dd: c[NEW]),
        "userEngagementDuration": m(SEC, "User", (ENGS,), lambda c, dd: c[ENGS]),
        "averageSessionDuration": m(SEC, "Session", (ENGS,), lambda c, dd: _ratio(c[ENGS], c[S])),
        "keyEvents": m(INT, "Event", (PUR, SIGN, LEAD), lambda c, dd: c[PUR] + c[SIGN] + c[LEAD]),
        "sessionKeyEventRate": m(FLT, "Session", (KES,), lambda c, dd: _ratio(c[KES], c[S])),
        "userKeyEventRate": m(FLT, "User", (KEU, USERS), lambda c, dd: _ratio(c[KEU], c[USERS])),
        "customEvent:page_load_ms": m(MSEC, "Custom", (LOAD,), lambda c, dd: c[LOAD], True),
    }
    for event in key_events:
        k = _EVENT_COUNTER.get(event, SIGN)
        sess = PSESS if k == PUR else k  # one sign-up or lead per session
        table[f"keyEvents:{event}"] = m(INT, "Event", (k,), lambda c, dd, k=k: c[k])
        table[f"sessionKeyEventRate:{event}"] = m(
            FLT, "Session", (sess,), lambda c, dd, k=sess: _ratio(c[k], c[S])
        )
    return table


# --- deterministic noise --------------------------------------------------------------------


def _mix(a: int, b: int, c: int) -> float:
    """A uniform [0, 1) value from three integers (a small integer hash, no global state)."""
    x = (a * 0x9E3779B1 + b * 0x85EBCA77 + c * 0xC2B2AE3D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    x = (x * 0x297A2D39) & 0xFFFFFFFF
    x ^= x >> 15
    return x / 4294967296.0


def _round(x: float, u: float) -> int:
    """Round x up with probability frac(x), decided by u: unbiased integers without RNG state."""
    base = math.floor(x)
    return base + (1 if x - base > u else 0)


def _apportion(total: int, weights: tuple[float, ...]) -> list[int]:
    """Split an integer by weights (summing to 1) so the parts add up to it exactly."""
    raw = [total * w for w in weights]
    parts = [int(r) for r in raw]
    rest = total - sum(parts)
    if rest:
        order = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
        for i in order[:rest]:
            parts[i] += 1
    return parts


# --- the traffic model ----------------------------------------------------------------------

REFERENCE_DAY = date(2026, 7, 1)  # trends are anchored at the start of 2026-Q3
_WEEKDAY = (1.04, 1.08, 1.06, 1.02, 0.97, 0.86, 0.93)  # Monday first
BLOG_GROWTH_PER_DAY = math.log(1.3) / 92  # Q4 blog traffic ≈ 1.3 × Q3
CR_START, CR_END, CR_RAMP_DAYS = 0.032, 0.045, (date(2026, 12, 20) - REFERENCE_DAY).days

# Page type → (engagement rate, views per session, purchases per session or None = product
# curve, sign-ups per session, leads per session).
_PAGE_TYPES: dict[str, tuple[float, float, float | None, float, float]] = {
    "home": (0.58, 2.4, 0.006, 0.006, 0.0),
    "product": (0.68, 3.1, None, 0.002, 0.0),
    "blog": (0.55, 1.6, 0.001, 0.012, 0.0),
    "other": (0.62, 1.9, 0.004, 0.004, 0.0),
    "checkout": (0.90, 2.2, 0.30, 0.0, 0.0),
    "cart": (0.80, 2.0, 0.12, 0.0, 0.0),
    "lead": (0.70, 1.8, 0.0, 0.004, 0.06),
    "flat": (0.60, 2.0, 0.02, 0.01, 0.0),
}

CHANNELS = ("Organic Search", "Direct", "Paid Search", "Email", "Organic Social", "Referral")
_CHANNEL_SOURCE = {
    "Organic Search": ("google", "organic"),
    "Direct": ("(direct)", "(none)"),
    "Paid Search": ("google", "cpc"),
    "Email": ("newsletter", "email"),
    "Organic Social": ("instagram.com", "referral"),
    "Referral": ("partner.example.org", "referral"),
}
_CHANNEL_MIX = {
    "blog": (0.58, 0.12, 0.05, 0.05, 0.12, 0.08),
    "product": (0.30, 0.20, 0.25, 0.10, 0.08, 0.07),
}
_CHANNEL_MIX_DEFAULT = (0.35, 0.40, 0.10, 0.05, 0.05, 0.05)
DEVICES = ("desktop", "mobile", "tablet")
_DEVICE_MIX = (0.52, 0.44, 0.04)
COUNTRIES = (
    ("Germany", "DE"),
    ("Austria", "AT"),
    ("Switzerland", "CH"),
    ("United States", "US"),
    ("United Kingdom", "GB"),
    ("France", "FR"),
)
_COUNTRY_MIX = (0.45, 0.12, 0.10, 0.13, 0.12, 0.08)


@dataclass(frozen=True)
class SitePage:
    path: str
    kind: str
    base: float  # sessions on an average full day at the reference date
    title: str


def _shop_pages() -> list[SitePage]:
    pages = [
        SitePage("/", "home", 1800, "Trailhead Outfitters"),
        SitePage("/about", "other", 90, "About us"),
        SitePage("/blog/", "blog", 200, "Blog"),
        SitePage("/cart", "cart", 150, "Cart"),
        SitePage("/checkout", "checkout", 110, "Checkout"),
        SitePage("/contact", "lead", 60, "Contact"),
        SitePage("/pricing", "lead", 250, "Pricing"),
        SitePage("/products/", "product", 300, "All products"),
    ]
    posts = [
        "okr-basics",
        "trail-running-guide",
        "layering-101",
        "tent-buying-guide",
        "hiking-checklist",
        "winter-camping",
        "boot-care",
        "ultralight-packing",
        "rain-gear-explained",
        "first-aid-kit",
        "map-and-compass",
        "family-hikes",
    ]
    for rank, slug in enumerate(posts):
        pages.append(
            SitePage(
                f"/blog/{slug}",
                "blog",
                round(300 / (1 + 0.35 * rank)),
                slug.replace("-", " ").title(),
            )
        )
    products = [
        "trail-runner-x",
        "summit-jacket",
        "alpine-tent-2p",
        "daypack-25",
        "merino-base-layer",
        "trekking-poles",
        "down-sleeping-bag",
        "headlamp-400",
        "water-filter",
        "camp-stove",
        "rain-shell",
        "gaiters",
        "insulated-bottle",
        "hiking-socks",
        "approach-shoe",
    ]
    for rank, slug in enumerate(products):
        pages.append(
            SitePage(
                f"/products/{slug}",
                "product",
                round(400 / (1 + 0.3 * rank)),
                slug.replace("-", " ").title(),
            )
        )
    return sorted(pages, key=lambda p: p.path)


def _bench_pages(n: int) -> list[SitePage]:
    pages = []
    for i in range(n):
        kind = "blog" if i % 5 < 2 else "product"
        folder = "blog" if kind == "blog" else "products"
        pages.append(SitePage(f"/{folder}/p{i:06d}", kind, 6 + 2000 / (i + 1) ** 0.9, f"Page {i}"))
    return sorted(pages, key=lambda p: p.path)


@lru_cache(maxsize=64)
def _pages_for(profile: str, bench_pages: int) -> tuple[SitePage, ...]:
    if profile == "flat":
        return (SitePage("/", "flat", 2400, "Home"),)
    if profile == "bench":
        return tuple(_bench_pages(bench_pages))
    if profile == "shop":
        return tuple(_shop_pages())
    raise ValueError(f"unknown sandbox profile {profile!r} (shop, flat, bench)")


@lru_cache(maxsize=4096)
def _day_hours(day: date, time_zone: str) -> float:
    zone = ZoneInfo(time_zone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600


def _elapsed_hours(day: date, time_zone: str, now: datetime) -> float:
    """Hours of `day` (property zone) that have passed at `now`: 0 for future days."""
    zone = ZoneInfo(time_zone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    passed = (now.astimezone(UTC) - start).total_seconds() / 3600
    return max(0.0, min(passed, _day_hours(day, time_zone)))


def conversion_rate(day: date) -> float:
    """The shop's product-page purchase rate on `day` (3.2 % on 2026-07-01 → 4.5 % on 12-20)."""
    t = (day - REFERENCE_DAY).days / CR_RAMP_DAYS
    return CR_START + (CR_END - CR_START) * max(-0.5, min(t, 1.1))


def _needed(counters: set[int]) -> list[int]:
    todo = set(counters)
    stack = list(counters)
    while stack:
        for dep in _COUNTER_DEPS.get(stack.pop(), ()):
            if dep not in todo:
                todo.add(dep)
                stack.append(dep)
    todo.add(S)
    return sorted(todo)


class _DayModel:
    """Counters of every page on one property day (level 1 of the cell hierarchy)."""

    def __init__(self, prop: SandboxProperty, day: date, hours: float, seed: int) -> None:
        self.prop = prop
        self.day = day
        self.ordinal = day.toordinal()
        self.seed = seed
        self.share = hours / 24.0
        self.flat = prop.profile == "flat"
        t = max(-400, min((day - REFERENCE_DAY).days, 400))
        weekday = 1.0 if self.flat else _WEEKDAY[day.weekday()]
        self.trend = {
            "blog": weekday * math.exp(BLOG_GROWTH_PER_DAY * t),
            "product": weekday * (1 + 0.0005 * t),
        }
        self.default_trend = weekday * (1 + 0.0002 * t)
        self.cr = conversion_rate(day)

    def sessions(self, index: int, page: SitePage) -> int:
        if self.flat:
            return round(page.base * self.share)
        u = _mix(self.seed, self.ordinal, index)
        expected = page.base * self.trend.get(page.kind, self.default_trend) * self.share
        # One hash gives both the ±6 % noise and the rounding draw (its scaled fraction).
        return _round(expected * (0.94 + 0.12 * u), (u * 7919.0) % 1.0)

    def counters(self, index: int, page: SitePage, needed: list[int]) -> list[int]:
        c = [0] * 16
        sessions = c[S] = self.sessions(index, page)
        if len(needed) == 1:
            return c
        er, pv, pur_rate, sign_rate, lead_rate = _PAGE_TYPES[page.kind]
        if self.flat:

            def u(salt: int) -> float:
                return 0.5
        else:

            def u(salt: int) -> float:
                return _mix(self.seed + salt, self.ordinal, index)

        for k in needed:
            if k == NONENG:
                c[NONENG] = sessions - _round(sessions * er, u(2))
            elif k == VIEWS:
                c[VIEWS] = _round(sessions * pv, u(3))
            elif k == EVENTS:
                c[EVENTS] = c[VIEWS] + _round(sessions * 3.2, u(4))
            elif k == PUR:
                rate = self.cr * (1 + 0.3 * (u(5) - 0.5)) if pur_rate is None else pur_rate
                c[PUR] = _round(sessions * rate, u(6))
            elif k == REV:
                aov_cents = 6400 + int(2000 * u(7))
                c[REV] = c[PUR] * aov_cents
            elif k == SIGN:
                c[SIGN] = _round(sessions * sign_rate, u(8))
            elif k == LEAD:
                c[LEAD] = _round(sessions * lead_rate, u(9))
            elif k == PSESS:
                c[PSESS] = _round(c[PUR] * 0.97, u(10))
            elif k == KES:
                c[KES] = min(sessions, c[PSESS] + c[SIGN] + c[LEAD])
            elif k == USERS:
                c[USERS] = _round(sessions / 1.18, u(11))
            elif k == ACTIVE:
                c[ACTIVE] = _round(c[USERS] * 0.96, u(12))
            elif k == NEW:
                c[NEW] = _round(c[USERS] * 0.52, u(13))
            elif k == KEU:
                c[KEU] = _round(c[KES] * 0.98, u(14))
            elif k == ENGS:
                engaged = sessions - c[NONENG]
                c[ENGS] = _round(engaged * 105 + c[NONENG] * 6, u(15))
            elif k == LOAD:
                c[LOAD] = _round(c[VIEWS] * (1450 + 400 * u(16)), u(17))
        return c


def dedupe_users(total_daily_users: float, days: int) -> int:
    """Distinct users over `days` days from the sum of daily distinct users."""
    if days <= 1:
        return int(total_daily_users)
    return round(total_daily_users / (1 + 0.3 * math.log(days)))


# --- filters --------------------------------------------------------------------------------


def _enum(value: Any, names: dict[int, str], default: str) -> str:
    if value is None:
        return default
    if isinstance(value, int):
        return names.get(value, default)
    return str(value)


def _compile_string_filter(spec: dict[str, Any]) -> Callable[[str], bool]:
    match = _enum(spec.get("matchType"), _MATCH, "EXACT")
    if match == "MATCH_TYPE_UNSPECIFIED":
        match = "EXACT"
    target = str(spec.get("value", ""))
    case = bool(spec.get("caseSensitive", False))
    if match in ("FULL_REGEXP", "PARTIAL_REGEXP"):
        try:
            pattern = re.compile(target, 0 if case else re.IGNORECASE)
        except re.error as exc:
            raise ApiError(400, f"Invalid regular expression {target!r}: {exc}") from exc
        if match == "FULL_REGEXP":
            return lambda v: pattern.fullmatch(v) is not None
        return lambda v: pattern.search(v) is not None
    if not case:
        target = target.lower()
    ops: dict[str, Callable[[str], bool]] = {
        "EXACT": lambda v: v == target,
        "BEGINS_WITH": lambda v: v.startswith(target),
        "ENDS_WITH": lambda v: v.endswith(target),
        "CONTAINS": lambda v: target in v,
    }
    if match not in ops:
        raise ApiError(400, f"Unsupported string filter match type {match}.")
    op = ops[match]
    return op if case else (lambda v: op(v.lower()))


def compile_dimension_filter(
    expr: dict[str, Any], catalog_dims: set[str]
) -> tuple[Callable[[dict[str, str]], bool], set[str]]:
    """A FilterExpression as a predicate over a cell's dimension values, and the dims it reads."""
    used: set[str] = set()

    def build(node: dict[str, Any]) -> Callable[[dict[str, str]], bool]:
        if "andGroup" in node:
            parts = [build(e) for e in node["andGroup"].get("expressions", [])]
            return lambda cell: all(p(cell) for p in parts)
        if "orGroup" in node:
            parts = [build(e) for e in node["orGroup"].get("expressions", [])]
            return lambda cell: any(p(cell) for p in parts)
        if "notExpression" in node:
            inner = build(node["notExpression"])
            return lambda cell: not inner(cell)
        if "filter" in node:
            leaf = node["filter"]
            name = leaf.get("fieldName", "")
            if name not in catalog_dims:
                raise ApiError(400, f"Field {name} is not a valid dimension. {_SCHEMA_HINT}")
            used.add(name)
            if "stringFilter" in leaf:
                test = _compile_string_filter(leaf["stringFilter"])
            elif "inListFilter" in leaf:
                spec = leaf["inListFilter"]
                case = bool(spec.get("caseSensitive", False))
                values = {str(v) if case else str(v).lower() for v in spec.get("values", [])}
                test = (lambda v: v in values) if case else (lambda v: v.lower() in values)
            elif "emptyFilter" in leaf:

                def test(v: str) -> bool:
                    return v in ("", "(not set)")
            else:
                raise ApiError(400, f"Unsupported dimension filter on {name}: {sorted(leaf)}")
            return lambda cell: test(cell[name])
        raise ApiError(400, f"Invalid filter expression: {sorted(node)}")

    return build(expr), used


def _numeric(value: dict[str, Any]) -> float:
    if "int64Value" in value:
        return float(int(value["int64Value"]))
    return float(value.get("doubleValue", 0.0))


def compile_metric_filter(
    expr: dict[str, Any], metrics: list[str]
) -> Callable[[dict[str, float]], bool]:
    def build(node: dict[str, Any]) -> Callable[[dict[str, float]], bool]:
        if "andGroup" in node:
            parts = [build(e) for e in node["andGroup"].get("expressions", [])]
            return lambda row: all(p(row) for p in parts)
        if "orGroup" in node:
            parts = [build(e) for e in node["orGroup"].get("expressions", [])]
            return lambda row: any(p(row) for p in parts)
        if "notExpression" in node:
            inner = build(node["notExpression"])
            return lambda row: not inner(row)
        leaf = node.get("filter", {})
        name = leaf.get("fieldName", "")
        if name not in metrics:
            raise ApiError(400, f"Metric filter field {name} must be one of the requested metrics.")
        if "numericFilter" in leaf:
            op = _enum(leaf["numericFilter"].get("operation"), _OPS, "EQUAL")
            bound = _numeric(leaf["numericFilter"].get("value", {}))
            compare = {
                "EQUAL": lambda x: x == bound,
                "LESS_THAN": lambda x: x < bound,
                "LESS_THAN_OR_EQUAL": lambda x: x <= bound,
                "GREATER_THAN": lambda x: x > bound,
                "GREATER_THAN_OR_EQUAL": lambda x: x >= bound,
            }[op]
            return lambda row: compare(row[name])
        if "betweenFilter" in leaf:
            low = _numeric(leaf["betweenFilter"].get("fromValue", {}))
            high = _numeric(leaf["betweenFilter"].get("toValue", {}))
            return lambda row: low <= row[name] <= high
        raise ApiError(400, f"Unsupported metric filter on {name}.")

    return build(expr)


# --- cell dimension values ------------------------------------------------------------------

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _date_dims(day: date) -> dict[str, str]:
    return {
        "date": day.strftime("%Y%m%d"),
        "dayOfWeek": str((day.weekday() + 1) % 7),  # GA4: Sunday = 0
        "dayOfWeekName": _DAY_NAMES[day.weekday()],
        "month": f"{day.month:02d}",
        "year": str(day.year),
        "yearMonth": f"{day.year}{day.month:02d}",
    }


def _page_dims(path: str, title: str, host: str) -> dict[str, str]:
    return {
        "pagePath": path,
        "landingPage": path,
        "landingPagePlusQueryString": path,
        "pageTitle": title,
        "hostName": host,
    }


_OTHER_PAGE = {
    "pagePath": "(other)",
    "landingPage": "(other)",
    "landingPagePlusQueryString": "(other)",
    "pageTitle": "(other)",
}


def _channel_dims(channel: str) -> dict[str, str]:
    source, medium = _CHANNEL_SOURCE[channel]
    return {
        "sessionDefaultChannelGroup": channel,
        "sessionSource": source,
        "sessionMedium": medium,
        "sessionSourceMedium": f"{source} / {medium}",
    }


_CHANNEL_DIMS = [_channel_dims(c) for c in CHANNELS]
_DEVICE_DIMS = [{"deviceCategory": d} for d in DEVICES]
_COUNTRY_DIMS = [{"country": n, "countryId": i} for n, i in COUNTRIES]


# --- request parsing ------------------------------------------------------------------------


def _parse_date(text: str, today: date) -> date:
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    m = re.fullmatch(r"(\d+)daysAgo", text)
    if m:
        return today - timedelta(days=int(m.group(1)))
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if not m:
        raise ApiError(400, f"Invalid date {text!r}: use YYYY-MM-DD, today, yesterday or NdaysAgo.")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise ApiError(400, f"Invalid date {text!r}: {exc}.") from exc


def _int(value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Invalid integer {value!r}.") from exc


@dataclass
class _Computed:
    """A report's full answer before paging (cached so later pages are cheap)."""

    dimension_headers: list[str]
    metric_headers: list[tuple[str, str]]
    rows: list[str]  # each row pre-rendered as JSON
    sampling: list[dict[str, str]] | None
    other_row: bool
    cost: int


# --- the server -----------------------------------------------------------------------------

MAX_LIMIT = 250_000
DEFAULT_LIMIT = 10_000
_PATH = re.compile(
    r"^/v1beta/properties/(?P<id>[^/:]+)(?::(?P<verb>runReport|batchRunReports)|/(?P<meta>metadata))$"
)


class GA4Sandbox:
    """The request handler: `SandboxServer(GA4Sandbox(...))`, or `GA4Sandbox(...).serve()`.

    `now` fixes the sandbox clock (a timezone-aware datetime or a callable returning one);
    without it the wall clock is used. The clock decides each property's "today": later days
    have no data and today's data is partial.
    """

    def __init__(
        self,
        properties: list[SandboxProperty] | None = None,
        now: datetime | Callable[[], datetime] | None = None,
        host_name: str = "shop.example.com",
    ) -> None:
        self.properties: dict[str, SandboxProperty] = {
            p.property_id: p for p in (properties or default_properties())
        }
        self._now = now
        self.host_name = host_name
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, _Computed] = OrderedDict()
        self._quota_used: dict[str, dict[str, int]] = {}
        self._quota_window: dict[str, tuple[str, str]] = {}
        self._active: dict[str, int] = {}
        self.reports_served = 0

    # -- configuration --------------------------------------------------------------------
    def add_property(self, prop: SandboxProperty) -> SandboxProperty:
        self.properties[prop.property_id] = prop
        return prop

    def configure(self, property_id: str, **changes: Any) -> SandboxProperty:
        """Change a property (e.g. `sampled=True`); later answers reflect it."""
        prop = replace(self.properties[property_id], **changes)
        self.properties[property_id] = prop
        return prop

    def set_now(self, now: datetime | Callable[[], datetime] | None) -> None:
        self._now = now

    def now(self) -> datetime:
        value = self._now() if callable(self._now) else self._now
        return value if value is not None else datetime.now(UTC)

    def reset(
        self,
        properties: list[SandboxProperty] | None = None,
        now: datetime | Callable[[], datetime] | None = None,
    ) -> None:
        """Back to a fresh state (properties, clock, quotas, cache): one server, many tests."""
        with self._lock:
            self.properties = {p.property_id: p for p in (properties or default_properties())}
            self._now = now
            self._cache.clear()
            self._quota_used.clear()
            self._quota_window.clear()
            self.reports_served = 0

    def reset_quota(self, property_id: str | None = None) -> None:
        with self._lock:
            if property_id is None:
                self._quota_used.clear()
            else:
                self._quota_used.pop(property_id, None)

    def serve(self, port: int = 0) -> SandboxServer:
        """Start a SandboxServer on 127.0.0.1 with this handler; stop it with `.stop()`."""
        return SandboxServer(self, name="ga4", port=port).start()

    # -- HTTP -----------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        m = _PATH.match(request.path)
        if not m:
            return Response(404, error_body(404, f"Unknown path {request.path}"))
        int_enums = "enum-encoding=int" in ";".join(request.query.get("$alt", []))
        property_id = m.group("id")
        prop = self.properties.get(property_id)
        try:
            if m.group("meta"):
                if request.method != "GET":
                    raise ApiError(400, "getMetadata is a GET method.")
                if property_id == "0":
                    return Response.json(self._metadata("0", None, int_enums))
                if prop is None:
                    raise ApiError(403, _NO_ACCESS)
                return Response.json(self._metadata(property_id, prop, int_enums))
            if request.method != "POST":
                raise ApiError(400, f"{m.group('verb')} is a POST method.")
            if prop is None:
                raise ApiError(403, _NO_ACCESS)
            try:
                body = request.json()
            except ValueError as exc:
                raise ApiError(400, f"Invalid JSON payload received. {exc}") from exc
            if m.group("verb") == "runReport":
                return self._concurrently(prop, lambda: self._run_report(prop, body, int_enums))
            return self._concurrently(prop, lambda: self._batch(prop, body, int_enums))
        except ApiError as exc:
            return Response(exc.code, error_body(exc.code, exc.message))

    def _concurrently(self, prop: SandboxProperty, work: Callable[[], Response]) -> Response:
        pid = prop.property_id
        with self._lock:
            if self._active.get(pid, 0) >= prop.quota.concurrent_requests:
                raise ApiError(429, QUOTA_MESSAGES["concurrentRequests"])
            self._active[pid] = self._active.get(pid, 0) + 1
        try:
            return work()
        finally:
            with self._lock:
                self._active[pid] -= 1

    # -- metadata -------------------------------------------------------------------------
    def _metadata(
        self, property_id: str, prop: SandboxProperty | None, int_enums: bool
    ) -> dict[str, Any]:
        key_events = prop.key_events if prop else ()
        metrics = _metric_table(key_events)
        dims = [
            {"apiName": name, "uiName": ui, "description": f"{ui} (sandbox).", "category": cat}
            for name, (_, ui, cat) in DIMENSIONS.items()
        ]
        out_metrics = []
        for name, spec in metrics.items():
            mtype, cat, custom = spec.type, spec.category, spec.custom
            if custom and prop is None:
                continue
            entry: dict[str, Any] = {
                "apiName": name,
                "uiName": name,
                "description": f"{name} (sandbox).",
                "type": _T[mtype] if int_enums else mtype,
                "category": cat,
            }
            if custom:
                entry["customDefinition"] = True
            out_metrics.append(entry)
        return {
            "name": f"properties/{property_id}/metadata",
            "dimensions": dims,
            "metrics": out_metrics,
        }

    # -- quota ----------------------------------------------------------------------------
    def _charge(self, prop: SandboxProperty, cost: int, thresholded: bool) -> dict[str, Any]:
        """Charge tokens for a request (or raise the 429 GA4 sends) and return propertyQuota."""
        now = self.now()
        hour = now.astimezone(UTC).strftime("%Y%m%d%H")
        day = now.astimezone(ZoneInfo(prop.time_zone)).date().isoformat()
        q = prop.quota
        limits = {
            "tokensPerDay": q.tokens_per_day,
            "tokensPerHour": q.tokens_per_hour,
            "tokensPerProjectPerHour": q.tokens_per_project_per_hour,
            "potentiallyThresholdedRequestsPerHour": q.potentially_thresholded_requests_per_hour,
        }
        with self._lock:
            used = self._quota_used.setdefault(prop.property_id, {})
            last_hour, last_day = self._quota_window.get(prop.property_id, (hour, day))
            if last_hour != hour:
                for k in (
                    "tokensPerHour",
                    "tokensPerProjectPerHour",
                    "potentiallyThresholdedRequestsPerHour",
                ):
                    used.pop(k, None)
            if last_day != day:
                used.pop("tokensPerDay", None)
            self._quota_window[prop.property_id] = (hour, day)
            charge = {
                "tokensPerDay": cost,
                "tokensPerHour": cost,
                "tokensPerProjectPerHour": cost,
                "potentiallyThresholdedRequestsPerHour": 1 if thresholded else 0,
            }
            for bucket, amount in charge.items():
                if amount and used.get(bucket, 0) + amount > limits[bucket]:
                    raise ApiError(429, QUOTA_MESSAGES[bucket])
            for bucket, amount in charge.items():
                used[bucket] = used.get(bucket, 0) + amount
            active = self._active.get(prop.property_id, 0)
            quota: dict[str, Any] = {}
            for bucket, amount in charge.items():
                status: dict[str, int] = {"remaining": limits[bucket] - used.get(bucket, 0)}
                if amount:
                    status = {"consumed": amount, **status}  # proto3 JSON omits a zero
                quota[bucket] = status
            quota["concurrentRequests"] = {"remaining": q.concurrent_requests - active}
            quota["serverErrorsPerProjectPerHour"] = {
                "remaining": q.server_errors_per_project_per_hour
            }
        return quota

    # -- reports --------------------------------------------------------------------------
    def _batch(self, prop: SandboxProperty, body: dict[str, Any], int_enums: bool) -> Response:
        requests = body.get("requests") or []
        if not requests:
            raise ApiError(400, "requests must not be empty.")
        if len(requests) > 5:
            raise ApiError(
                400, f"Batch requests are limited to 5 requests, but {len(requests)} were given."
            )
        for r in requests:
            named = r.get("property")
            if named and named != f"properties/{prop.property_id}":
                raise ApiError(
                    400,
                    "Within a batch request, the property should be unspecified or consistent "
                    "with the batch-level property.",
                )
        prepared = [self._prepare(prop, r) for r in requests]
        thresholded = prop.thresholded
        quota = self._charge(prop, sum(p[0].cost for p in prepared), thresholded)
        reports = [
            self._render(prop, computed, req, quota, int_enums) for computed, req in prepared
        ]
        self.reports_served += len(reports)
        text = '{"reports":[' + ",".join(reports) + '],"kind":"analyticsData#batchRunReports"}'
        return Response(200, text.encode())

    def _run_report(self, prop: SandboxProperty, body: dict[str, Any], int_enums: bool) -> Response:
        computed, req = self._prepare(prop, body)
        quota = self._charge(prop, computed.cost, prop.thresholded)
        self.reports_served += 1
        return Response(200, self._render(prop, computed, req, quota, int_enums).encode())

    def _prepare(
        self, prop: SandboxProperty, body: dict[str, Any]
    ) -> tuple[_Computed, dict[str, Any]]:
        if "cohortSpec" in body or "comparisons" in body:
            raise ApiError(400, "The sandbox does not model cohort or comparison reports.")
        now = self.now()
        today = now.astimezone(ZoneInfo(prop.time_zone)).date()
        ranges = body.get("dateRanges") or []
        if not ranges:
            raise ApiError(400, "dateRanges must be specified.")
        if len(ranges) > 4:
            raise ApiError(
                400, f"Requests are limited to 4 date ranges, but {len(ranges)} were given."
            )
        parsed = []
        for i, r in enumerate(ranges):
            start = _parse_date(str(r.get("startDate", "")), today)
            end = _parse_date(str(r.get("endDate", "")), today)
            if start > end:
                raise ApiError(
                    400, f"Invalid date range: startDate {start} is after endDate {end}."
                )
            parsed.append((start, end, r.get("name") or f"date_range_{i}"))
        # A report touching today changes as the day goes on: cache per minute then.
        live = any(s <= today <= e for s, e, _ in parsed)
        clock = now.astimezone(UTC).strftime("%Y%m%d%H%M") if live else today.isoformat()
        key_body = {
            k: v
            for k, v in body.items()
            if k not in ("offset", "limit", "returnPropertyQuota", "property")
        }
        key = json.dumps([prop, clock, key_body], sort_keys=True, default=str)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is None:
            cached = self._compute(prop, body, parsed, now)
            with self._lock:
                self._cache[key] = cached
                while len(self._cache) > 32:
                    self._cache.popitem(last=False)
        return cached, body

    def _compute(
        self,
        prop: SandboxProperty,
        body: dict[str, Any],
        ranges: list[tuple[date, date, str]],
        now: datetime,
    ) -> _Computed:
        metric_table = _metric_table(prop.key_events)
        dims = [d.get("name", "") for d in body.get("dimensions") or []]
        metrics = [m.get("name", "") for m in body.get("metrics") or []]
        for d in body.get("dimensions") or []:
            if "dimensionExpression" in d:
                raise ApiError(400, "The sandbox does not model dimension expressions.")
        for m in body.get("metrics") or []:
            if "expression" in m:
                raise ApiError(400, "The sandbox does not model metric expressions.")
        if not metrics and not dims:
            raise ApiError(400, "At least one dimension or metric must be requested.")
        if len(metrics) > 10:
            raise ApiError(
                400, f"Requests are limited to 10 metrics, but {len(metrics)} were given."
            )
        if len(dims) > 9:
            raise ApiError(
                400, f"Requests are limited to 9 dimensions, but {len(dims)} were given."
            )
        for name in dims:
            if name not in DIMENSIONS:
                raise ApiError(400, f"Field {name} is not a valid dimension. {_SCHEMA_HINT}")
        for name in metrics:
            if name not in metric_table:
                raise ApiError(400, f"Field {name} is not a valid metric. {_SCHEMA_HINT}")
        if len(set(dims)) != len(dims) or len(set(metrics)) != len(metrics):
            raise ApiError(400, "Dimensions and metrics must not be repeated in a request.")
        multi = len(ranges) > 1
        headers = dims + (["dateRange"] if multi else [])

        predicate = None
        filter_dims: set[str] = set()
        if body.get("dimensionFilter"):
            predicate, filter_dims = compile_dimension_filter(
                body["dimensionFilter"], set(DIMENSIONS)
            )
        metric_predicate = None
        if body.get("metricFilter"):
            metric_predicate = compile_metric_filter(body["metricFilter"], metrics)

        depth = max([DIMENSIONS[d][0] for d in set(dims) | filter_dims] + [0])
        filter_level = max([DIMENSIONS[d][0] for d in filter_dims] + [0])
        counters: set[int] = set()
        for name in metrics:
            counters.update(metric_table[name].counters)
        needed = _needed(counters)
        pages = _pages_for(prop.profile, prop.bench_pages)
        rollup = (
            depth >= 1 and prop.other_row_limit is not None and prop.other_row_limit < len(pages)
        )

        types = [metric_table[name].type for name in metrics]
        keep_empty = bool(body.get("keepEmptyRows"))
        if (
            not multi
            and not rollup
            and depth <= 1
            and metric_predicate is None
            and len(headers) == 2
            and headers[0] == "date"
            and headers[1] in _PAGE_UNIQUE
            and _ascending_in_header_order(body.get("orderBys") or [], headers)
        ):
            # Every (day, page) cell is its own row, produced in the requested order: render
            # rows straight away (the ~1M-row benchmark report takes this path).
            rendered, total_events = self._cell_rows(
                prop,
                ranges[0],
                now,
                metrics,
                metric_table,
                needed,
                predicate,
                headers[1],
                keep_empty,
            )
        else:
            rows, total_events = self._grouped_rows(
                prop,
                ranges,
                now,
                headers,
                metrics,
                metric_table,
                needed,
                depth,
                predicate,
                filter_level,
                metric_predicate,
                rollup,
                keep_empty,
            )
            rows = _order(rows, body.get("orderBys") or [], headers, metrics)
            rendered = _render_rows(rows, metrics, types, prop.integers_as_floats)
        sampling = None
        if prop.sampled:
            space = max(total_events, 1)
            sampling = [
                {"samplesReadCount": str(space // 10), "samplingSpaceSize": str(space)}
                for _ in ranges
            ]
        # Token cost grows with the rows a report produces (GA4: "most requests cost ≤ 10").
        cost = 1 + len(rendered) // 10_000
        return _Computed(
            headers, list(zip(metrics, types, strict=True)), rendered, sampling, rollup, cost
        )

    def _grouped_rows(
        self,
        prop: SandboxProperty,
        ranges: list[tuple[date, date, str]],
        now: datetime,
        headers: list[str],
        metrics: list[str],
        metric_table: dict[str, MetricDef],
        needed: list[int],
        depth: int,
        predicate: Callable[[dict[str, str]], bool] | None,
        filter_level: int,
        metric_predicate: Callable[[dict[str, float]], bool] | None,
        rollup: bool,
        keep_empty: bool,
    ) -> tuple[list[tuple[tuple[str, ...], dict[str, float]]], int]:
        """Enumerate cells down to `depth`, filter them and sum them into answer rows."""
        multi = len(ranges) > 1
        pages = _pages_for(prop.profile, prop.bench_pages)
        seed = zlib.crc32(prop.property_id.encode())
        page_dims_needed = depth >= 1
        page_dim_cache = [_page_dims(p.path, p.title, self.host_name) for p in pages]
        groups: dict[tuple[str, ...], list[int]] = {}
        group_days: dict[tuple[str, ...], list[int]] = {}  # [distinct days, last day ordinal]
        total_events = 0

        for start, end, range_name in ranges:
            day = start
            while day <= end:
                hours = _elapsed_hours(day, prop.time_zone, now)
                if hours <= 0:
                    break  # the property's future: GA4 has no rows yet
                model = _DayModel(prop, day, hours, seed)
                cell: dict[str, str] = dict(_date_dims(day))
                if multi:
                    cell["dateRange"] = range_name
                ordinal = day.toordinal()
                page_counters = [model.counters(i, p, needed) for i, p in enumerate(pages)]
                other: set[int] = set()
                if rollup:
                    ranked = sorted(
                        range(len(pages)), key=lambda i: (-page_counters[i][S], pages[i].path)
                    )
                    other = set(ranked[prop.other_row_limit :])
                for i in range(len(pages)):
                    pc = page_counters[i]
                    total_events += pc[EVENTS] if EVENTS in needed else pc[S] * 6
                    if page_dims_needed:
                        cell.update(page_dim_cache[i])
                        if i in other:
                            cell.update(_OTHER_PAGE)
                    if predicate is not None and filter_level <= 1 and not predicate(cell):
                        continue
                    self._descend(
                        cell,
                        pc,
                        needed,
                        depth,
                        1,
                        pages[i].kind,
                        predicate,
                        filter_level,
                        headers,
                        groups,
                        group_days,
                        ordinal,
                    )
                day += timedelta(days=1)

        rows: list[tuple[tuple[str, ...], dict[str, float]]] = []
        for key, sums in groups.items():
            n_days = group_days[key][0]

            def dd(total: float, n: int = n_days) -> int:
                return dedupe_users(total, n)

            values = {name: float(metric_table[name].value(sums, dd)) for name in metrics}
            if not keep_empty and metrics and all(v == 0 for v in values.values()):
                continue
            if metric_predicate is not None and not metric_predicate(values):
                continue
            rows.append((key, values))
        return rows, total_events

    def _cell_rows(
        self,
        prop: SandboxProperty,
        date_range: tuple[date, date, str],
        now: datetime,
        metrics: list[str],
        metric_table: dict[str, MetricDef],
        needed: list[int],
        predicate: Callable[[dict[str, str]], bool] | None,
        page_dim: str,
        keep_empty: bool,
    ) -> tuple[list[str], int]:
        """Rendered rows of a (date, page) report, one per cell, days and pages ascending."""
        pages = _pages_for(prop.profile, prop.bench_pages)
        seed = zlib.crc32(prop.property_id.encode())
        page_dim_cache = [_page_dims(p.path, p.title, self.host_name) for p in pages]
        page_json = [_value_json(d[page_dim]) for d in page_dim_cache]
        defs = [(metric_table[n].value, metric_table[n].type) for n in metrics]
        as_floats = prop.integers_as_floats
        sessions_only = metrics == ["sessions"]

        def one_day(total: float) -> int:
            return dedupe_users(total, 1)

        out: list[str] = []
        total_events = 0
        start, end, _ = date_range
        day = start
        while day <= end:
            hours = _elapsed_hours(day, prop.time_zone, now)
            if hours <= 0:
                break
            model = _DayModel(prop, day, hours, seed)
            cell = _date_dims(day)
            head = '{"dimensionValues":[' + _value_json(cell["date"]) + ","
            for i, page in enumerate(pages):
                if predicate is not None:
                    cell.update(page_dim_cache[i])
                    if not predicate(cell):
                        continue
                if sessions_only:
                    sessions = model.sessions(i, page)
                    total_events += sessions * 6
                    if sessions or keep_empty:
                        out.append(
                            head
                            + page_json[i]
                            + '],"metricValues":[{"value":"'
                            + (f"{sessions}.0" if as_floats else str(sessions))
                            + '"}]}'
                        )
                    continue
                c = model.counters(i, page, needed)
                total_events += c[EVENTS] if EVENTS in needed else c[S] * 6
                values = [float(fn(c, one_day)) for fn, _ in defs]
                if metrics and not any(values) and not keep_empty:
                    continue
                mets = ",".join(
                    '{"value":"' + _format(v, t, as_floats) + '"}'
                    for v, (_, t) in zip(values, defs, strict=True)
                )
                out.append(head + page_json[i] + '],"metricValues":[' + mets + "]}")
            day += timedelta(days=1)
        return out, total_events

    def _descend(
        self,
        cell: dict[str, str],
        counters: list[int],
        needed: list[int],
        depth: int,
        level: int,
        kind: str,
        predicate: Callable[[dict[str, str]], bool] | None,
        filter_level: int,
        headers: list[str],
        groups: dict[tuple[str, ...], list[int]],
        group_days: dict[tuple[str, ...], list[int]],
        ordinal: int,
    ) -> None:
        """Split a cell's counters one level down (channel → device → country) until `depth`."""
        if level >= depth:
            if predicate is not None and filter_level > 1 and not predicate(cell):
                return
            key = tuple(cell[h] for h in headers)
            sums = groups.get(key)
            if sums is None:
                groups[key] = list(counters)
                group_days[key] = [1, ordinal]
                return
            for k in needed:
                sums[k] += counters[k]
            seen = group_days[key]
            if seen[1] != ordinal:
                seen[0] += 1
                seen[1] = ordinal
            return
        if level == 1:
            weights, values = _CHANNEL_MIX.get(kind, _CHANNEL_MIX_DEFAULT), _CHANNEL_DIMS
        elif level == 2:
            weights, values = _DEVICE_MIX, _DEVICE_DIMS
        else:
            weights, values = _COUNTRY_MIX, _COUNTRY_DIMS
        splits = {k: _apportion(counters[k], weights) for k in needed}
        for j, dims in enumerate(values):
            child = [0] * 16
            for k in needed:
                child[k] = splits[k][j]
            cell.update(dims)
            self._descend(
                cell,
                child,
                needed,
                depth,
                level + 1,
                kind,
                predicate,
                filter_level,
                headers,
                groups,
                group_days,
                ordinal,
            )

    def _render(
        self,
        prop: SandboxProperty,
        computed: _Computed,
        body: dict[str, Any],
        quota: dict[str, Any],
        int_enums: bool,
    ) -> str:
        offset = _int(body.get("offset"), 0)
        limit = _int(body.get("limit"), DEFAULT_LIMIT)
        if offset < 0:
            raise ApiError(400, "offset must be non-negative.")
        if limit <= 0:
            raise ApiError(400, "limit must be positive.")
        limit = min(limit, MAX_LIMIT)
        page = computed.rows[offset : offset + limit]
        parts = [
            '"dimensionHeaders":' + json.dumps([{"name": h} for h in computed.dimension_headers]),
            '"metricHeaders":'
            + json.dumps(
                [{"name": n, "type": _T[t] if int_enums else t} for n, t in computed.metric_headers]
            ),
        ]
        if page:
            parts.append('"rows":[' + ",".join(page) + "]")
        if computed.rows:
            parts.append(f'"rowCount":{len(computed.rows)}')
        meta: dict[str, Any] = {}
        if computed.other_row:
            meta["dataLossFromOtherRow"] = True
        meta["currencyCode"] = prop.currency_code
        meta["timeZone"] = prop.time_zone
        if not computed.rows and prop.empty_reason:
            meta["emptyReason"] = prop.empty_reason
        if prop.thresholded:
            meta["subjectToThresholding"] = True
        if computed.sampling:
            meta["samplingMetadatas"] = computed.sampling
        parts.append('"metadata":' + json.dumps(meta))
        if body.get("returnPropertyQuota"):
            parts.append('"propertyQuota":' + json.dumps(quota))
        parts.append('"kind":"analyticsData#runReport"')
        return "{" + ",".join(parts) + "}"


_PAGE_UNIQUE = ("pagePath", "landingPage", "landingPagePlusQueryString")


def _ascending_in_header_order(order_bys: list[dict[str, Any]], headers: list[str]) -> bool:
    """True when orderBys (or GA4's default we use) sort by every dimension ascending, in order."""
    if not order_bys:
        return True
    names = [
        ob["dimension"].get("dimensionName")
        for ob in order_bys
        if "dimension" in ob
        and not ob.get("desc", False)
        and _enum(ob["dimension"].get("orderType"), _ORDER_TYPES, "ALPHANUMERIC") == "ALPHANUMERIC"
    ]
    return names == headers and len(order_bys) == len(headers)


_NO_ACCESS = (
    "User does not have sufficient permissions for this property. To learn more about "
    "Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id."
)


def _order(
    rows: list[tuple[tuple[str, ...], dict[str, float]]],
    order_bys: list[dict[str, Any]],
    headers: list[str],
    metrics: list[str],
) -> list[tuple[tuple[str, ...], dict[str, float]]]:
    """Apply orderBys (stable sorts, last key first), or GA4-like defaults (dimensions asc)."""
    if not order_bys:
        order_bys = [{"dimension": {"dimensionName": h}} for h in headers]
    keys: list[tuple[Callable[[Any], Any], bool]] = []
    for ob in order_bys:
        desc = bool(ob.get("desc", False))
        if "metric" in ob:
            name = ob["metric"].get("metricName", "")
            if name not in metrics:
                raise ApiError(400, f"orderBys metric {name} must be one of the requested metrics.")
            keys.append((lambda r, n=name: r[1][n], desc))
        elif "dimension" in ob:
            name = ob["dimension"].get("dimensionName", "")
            if name not in headers:
                raise ApiError(
                    400, f"orderBys dimension {name} must be one of the requested dimensions."
                )
            idx = headers.index(name)
            kind = _enum(ob["dimension"].get("orderType"), _ORDER_TYPES, "ALPHANUMERIC")
            if kind == "NUMERIC":

                def key(r: Any, i: int = idx) -> Any:
                    try:
                        return (0, float(r[0][i]), "")
                    except ValueError:
                        return (1, 0.0, r[0][i])
            elif kind == "CASE_INSENSITIVE_ALPHANUMERIC":

                def key(r: Any, i: int = idx) -> Any:
                    return r[0][i].lower()
            else:

                def key(r: Any, i: int = idx) -> Any:
                    return r[0][i]

            keys.append((key, desc))
        else:
            raise ApiError(400, "orderBys entries need a metric or a dimension.")
    plain = [
        ob["dimension"]["dimensionName"]
        for ob in order_bys
        if "dimension" in ob
        and not ob.get("desc", False)
        and _enum(ob["dimension"].get("orderType"), _ORDER_TYPES, "ALPHANUMERIC") == "ALPHANUMERIC"
    ]
    if plain == headers and len(order_bys) == len(headers):
        # The common case (every dimension ascending, in header order) is one tuple sort,
        # skipped entirely when the rows were produced in that order already.
        if all(a[0] <= b[0] for a, b in zip(rows, rows[1:], strict=False)):
            return rows
        return sorted(rows, key=lambda r: r[0])
    for key_fn, desc in reversed(keys):
        rows = sorted(rows, key=key_fn, reverse=desc)
    return rows


_VALUE_JSON: dict[str, str] = {}


def _value_json(value: str) -> str:
    cached = _VALUE_JSON.get(value)
    if cached is None:
        cached = '{"value":' + json.dumps(value) + "}"
        if len(_VALUE_JSON) < 1_000_000:
            _VALUE_JSON[value] = cached
    return cached


def _format(value: float, metric_type: str, integers_as_floats: bool) -> str:
    if metric_type == "TYPE_INTEGER":
        return f"{int(value)}.0" if integers_as_floats else str(int(value))
    if metric_type == "TYPE_CURRENCY":
        return repr(round(value, 2))
    if metric_type in ("TYPE_SECONDS", "TYPE_MILLISECONDS") and value == int(value):
        return str(int(value))
    return repr(value)


def _render_rows(
    rows: list[tuple[tuple[str, ...], dict[str, float]]],
    metrics: list[str],
    types: list[str],
    integers_as_floats: bool,
) -> list[str]:
    out = []
    pairs = list(zip(metrics, types, strict=True))
    for key, values in rows:
        dims = ",".join(_value_json(v) for v in key)
        mets = ",".join(
            '{"value":"' + _format(values[n], t, integers_as_floats) + '"}' for n, t in pairs
        )
        out.append('{"dimensionValues":[' + dims + '],"metricValues":[' + mets + "]}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the GA4 Data API sandbox on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = GA4Sandbox().serve(port=args.port)
    print(f"GA4 sandbox on {server.base_url} (properties: {DEMO_PROPERTY_ID}, 271828182)")
    try:
        wait_until_interrupted()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
