"""Talking to Amplitude's Dashboard REST API with httpx: basic auth with the project's keys,
the one retry policy for 429s and transient failures, and the fetches a run makes.

- `fetch_amplitude`: daily values, one request per event and filter set (or funnel) for all
  days of the window;
- `fetch_amplitude_ranges`: uniques over each exact window a key result needs, from the
  collapsed series of that range (never a sum of daily uniques).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import httpx
import pyarrow as pa

from connectors.amplitude.parse import (
    AmplitudeAnswer,
    funnel_daily,
    raw_table,
    segmentation_collapsed,
    segmentation_daily,
)
from connectors.amplitude.requests import (
    AmplitudeRequest,
    daily_requests,
    range_request,
)
from connectors.amplitude.settings import (
    API_KEY_ENV,
    COST_WINDOW_S,
    MAX_DAYS_PER_REQUEST,
    REGION_HOSTS,
    SECRET_KEY_ENV,
    SOURCE,
    USER_AGENT,
    AmplitudeSettings,
)
from connectors.base import MetricRequest, RangeRequest
from connectors.errors import AuthError, RetryableSourceError, SourceError
from connectors.results import DAILY_SCHEMA, FetchResult, merge_results, range_table
from connectors.retry import call_with_retry, retry_after_seconds, wait_scale
from connectors.tls import tls_context
from okr_definitions.sources.amplitude import AmplitudeQuery

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_additive(query: AmplitudeQuery) -> bool:
    """Totals, sums and funnels (a ratio of sums) add up over days; unique users do not."""
    return query.funnel is not None or query.count != "uniques"


class AmplitudeClient:
    """GETs under the shared retry policy; counts HTTP attempts and Amplitude's cost."""

    def __init__(self, settings: AmplitudeSettings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self._http = http or httpx.Client(
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            headers={"User-Agent": USER_AGENT},
            verify=tls_context(),  # connectors/tls.py: one CA bundle load per process
            auth=httpx.BasicAuth(
                settings.api_key.get_secret_value(), settings.secret_key.get_secret_value()
            ),
        )
        self._owns_http = http is None
        self.request_count = 0
        self.cost = 0
        self._spent: deque[tuple[float, int]] = deque()  # (when, cost) within COST_WINDOW_S

    def __enter__(self) -> AmplitudeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owns_http:
            self._http.close()

    def get(self, path: str, params: Any, read: Callable[[Any], T], cost: int = 1) -> T:
        """GET `path` and `read` its JSON; a malformed answer is retried like a 5xx."""

        def attempt() -> T:
            self._pace(cost)
            self.request_count += 1
            self.cost += cost
            return read(self._get_json(path, params))

        return call_with_retry(attempt)

    def _pace(self, cost: int) -> None:
        """Wait until `cost` fits the project's budget per five minutes (settings.cost_budget),
        so a long backfill slows down instead of running into 429s the retry policy would
        give up on. A single query costlier than the budget is sent anyway: Amplitude
        decides."""
        budget = self.settings.cost_budget
        if budget is None:
            return
        now = time.monotonic()
        while self._spent and now - self._spent[0][0] >= COST_WINDOW_S:
            self._spent.popleft()
        spent = sum(c for _, c in self._spent)
        if self._spent and spent + cost > budget:
            pause = COST_WINDOW_S - (now - self._spent[0][0])
            log.warning(
                "amplitude: %d of the %d cost per five minutes spent; pausing %.0f s",
                spent,
                budget,
                pause,
            )
            time.sleep(pause * wait_scale())
            self._spent.clear()
        self._spent.append((time.monotonic(), cost))

    def answer(
        self, request: AmplitudeRequest, read: Callable[[AmplitudeAnswer], T]
    ) -> tuple[AmplitudeAnswer, T]:
        def parsed(payload: Any) -> tuple[AmplitudeAnswer, T]:
            answer = AmplitudeAnswer(request, payload, datetime.now(UTC))
            return answer, read(answer)

        return self.get(request.path, list(request.params), parsed, request.cost)

    def _get_json(self, path: str, params: Any) -> Any:
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise RetryableSourceError(
                SOURCE, f"{path} timed out after {self.settings.timeout_s:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableSourceError(
                SOURCE,
                f"{path}: connection to {self.settings.base_url} failed ({type(exc).__name__})",
            ) from exc
        return self._decode(response, path)

    def _decode(self, response: httpx.Response, path: str) -> Any:
        status = response.status_code
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        message = self._scrub(_error_message(payload) or response.text[:200].strip())
        if status == 429 or status >= 500:
            raise RetryableSourceError(
                SOURCE,
                f"{path}: HTTP {status}" + (f": {message}" if message else ""),
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status == 401:
            raise AuthError(
                SOURCE,
                f"{path}: HTTP 401, Amplitude refused the project's keys ({message}). Check "
                f"{API_KEY_ENV} and {SECRET_KEY_ENV} (Settings → Projects → General)",
            )
        if status == 403:
            other = "eu" if self.settings.region == "us" else "us"
            raise AuthError(
                SOURCE,
                f"{path}: HTTP 403 from {self.settings.base_url} ({message}): the keys lack "
                "permission or the project is in another data region. sources.amplitude.region "
                f"is {self.settings.region!r}; a project of the {other.upper()} data centre "
                f"needs `region: {other}` ({REGION_HOSTS[other]}); else check {API_KEY_ENV} "
                f"and {SECRET_KEY_ENV}",
            )
        if status >= 400:
            raise SourceError(SOURCE, f"{path}: HTTP {status}: {message or 'no message'}")
        if payload is None:
            if response.text.lstrip()[:1] == "<":
                raise RetryableSourceError(SOURCE, f"{path} answered HTML, not the API's JSON")
            raise RetryableSourceError(SOURCE, f"{path}: answer is not complete JSON")
        return payload

    # Amplitude never echoes the keys, but a proxy in front of it might.
    def _scrub(self, text: str) -> str:
        for secret in (self.settings.api_key, self.settings.secret_key):
            value = secret.get_secret_value()
            text = text.replace(value, "***") if value else text
        return text


def _error_message(payload: Any) -> str:
    """Amplitude's error envelope: `{"error": {"http_code", "type", "message", "metadata":
    {"details"}}}` (a real 400 quoted in airbytehq/airbyte#46712)."""
    if not isinstance(payload, dict):
        return ""
    error = payload.get("error")
    if isinstance(error, dict):
        text = str(error.get("message") or "")
        details = (error.get("metadata") or {}).get("details")
        return f"{text}: {details}" if details else text
    if isinstance(error, str):
        return error
    return ""


class _Borrowed:
    """A client the caller owns: used, not closed."""

    def __init__(self, client: AmplitudeClient) -> None:
        self.client = client

    def __enter__(self) -> AmplitudeClient:
        return self.client

    def __exit__(self, *exc: object) -> None:
        return None


def _client(
    settings: AmplitudeSettings, http: httpx.Client | None, client: AmplitudeClient | None
) -> Any:
    return _Borrowed(client) if client is not None else AmplitudeClient(settings, http)


def fetch_amplitude(
    settings: AmplitudeSettings,
    metrics: list[MetricRequest],
    start: date,
    end: date,
    http: httpx.Client | None = None,
    *,
    client: AmplitudeClient | None = None,
) -> FetchResult:
    """Daily values of every metric over [start, end] (project days). A day's unique users are
    that day's value; windows of them come from `fetch_amplitude_ranges`, never from here."""
    wanted = [(m.metric_id, m.query) for m in metrics]
    queries = dict(wanted)
    columns = _DailyColumns()
    answers: list[AmplitudeAnswer] = []
    with _client(settings, http, client) as client:
        before = client.request_count
        for request in daily_requests(wanted, start, end):
            query = queries[request.metric_ids[0]]
            if query.funnel:
                steps = len(query.funnel.steps)
                answer, funnel = client.answer(request, lambda a, n=steps: funnel_daily(a, n))
                days = [day for day, _, _ in funnel]
                reached = [r for _, r, _ in funnel]
                entered = [e for _, _, e in funnel]
                ratio = [r / e if e else None for _, r, e in funnel]
                for metric_id in request.metric_ids:
                    columns.add(metric_id, days, ratio, request.hash, reached, entered)
            else:
                groups = {
                    m: (queries[m].group_by.value if queries[m].group_by else None)
                    for m in request.metric_ids
                }
                answer, series = client.answer(
                    request,
                    lambda a, g=groups: {m: segmentation_daily(a, v) for m, v in g.items()},
                )
                for metric_id, (days, values) in series.items():
                    columns.add(metric_id, days, values, request.hash)
            answers.append(answer)
        result = FetchResult(
            daily=columns.table(),
            raw=raw_table(answers, settings.region, settings.timezone) if answers else None,
            request_count=client.request_count - before,
        )
        log.info("amplitude: %d requests, %s..%s", result.request_count, start, end)
    return result


class _DailyColumns:
    """Daily rows gathered column by column (a year of 200 events is 73,000 rows: building
    them as dicts cost more than reading the answers), with each row's request hash."""

    def __init__(self) -> None:
        self.metric_ids: list[str] = []
        self.dates: list[date] = []
        self.values: list[float | None] = []
        self.numerators: list[float | None] = []
        self.denominators: list[float | None] = []
        self.hashes: list[str] = []

    def add(
        self,
        metric_id: str,
        days: list[date],
        values: list[float | None],
        request_hash: str,
        numerators: list[float] | None = None,
        denominators: list[float] | None = None,
    ) -> None:
        n = len(days)
        self.metric_ids += [metric_id] * n
        self.dates += days
        self.values += values
        self.numerators += numerators if numerators is not None else [None] * n
        self.denominators += denominators if denominators is not None else [None] * n
        self.hashes += [request_hash] * n

    def table(self) -> pa.Table:
        return pa.Table.from_arrays(
            [
                pa.array(self.metric_ids, pa.string()),
                pa.array(self.dates, pa.date32()),
                pa.array(self.values, pa.float64()),
                pa.array(self.numerators, pa.float64()),
                pa.array(self.denominators, pa.float64()),
                pa.array(self.hashes, pa.string()),
            ],
            schema=DAILY_SCHEMA,
        )


def fetch_amplitude_ranges(
    settings: AmplitudeSettings,
    requests: list[RangeRequest],
    http: httpx.Client | None = None,
    *,
    client: AmplitudeClient | None = None,
) -> FetchResult:
    """Unique users over each exact window, from the collapsed series of that range."""
    rows: list[dict[str, Any]] = []
    answers: list[AmplitudeAnswer] = []
    with _client(settings, http, client) as client:
        before = client.request_count
        for wanted in requests:
            days = (wanted.end - wanted.start).days + 1
            if days > MAX_DAYS_PER_REQUEST:
                raise SourceError(
                    SOURCE,
                    f"metric {wanted.metric_id}: unique users over {days} days "
                    f"({wanted.start}..{wanted.end}); Amplitude's daily series reach "
                    f"{MAX_DAYS_PER_REQUEST} days. Use a key result period of at most a year",
                )
            query: AmplitudeQuery = wanted.query
            request = range_request(wanted.metric_id, query, wanted.start, wanted.end)
            group = query.group_by.value if query.group_by else None
            answer, value = client.answer(request, lambda a, g=group: segmentation_collapsed(a, g))
            rows.append(
                {
                    "metric_id": wanted.metric_id,
                    "range_start": wanted.start,
                    "range_end": wanted.end,
                    "value": value,
                }
            )
            answers.append(answer)
        # (raw.metric_ranges takes the run's hash; raw.amplitude_answers keeps each range's
        # request with its metric ids and days)
        ranges = range_table(rows)
        return FetchResult(
            ranges=ranges,
            raw=raw_table(answers, settings.region, settings.timezone) if answers else None,
            request_count=client.request_count - before,
        )


def fetch_all(
    settings: AmplitudeSettings,
    metrics: list[MetricRequest],
    ranges: list[RangeRequest],
    start: date,
    end: date,
    http: httpx.Client | None = None,
) -> FetchResult:
    """A run's daily values and exact ranges in one result."""
    with AmplitudeClient(settings, http) as client:  # one cost budget for the whole run
        result = fetch_amplitude(settings, metrics, start, end, client=client)
        if ranges:
            result = merge_results(result, fetch_amplitude_ranges(settings, ranges, client=client))
    return result


def run_cost(result: FetchResult) -> int:
    """Amplitude's cost of the answers in `result` (each request's, once per answer kept)."""
    if result.raw is None:
        return 0
    return int(sum(result.raw["cost"].to_pylist()))
