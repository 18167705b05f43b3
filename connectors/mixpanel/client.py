"""Fetch Mixpanel metrics: plain httpx with service-account basic auth, the one retry policy.

Declared events and funnels come from the Raw Event Export API (one request per filter set, see
requests.py), streamed to a temporary file and landed in an in-memory DuckDB, where every count
is SQL (parse.py). Saved reports come from the Query API (`/insights`, `/funnels`).
"""

from __future__ import annotations

import json
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import httpx
import pyarrow as pa

from connectors.base import MetricRequest, RangeRequest
from connectors.errors import AuthError, RetryableSourceError, SourceError
from connectors.mixpanel.parse import (
    RAW_SCHEMA,
    STORE_TABLES,
    event_series,
    funnel_counts,
    funnel_report_days,
    insights_series,
    land_export,
    range_uniques,
)
from connectors.mixpanel.requests import ExportRequest, ReportRequest, hash_of, plan_requests
from connectors.mixpanel.settings import (
    EXPORT_MIN_INTERVAL_S,
    EXPORT_REQUESTS_PER_HOUR,
    QUERY_REQUESTS_PER_HOUR,
    SECRET_ENV,
    SOURCE,
    USERNAME_ENV,
    MixpanelSettings,
)
from connectors.results import DAILY_SCHEMA, FetchResult, range_table
from connectors.retry import call_with_retry, retry_after_seconds, wait_scale
from connectors.scratch import scratch_connection
from connectors.tls import tls_context
from okr_definitions.sources.mixpanel import MixpanelQuery


def is_additive(query: MixpanelQuery) -> bool:
    """Totals and funnels (a ratio of sums) add up across days; unique users never do."""
    return not (query.kind == "event" and query.count == "uniques")


def project_today(settings: MixpanelSettings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


def make_client(settings: MixpanelSettings) -> httpx.Client:
    return httpx.Client(
        auth=(settings.username, settings.secret.get_secret_value()),
        timeout=httpx.Timeout(settings.timeout_s, connect=min(settings.timeout_s, 10.0)),
        headers={"Accept-Encoding": "gzip"},
        verify=tls_context(),  # connectors/tls.py: one CA bundle load per process
    )


def _error_text(response: httpx.Response) -> str:
    """Mixpanel's `{"error": "..."}` message, else the start of the body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return json.dumps(body)[:200]


def check_status(response: httpx.Response, what: str) -> None:
    """Raise the right error for a non-200 answer (the message never holds a credential)."""
    status = response.status_code
    if status == 200:
        return
    response.read()
    if status == 429 or status >= 500:
        raise RetryableSourceError(
            SOURCE,
            f"{what}: HTTP {status}: {_error_text(response)}",
            retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status in (401, 403):
        raise AuthError(
            SOURCE,
            f"{what}: HTTP {status}: {_error_text(response)}. Check {USERNAME_ENV} and "
            f"{SECRET_ENV} (a service account with access to the project), the project_id and "
            "the region (sources.mixpanel): a project in another data residency refuses them",
        )
    raise SourceError(SOURCE, f"{what}: HTTP {status}: {_error_text(response)}")


def get_json(client: httpx.Client, url: str, params: dict[str, str], what: str) -> Any:
    """One Query API GET under the shared retry policy; the decoded JSON."""

    def attempt() -> Any:
        try:
            response = client.get(url, params=params)
        except httpx.TransportError as exc:
            raise RetryableSourceError(SOURCE, f"{what}: {type(exc).__name__}") from exc
        check_status(response, what)
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RetryableSourceError(SOURCE, f"{what}: the answer is not JSON") from exc
        if not body and not isinstance(body, list):
            raise RetryableSourceError(SOURCE, f"{what}: empty answer")
        return body

    return call_with_retry(attempt)


@dataclass
class Usage:
    """What a run asked of Mixpanel's hourly limits (shown in the asset's metadata)."""

    export_requests: int = 0
    query_requests: int = 0
    exported_events: int = 0
    answer_bytes: int = 0


class _Gunzip:
    """Mixpanel's gzip answer decoded here rather than by httpx, so a cut-off stream is seen
    (httpx's decoder accepts a truncated gzip stream silently)."""

    def __init__(self, encoding: str) -> None:
        self.zipped = "gzip" in encoding
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if self.zipped else None

    def feed(self, chunk: bytes) -> bytes:
        return self._inflate.decompress(chunk) if self._inflate else chunk

    def complete(self) -> bool:
        return self._inflate.eof if self._inflate else True


def _export_once(
    client: httpx.Client,
    settings: MixpanelSettings,
    params: dict[str, str],
    target: Path,
    empty_seen: list[bool],
) -> tuple[int, int]:
    """Stream one export answer into `target` (JSONL); (bytes received, events in it).

    Transient (retried): a transport failure, HTML, a cut-off gzip stream or last line, and a
    first empty answer (asked once more before it counts as "no events": a proxy's empty 200
    must not load zeros). Beyond the volume bound: an error naming the request.
    """
    what = "export"
    lines = size = 0
    try:
        with client.stream("GET", f"{settings.export_base}/export", params=params) as answer:
            check_status(answer, what)
            gunzip = _Gunzip(answer.headers.get("Content-Encoding", ""))
            last = b""
            with target.open("wb") as out:
                for raw in answer.iter_raw():
                    size += len(raw)
                    chunk = gunzip.feed(raw)
                    if not chunk:
                        continue
                    if not last and chunk.lstrip()[:1] == b"<":
                        raise RetryableSourceError(SOURCE, f"{what}: HTML instead of JSONL")
                    lines += chunk.count(b"\n")
                    last = chunk[-1:]
                    if lines > settings.max_events_per_request:
                        raise SourceError(
                            SOURCE,
                            f"export of {params['event']} from {params['from_date']} to "
                            f"{params['to_date']} holds more than "
                            f"{settings.max_events_per_request:,} events, the bound of one "
                            'request (README, "Mixpanel"): read these numbers from a saved '
                            "report (`report:`), narrow `where`, or shorten the key results' "
                            "ranges",
                        )
                    out.write(chunk)
    except (httpx.TransportError, zlib.error) as exc:
        raise RetryableSourceError(SOURCE, f"{what}: {type(exc).__name__}") from exc
    if not gunzip.complete() or (last and last != b"\n"):
        raise RetryableSourceError(SOURCE, f"{what}: the answer was cut off")
    if not last and not empty_seen[0]:
        empty_seen[0] = True
        raise RetryableSourceError(SOURCE, f"{what}: empty answer; asking once more")
    return size, lines


def _export(
    client: httpx.Client,
    con: duckdb.DuckDBPyConnection,
    settings: MixpanelSettings,
    export: ExportRequest,
    params: dict[str, str],
    target: Path,
    number: int,
) -> tuple[int, int]:
    """Download and land one export answer under the shared retry policy: (bytes, events).
    A retried attempt replaces what an earlier one landed."""
    empty_seen = [False]

    def attempt() -> tuple[int, int]:
        for table in ("counted", "events"):
            con.execute(f"DELETE FROM {table} WHERE request_no = ?", [number]).fetchall()
        size, lines = _export_once(client, settings, params, target, empty_seen)
        land_export(con, target, number, settings.timezone, export.kept_events, export.counts_users)
        return size, lines

    try:
        return call_with_retry(attempt)
    finally:
        target.unlink(missing_ok=True)


@contextmanager
def _event_store() -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    with tempfile.TemporaryDirectory(prefix="okr-mixpanel-") as folder:
        con = scratch_connection()
        try:
            con.execute("SET TimeZone = 'UTC'").fetchall()
            for table in STORE_TABLES:
                con.execute(table).fetchall()
            yield con, Path(folder)
        finally:
            con.close()


def fetch_mixpanel(
    settings: MixpanelSettings,
    metrics: list[MetricRequest],
    start: date,
    end: date,
    ranges: list[RangeRequest] | None = None,
    today: date | None = None,
    partition_date: date | None = None,
) -> tuple[FetchResult, Usage]:
    """Daily rows for [start, end] (days in the project's time zone) and the exact `ranges`."""
    plan = plan_requests(
        settings.project_id, metrics, ranges or [], start, end, today or project_today(settings)
    )
    usage = Usage()
    fetched_at = datetime.now(UTC)
    daily: list[pa.Table] = []
    report_rows: list[dict[str, Any]] = []
    range_rows: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    stamp = {"fetched_at": fetched_at, "partition_date": partition_date or end}
    base = {"project_id": settings.project_id, "project_timezone": settings.timezone}
    with make_client(settings) as client, _event_store() as (con, folder):
        for number, export in enumerate(plan.exports):
            if number:  # 3 export requests per second at most (settings.py)
                time.sleep(EXPORT_MIN_INTERVAL_S * wait_scale())
            params = {"project_id": str(settings.project_id), **export.params()}
            target = folder / f"export-{number}.jsonl"
            size, count = _export(client, con, settings, export, params, target, number)
            digest = hash_of("export", params)
            usage.export_requests += 1
            usage.exported_events += count
            usage.answer_bytes += size
            raw.append(
                {
                    **base,
                    **stamp,
                    "request_hash": digest,
                    "request_kind": "export",
                    "params": json.dumps(params, sort_keys=True),
                    "metric_ids": export.metric_ids,
                    "event_count": count,
                    "answer_bytes": size,
                    "answer": None,
                }
            )
            daily.append(
                _export_daily(con, number, export, start, min(end, export.to_date), digest)
            )
            range_rows += [
                {
                    "metric_id": wanted.metric_id,
                    "range_start": wanted.start,
                    "range_end": wanted.end,
                    "value": range_uniques(con, number, wanted.query, wanted.start, wanted.end),
                }
                for wanted in export.ranges
            ]
        for report in plan.reports:
            rows, answer, size = _fetch_report(client, settings, report, start, end)
            usage.query_requests += 1
            usage.answer_bytes += size
            digest = hash_of(report.path, dict(report.params))
            raw.append(
                {
                    **base,
                    **stamp,
                    "request_hash": digest,
                    "request_kind": report.path,
                    "params": json.dumps(dict(report.params), sort_keys=True),
                    "metric_ids": [report.metric.metric_id],
                    "event_count": None,
                    "answer_bytes": size,
                    "answer": answer,
                }
            )
            report_rows += [{**row, "request_hash": digest} for row in rows]
    result = FetchResult(
        daily=pa.concat_tables([*daily, pa.Table.from_pylist(report_rows, schema=DAILY_SCHEMA)]),
        # RANGE_SCHEMA rows carry the run's batch hash (warehouse/load.py)
        ranges=range_table(range_rows),
        raw=pa.Table.from_pylist(raw, schema=RAW_SCHEMA),
        request_count=usage.export_requests + usage.query_requests,
        metadata={
            "export_requests": usage.export_requests,
            "export_requests_per_hour_limit": EXPORT_REQUESTS_PER_HOUR,
            "query_requests": usage.query_requests,
            "query_requests_per_hour_limit": QUERY_REQUESTS_PER_HOUR,
            "exported_events": usage.exported_events,
            "answer_bytes": usage.answer_bytes,
        },
    )
    return result, usage


def _export_daily(
    con: duckdb.DuckDBPyConnection,
    number: int,
    export: ExportRequest,
    start: date,
    end: date,
    digest: str,
) -> pa.Table:
    """The daily rows of the metrics one export request served, each naming the request
    (`digest`, raw.mixpanel_requests)."""
    if start > end:
        return DAILY_SCHEMA.empty_table()
    events = [(m.metric_id, m.query) for m in export.metrics if m.query.funnel is None]
    parts = []
    if events:
        series = event_series(con, number, events, start, end)
        hashes = pa.array([digest] * series.num_rows, pa.string())
        parts.append(series.append_column("request_hash", hashes).cast(DAILY_SCHEMA))
    for metric in export.metrics:
        if metric.query.funnel is not None:
            rows = funnel_counts(con, number, metric.query, start, end)
            parts.append(
                pa.Table.from_pylist(
                    [
                        {
                            "metric_id": metric.metric_id,
                            "date": day,
                            "value": value,
                            "numerator": num,
                            "denominator": den,
                            "request_hash": digest,
                        }
                        for day, value, num, den in rows
                    ],
                    schema=DAILY_SCHEMA,
                )
            )
    return pa.concat_tables(parts) if parts else DAILY_SCHEMA.empty_table()


def _fetch_report(
    client: httpx.Client,
    settings: MixpanelSettings,
    report: ReportRequest,
    start: date,
    end: date,
) -> tuple[list[dict[str, Any]], str, int]:
    query: MixpanelQuery = report.metric.query
    metric_id = report.metric.metric_id
    what = f"{report.path} report {query.report}"
    answer = get_json(client, f"{settings.query_base}/{report.path}", dict(report.params), what)
    text = json.dumps(answer)
    rows: list[dict[str, Any]] = []
    if report.path == "insights":
        if not isinstance(answer, dict):
            raise RetryableSourceError(SOURCE, f"{what}: the answer is not a JSON object")
        values = insights_series(answer, query, settings.timezone, metric_id)
        rows = [
            {"metric_id": metric_id, "date": day, "value": value}
            for day, value in sorted(values.items())
            if start <= day <= end
        ]
    else:
        if not isinstance(answer, dict):
            raise RetryableSourceError(SOURCE, f"{what}: the answer is not a JSON object")
        for day, (done, started) in sorted(funnel_report_days(answer).items()):
            if start <= day <= end:
                rows.append(
                    {
                        "metric_id": metric_id,
                        "date": day,
                        "value": done / started if started else None,
                        "numerator": done,
                        "denominator": started,
                    }
                )
    return rows, text, len(text)
