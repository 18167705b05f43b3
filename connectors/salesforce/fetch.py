"""Salesforce: the fetches, through the client library (simple-salesforce).

The package `connectors.salesforce` exports them by name and imports this module on first use,
so `okr validate` without credentials and `okr status` never load the client library."""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain

import pyarrow as pa

from connectors.base import MetricRequest
from connectors.errors import IncompleteReadError, SourceError
from connectors.retry import READ_ATTEMPTS, call_with_retry
from connectors.salesforce.bulk import BulkUnavailable, fetch_bulk_records
from connectors.salesforce.client import QueryRejected, SalesforceClient
from connectors.salesforce.parse import (
    Currency,
    next_cursor,
    records_from_rest_page,
)
from connectors.salesforce.requests import (
    CURRENCY_FIELD,
    count_soql,
    records_soql,
    salesforce_query,
)
from connectors.salesforce.settings import (
    SOURCE,
    SalesforceSettings,
)


@dataclass(frozen=True)
class ObjectSchema:
    """What describe says of one object: each field's type."""

    name: str
    field_types: dict[str, str]

    @property
    def multi_currency(self) -> bool:
        return CURRENCY_FIELD in self.field_types


def describe_objects(client: SalesforceClient, objects: Sequence[str]) -> dict[str, ObjectSchema]:
    out = {}
    for name in objects:
        fields = client.describe(name).get("fields") or []
        out[name] = ObjectSchema(name, {f["name"]: f["type"] for f in fields})
    return out


def money_fields(
    metrics: Sequence[MetricRequest], schemas: dict[str, ObjectSchema]
) -> set[tuple[str, str]]:
    """(object, field) of the metrics' sums over currency fields."""
    out = set()
    for m in metrics:
        q = salesforce_query(m)
        schema = schemas.get(q.object)
        if q.field and schema and schema.field_types.get(q.field) == "currency":
            out.add((q.object, q.field))
    return out


def fetch_currency(client: SalesforceClient, multi_currency: bool) -> Currency:
    """The corporate currency and, in a multi-currency org, every currency's rate
    (CurrencyType: units per corporate unit); a single-currency org's one currency."""
    if multi_currency:
        rows = [
            r
            for page in client.query_pages(
                "SELECT IsoCode, ConversionRate, IsCorporate FROM CurrencyType",
                include_deleted=False,
            )
            for r in page.records
        ]
        corporate = next((r["IsoCode"] for r in rows if r["IsCorporate"]), None)
        return Currency(corporate, {r["IsoCode"]: float(r["ConversionRate"]) for r in rows})
    rows = next(
        iter(
            client.query_pages(
                "SELECT DefaultCurrencyIsoCode FROM Organization", include_deleted=False
            )
        )
    ).records
    return Currency(rows[0]["DefaultCurrencyIsoCode"] if rows else None)


_NAMED_FIELD = re.compile(r"(?:column|field) '([\w.]+)'")


def _rejected(
    exc: QueryRejected, object_name: str, metrics: Sequence[MetricRequest]
) -> SourceError:
    """Salesforce's refusal of a read, naming the metrics (and the field) behind it."""
    named = _NAMED_FIELD.search(exc.detail)
    field = named.group(1) if named else None
    ids = [
        m.metric_id
        for m in metrics
        if salesforce_query(m).object == object_name
        and (field is None or field in salesforce_query(m).fields())
    ] or [m.metric_id for m in metrics if salesforce_query(m).object == object_name]
    where = f"field {field} of {object_name}" if field else object_name
    first_line = " ".join(exc.detail.split())
    return SourceError(
        SOURCE,
        f"Salesforce refused the read of {where} for metric(s) {', '.join(ids)} "
        f"({exc.error_code}: {first_line}); check the field's API name and type "
        "(`okr validate` describes the object)",
    )


BULK = "Bulk API 2.0"


@dataclass(frozen=True)
class RecordRead:
    """One read of one object: the records (parse.records_schema), how it went, the cursor."""

    records: pa.Table
    how: str  # "REST" or "Bulk API 2.0"
    requests: int
    cursor: datetime | None


def fetch_records(
    client: SalesforceClient,
    object_name: str,
    fields: Sequence[str],
    metrics: Sequence[MetricRequest],
    *,
    since: datetime | None = None,
    where: str = "",
    previous_cursor: datetime | None = None,
) -> RecordRead:
    """Every record of `object_name` changed since `since` (incremental), or matching `where`
    (a full read), deleted ones included: REST pages through nextRecordsUrl, or a Bulk API 2.0
    queryAll job when the read holds more than the settings' bulk_threshold records (REST
    when the org has no Bulk API).

    How large a read is decides the way: a full read asks first (`SELECT COUNT()`: one
    request, no records; it is the first read of an object, or one after the metrics
    changed, and can be the whole object); an incremental read is usually a few records, so
    it starts with the REST query and goes to Bulk only when the first page announces more.
    """
    soql = records_soql(object_name, fields, since=since, where=where)
    threshold = client.settings.bulk_threshold
    before = client.request_count

    def bulk(fetched_at: datetime) -> pa.Table | None:
        try:
            return fetch_bulk_records(client, object_name, soql, fields, fetched_at)
        except BulkUnavailable:
            return None

    def read() -> tuple[pa.Table, str]:
        fetched_at = datetime.now(UTC)
        if since is None and client.count(count_soql(object_name, where=where)) > threshold:
            table = bulk(fetched_at)
            if table is not None:
                return table, BULK
        pages = client.query_pages(soql)
        first = next(pages)
        if since is not None and first.total_size > threshold:
            table = bulk(fetched_at)
            if table is not None:
                return table, BULK
        # Each page is turned into columns while the next one is asked for and served (as
        # the Bulk read parses a page while the next downloads): one request in flight at a
        # time, the same requests in the same order as a plain loop.
        with ThreadPoolExecutor(1, thread_name_prefix="okr-salesforce-page") as converter:
            converted = [
                converter.submit(
                    records_from_rest_page,
                    object_name,
                    p.records,
                    p.request_hash,
                    fields,
                    fetched_at,
                )
                for p in chain([first], pages)
            ]
            table = pa.concat_tables([page.result() for page in converted])
        if table.num_rows != first.total_size:
            # A query locator is a snapshot: its pages add up to its totalSize unless an
            # answer was cut short. The whole read is tried once more, then the run fails.
            raise IncompleteReadError(
                SOURCE,
                f"the read of {object_name} returned {table.num_rows} records where "
                f"Salesforce announced {first.total_size}",
            )
        return table, "REST"

    try:
        table, how = call_with_retry(read, READ_ATTEMPTS, retry_on=IncompleteReadError)
    except QueryRejected as exc:
        raise _rejected(exc, object_name, metrics) from None
    return RecordRead(
        table,
        how,
        client.request_count - before,
        next_cursor(table, previous_cursor),
    )


def salesforce_currencies(
    settings: SalesforceSettings,
    metrics: Sequence[MetricRequest],
    *,
    client: SalesforceClient | None = None,
) -> dict[str, str]:
    """{metric id: corporate currency} for the metrics that sum a currency field, for
    `okr validate` (describes the objects; no request when no metric sums anything)."""
    sums = [m for m in metrics if salesforce_query(m).aggregate == "sum"]
    if not sums:
        return {}
    client = client or SalesforceClient(settings)
    schemas = describe_objects(client, sorted({salesforce_query(m).object for m in sums}))
    money = money_fields(sums, schemas)
    if not money:
        return {}
    currency = fetch_currency(client, any(s.multi_currency for s in schemas.values()))
    return {
        m.metric_id: currency.corporate
        for m in sums
        if currency.corporate and (salesforce_query(m).object, salesforce_query(m).field) in money
    }
