"""HubSpot's raw tables (migration 0005): current objects, their change history, the deal
pipelines and the incremental cursor; and :func:`sync`, one run's incremental read.

One function per step, each one set-based SQL over the Arrow table the connector returned
(OBJECTS_SCHEMA / PIPELINE_STAGES_SCHEMA); :func:`load_object_read` runs the steps of one read
in one transaction, so the objects, their history and the cursor never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import MetricRequest
from connectors.hubspot import (
    OBJECTS_SCHEMA,
    PIPELINE_STAGES_SCHEMA,
    HubSpotClient,
    HubSpotSettings,
    company_currency_if_money,
    daily_metrics_from_objects,
    fetch_hubspot_objects,
    fetch_hubspot_pipelines,
    next_cursor,
    properties_for_metrics,
)
from connectors.hubspot.settings import ARCHIVE_RETENTION
from connectors.results import FetchResult
from warehouse.db import transaction
from warehouse.load import insert_arrow, registered

# A day of slack under the recycle bin's 90 days: an object archived just after a read that
# happened 90 days ago may already be purged by the time this run lists the bin.
FULL_READ_AFTER = ARCHIVE_RETENTION - timedelta(days=1)

_OBJECT_COLUMNS = ", ".join(OBJECTS_SCHEMA.names)


@dataclass(frozen=True)
class SyncState:
    """raw.hubspot_sync_state for one object type (all None before the first read)."""

    cursor: datetime | None = None
    last_fetched_at: datetime | None = None
    last_full_read_at: datetime | None = None


@dataclass(frozen=True)
class LoadedRead:
    """What one read changed: rows read, versions not seen before (new or changed objects),
    objects marked archived because a full read no longer returned them, the cursor stored,
    and whether it was the type's first read (what is stored of the type is then the read)."""

    objects_read: int
    new_versions: int
    archived_missing: int
    cursor: datetime | None
    first_read: bool = False


def sync_state(con: duckdb.DuckDBPyConnection, object_type: str) -> SyncState:
    rows = con.execute(
        "SELECT cursor_updated_at, last_fetched_at, last_full_read_at "
        "FROM raw.hubspot_sync_state WHERE object_type = ?",
        [object_type],
    ).fetchall()
    return SyncState(*rows[0]) if rows else SyncState()


def properties_never_read(
    con: duckdb.DuckDBPyConnection, object_type: str, properties: Sequence[str]
) -> list[str]:
    """Properties the metrics need that some stored live object was read without.

    HubSpot answers every requested (defined) property, null when unset, so a missing key means
    the object was read before a metric needed that property: only a full read fills it in.
    """
    rows = con.execute(
        """
        SELECT DISTINCT n.name
        FROM unnest(CAST(? AS VARCHAR[])) AS n(name)
        JOIN raw.hubspot_objects AS o
          ON o.object_type = ? AND NOT o.archived
         AND NOT list_contains(map_keys(o.properties), n.name)
        ORDER BY n.name
        """,
        [list(properties), object_type],
    ).fetchall()
    return [name for (name,) in rows]


def full_read_reason(
    con: duckdb.DuckDBPyConnection,
    object_type: str,
    properties: Sequence[str],
    now: datetime,
    state: SyncState,
) -> str | None:
    """Why this run must read every object instead of the changes since the cursor (None when
    an incremental read is enough); `state` is the type's sync_state."""
    if state.cursor is None or state.last_fetched_at is None:
        return "first read"
    if now - state.last_fetched_at > FULL_READ_AFTER:
        # Deletions are only visible in the recycle bin, which keeps them 90 days.
        return (
            f"last read {state.last_fetched_at:%Y-%m-%d}, longer ago than HubSpot keeps "
            "archived objects"
        )
    missing = properties_never_read(con, object_type, properties)
    if missing:
        return "the metrics now need " + ", ".join(missing)
    return None


def _newest_versions(view: str) -> str:
    # An incremental read can see an object twice (the overlap); the upsert may touch each key
    # once per statement, so only its newest version goes in (an archive beats an edit).
    return f"""
        SELECT {_OBJECT_COLUMNS}, CAST($run_id AS VARCHAR) AS run_id FROM {view}
        QUALIFY row_number() OVER (
            PARTITION BY object_type, object_id ORDER BY updated_at DESC, archived DESC) = 1
    """


def _first_read(con: duckdb.DuckDBPyConnection, table: str, view: str) -> bool:
    """True when `table` holds no object of the types in `view` yet."""
    ((empty,),) = con.execute(
        f"SELECT count(*) = 0 FROM {table} "
        f"WHERE object_type IN (SELECT DISTINCT object_type FROM {view})"
    ).fetchall()
    return bool(empty)


def _one_row_each(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    """True when no object appears twice in `view` (a full read: nothing to deduplicate)."""
    ((unique,),) = con.execute(
        f"SELECT count(*) = count(DISTINCT (object_type, object_id)) FROM {view}"
    ).fetchall()
    return bool(unique)


def _all_versions(view: str) -> str:
    return f"SELECT {_OBJECT_COLUMNS}, CAST($run_id AS VARCHAR) AS run_id FROM {view}"


@dataclass(frozen=True)
class _Stored:
    """What a read of one object type finds stored (`_stored_of`)."""

    objects: bool  # some object of the type is in raw.hubspot_objects
    history: bool  # some version of one in raw.hubspot_object_history
    unique: bool  # the read holds each object once

    @property
    def first_read(self) -> bool:
        """Nothing of the type stored yet and each object read once: the first full read."""
        return not self.objects and not self.history and self.unique


def _stored_of(con: duckdb.DuckDBPyConnection, object_type: str, rows: pa.Table) -> _Stored | None:
    """What is stored of `object_type`, and whether `rows` holds each object once; None when
    `rows` is empty or holds other types too (then the writes ask for themselves)."""
    if rows.num_rows == 0 or not pc.all(pc.equal(rows["object_type"], object_type)).as_py():
        return None
    # One query for what the load's writes would each ask (a daily run's fixed cost), the
    # distinct count in DuckDB: pyarrow's count_distinct on one thread took 20-60 ms for
    # 50,000 ids here, DuckDB ~12 ms.
    with registered(con, rows.select(["object_id"])) as view:
        ((objects, history, unique),) = con.execute(
            "SELECT EXISTS (FROM raw.hubspot_objects WHERE object_type = $t), "
            "EXISTS (FROM raw.hubspot_object_history WHERE object_type = $t), "
            f"(SELECT count(*) = count(DISTINCT object_id) FROM {view})",
            {"t": object_type},
        ).fetchall()
    return _Stored(bool(objects), bool(history), bool(unique))


def upsert_objects(
    con: duckdb.DuckDBPyConnection,
    rows: pa.Table,
    run_id: str,
    *,
    stored: _Stored | None = None,
) -> None:
    """Insert new objects and replace stored ones with a version at least as new; an older
    version (a lagging search index answering late) never overwrites a newer one.

    stored: what the caller found stored of the rows' type (`_stored_of`), not asked again."""
    if rows.num_rows == 0:
        return
    with registered(con, rows) as view:
        if (
            not stored.objects
            if stored is not None
            else _first_read(con, "raw.hubspot_objects", view)
        ):
            # Nothing stored to conflict with: a plain insert, which DuckDB does in half the
            # time of ON CONFLICT (a first read of 200,000 deals).
            unique = stored.unique if stored is not None else _one_row_each(con, view)
            versions = _all_versions(view) if unique else _newest_versions(view)
            con.execute(f"INSERT INTO raw.hubspot_objects BY NAME {versions}", {"run_id": run_id})
            return
        con.execute(
            f"""
            INSERT INTO raw.hubspot_objects BY NAME {_newest_versions(view)}
            ON CONFLICT (object_type, object_id) DO UPDATE SET
                archived = excluded.archived,
                created_at = excluded.created_at,
                updated_at = excluded.updated_at,
                archived_at = excluded.archived_at,
                properties = excluded.properties,
                fetched_at = excluded.fetched_at,
                request_hash = excluded.request_hash,
                run_id = excluded.run_id
            WHERE excluded.updated_at >= raw.hubspot_objects.updated_at
            """,
            {"run_id": run_id},
        )


def insert_history(
    con: duckdb.DuckDBPyConnection, rows: pa.Table, run_id: str, *, stored: _Stored | None = None
) -> int:
    """Add the versions not seen before to raw.hubspot_object_history; returns how many.

    stored: what the caller found stored of the rows' type (`_stored_of`), not asked again."""
    if rows.num_rows == 0:
        return 0
    with registered(con, rows) as view:
        if (
            not stored.history
            if stored is not None
            else _first_read(con, "raw.hubspot_object_history", view)
        ):
            # As in upsert_objects: no stored version to conflict with; a version read twice
            # in this read goes in once.
            unique = stored.unique if stored is not None else _one_row_each(con, view)
            once = (
                ""
                if unique
                else (
                    "QUALIFY row_number() OVER "
                    "(PARTITION BY object_type, object_id, updated_at, archived) = 1"
                )
            )
            cursor = con.execute(
                f"INSERT INTO raw.hubspot_object_history BY NAME {_all_versions(view)} {once}",
                {"run_id": run_id},
            )
        else:
            cursor = con.execute(
                f"""
                INSERT INTO raw.hubspot_object_history BY NAME
                SELECT {_OBJECT_COLUMNS}, CAST($run_id AS VARCHAR) AS run_id FROM {view}
                ON CONFLICT DO NOTHING
                """,
                {"run_id": run_id},
            )
        # DuckDB answers an INSERT with the rows it inserted (those ON CONFLICT left out are
        # not counted): the count before and after, without two more reads.
        ((inserted,),) = cursor.fetchall()
    return int(inserted)


def archive_missing(
    con: duckdb.DuckDBPyConnection,
    object_type: str,
    rows: pa.Table,
    fetched_at: datetime,
    run_id: str,
) -> int:
    """After a full read: mark archived every stored live object the read did not return
    (deleted for good, or purged from the recycle bin before we saw it there), and record that
    version in the history. Returns how many."""
    ids = pa.table({"object_id": rows["object_id"]})
    with registered(con, ids) as view:
        gone = con.sql(
            f"""
            SELECT * REPLACE (true AS archived, $fetched_at AS fetched_at, $run_id AS run_id)
            FROM raw.hubspot_objects
            WHERE object_type = $object_type AND NOT archived
              AND object_id NOT IN (SELECT object_id FROM {view})
            """,
            params={"object_type": object_type, "fetched_at": fetched_at, "run_id": run_id},
        ).to_arrow_table()
    if gone.num_rows:
        with registered(con, gone) as view:
            con.execute(
                f"""
                UPDATE raw.hubspot_objects AS o
                SET archived = true, fetched_at = g.fetched_at, run_id = g.run_id
                FROM {view} AS g
                WHERE o.object_type = g.object_type AND o.object_id = g.object_id
                """
            )
            con.execute(
                f"INSERT INTO raw.hubspot_object_history BY NAME SELECT * FROM {view} "
                "ON CONFLICT DO NOTHING"
            )
    return gone.num_rows


def replace_pipelines(con: duckdb.DuckDBPyConnection, stages: pa.Table, run_id: str) -> int:
    """Replace the deal pipelines' stages with the ones just read."""
    con.execute("DELETE FROM raw.hubspot_pipelines")
    return insert_arrow(con, "raw.hubspot_pipelines", stages, run_id=run_id)


def store_cursor(
    con: duckdb.DuckDBPyConnection,
    object_type: str,
    cursor: datetime | None,
    fetched_at: datetime,
    full_read: bool,
    run_id: str,
    objects_read: int,
) -> None:
    con.execute(
        """
        INSERT INTO raw.hubspot_sync_state AS s
            (object_type, cursor_updated_at, last_fetched_at, last_full_read_at, last_run_id,
             objects_read)
        VALUES ($object_type, $cursor, $fetched_at,
                CASE WHEN $full_read THEN CAST($fetched_at AS TIMESTAMPTZ) END, $run_id,
                $objects_read)
        ON CONFLICT (object_type) DO UPDATE SET
            cursor_updated_at = excluded.cursor_updated_at,
            last_fetched_at = excluded.last_fetched_at,
            last_full_read_at = coalesce(excluded.last_full_read_at, s.last_full_read_at),
            last_run_id = excluded.last_run_id,
            objects_read = excluded.objects_read
        """,
        {
            "object_type": object_type,
            "cursor": cursor,
            "fetched_at": fetched_at,
            "full_read": full_read,
            "run_id": run_id,
            "objects_read": objects_read,
        },
    )


def load_object_read(
    con: duckdb.DuckDBPyConnection,
    object_type: str,
    rows: pa.Table,
    *,
    full_read: bool,
    previous_cursor: datetime | None,
    fetched_at: datetime,
    run_id: str,
    pipelines: pa.Table | None = None,
) -> LoadedRead:
    """Load one read of `object_type` (and, with deals, the pipelines) in one transaction:
    upsert the current state, add new history versions, after a full read mark archived what
    did not come back, and store the next cursor."""
    cursor = next_cursor(rows, previous_cursor)
    with transaction(con):
        stored = _stored_of(con, object_type, rows)
        first = stored is not None and stored.first_read
        upsert_objects(con, rows, run_id, stored=stored)
        if first:
            # The current state just written is this read's only version of every object:
            # copied inside DuckDB, instead of converting the Arrow property maps a second
            # time (about a second for 200,000 deals).
            ((versions,),) = con.execute(
                f"INSERT INTO raw.hubspot_object_history BY NAME "
                f"SELECT {_OBJECT_COLUMNS}, run_id FROM raw.hubspot_objects WHERE object_type = ?",
                [object_type],
            ).fetchall()
        else:
            versions = insert_history(con, rows, run_id, stored=stored)
        # On the first read every stored object came with this read: none can be missing.
        missing = (
            archive_missing(con, object_type, rows, fetched_at, run_id)
            if full_read and not first
            else 0
        )
        if pipelines is not None:
            replace_pipelines(con, pipelines, run_id)
        store_cursor(con, object_type, cursor, fetched_at, full_read, run_id, rows.num_rows)
    return LoadedRead(rows.num_rows, versions, missing, cursor, first_read=first)


def current_objects(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every stored object (archived ones flagged) as OBJECTS_SCHEMA, for the daily values."""
    table = con.sql(f"SELECT {_OBJECT_COLUMNS} FROM raw.hubspot_objects").to_arrow_table()
    return table.cast(OBJECTS_SCHEMA)


def current_pipelines(con: duckdb.DuckDBPyConnection) -> pa.Table:
    columns = ", ".join(PIPELINE_STAGES_SCHEMA.names)
    table = con.sql(f"SELECT {columns} FROM raw.hubspot_pipelines").to_arrow_table()
    return table.cast(PIPELINE_STAGES_SCHEMA)


def last_loaded_day(con: duckdb.DuckDBPyConnection, metric_ids: Sequence[str]) -> date | None:
    """The newest day of these HubSpot metrics in raw.metric_rows (None before the first)."""
    ((last,),) = con.execute(
        "SELECT max(date) FROM raw.metric_rows WHERE source = 'hubspot' "
        "AND list_contains(?, metric_id)",
        [list(metric_ids)],
    ).fetchall()
    return last


# --- one run: read what changed, store it, recompute the days --------------------------------


@dataclass(frozen=True)
class ObjectRead:
    """What one run read of one object type (for the run's log and metadata)."""

    object_type: str
    how: str  # "full read (<reason>)" or "changes since <cursor>"
    objects_read: int
    new_versions: int
    archived_missing: int
    cursor: datetime | None
    # Properties HubSpot left out even on a full read: the account has no such property.
    never_read: tuple[str, ...] = ()


@dataclass(frozen=True)
class HubSpotSyncReport:
    reads: list[ObjectRead]
    window_start: date
    window_end: date
    result: FetchResult


Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


def sync(
    connect: Connect,
    settings: HubSpotSettings,
    metrics: list[MetricRequest],
    start: date,
    end: date,
    *,
    earliest_needed: date,
    run_id: str,
    client: HubSpotClient | None = None,
) -> HubSpotSyncReport:
    """Read, per object type, what changed since the stored cursor (or everything, see
    full_read_reason), load it in one transaction, then recompute every day the key results
    read (from `earliest_needed`) from the stored objects: an edited or archived deal moves
    value on any past day. The network part holds no warehouse connection, so other writers
    can go on. When every type is read for the first time, the daily values are computed from
    the rows just read in a thread while the last load runs (see the Ingest notes in
    benchmarks/RESULTS.md); if the load finds objects stored after all, they are recomputed
    from the stored ones."""
    client = client or HubSpotClient(settings)
    metric_ids = [m.metric_id for m in metrics]
    window_start = min(start, earliest_needed)
    types = list(properties_for_metrics(metrics).items())
    reads = []
    # The rows of each type's first read: nothing of the type was stored before, so after the
    # load the stored objects of that type are exactly these.
    first_reads: list[pa.Table] = []
    deal_stages: pa.Table | None = None
    currency: str | None = None
    window_end = end
    ahead: Future[pa.Table] | None = None
    # The stored objects and stages, when the daily values are computed from them.
    stored: tuple[pa.Table, pa.Table] | None = None

    def before_read(con: duckdb.DuckDBPyConnection, n: int) -> tuple[str | None, datetime | None]:
        """What the read of types[n] needs: why it reads everything (None: the changes since
        the cursor) and the cursor; before the last read, the window's end and the stages."""
        nonlocal window_end, deal_stages
        object_type, properties = types[n]
        state = sync_state(con, object_type)
        reason = full_read_reason(con, object_type, properties, datetime.now(UTC), state)
        previous = state.cursor
        if n == len(types) - 1:
            # The load writes neither: read now, so the daily values can start early.
            window_end = max(end, last_loaded_day(con, metric_ids) or end)
            if deal_stages is None and object_type != "deals":
                deal_stages = current_pipelines(con)  # no read of deals replaces them
        return reason, previous

    with ThreadPoolExecutor(1, thread_name_prefix="okr-hubspot-daily") as worker:
        if types:
            with connect() as con:
                upcoming = before_read(con, 0)
        for n, (object_type, properties) in enumerate(types):
            last = n == len(types) - 1
            reason, previous = upcoming
            fetched_at = datetime.now(UTC)
            rows = fetch_hubspot_objects(
                settings, object_type, None if reason else previous, properties, client=client
            )
            stages = (
                fetch_hubspot_pipelines(settings, client=client) if object_type == "deals" else None
            )
            if stages is not None:
                # What the load leaves in raw.hubspot_pipelines: a read of deals replaces them.
                deal_stages = stages
            if last:
                currency = company_currency_if_money(settings, metrics, client=client)
                if reason == "first read" and len(first_reads) == n:
                    # Every type read for the first time (the load confirms it): the stored
                    # objects will be the rows just read, so their daily values are computed
                    # in a thread while DuckDB writes them (it releases the GIL as it runs).
                    # A read that holds an object twice is no first read: its values are
                    # then computed again from the stored objects below.
                    ahead = worker.submit(
                        daily_metrics_from_objects,
                        pa.concat_tables([*first_reads, rows]),
                        deal_stages,
                        metrics,
                        window_start,
                        window_end,
                        time_zone=settings.time_zone,
                        company_currency=currency,
                        one_version_each=True,
                    )
            with connect() as con:
                loaded = load_object_read(
                    con,
                    object_type,
                    rows,
                    full_read=reason is not None,
                    previous_cursor=previous,
                    fetched_at=fetched_at,
                    run_id=run_id,
                    pipelines=stages,
                )
                unknown = properties_never_read(con, object_type, properties) if reason else []
                if loaded.first_read:
                    first_reads.append(rows)
                # The reads that come next share the load's open (an attach and a detach
                # fewer each): no request falls between them, so the file is held a few
                # milliseconds past the transaction, never while HubSpot answers (but for
                # the 0.1 s a run keeps it after a write: warehouse/db.py held_between_writes).
                if not last:
                    upcoming = before_read(con, n + 1)
                elif ahead is None or len(first_reads) != len(types):
                    # Other stored types are none of these metrics' business; when not every
                    # type was a first read, the stored objects are read back.
                    stored = (current_objects(con), current_pipelines(con))
            reads.append(
                ObjectRead(
                    object_type=object_type,
                    how=f"full read ({reason})"
                    if reason
                    else f"changes since {previous:%Y-%m-%d %H:%M}",
                    objects_read=loaded.objects_read,
                    new_versions=loaded.new_versions,
                    archived_missing=loaded.archived_missing,
                    cursor=loaded.cursor,
                    never_read=tuple(unknown),
                )
            )
        # Every day the key results read is recomputed from the stored objects, and every day
        # loaded before, so no later day keeps a value from an older state of the CRM.
        daily = ahead.result() if ahead and stored is None else None
    if daily is None:
        if stored is None:  # no type to read
            with connect() as con:
                stored = (current_objects(con), current_pipelines(con))
        objects, stages = stored
        daily = daily_metrics_from_objects(
            objects,
            stages,
            metrics,
            window_start,
            window_end,
            time_zone=settings.time_zone,
            company_currency=currency,
            # the raw table's rows: one per object
            one_version_each=True,
        )
    return HubSpotSyncReport(
        reads=reads,
        window_start=window_start,
        window_end=window_end,
        result=FetchResult(daily=daily, request_count=client.request_count),
    )


# The HubSpot asset replaces no window of a raw table: load_object_read keeps its raw tables.
RAW_TABLE = None
