"""Talks to GA4 through the official Data API client, and pages through its reports.

Every call goes through `Ga4Api.call`: the shared retry policy (connectors.retry) around one
HTTP request, errors sorted into "retry" (429 hourly/concurrent, 5xx, resets, broken answers)
and "stop" (daily quota, auth, bad request), and the property quota read from every answer so
the connector slows down before a quota runs out. The client's own retry is switched off
(`retry=None` on each call) so the two never double up.

Reports over REST are sent through the client's own authorised session and host (its
credentials, token refresh and endpoint) and their JSON is read with pyarrow
(`parse.answers_from_json`): the REST transport's pure-Python JSON-to-protobuf decoding costs
~40 µs a row, 40 s and over a GiB for a million-row report. gRPC answers come as protobuf.

Paging is explicit: the first page of every report is requested (5 per batchRunReports); its
`rowCount` says how many rows the report has, and the remaining pages are then requested by
`offset` (GA4 answers carry no offset or next-page token: `rowCount` is the only guide).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import google.auth
import pyarrow as pa
import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    BatchRunReportsRequest,
    GetMetadataRequest,
    Metadata,
    RunReportRequest,
    RunReportResponse,
)
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials
from google.oauth2 import service_account
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from connectors.errors import AuthError, QuotaExhaustedError, RetryableSourceError, SourceError
from connectors.ga4.parse import (
    MalformedAnswer,
    ReportAnswer,
    ReportPage,
    answer_from_proto,
    answers_from_json,
    read_page,
)
from connectors.ga4.requests import ReportSpec
from connectors.ga4.settings import (
    LOW_CONCURRENT_REQUESTS,
    LOW_POTENTIALLY_THRESHOLDED_PER_HOUR,
    LOW_TOKENS_PER_DAY,
    LOW_TOKENS_PER_HOUR,
    LOW_TOKENS_PER_PROJECT_PER_HOUR,
    MAX_REPORTS_PER_BATCH,
    PACING_PAUSE_S,
    SCOPES,
    SOURCE,
    GA4Settings,
)
from connectors.retry import call_with_retry, retry_after_seconds, wait_scale

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_client(settings: GA4Settings) -> BetaAnalyticsDataClient:
    """A BetaAnalyticsDataClient for these settings (REST transport unless settings say gRPC).

    The sandbox speaks the same REST JSON wire format as Google: only the endpoint differs.
    """
    options = ClientOptions(api_endpoint=settings.endpoint) if settings.endpoint else None
    return BetaAnalyticsDataClient(
        credentials=_credentials(settings), transport=settings.transport, client_options=options
    )


def _credentials(settings: GA4Settings) -> Any:
    if settings.anonymous:
        return AnonymousCredentials()
    if settings.credentials_path:
        try:
            return service_account.Credentials.from_service_account_file(
                settings.credentials_path, scopes=list(SCOPES)
            )
        except FileNotFoundError as exc:
            raise AuthError(
                SOURCE,
                f"the service-account key file in GA4_CREDENTIALS_PATH "
                f"({settings.credentials_path}) does not exist; point it at the JSON key of a "
                "service account with Viewer access on the property",
            ) from exc
        except (ValueError, KeyError) as exc:
            # The parser's message may quote key material; never pass it on.
            raise AuthError(
                SOURCE,
                f"the file in GA4_CREDENTIALS_PATH ({settings.credentials_path}) is not a valid "
                "service-account JSON key; download a new key in Google Cloud → IAM → Service "
                "accounts",
            ) from exc
    try:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    except auth_exceptions.DefaultCredentialsError as exc:
        raise AuthError(
            SOURCE,
            "no GA4 credentials: set GA4_CREDENTIALS_PATH to a service-account key file, or "
            "GOOGLE_APPLICATION_CREDENTIALS / `gcloud auth application-default login` for "
            "Application Default Credentials",
        ) from exc
    return credentials


# --- errors ---------------------------------------------------------------------------------

# The 429 messages GA4 sends per quota bucket (seen in real answers; the Data API quota page
# names the buckets). Hourly and concurrent buckets refill soon: back off and retry. The daily
# bucket refills within 24 h: stop cleanly, the run's GA4 key results turn stale.
_DAILY_QUOTA_MARKERS = ("per day",)
_RETRYABLE_QUOTA_MARKERS = ("per hour", "concurrent requests", "potentially thresholded")


def _api_message(exc: gexc.GoogleAPICallError) -> str:
    """The API's own `error.message`, without the request URL the library prepends."""
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            message = response.json().get("error", {}).get("message")
            if message:
                return str(message)
        except (ValueError, AttributeError):
            text = (getattr(response, "text", "") or "").strip()
            if text:
                return text[:300]
    return str(getattr(exc, "message", "") or exc.__class__.__name__)


def _retry_after(exc: gexc.GoogleAPICallError) -> float | None:
    # Google's REST answers rarely carry Retry-After, but a proxy or a future API version may:
    # when the server says how long to wait, the shared policy waits that long.
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return retry_after_seconds(headers.get("Retry-After") if headers is not None else None)


def classify_error(exc: gexc.GoogleAPICallError, property_id: str) -> Exception:
    """Map a client-library error to the connector's retry / stop errors."""
    code = getattr(exc, "code", None)
    message = _api_message(exc)
    where = f"property {property_id}"
    if code == 429 or isinstance(exc, gexc.TooManyRequests):
        lowered = message.lower()
        if any(marker in lowered for marker in _DAILY_QUOTA_MARKERS):
            return QuotaExhaustedError(
                SOURCE,
                f"daily quota exhausted for {where}: {message} The day's tokens return within "
                "24 hours; the next scheduled run will catch up (GA4 key results show stale "
                "until then). Fetch fewer or shorter ranges, or ask for Analytics 360 quotas.",
            )
        kind = (
            "hourly/concurrent quota"
            if any(m in lowered for m in _RETRYABLE_QUOTA_MARKERS)
            else "rate limit"
        )
        return RetryableSourceError(
            SOURCE, f"{kind} hit for {where}: {message}", retry_after=_retry_after(exc)
        )
    if code in (401,) or isinstance(exc, gexc.Unauthorized):
        return AuthError(
            SOURCE,
            f"credentials refused for {where}: {message} Check GA4_CREDENTIALS_PATH / "
            "GOOGLE_APPLICATION_CREDENTIALS.",
        )
    if code == 403 or isinstance(exc, gexc.Forbidden):
        return AuthError(
            SOURCE,
            f"no access to {where}: {message} Add the service account's e-mail as a Viewer "
            "in GA4 Admin → Property access management, and check property_id.",
        )
    if code in (500, 502, 503, 504) or isinstance(exc, gexc.ServerError):
        return RetryableSourceError(
            SOURCE, f"server error {code} for {where}: {message}", retry_after=_retry_after(exc)
        )
    if code == 400:
        return SourceError(
            SOURCE,
            f"GA4 refused the request for {where}: {message} (run `okr validate` to check "
            "metric and dimension names)",
        )
    return SourceError(SOURCE, f"HTTP {code} for {where}: {message}")


# --- quota pacing ---------------------------------------------------------------------------


@dataclass
class QuotaGuard:
    """Reads `propertyQuota` from answers and pauses before an hourly bucket runs dry."""

    sleep: Callable[[float], None] = time.sleep
    latest: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    pauses: int = 0

    def record(self, property_id: str, quota: dict[str, Any]) -> None:
        if quota:
            self.latest[property_id] = quota

    def remaining(self, property_id: str, bucket: str) -> int | None:
        status = self.latest.get(property_id, {}).get(bucket)
        if status is None:
            return None
        return int(status.get("remaining", 0))

    def before_call(self, property_id: str, reports: int = 1) -> None:
        """Stop before a request the day's tokens cannot pay; pause if an hourly bucket is low.

        Every report costs at least one token, so a batch of `reports` needs that many.
        """
        low = self._low_buckets(property_id)
        day = self.remaining(property_id, "tokensPerDay")
        if day is not None and day < reports:
            raise QuotaExhaustedError(
                SOURCE,
                f"daily quota exhausted for property {property_id}: {day} tokens left today "
                f"(propertyQuota.tokensPerDay), the next request needs at least {reports}. The "
                "next scheduled run will catch up (GA4 key results show stale until then).",
            )
        if day is not None and day < LOW_TOKENS_PER_DAY:
            log.warning("GA4 property %s: only %d tokens left today", property_id, day)
        if low:
            pause = PACING_PAUSE_S * wait_scale()
            log.warning(
                "GA4 property %s: quota running low (%s); pausing %.1f s before the next request",
                property_id,
                ", ".join(f"{name}={left}" for name, left in low),
                pause,
            )
            self.pauses += 1
            self.sleep(pause)

    def _low_buckets(self, property_id: str) -> list[tuple[str, int]]:
        limits = {
            "tokensPerHour": LOW_TOKENS_PER_HOUR,
            "tokensPerProjectPerHour": LOW_TOKENS_PER_PROJECT_PER_HOUR,
            "potentiallyThresholdedRequestsPerHour": LOW_POTENTIALLY_THRESHOLDED_PER_HOUR,
            "concurrentRequests": LOW_CONCURRENT_REQUESTS,
        }
        low = []
        for bucket, limit in limits.items():
            left = self.remaining(property_id, bucket)
            if left is not None and left < limit:
                low.append((bucket, left))
        return low


# --- the calls ------------------------------------------------------------------------------


@dataclass
class Ga4Api:
    """One fetch's view of the API: a client, a quota guard and a count of HTTP requests."""

    settings: GA4Settings
    client: BetaAnalyticsDataClient
    quota: QuotaGuard = field(default_factory=QuotaGuard)
    request_count: int = 0

    def call(self, property_id: str, send: Callable[[], T], reports: int = 1) -> T:
        """Run one API request under the shared retry policy; every attempt is counted."""

        def attempt() -> T:
            self.quota.before_call(property_id, reports)
            self.request_count += 1
            try:
                return send()
            except gexc.GoogleAPICallError as exc:
                raise classify_error(exc, property_id) from exc
            except (
                json_format.ParseError,
                DecodeError,
                json.JSONDecodeError,
                pa.ArrowException,
                MalformedAnswer,
            ) as exc:
                raise RetryableSourceError(
                    SOURCE, f"malformed answer for property {property_id}: {exc}"
                ) from exc
            except requests.RequestException as exc:
                # Resets, timeouts and cut-off bodies: the class name says enough, and the
                # exception text could carry the request URL with its query.
                raise RetryableSourceError(
                    SOURCE, f"network error for property {property_id}: {type(exc).__name__}"
                ) from exc
            except auth_exceptions.RefreshError as exc:
                raise AuthError(
                    SOURCE,
                    "could not obtain an access token for GA4; check GA4_CREDENTIALS_PATH / "
                    "GOOGLE_APPLICATION_CREDENTIALS",
                ) from exc

        return call_with_retry(attempt)

    def run_reports(self, property_id: str, bodies: list[dict[str, Any]]) -> list[ReportAnswer]:
        """Answer up to 5 report pages of one property in one HTTP request.

        One page goes as runReport, several as batchRunReports (one call instead of several;
        the tokens charged are the same).
        """
        if self.settings.transport == "rest":
            answers = self._run_reports_rest(property_id, bodies)
        else:
            answers = [answer_from_proto(r) for r in self._run_reports_grpc(property_id, bodies)]
        if len(answers) != len(bodies):
            raise RetryableSourceError(
                SOURCE,
                f"batchRunReports for property {property_id} answered {len(answers)} "
                f"reports for {len(bodies)} requests",
            )
        for answer in answers:
            self.quota.record(property_id, answer.quota)
        return answers

    def _run_reports_rest(
        self, property_id: str, bodies: list[dict[str, Any]]
    ) -> list[ReportAnswer]:
        # The property is in the URL; in a batch it lives on the batch, not on each request.
        requests_json = [{k: v for k, v in b.items() if k != "property"} for b in bodies]
        if len(bodies) == 1:
            return self.call(
                property_id,
                lambda: answers_from_json(
                    self._post(property_id, "runReport", requests_json[0]), batch=False
                ),
            )

        def batch() -> list[ReportAnswer]:
            answers = answers_from_json(
                self._post(property_id, "batchRunReports", {"requests": requests_json}),
                batch=True,
            )
            if len(answers) != len(bodies):
                # One report per request, in order: any other count is not an answer to it.
                raise MalformedAnswer(f"{len(answers)} reports for {len(bodies)} requests")
            return answers

        return self.call(property_id, batch, reports=len(bodies))

    def _post(self, property_id: str, method: str, payload: dict[str, Any]) -> bytes:
        """POST one Data API method over the client's own REST session; the answer's bytes.

        The session (google-auth's AuthorizedSession) adds and refreshes the credentials, the
        host is the endpoint the client resolved; the path is the Data API's REST route, and
        the query asks for enums as numbers, exactly as the client library itself sends.
        """
        transport = self.client.transport
        response = transport._session.post(  # noqa: SLF001 (the client's authorised session)
            f"{transport._host}/v1beta/properties/{property_id}:{method}",  # noqa: SLF001
            params={"$alt": "json;enum-encoding=int"},
            data=json.dumps(payload),
            headers={
                "Content-Type": "application/json",
                "x-goog-request-params": f"property=properties/{property_id}",
            },
            timeout=self.settings.timeout_s,
        )
        if response.status_code >= 400:
            raise gexc.from_http_response(response)
        return bytes(response.content)

    def _run_reports_grpc(
        self, property_id: str, bodies: list[dict[str, Any]]
    ) -> list[RunReportResponse]:
        timeout = self.settings.timeout_s
        requests_pb = [RunReportRequest.from_json(json.dumps(b)) for b in bodies]
        if len(requests_pb) == 1:
            request = requests_pb[0]
            return [
                self.call(
                    property_id,
                    lambda: self.client.run_report(request=request, retry=None, timeout=timeout),
                )
            ]
        # Inside a batch the property lives on the batch, not on each request.
        for r in requests_pb:
            r.property = ""
        batch = BatchRunReportsRequest(property=f"properties/{property_id}", requests=requests_pb)
        answer = self.call(
            property_id,
            lambda: self.client.batch_run_reports(request=batch, retry=None, timeout=timeout),
            reports=len(requests_pb),
        )
        return list(answer.reports)

    def get_metadata(self, property_id: str) -> Metadata:
        request = GetMetadataRequest(name=f"properties/{property_id}/metadata")
        return self.call(
            property_id,
            lambda: self.client.get_metadata(
                request=request, retry=None, timeout=self.settings.timeout_s
            ),
        )


# --- paging and batching --------------------------------------------------------------------


def run_specs(
    api: Ga4Api, specs: list[ReportSpec], page_size: int, partition_date: date | None = None
) -> list[ReportPage]:
    """Every page of every report, in as few HTTP requests as paging and batching allow."""
    pages: list[ReportPage] = []
    by_property: dict[str, deque[tuple[ReportSpec, int, int]]] = {}
    for spec in specs:
        by_property.setdefault(spec.property_id, deque()).append((spec, 0, page_size))

    for property_id, queue in by_property.items():
        row_counts: dict[int, int] = {}
        while queue:
            chunk = [queue.popleft() for _ in range(min(MAX_REPORTS_PER_BATCH, len(queue)))]
            bodies = [spec.body(offset, limit) for spec, offset, limit in chunk]
            answers = api.run_reports(property_id, bodies)
            for (spec, offset, limit), body, answer in zip(chunk, bodies, answers, strict=True):
                page = read_page(answer, spec, body, offset)
                page.partition_date = partition_date
                pages.append(page)
                queue.extend(_follow_up_pages(spec, page, offset, limit, page_size, row_counts))
    return pages


def _follow_up_pages(
    spec: ReportSpec,
    page: ReportPage,
    offset: int,
    limit: int,
    page_size: int,
    row_counts: dict[int, int],
) -> list[tuple[ReportSpec, int, int]]:
    """The pages still to request after this one (offset, limit)."""
    known = row_counts.setdefault(id(spec), page.row_count)
    if page.row_count != known:
        # GA4 restated data between two pages; the lookback re-fetch will settle it.
        log.warning(
            "GA4 report %s: rowCount changed from %d to %d between pages",
            spec.report_hash,
            known,
            page.row_count,
        )
    todo: list[tuple[ReportSpec, int, int]] = []
    end = offset + page.n_rows
    if page.n_rows < limit and end < page.row_count:
        if page.n_rows == 0:
            raise SourceError(
                SOURCE,
                f"GA4 answered no rows at offset {offset} although rowCount is "
                f"{page.row_count} (report {spec.report_hash})",
            )
        # A short page in the middle: ask for the rest of this page's share.
        todo.append((spec, end, limit - page.n_rows))
    if offset == 0:
        # After the first page rowCount is known: request all remaining pages now, so they can
        # share batch requests instead of being fetched one after another.
        next_offset = offset + limit
        while next_offset < page.row_count:
            todo.append((spec, next_offset, page_size))
            next_offset += page_size
    return todo
