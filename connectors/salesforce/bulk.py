"""Bulk API 2.0 query jobs: large reads as CSV pages, parsed by DuckDB with no per-record
Python objects.

A job is created (`POST /jobs/query`, operation queryAll so deletions come back), polled with
exponential backoff until `JobComplete`, and its results read page by page
(`GET /jobs/query/<id>/results?maxRecords=&locator=`, the next locator in the `Sforce-Locator`
header, the string "null" after the last page). Each page is streamed to a temporary file and
read by DuckDB's CSV reader: simple-salesforce's own bulk helper decodes a whole page into one
Python string. A session that expires between two pages is renewed and the page asked again
(client.py, `OrgApi.download`). Results are asked with the job's own API version (`apiVersion`
of the job): Salesforce answers 409 to another one. Orgs without the Bulk API (or objects it
does not support) answer job creation with an error: :class:`BulkUnavailable`, and the read
stays REST.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from simple_salesforce.exceptions import SalesforceMalformedRequest
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

from connectors.base import request_hash
from connectors.errors import SourceError
from connectors.salesforce.client import OrgApi, SalesforceClient
from connectors.salesforce.parse import records_from_csv
from connectors.salesforce.settings import SOURCE

# How long a job may take before the read gives up (Salesforce keeps results 7 days, but a
# run should not wait for hours), and the longest wait between polls (the first is the
# settings' bulk_poll_s, doubling).
JOB_TIMEOUT_S = 900.0
POLL_MAX_S = 10.0
# What an org without the Bulk API (or an object it does not support) answers job creation
# with (dlt's and Airbyte's fallbacks look for the same).
_NOT_AVAILABLE = ("FeatureNotEnabled", "Async API not enabled", "not supported by the Bulk API")


class BulkUnavailable(Exception):
    """This org or object has no Bulk API 2.0 query: read through REST instead."""


def _create(sf: OrgApi, soql: str) -> dict[str, Any]:
    try:
        return sf.restful(
            "jobs/query",
            method="POST",
            json={"operation": "queryAll", "query": soql, "contentType": "CSV"},
        )
    except SalesforceMalformedRequest as exc:
        text = str(exc.content)
        if any(marker in text for marker in _NOT_AVAILABLE) or "API_DISABLED_FOR_ORG" in text:
            raise BulkUnavailable(text) from None
        raise


def _wait_until_complete(client: SalesforceClient, job_id: str) -> dict[str, Any]:
    """The job's info once it is JobComplete: polled at once (its creation answers
    UploadComplete; the query runs after), then with exponential backoff."""

    def status() -> dict[str, Any]:
        info = client.json("bulk job status", f"jobs/query/{job_id}")
        if info.get("state") in ("Failed", "Aborted"):
            raise SourceError(
                SOURCE,
                f"the Bulk API job {job_id} ended {info['state']}: "
                f"{info.get('errorMessage', 'no reason given')}",
            )
        return info

    first_wait = client.settings.bulk_poll_s
    try:
        return Retrying(
            retry=retry_if_result(lambda info: info.get("state") != "JobComplete"),
            wait=wait_exponential(multiplier=first_wait, min=first_wait, max=POLL_MAX_S),
            stop=stop_after_delay(JOB_TIMEOUT_S),
            reraise=True,
        )(status)
    except RetryError:
        raise SourceError(
            SOURCE, f"the Bulk API job {job_id} did not finish within {JOB_TIMEOUT_S:g} s"
        ) from None


def _download(sf: OrgApi, url: str, params: dict[str, Any], target: Path) -> str:
    """Stream one CSV page to `target`; returns the next locator ("null" after the last)."""
    response = sf.download(url, params)  # logs in again on a 401, as REST calls do
    with target.open("wb") as out:
        for chunk in response.iter_content(1 << 20):
            out.write(chunk)
    return response.headers.get("Sforce-Locator") or "null"


def fetch_bulk_records(
    client: SalesforceClient,
    object_name: str,
    soql: str,
    fields: list[str] | tuple[str, ...],
    fetched_at: datetime,
) -> pa.Table:
    """The records (parse.records_schema) of a queryAll job for `soql` (BulkUnavailable
    without Bulk API)."""
    job = client.call("bulk job", lambda sf: _create(sf, soql))
    return read_job_records(client, job["id"], object_name, fields, fetched_at)


def read_job_records(
    client: SalesforceClient,
    job_id: str,
    object_name: str,
    fields: list[str] | tuple[str, ...],
    fetched_at: datetime,
) -> pa.Table:
    """The records (parse.records_schema) of the query job `job_id`, once complete, read page
    by page with the API version the job was created with (whatever version the client is
    set to)."""
    job = _wait_until_complete(client, job_id)
    version = f"{float(job['apiVersion']):.1f}"
    parsed: list[Future[pa.Table]] = []
    locator = ""
    page = 0
    con = duckdb.connect()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="okr-salesforce-bulk-") as folder,
            # Each page is parsed while the next one downloads: Salesforce prepares a page
            # for as long as DuckDB takes to read one (both release the GIL).
            ThreadPoolExecutor(1, thread_name_prefix="okr-salesforce-csv") as parser,
        ):
            while locator != "null":
                params: dict[str, Any] = {"maxRecords": client.settings.bulk_page_records}
                if locator:
                    params["locator"] = locator
                target = Path(folder) / f"page-{page}.csv"

                def download(sf: OrgApi, params: dict = params, target: Path = target) -> str:
                    url = (
                        f"https://{sf.sf_instance}/services/data/v{version}/jobs/query/"
                        f"{job['id']}/results"
                    )
                    return _download(sf, url, params, target)

                locator = client.call("bulk results", download)
                page_hash = request_hash({"job": job["id"], "locator": params.get("locator")})
                parsed.append(
                    parser.submit(
                        records_from_csv,
                        con,
                        object_name,
                        str(target),
                        fields,
                        fetched_at,
                        page_hash,
                    )
                )
                page += 1
            tables = [table.result() for table in parsed]
    finally:
        con.close()
    return pa.concat_tables(tables)
