"""Matomo Reporting API connector: day values and exact-range values (validation: validate.py).

Everything goes through one HTTP call shape, `POST {base_url}/index.php` with a form body
(`module=API`, `format=JSON`, `token_auth`, ...). The token travels in the POST body only:
Matomo 5 "secure only" tokens are refused in a URL, and URLs end up in web-server logs.

All metrics of a run share `API.getBulkRequest` calls: each metric becomes one sub-request
(`urls[i]`) asking `period=day&date=START,END`, which Matomo answers as a dict keyed by day,
so a whole quarter of many metrics is usually a single HTTP request. The site's own record
(`SitesManager.getSiteFromId`) rides in the same bulk request: its time zone decides which
days exist yet and which are still provisional.

Rates are never taken from Matomo's rounded, per-day percentages: they come back as numerator
and denominator per day (e.g. conversion rate = goal conversions / visits) so the warehouse
can compute a ratio of sums over any window.

Why one module of ~1,000 lines: the report catalogue, the bulk client, the metric plans and the
answer reading share the private `ReportSpec`/`SubRequest`/`Answer` types step by step; its
settings and its validation are apart (settings.py, validate.py). Splitting the rest into
requests.py and parse.py like GA4's is the next step.
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import re
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import certifi
import httpx
import pyarrow as pa

from connectors.base import (
    FetchResult,
    MetricRequest,
    RangeRequest,
    daily_table,
    day_range,
    flag_table,
    range_table,
    request_hash,
    with_currency,
)
from connectors.errors import AuthError, RetryableSourceError, SourceError
from connectors.matomo.settings import (
    ALL_ROWS,
    PROVISIONAL,
    PROVISIONAL_DAYS,
    USER_AGENT,
    MatomoSettings,
)
from connectors.retry import call_with_retry, retry_after_seconds
from okr_definitions.sources.matomo import MatomoQuery

log = logging.getLogger(__name__)

SOURCE = "matomo"

# --- the report catalogue ----------------------------------------------------------------------

Kind = Literal["sum", "nonadditive", "ratio", "weighted", "page_load"]


@dataclass(frozen=True)
class ColumnSpec:
    """How one report column becomes a day value.

    sum          additive count, summed over days by the warehouse.
    nonadditive  distinct counts / maxima; valid per day, ask `fetch_matomo_ranges` for windows.
    ratio        numerator / denominator, both additive; the denominator may come from another
                 report of the same segment (`denominator_method`).
    weighted     an average Matomo only returns pre-divided; weighted by hits from
                 `denominator_method` so that numerator = total time, denominator = hits.
    page_load    a page row's load time: sum of its component averages, weighted by its hits.
    """

    kind: Kind
    numerator: str | None = None
    denominator: str | None = None
    denominator_method: str | None = None
    # Goals.get without idGoal: Matomo's overall rate counts visits with any conversion.
    numerator_without_goal: str | None = None


@dataclass(frozen=True)
class ReportSpec:
    method: str
    # None: one object per day. "page": rows picked by `page_url`. "label": by `label`.
    rows: Literal["page", "label"] | None
    columns: dict[str, ColumnSpec]
    takes_goal: bool = False


_SUM = ColumnSpec("sum")
_NONADD = ColumnSpec("nonadditive")


def _ratio(num: str, den: str, den_method: str | None = None) -> ColumnSpec:
    return ColumnSpec("ratio", numerator=num, denominator=den, denominator_method=den_method)


_VISIT_COLUMNS: dict[str, ColumnSpec] = {
    "nb_visits": _SUM,
    "nb_actions": _SUM,
    "nb_visits_converted": _SUM,
    "bounce_count": _SUM,
    "sum_visit_length": _SUM,
    "nb_uniq_visitors": _NONADD,
    "nb_users": _NONADD,
    "max_actions": _NONADD,
    "bounce_rate": _ratio("bounce_count", "nb_visits"),
    "nb_actions_per_visit": _ratio("nb_actions", "nb_visits"),
    "avg_time_on_site": _ratio("sum_visit_length", "nb_visits"),
}

# PagePerformance.get's components, in Matomo's order; a page row carries sum_time_<c> and
# nb_hits_with_time_<c> for each.
_PERF_COMPONENTS = (
    "network",
    "server",
    "transfer",
    "dom_processing",
    "dom_completion",
    "on_load",
)

REPORTS: dict[str, ReportSpec] = {
    "VisitsSummary.get": ReportSpec("VisitsSummary.get", None, dict(_VISIT_COLUMNS)),
    "Goals.get": ReportSpec(
        "Goals.get",
        None,
        {
            "nb_conversions": _SUM,
            "nb_visits_converted": _SUM,
            "revenue": _SUM,
            # Matomo: a goal's conversion_rate = its nb_conversions / nb_visits; Goals.get does
            # not return nb_visits, so the denominator comes from VisitsSummary.get.
            "conversion_rate": ColumnSpec(
                "ratio",
                numerator="nb_conversions",
                denominator="nb_visits",
                denominator_method="VisitsSummary.get",
                numerator_without_goal="nb_visits_converted",
            ),
        },
        takes_goal=True,
    ),
    "Actions.get": ReportSpec(
        "Actions.get",
        None,
        {
            "nb_pageviews": _SUM,
            "nb_uniq_pageviews": _SUM,
            "nb_downloads": _SUM,
            "nb_outlinks": _SUM,
            "nb_searches": _SUM,
        },
    ),
    # PagePerformance.get returns averages only (its totals are deleted before rendering), so
    # each day's average is weighted by the pageviews of the same segment from Actions.get:
    # numerator = average x pageviews = total load time, denominator = pageviews.
    "PagePerformance.get": ReportSpec(
        "PagePerformance.get",
        None,
        {
            f"avg_{name}": ColumnSpec(
                "weighted", denominator="nb_pageviews", denominator_method="Actions.get"
            )
            for name in [f"time_{c}" for c in _PERF_COMPONENTS] + ["page_load_time"]
        },
    ),
    "Actions.getPageUrls": ReportSpec(
        "Actions.getPageUrls",
        "page",
        {
            "nb_hits": _SUM,
            "nb_visits": _SUM,
            "sum_time_spent": _SUM,
            "entry_nb_visits": _SUM,
            "entry_nb_actions": _SUM,
            "entry_sum_visit_length": _SUM,
            "entry_bounce_count": _SUM,
            "exit_nb_visits": _SUM,
            "nb_uniq_visitors": _NONADD,
            "bounce_rate": _ratio("entry_bounce_count", "entry_nb_visits"),
            "exit_rate": _ratio("exit_nb_visits", "nb_visits"),
            **{
                f"avg_time_{c}": _ratio(f"sum_time_{c}", f"nb_hits_with_time_{c}")
                for c in _PERF_COMPONENTS
            },
            "avg_page_load_time": ColumnSpec("page_load", denominator="nb_hits"),
        },
    ),
    "Referrers.getReferrerType": ReportSpec(
        "Referrers.getReferrerType",
        "label",
        {
            **_VISIT_COLUMNS,
            "nb_conversions": _SUM,
            "revenue": _SUM,
            "conversion_rate": _ratio("nb_visits_converted", "nb_visits"),
        },
    ),
}

# Matomo's referrer type codes (as used in the referrerType segment) and their row labels.
REFERRER_TYPES = {
    "direct": "Direct Entry",
    "search": "Search Engines",
    "website": "Websites",
    "campaign": "Campaigns",
    "social": "Social Networks",
}


# Columns that are amounts of money, in the site's currency (SitesManager's `currency`).
MONEY_COLUMNS = frozenset({"revenue"})


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.5)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _report_spec(method: str) -> ReportSpec:
    spec = REPORTS.get(method)
    if spec is None:
        raise SourceError(
            SOURCE,
            f"report {method!r} is not supported.{_suggest(method, REPORTS)} "
            f"Supported reports: {', '.join(REPORTS)}.",
        )
    return spec


def _column_spec(report: ReportSpec, column: str) -> ColumnSpec:
    spec = report.columns.get(column)
    if spec is None:
        raise SourceError(
            SOURCE,
            f"column {column!r} is not supported for {report.method}."
            f"{_suggest(column, report.columns)} Columns: {', '.join(report.columns)}.",
        )
    return spec


def is_additive(query: MatomoQuery) -> bool:
    """True when daily values (or daily numerators and denominators) may be summed over days.

    False for distinct counts and maxima (nb_uniq_visitors, nb_users, max_actions): a window's
    value must come from `fetch_matomo_ranges`, never from adding days up.
    """
    report = _report_spec(query.method)
    return _column_spec(report, query.column).kind != "nonadditive"


# --- value parsing -----------------------------------------------------------------------------

_DURATION_PARTS = re.compile(r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|h|min|m|s)\b")
_DURATION_UNIT_S = {
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "min": 60,
    "m": 60,
    "s": 1,
}


def parse_matomo_number(value: Any) -> float | None:
    """A Matomo cell as a float: 12, "12", "0.0620", "3.2%" -> 0.032, "00:01:05" -> 65,
    "1.23s" -> 1.23, "5 min 13s" -> 313. None for missing cells (None, "", False).

    Matomo formats percentages and durations as strings depending on `format_metrics` and the
    version, so every column goes through here. Raises ValueError on anything else.
    """
    if value is None or value is False or value == "":
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"not a number: {value!r}")
    text = value.strip().replace("\u00a0", " ")
    if text.endswith("%"):
        return float(text[:-1].strip()) / 100.0
    if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        return float(text)
    clock = re.fullmatch(r"(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)", text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    parts = _DURATION_PARTS.findall(text)
    if parts and _DURATION_PARTS.sub("", text).strip() == "":
        return sum(float(n) * _DURATION_UNIT_S[unit] for n, unit in parts)
    raise ValueError(f"not a number: {value!r}")


def site_timezone(name: str) -> tzinfo:
    """A site's time zone: an IANA name, or Matomo's manual offsets such as 'UTC+5.5'."""
    manual = re.fullmatch(r"UTC(?:([+-]\d{1,2}(?:\.\d+)?))?", name.strip())
    if manual:
        return timezone(timedelta(hours=float(manual.group(1) or 0)))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SourceError(SOURCE, f"site time zone {name!r} is not a known time zone") from exc


# --- sub-requests and the bulk client ----------------------------------------------------------


@dataclass(frozen=True)
class SubRequest:
    """One `urls[i]` of a bulk request. Never carries a credential."""

    site_id: int
    method: str
    params: tuple[tuple[str, str], ...]  # everything but `method`, sorted

    @classmethod
    def make(cls, site_id: int, method: str, **params: str | int | None) -> SubRequest:
        clean = {k: str(v) for k, v in params.items() if v is not None}
        clean["idSite"] = str(site_id)
        return cls(site_id, method, tuple(sorted(clean.items())))

    # Cached: a year of days per sub-request reuses them in every raw row.
    @functools.cached_property
    def query_string(self) -> str:
        # quote_via=quote keeps spaces as %20: Matomo decodes either, this is what PHP emits.
        return urlencode([("method", self.method), *self.params], quote_via=quote)

    @functools.cached_property
    def params_json(self) -> str:
        return json.dumps({"method": self.method, **dict(self.params)}, sort_keys=True)

    @functools.cached_property
    def hash(self) -> str:
        return request_hash({"method": self.method, **dict(self.params)})

    def describe(self) -> str:
        shown = {k: v for k, v in self.params if k in ("idSite", "idGoal", "segment", "period")}
        return f"{self.method} ({', '.join(f'{k}={v}' for k, v in shown.items())})"


@dataclass
class Answer:
    sub: SubRequest
    payload: Any
    fetched_at: datetime
    bulk_hash: str


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~50 ms; a run makes one client per fetch, so load it once.
    return ssl.create_default_context(cafile=certifi.where())


class MatomoClient:
    """Sends bulk requests under the shared retry policy and counts HTTP attempts."""

    def __init__(self, settings: MatomoSettings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self._http = http or httpx.Client(
            timeout=settings.timeout_s, headers={"User-Agent": USER_AGENT}, verify=_tls_context()
        )
        password = settings.basic_auth_password
        self._auth = (
            httpx.BasicAuth(settings.basic_auth_user, password.get_secret_value())
            if settings.basic_auth_user is not None and password is not None
            else None
        )
        self._owns_http = http is None
        self.request_count = 0

    def __enter__(self) -> MatomoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # Every message built from server text goes through here: Matomo never echoes the token,
    # but a proxy or a misconfigured instance might.
    def _scrub(self, text: str) -> str:
        password = self.settings.basic_auth_password
        for secret in (self.settings.token, *([password] if password else [])):
            value = secret.get_secret_value()
            text = text.replace(value, "***") if value else text
        return text

    def bulk(
        self, subs: Sequence[SubRequest], owners: Mapping[SubRequest, list[str]] | None = None
    ) -> list[Answer]:
        """Answer every sub-request, splitting into chunks of `bulk_limit`.

        `owners` names the metrics behind each sub-request, for error messages.
        """
        limit = self.settings.bulk_limit
        chunks = [subs[i : i + limit] for i in range(0, len(subs), limit)]
        answers: list[Answer] = []
        for number, chunk in enumerate(chunks, start=1):
            log.info(
                "matomo: bulk request %d/%d with %d sub-requests", number, len(chunks), len(chunk)
            )
            answers.extend(self._bulk_chunk(chunk, owners or {}))
        return answers

    def _bulk_chunk(
        self, chunk: Sequence[SubRequest], owners: Mapping[SubRequest, list[str]]
    ) -> list[Answer]:
        fields = {"module": "API", "method": "API.getBulkRequest", "format": "JSON"}
        urls = {f"urls[{i}]": sub.query_string for i, sub in enumerate(chunk)}
        bulk_hash = request_hash({**fields, **urls})
        body = {**fields, "token_auth": self.settings.token.get_secret_value(), **urls}

        def answered() -> list[Any]:
            payload = self._post(body, "API.getBulkRequest")
            problem = _bulk_answer_problem(chunk, payload)
            if problem:
                # A proxy's `{}` or a cut-short list is as transient as its HTML page.
                raise RetryableSourceError(SOURCE, f"API.getBulkRequest {problem}")
            return payload

        payload = call_with_retry(answered)
        fetched_at = datetime.now(UTC)
        answers = []
        for sub, item in zip(chunk, payload, strict=True):
            if isinstance(item, dict) and item.get("result") == "error":
                what = sub.describe()
                if owners.get(sub):
                    what += f" for metric {', '.join(owners[sub])}"
                raise self._app_error(what, item.get("message"), sub.site_id)
            answers.append(Answer(sub, item, fetched_at, bulk_hash))
        return answers

    def _post(self, body: dict[str, str], method: str) -> Any:
        self.request_count += 1
        try:
            response = self._http.post(
                self.settings.endpoint, data=body, auth=self._auth or httpx.USE_CLIENT_DEFAULT
            )
        except httpx.TimeoutException as exc:
            raise RetryableSourceError(
                SOURCE, f"{method} timed out after {self.settings.timeout_s:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableSourceError(
                SOURCE,
                f"{method}: connection to {self.settings.base_url} failed ({type(exc).__name__})",
            ) from exc
        return self._decode(response, method)

    def _decode(self, response: httpx.Response, method: str) -> Any:
        status = response.status_code
        try:
            payload: Any = response.json()
            complete = True
        except ValueError:
            payload, complete = None, False
        message = ""
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            message = self._scrub(_clean_message(payload["message"]))
        if status == 429 or status >= 500:
            raise RetryableSourceError(
                SOURCE,
                f"{method}: HTTP {status} from {self.settings.base_url}"
                + (f": {message}" if message else ""),
                retry_after=_retry_after(response),
            )
        if status == 401 and response.headers.get("WWW-Authenticate", "").startswith("Basic"):
            # Not Matomo's answer (it never asks for basic auth): a proxy in front of it.
            raise AuthError(
                SOURCE,
                f"{method}: {self.settings.base_url} asks for HTTP basic auth and refused "
                + ("the user and password given" if self._auth else "a request without one")
                + ". Put them in the Matomo URL before its host, as user:password@ (they are sent "
                "only in the Authorization header and never shown)",
            )
        if status in (401, 403):
            raise self._auth_error(message or f"HTTP {status}")
        if status == 400 and "bulk request" in message.lower():
            raise SourceError(
                SOURCE,
                f"{method} refused: {message} Lower the Matomo bulk_limit setting "
                f"(now {self.settings.bulk_limit}) to at most the instance's "
                "[General] API_bulk_request_limit.",
            )
        if status >= 400:
            raise SourceError(
                SOURCE, f"{method}: HTTP {status}" + (f": {message}" if message else "")
            )
        if not complete:
            # A proxy's HTML error page (some answer 200), an empty body or a cut-off one
            # (proxy reset, worker killed mid-answer): each is worth another try, and a
            # lasting one gives up with the policy's count.
            if response.text.lstrip()[:1] == "<":
                raise RetryableSourceError(
                    SOURCE,
                    f"{method}: {self.settings.endpoint} answered HTML, not the API's JSON; "
                    "if it persists, check that base_url points at the Matomo root",
                )
            if not response.content.strip():
                raise RetryableSourceError(SOURCE, f"{method}: HTTP {status} with an empty body")
            raise RetryableSourceError(SOURCE, f"{method}: answer is not complete JSON")
        if isinstance(payload, dict) and payload.get("result") == "error":
            raise self._app_error(method, payload.get("message"), None)
        return payload

    def _auth_error(self, message: str) -> AuthError:
        return AuthError(
            SOURCE,
            f"{self.settings.base_url} refused the token ({self._scrub(message)}). Check the "
            "MATOMO_TOKEN: it must be the token_auth of a user with view access to "
            "the site(s). (okr-sync sends it in the POST body, as Matomo 5 requires.)",
        )

    def _app_error(self, what: str, message: Any, site_id: int | None) -> SourceError:
        text = self._scrub(_clean_message(str(message or "no message")))
        lowered = text.lower()
        if "authenticate" in lowered or "can't access this resource" in lowered:
            return self._auth_error(text)
        if "unexpected website" in lowered and site_id is not None:
            return SourceError(
                SOURCE,
                f"{what} failed: site {site_id} does not exist on {self.settings.base_url} "
                f"(Matomo: {text}). Check site_id.",
            )
        return SourceError(SOURCE, f"{what} failed: {text}")


def _days_asked(sub: SubRequest) -> list[date] | None:
    """The days a `period=day` sub-request for `date=A,B` is answered by (one key each)."""
    params = dict(sub.params)
    start, comma, end = params.get("date", "").partition(",")
    if params.get("period") != "day" or not comma:
        return None
    try:
        return day_range(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError:
        return None


def _bulk_answer_problem(chunk: Sequence[SubRequest], payload: Any) -> str | None:
    """How a bulk answer fails to answer `chunk` (None when it does): one answer per
    sub-request, in order, and every day a multi-day sub-request asked for."""
    if not isinstance(payload, list) or len(payload) != len(chunk):
        got = f"{len(payload)} answers" if isinstance(payload, list) else type(payload).__name__
        return (
            f"answered {got} for {len(chunk)} sub-requests; the instance or a proxy in front "
            "of it is not behaving like Matomo"
        )
    for sub, item in zip(chunk, payload, strict=True):
        days = _days_asked(sub)
        if days is None or (isinstance(item, dict) and item.get("result") == "error"):
            continue
        missing = [d for d in days if d.isoformat() not in item] if isinstance(item, dict) else days
        if missing:
            return (
                f"answered {sub.describe()} for {len(days) - len(missing)} of the {len(days)} "
                f"days asked for (first missing: {missing[0]})"
            )
    return None


def _clean_message(message: str) -> str:
    # Matomo appends a debugging hint (sometimes repeatedly) that helps nobody here.
    return re.split(r"\s*--> To temporarily debug", message)[0].strip()


def _retry_after(response: httpx.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))


# --- site information --------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteInfo:
    site_id: int
    timezone_name: str
    today: date  # in the site's time zone, at `now`
    created: date | None  # the site's first day, in its time zone
    currency: str | None = None  # ISO 4217 code of the site's revenue

    def currencies(self, plans: Iterable[_Plan]) -> dict[str, str]:
        """{metric id: the site's currency} for the plans of this site reading money."""
        return {
            p.metric_id: self.currency
            for p in plans
            if self.currency and p.site_id == self.site_id and p.query.column in MONEY_COLUMNS
        }

    @functools.cached_property
    def provisional_from(self) -> date:
        return self.today - timedelta(days=PROVISIONAL_DAYS - 1)


def _site_info(site_id: int, payload: Any, now: datetime) -> SiteInfo:
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if not isinstance(payload, dict) or "timezone" not in payload:
        raise SourceError(
            SOURCE, f"SitesManager.getSiteFromId for site {site_id} returned no site record"
        )
    tz = site_timezone(str(payload["timezone"]))
    created: date | None = None
    ts_created = payload.get("ts_created")
    if ts_created:
        try:
            # Matomo stores ts_created in UTC.
            created_utc = datetime.fromisoformat(str(ts_created)).replace(tzinfo=UTC)
            created = created_utc.astimezone(tz).date()
        except ValueError:
            created = None
    currency = str(payload.get("currency") or "") or None
    return SiteInfo(site_id, str(payload["timezone"]), now.astimezone(tz).date(), created, currency)


def _site_sub(site_id: int) -> SubRequest:
    return SubRequest.make(site_id, "SitesManager.getSiteFromId")


# --- metric plans ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    metric_id: str
    query: MatomoQuery
    site_id: int
    report: ReportSpec
    column: ColumnSpec
    main: SubRequest
    aux: SubRequest | None


def _segment_for(query: MatomoQuery, report: ReportSpec) -> str | None:
    parts = [query.segment] if query.segment else []
    if query.page_url and report.rows != "page":
        # Segment values are URL-encoded inside the definition (Matomo's segment syntax).
        parts.append("pageUrl==" + quote(query.page_url, safe=""))
    return ";".join(parts) or None


def _column_problem(report: ReportSpec, column: str, offered: set[str] | None = None) -> str:
    if offered is not None and column in offered:
        return (
            f"Matomo offers {report.method} {column!r}, but okr-sync cannot add it up over "
            f"days; pick one of: {', '.join(report.columns)}."
        )
    return (
        f"column {column!r} is not known for {report.method}.{_suggest(column, report.columns)}"
        f" Columns: {', '.join(report.columns)}."
    )


def _query_problems(query: MatomoQuery, check_column: bool = True) -> list[tuple[str, str]]:
    """(field, message) for queries the connector cannot answer, before asking Matomo."""
    if query.method not in REPORTS:
        return [
            (
                "method",
                f"report {query.method!r} is not supported."
                f"{_suggest(query.method, REPORTS)} Supported: {', '.join(REPORTS)}.",
            )
        ]
    report = REPORTS[query.method]
    problems: list[tuple[str, str]] = []
    if check_column and query.column not in report.columns:
        problems.append(("column", _column_problem(report, query.column)))
    if query.id_goal is not None and not report.takes_goal:
        problems.append(("id_goal", f"id_goal only applies to Goals.get, not {report.method}"))
    if report.rows == "page" and not query.page_url:
        problems.append(("page_url", f"{report.method} needs page_url: the page whose row to read"))
    if report.rows == "label" and not query.label:
        problems.append(
            (
                "label",
                f"{report.method} needs label: the row to read, one of "
                f"{', '.join(REFERRER_TYPES)} (or its label, e.g. 'Search Engines')",
            )
        )
    if query.label and report.rows != "label":
        problems.append(("label", f"label only applies to row reports, not {report.method}"))
    return problems


def _plan(
    request: MetricRequest | RangeRequest, settings: MatomoSettings, period: str, dates: str
) -> _Plan:
    query = request.query
    if isinstance(query, dict):
        query = MatomoQuery.model_validate(query)
    if not isinstance(query, MatomoQuery):
        raise SourceError(
            SOURCE,
            f"metric {request.metric_id}: expected a MatomoQuery, got {type(query).__name__}",
        )
    problems = _query_problems(query)
    if problems:
        raise SourceError(
            SOURCE,
            f"metric {request.metric_id}: "
            + "; ".join(f"query.{name}: {msg}" for name, msg in problems),
        )
    report = REPORTS[query.method]
    column = report.columns[query.column]
    site_id = query.site_id or settings.site_id
    segment = _segment_for(query, report)
    extra: dict[str, str | None] = {"segment": segment}
    if report.takes_goal and query.id_goal is not None:
        extra["idGoal"] = str(query.id_goal)
    if report.rows is not None:
        extra.update(flat="1", filter_limit=ALL_ROWS)
    main = SubRequest.make(site_id, report.method, period=period, date=dates, **extra)
    aux = None
    if column.denominator_method:
        aux = SubRequest.make(
            site_id, column.denominator_method, period=period, date=dates, segment=segment
        )
    return _Plan(request.metric_id, query, site_id, report, column, main, aux)


def _unique(subs: Iterable[SubRequest]) -> list[SubRequest]:
    return list(dict.fromkeys(subs))


# --- reading answers ---------------------------------------------------------------------------


def _is_empty(payload: Any) -> bool:
    return payload is None or payload == [] or payload == {}


def _normalise_page(text: str) -> str:
    # "https://shop.example/", "shop.example" and "/index" style labels compare alike.
    text = text.strip()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    return text.strip("/")


def _row_keys(row: dict[str, Any]) -> list[str]:
    """The names a query may use for a row: its URL, its label, its referrer type code."""
    keys = []
    if row.get("url"):
        keys.append("url:" + _normalise_page(str(row["url"])))
    label = str(row.get("label", ""))
    keys += ["label:" + _normalise_page(label), "label:" + label.strip().lower()]
    segment = str(row.get("segment", ""))
    if segment.startswith("referrerType=="):
        keys.append("label:" + segment.split("==", 1)[1].lower())
    return keys


def _row_index(rows: list[Any]) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for row in rows:
        if isinstance(row, dict):
            for key in _row_keys(row):
                index.setdefault(key, row)  # rows come sorted by traffic: the first wins
    return index


def _select(
    plan: _Plan, payload: Any, indexes: dict[int, dict[str, dict[str, Any]]] | None = None
) -> dict[str, Any] | None:
    """The row a plan reads from one period's answer; None when the period has no data.

    `indexes` memoises the per-answer row lookup when many metrics read one big answer.
    """
    if _is_empty(payload):
        return None
    if plan.report.rows is None:
        if isinstance(payload, list):
            payload = payload[0] if payload else None
        return payload if isinstance(payload, dict) else None
    rows = payload if isinstance(payload, list) else [payload]
    cache = indexes if indexes is not None else {}
    index = cache.get(id(rows))
    if index is None:
        index = cache[id(rows)] = _row_index(rows)
    if plan.report.rows == "page":
        wanted = _normalise_page(plan.query.page_url or "")
        return index.get("url:" + wanted) or index.get("label:" + wanted)
    label = (plan.query.label or "").strip().lower()
    return index.get("label:" + label) or index.get(
        "label:" + REFERRER_TYPES.get(label, label).lower()
    )


def _cell(
    plan: _Plan, row: dict[str, Any] | None, column: str, method: str, strict: bool = False
) -> float | None:
    """A row's column as a number. `strict`: a non-empty answer must carry the column (report
    rows may leave out goal or entry columns they have nothing for; whole-report objects don't).
    """
    if row is None:
        return None
    if strict and column not in row:
        raise SourceError(
            SOURCE,
            f"{method} answered without column {column!r} (metric {plan.metric_id}); it has: "
            f"{', '.join(sorted(row))}. Check the column name and Matomo's version/plugins.",
        )
    try:
        return parse_matomo_number(row.get(column))
    except ValueError as exc:
        raise SourceError(
            SOURCE, f"{method} column {column!r} for metric {plan.metric_id}: {exc}"
        ) from exc


Parts = tuple[float | None, float | None, float | None]  # value, numerator, denominator


def _parts(
    plan: _Plan,
    payload: Any,
    aux_payload: Any,
    where: str,
    indexes: dict[int, dict[str, dict[str, Any]]] | None = None,
) -> Parts:
    row = _select(plan, payload, indexes)
    aux_row = _select_aux(aux_payload)
    spec = plan.column
    method = plan.report.method
    strict = plan.report.rows is None
    if spec.kind == "sum":
        return (_cell(plan, row, plan.query.column, method, strict) or 0.0, None, None)
    if spec.kind == "nonadditive":
        if row is None:
            return (0.0, None, None)
        value = _cell(plan, row, plan.query.column, method)
        if value is None:
            hint = (
                " Matomo only computes unique visitors for period=range when "
                "[General] enable_processing_unique_visitors_range = 1 in config.ini.php."
                if "range" in where and plan.query.column in ("nb_uniq_visitors", "nb_users")
                else ""
            )
            raise SourceError(
                SOURCE,
                f"{method} returned no {plan.query.column!r} for {where} "
                f"(metric {plan.metric_id}).{hint}",
            )
        return (value, None, None)
    if spec.kind == "ratio":
        numerator_col = spec.numerator or ""
        if plan.query.id_goal is None and spec.numerator_without_goal:
            numerator_col = spec.numerator_without_goal
        num = _cell(plan, row, numerator_col, method, strict) or 0.0
        den_row = aux_row if spec.denominator_method else row
        den_method = spec.denominator_method or method
        den_strict = strict or spec.denominator_method is not None
        den = _cell(plan, den_row, spec.denominator or "", den_method, den_strict) or 0.0
        return (num / den if den else None, num, den)
    if spec.kind == "weighted":
        avg = _cell(plan, row, plan.query.column, method, strict=True)
        weight = (
            _cell(plan, aux_row, spec.denominator or "", spec.denominator_method or "", strict=True)
            or 0.0
        )
        if avg is None or weight == 0:
            return (None, 0.0, 0.0)
        return (avg, avg * weight, weight)
    # page_load: Matomo's page avg_page_load_time is the sum of its component averages.
    if row is None:
        return (None, 0.0, 0.0)
    total = 0.0
    for component in _PERF_COMPONENTS:
        spent = _cell(plan, row, f"sum_time_{component}", method) or 0.0
        hits = _cell(plan, row, f"nb_hits_with_time_{component}", method) or 0.0
        total += spent / hits if hits else 0.0
    page_hits = _cell(plan, row, spec.denominator or "nb_hits", method) or 0.0
    if page_hits == 0:
        return (None, 0.0, 0.0)
    return (total, total * page_hits, page_hits)


def _select_aux(payload: Any) -> dict[str, Any] | None:
    if _is_empty(payload):
        return None
    if isinstance(payload, list):
        payload = payload[0] if payload else None
    return payload if isinstance(payload, dict) else None


def _by_day(answer: Answer, start: date, end: date) -> dict[date, Any]:
    payload = answer.payload
    if _is_empty(payload):
        return {}
    if not isinstance(payload, dict):
        raise SourceError(
            SOURCE, f"{answer.sub.describe()} did not answer per day (got {type(payload).__name__})"
        )
    days: dict[date, Any] = {}
    for key, value in payload.items():
        try:
            day = date.fromisoformat(key)
        except ValueError as exc:
            raise SourceError(
                SOURCE, f"{answer.sub.describe()} answered an unexpected key {key!r}"
            ) from exc
        if start <= day <= end:
            days[day] = value
    return days


# --- raw answers with provenance ---------------------------------------------------------------

# Mirrors warehouse/migrations/0004_matomo_raw.sql (raw.matomo_answers): one row per
# sub-request and day (or exact range) as Matomo answered it.
RAW_SCHEMA = pa.schema(
    [
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("site_id", pa.int32(), nullable=False),
        pa.field("site_timezone", pa.string(), nullable=False),
        pa.field("method", pa.string(), nullable=False),
        pa.field("params", pa.string(), nullable=False),
        pa.field("request_hash", pa.string(), nullable=False),
        pa.field("bulk_request_hash", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("partition_date", pa.date32(), nullable=False),
        pa.field("range_start", pa.date32(), nullable=False),
        pa.field("range_end", pa.date32(), nullable=False),
        pa.field("provisional", pa.bool_(), nullable=False),
        pa.field("answer", pa.string(), nullable=False),
    ]
)


def _raw_row(
    answer: Answer, site: SiteInfo, period: str, day: date, start: date, end: date, payload: Any
) -> dict[str, Any]:
    return {
        "fetched_at": answer.fetched_at,
        "site_id": site.site_id,
        "site_timezone": site.timezone_name,
        "method": answer.sub.method,
        "params": answer.sub.params_json,
        "request_hash": answer.sub.hash,
        "bulk_request_hash": answer.bulk_hash,
        "period": period,
        "partition_date": day,
        "range_start": start,
        "range_end": end,
        "provisional": end >= site.provisional_from,
        "answer": json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
    }


def _provisional_reason(site: SiteInfo, day: date) -> str:
    which = "today" if day == site.today else "yesterday"
    return (
        f"{which} in the site's time zone ({site.timezone_name}); Matomo re-archives it, "
        "the value will still change"
    )


# --- public API --------------------------------------------------------------------------------


def _fetch_all(
    client: MatomoClient, plans: Sequence[_Plan]
) -> tuple[list[SubRequest], dict[int, Any], dict[SubRequest, Answer]]:
    """Site records and every report sub-request of `plans`, in as few bulk requests as fit."""
    report_subs = _unique(sub for p in plans for sub in (p.main, p.aux) if sub is not None)
    owners: dict[SubRequest, list[str]] = {}
    for plan in plans:
        for sub in (plan.main, plan.aux):
            if sub is not None and plan.metric_id not in owners.setdefault(sub, []):
                owners[sub].append(plan.metric_id)
    site_subs = [_site_sub(s) for s in sorted({p.site_id for p in plans})]
    answers = client.bulk(_unique([*site_subs, *report_subs]), owners)
    by_sub = {a.sub: a for a in answers}
    return report_subs, {s.site_id: by_sub[s].payload for s in site_subs}, by_sub


def fetch_matomo(
    settings: MatomoSettings,
    metrics: Sequence[MetricRequest],
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    http: httpx.Client | None = None,
) -> FetchResult:
    """Day values of `metrics` for the site-local days start..end (both included).

    Days after the site's today, and before the site existed, are left out. Today and
    yesterday (site time zone) come with a `provisional` flag. Non-additive columns (see
    `is_additive`) come per day too; for windows use `fetch_matomo_ranges`.
    `request_count` counts HTTP requests sent, retries included.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    now = now or datetime.now(UTC)
    if not metrics:
        return FetchResult()
    dates = f"{start.isoformat()},{end.isoformat()}"
    plans = [_plan(m, settings, "day", dates) for m in metrics]
    with MatomoClient(settings, http) as client:
        report_subs, site_payloads, answers = _fetch_all(client, plans)
        request_count = client.request_count
    sites = {sid: _site_info(sid, payload, now) for sid, payload in site_payloads.items()}

    per_day = {sub: _by_day(answers[sub], start, end) for sub in report_subs}
    indexes: dict[int, dict[str, dict[str, Any]]] = {}
    daily: list[dict[str, Any]] = []
    # the sub-request each value came from (raw.matomo_answers.request_hash), for tracing
    hashes: list[str] = []
    flags: list[dict[str, Any]] = []
    for plan in plans:
        site = sites[plan.site_id]
        first = max(start, site.created) if site.created else start
        last = min(end, site.today)
        main_days = per_day[plan.main]
        aux_days = per_day[plan.aux] if plan.aux else {}
        for day in day_range(first, last) if first <= last else []:
            value, num, den = _parts(
                plan, main_days.get(day), aux_days.get(day), f"day {day}", indexes
            )
            daily.append(
                {
                    "metric_id": plan.metric_id,
                    "date": day,
                    "value": value,
                    "numerator": num,
                    "denominator": den,
                }
            )
            hashes.append(plan.main.hash)
            if day >= site.provisional_from:
                flags.append(
                    {
                        "metric_id": plan.metric_id,
                        "date": day,
                        "flag": PROVISIONAL,
                        "reason": _provisional_reason(site, day),
                    }
                )

    raw = []
    for sub in report_subs:
        answer = answers[sub]
        site = sites[sub.site_id]
        for day, payload in sorted(per_day[sub].items()):
            raw.append(_raw_row(answer, site, "day", day, day, day, payload))
    currencies = {k: v for site in sites.values() for k, v in site.currencies(plans).items()}
    return FetchResult(
        daily=with_currency(daily_table(daily).append_column("request_hash", [hashes]), currencies),
        flags=flag_table(flags),
        raw=pa.Table.from_pylist(raw, schema=RAW_SCHEMA),
        request_count=request_count,
    )


def fetch_matomo_ranges(
    settings: MatomoSettings,
    requests: Sequence[RangeRequest],
    *,
    now: datetime | None = None,
    http: httpx.Client | None = None,
) -> FetchResult:
    """Values for exact windows (`period=range`), for non-additive metrics such as
    nb_uniq_visitors. Ratio columns come as numerator + denominator of the window.
    Windows touching today or yesterday (site time zone) get `provisional` flags on those days.
    """
    now = now or datetime.now(UTC)
    if not requests:
        return FetchResult()
    for request in requests:
        if request.end < request.start:
            raise ValueError(
                f"metric {request.metric_id}: range end {request.end} is before {request.start}"
            )
    plans = [
        (_plan(r, settings, "range", f"{r.start.isoformat()},{r.end.isoformat()}"), r)
        for r in requests
    ]
    with MatomoClient(settings, http) as client:
        report_subs, site_payloads, answers = _fetch_all(client, [p for p, _ in plans])
        request_count = client.request_count
    sites = {sid: _site_info(sid, payload, now) for sid, payload in site_payloads.items()}

    rows: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    for plan, request in plans:
        site = sites[plan.site_id]
        aux = answers[plan.aux].payload if plan.aux else None
        where = f"range {request.start}..{request.end}"
        value, num, den = _parts(plan, answers[plan.main].payload, aux, where)
        rows.append(
            {
                "metric_id": plan.metric_id,
                "range_start": request.start,
                "range_end": request.end,
                "value": value,
                "numerator": num,
                "denominator": den,
            }
        )
        touched = day_range(max(request.start, site.provisional_from), min(request.end, site.today))
        for day in touched:
            flags.append(
                {
                    "metric_id": plan.metric_id,
                    "date": day,
                    "flag": PROVISIONAL,
                    "reason": _provisional_reason(site, day),
                }
            )

    raw = []
    for sub in report_subs:
        answer = answers[sub]
        start_s, end_s = dict(sub.params)["date"].split(",")
        r_start, r_end = date.fromisoformat(start_s), date.fromisoformat(end_s)
        raw.append(
            _raw_row(answer, sites[sub.site_id], "range", r_end, r_start, r_end, answer.payload)
        )
    currencies = {
        k: v for site in sites.values() for k, v in site.currencies(p for p, _ in plans).items()
    }
    return FetchResult(
        ranges=with_currency(range_table(rows), currencies),
        flags=flag_table(flags),
        raw=pa.Table.from_pylist(raw, schema=RAW_SCHEMA),
        request_count=request_count,
    )
