"""Salesforce's raw tables (migrations 0040, 0090): current records, their change history and
the incremental cursor; and :func:`sync`, one run's read.

A run reads, per object, what changed since the stored cursor (queryAll, so deletions and
undeletions come back) and loads it in one transaction with the cursor; a full read replaces
the object's current records. Then every day the key results read is recomputed from the
stored records, so an opportunity edited, lost, deleted or undeleted after it was counted
corrects the past days it touched (staging records those in staging.metric_revisions).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from connectors.base import MetricRequest
from connectors.results import FetchResult
from connectors.salesforce import (
    RECORD_COLUMNS,
    RecordRead,
    SalesforceClient,
    SalesforceSettings,
    daily_values,
    describe_objects,
    fetch_currency,
    fetch_records,
    fields_for_metrics,
    fields_map_sql,
    money_fields,
    salesforce_query,
)
from connectors.salesforce.requests import full_read_where
from connectors.salesforce.settings import RECYCLE_BIN_RETENTION
from warehouse.db import transaction
from warehouse.load import registered

_COLUMNS = ", ".join(RECORD_COLUMNS)


@dataclass(frozen=True)
class SalesforceSyncState:
    """raw.salesforce_sync_state for one object (all None before the first read)."""

    cursor: datetime | None = None
    read_shape: str | None = None
    last_fetched_at: datetime | None = None


def sync_state(con: duckdb.DuckDBPyConnection, object_name: str) -> SalesforceSyncState:
    rows = con.execute(
        "SELECT cursor_modstamp, read_shape, last_fetched_at FROM raw.salesforce_sync_state "
        "WHERE object = ?",
        [object_name],
    ).fetchall()
    return SalesforceSyncState(*rows[0]) if rows else SalesforceSyncState()


def full_read_reason(state: SalesforceSyncState, shape: str, now: datetime) -> str | None:
    """Why this run must read every record the metrics could count instead of the changes
    since the cursor (None when an incremental read is enough)."""
    if state.cursor is None or state.last_fetched_at is None:
        return "first read"
    if state.read_shape != shape:
        return "the metrics need other fields or records"
    if now - state.last_fetched_at > RECYCLE_BIN_RETENTION:
        return (
            f"last read {state.last_fetched_at:%Y-%m-%d}, longer ago than Salesforce keeps "
            "deleted records in the recycle bin"
        )
    return None


def _stored(view: str) -> str:
    """The read's records as the warehouse keeps them: the fields' struct as a map field →
    text, built by DuckDB as the rows go in (never an Arrow map: converting one costs more
    than writing it)."""
    columns = ", ".join(
        f"{fields_map_sql()} AS fields" if name == "fields" else name for name in RECORD_COLUMNS
    )
    return f"(SELECT {columns} FROM {view})"


def _newest(records: str) -> str:
    # An incremental read can see a record twice (the overlap): only its newest version goes
    # in (a MERGE may match each record once).
    return f"""
        SELECT {_COLUMNS}, CAST($run_id AS VARCHAR) AS run_id FROM {records}
        QUALIFY row_number() OVER (
            PARTITION BY object, record_id ORDER BY system_modstamp DESC, is_deleted DESC) = 1
    """


def _all(records: str) -> str:
    return f"SELECT {_COLUMNS}, CAST($run_id AS VARCHAR) AS run_id FROM {records}"


def _one_row_each(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    """True when no record appears twice in `view`."""
    ((unique,),) = con.execute(
        f"SELECT count(*) = count(DISTINCT record_id) FROM {view}"
    ).fetchall()
    return bool(unique)


def load_read(
    con: duckdb.DuckDBPyConnection,
    object_name: str,
    read: RecordRead,
    *,
    full_read: bool,
    shape: str,
    fetched_at: datetime,
    run_id: str,
    api_usage: str | None,
) -> int:
    """Load one read in one transaction: current records (replaced by a full read, merged by
    an incremental one: never an older version over a newer, and a version read again — the
    overlap — keeps the request that first read it, so re-runs change nothing), versions not
    seen before into the history, and the cursor. Returns the number of new versions.

    The tables have no primary-key index (migration 0090): one row per record and one per
    version are kept here, by replacing, merging and skipping versions already held."""
    with transaction(con), registered(con, read.records) as view:
        records = _stored(view)
        ((before,),) = con.execute(
            "SELECT count(*) FROM raw.salesforce_record_history WHERE object = ?", [object_name]
        ).fetchall()
        first = before == 0 and _one_row_each(con, view)
        if full_read:
            # Records a full read no longer returns match no metric now (or were purged from
            # the recycle bin): they must stop counting; their versions stay in the history.
            con.execute("DELETE FROM raw.salesforce_records WHERE object = ?", [object_name])
            # A read that returns each record once needs no deduplication (a first read of
            # 200,000 opportunities: a plain INSERT takes half the time).
            versions = _all(records) if first else _newest(records)
            con.execute(
                f"INSERT INTO raw.salesforce_records BY NAME {versions}", {"run_id": run_id}
            )
        else:
            con.execute(
                f"""
                MERGE INTO raw.salesforce_records AS r
                USING ({_newest(records)}) AS n
                ON r.object = n.object AND r.record_id = n.record_id
                WHEN MATCHED AND (n.system_modstamp > r.system_modstamp
                                  OR n.is_deleted <> r.is_deleted) THEN UPDATE SET
                    is_deleted = n.is_deleted,
                    system_modstamp = n.system_modstamp,
                    fields = n.fields,
                    fetched_at = n.fetched_at,
                    request_hash = n.request_hash,
                    run_id = n.run_id
                WHEN NOT MATCHED THEN INSERT BY NAME
                """,
                {"run_id": run_id},
            )
        if first and full_read:
            # The history is empty and the current state just written is this read's only
            # version of each record: copied inside DuckDB, not converted from Arrow again.
            con.execute(
                f"INSERT INTO raw.salesforce_record_history BY NAME SELECT {_COLUMNS}, run_id "
                "FROM raw.salesforce_records WHERE object = ?",
                [object_name],
            )
        else:
            con.execute(
                f"""
                INSERT INTO raw.salesforce_record_history BY NAME
                SELECT {_COLUMNS}, CAST($run_id AS VARCHAR) AS run_id FROM {records} AS n
                WHERE NOT EXISTS (
                    SELECT 1 FROM raw.salesforce_record_history AS h
                    WHERE h.object = n.object AND h.record_id = n.record_id
                      AND h.system_modstamp = n.system_modstamp
                      AND h.is_deleted = n.is_deleted)
                QUALIFY row_number() OVER (
                    PARTITION BY object, record_id, system_modstamp, is_deleted) = 1
                """,
                {"run_id": run_id},
            )
        ((after,),) = con.execute(
            "SELECT count(*) FROM raw.salesforce_record_history WHERE object = ?", [object_name]
        ).fetchall()
        con.execute(
            """
            INSERT INTO raw.salesforce_sync_state AS s
                (object, cursor_modstamp, read_shape, last_fetched_at, last_full_read_at,
                 last_run_id, records_read, requests, read_kind, api_usage)
            VALUES ($object, $cursor, $shape, $fetched_at,
                    CASE WHEN $full THEN CAST($fetched_at AS TIMESTAMPTZ) END, $run_id,
                    $records, $requests, $kind, $usage)
            ON CONFLICT (object) DO UPDATE SET
                cursor_modstamp = excluded.cursor_modstamp,
                read_shape = excluded.read_shape,
                last_fetched_at = excluded.last_fetched_at,
                last_full_read_at = coalesce(excluded.last_full_read_at, s.last_full_read_at),
                last_run_id = excluded.last_run_id,
                records_read = excluded.records_read,
                requests = excluded.requests,
                read_kind = excluded.read_kind,
                api_usage = excluded.api_usage
            """,
            {
                "object": object_name,
                "cursor": read.cursor,
                "shape": shape,
                "fetched_at": fetched_at,
                "full": full_read,
                "run_id": run_id,
                "records": read.records.num_rows,
                "requests": read.requests,
                "kind": read.how,
                "usage": api_usage,
            },
        )
    return int(after) - int(before)


def last_loaded_day(con: duckdb.DuckDBPyConnection, metric_ids: Sequence[str]) -> date | None:
    """The newest day of these Salesforce metrics in raw.metric_rows (None before the first)."""
    ((last,),) = con.execute(
        "SELECT max(date) FROM raw.metric_rows WHERE source = 'salesforce' "
        "AND list_contains(?, metric_id)",
        [list(metric_ids)],
    ).fetchall()
    return last


@dataclass(frozen=True)
class SalesforceObjectRead:
    """What one run read of one object (for the run's log and metadata)."""

    object: str
    how: str  # "full read (<reason>)" or "changes since <cursor>", and REST or Bulk API 2.0
    records_read: int
    new_versions: int
    requests: int
    cursor: datetime | None


@dataclass(frozen=True)
class SalesforceSyncReport:
    reads: list[SalesforceObjectRead]
    window_start: date
    window_end: date
    result: FetchResult
    api_usage: str | None  # the org's Sforce-Limit-Info after the run


Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


def sync(
    connect: Connect,
    settings: SalesforceSettings,
    metrics: list[MetricRequest],
    start: date,
    end: date,
    *,
    earliest_needed: date,
    run_id: str,
    client: SalesforceClient | None = None,
) -> SalesforceSyncReport:
    """Read each object's changes (or a full read, see full_read_reason), load them, then
    recompute every day the key results read (from `earliest_needed`) from the stored records.
    The network part holds no warehouse connection, so other writers can go on."""
    client = client or SalesforceClient(settings)
    objects = sorted({salesforce_query(m).object for m in metrics})
    schemas = describe_objects(client, objects)
    fields = fields_for_metrics(metrics, {o: s.multi_currency for o, s in schemas.items()})
    shapes = {
        name: (where, json.dumps({"fields": names, "where": where}))
        for name, names in fields.items()
        for where in [full_read_where(metrics, name, schemas[name].field_types)]
    }
    with connect() as con:
        states = {name: sync_state(con, name) for name in fields}
    fetched_at = datetime.now(UTC)
    reads: list[tuple[str, str | None, RecordRead]] = []
    for object_name, names in fields.items():
        where, shape = shapes[object_name]
        state = states[object_name]
        reason = full_read_reason(state, shape, fetched_at)
        since = None if reason or state.cursor is None else state.cursor - settings.modified_overlap
        read = fetch_records(
            client,
            object_name,
            names,
            metrics,
            since=since,
            where=where if reason else "",
            previous_cursor=None if reason else state.cursor,
        )
        reads.append((object_name, reason, read))
    currency = fetch_currency(client, any(s.multi_currency for s in schemas.values()))
    metric_ids = [m.metric_id for m in metrics]
    window_start = min(start, earliest_needed)
    # The reads done, one connection loads them and computes the daily values: the network
    # part held none, so other writers could go on meanwhile.
    loaded = []
    with connect() as con:
        for object_name, reason, read in reads:
            versions = load_read(
                con,
                object_name,
                read,
                full_read=reason is not None,
                shape=shapes[object_name][1],
                fetched_at=fetched_at,
                run_id=run_id,
                api_usage=client.limit_info,
            )
            cursor = states[object_name].cursor
            how = f"full read ({reason})" if reason else f"changes since {cursor:%Y-%m-%d %H:%M}"
            loaded.append(
                SalesforceObjectRead(
                    object_name,
                    f"{how}, {read.how}",
                    read.records.num_rows,
                    versions,
                    read.requests,
                    read.cursor,
                )
            )
        window_end = max(end, last_loaded_day(con, metric_ids) or end)
        values = daily_values(
            con,
            "raw.salesforce_records",
            metrics,
            window_start,
            window_end,
            time_zone=settings.time_zone,
            currency=currency,
            money_fields=money_fields(metrics, schemas),
        )
    return SalesforceSyncReport(
        reads=loaded,
        window_start=window_start,
        window_end=window_end,
        result=FetchResult(
            daily=values.daily, flags=values.flags, request_count=client.request_count
        ),
        api_usage=client.limit_info,
    )


# The Salesforce asset replaces no window of a raw table: load_read keeps its raw tables.
RAW_TABLE = None
