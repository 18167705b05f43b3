"""The instance of an `okr run` without DAGSTER_HOME: Dagster's ephemeral instance (runs and
events in in-memory SQLite, forgotten when the command exits), with its two storages made
cheaper for a single process's short life.

Dagster's in-memory storages open a new SQLAlchemy connection for every read and write and
set two PRAGMAs on it (WAL, foreign keys), and write Alembic's revision stamp into each new
database. A daily run writes some 120 events, each through one or two such connections: about
a tenth of the run's CPU. Here both storages keep the one connection Dagster already holds for
their lifetime and set the PRAGMA that matters (foreign keys; WAL means nothing in memory)
once, and the schema is created without the stamp: only migrations read it, and an in-memory
database is never migrated (its `upgrade` does nothing). Everything else — schema, queries,
event watching — is Dagster's own. The subclasses depend on the storages' constructors and
connection methods, which `dagster>=1.13,<1.14` in pyproject.toml pins.

Two more of Dagster's answers are kept rather than asked again. The schema: Dagster's storages
ask SQLAlchemy's inspector which columns a table has (a query of the database's catalogue)
before writing every asset event and run event, to serve databases not yet migrated; an
in-memory database has exactly the schema `create_all` gave it, so the answers come from that
schema. The run's snapshots (the job's and the execution plan's): Dagster serialises and
compresses each into its snapshots table, to be read back by a process that has not got them;
in one process they are kept as the objects they are, answered to the same questions. So are
the newest materialisation of each asset and the data version of each partition's, which
Dagster reads back before every step for the provenance it records.

What only readers this instance never has would read back is not kept (NOT_KEPT below): the
"materialisation planned" events, read by the UI's partition status, automation and
backfills. tests/pipelines/test_ephemeral.py checks that runs, materialisations, checks and
partitions answer as on Dagster's own ephemeral instance, and says what differs.
"""

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import sqlalchemy as db
from dagster._core.event_api import EventLogRecord
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.instance import InstanceType
from dagster._core.launcher.sync_in_memory_run_launcher import SyncInMemoryRunLauncher
from dagster._core.run_coordinator import DefaultRunCoordinator
from dagster._core.storage.event_log import InMemoryEventLogStorage
from dagster._core.storage.event_log.schema import AssetKeyTable, SqlEventLogStorageMetadata
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._core.storage.root import TemporaryLocalArtifactStorage
from dagster._core.storage.runs import InMemoryRunStorage
from dagster._core.storage.runs.schema import RunsTable, RunStorageSqlMetadata, SnapshotsTable
from dagster._core.storage.sqlite import create_in_memory_conn_string
from dagster._time import datetime_from_timestamp
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool


class _HeldConnection:
    """One connection for a storage's whole life: a transaction per use, as Dagster's own
    `connect` gives, but no new connection and no PRAGMAs each time. A use inside another
    (on the same thread) joins the outer transaction."""

    def __init__(self, name: str) -> None:
        self.engine = db.create_engine(
            create_in_memory_conn_string(f"{name}-{uuid.uuid4()}"),
            poolclass=NullPool,
            # any thread may log an event (a connector's worker thread through context.log):
            # the lock below lets one use the connection at a time
            connect_args={"check_same_thread": False},
        )
        self.conn = self.engine.connect()
        self.conn.execute(db.text("PRAGMA foreign_keys=ON;")).close()
        self.conn.commit()
        self._lock = threading.RLock()

    @contextmanager
    def use(self) -> Iterator[Connection]:
        with self._lock:
            if self.conn.in_transaction():
                yield self.conn
            else:
                with self.conn.begin():
                    yield self.conn


def _has_columns(metadata: db.MetaData, table: str, *columns: str) -> bool:
    """Whether `create_all(metadata)` gave the table these columns."""
    return table in metadata.tables and all(c in metadata.tables[table].columns for c in columns)


class _RunStorage(InMemoryRunStorage):
    def __init__(self) -> None:  # Dagster's, without the stamp and the preload
        held = _HeldConnection("runs")
        self._engine, self._held_conn, self._held = held.engine, held.conn, held
        self._snapshots: dict[str, Any] = {}
        with held.use() as conn:
            RunStorageSqlMetadata.create_all(conn)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._held.use() as conn:
            yield conn

    # the snapshots as objects (job and execution plan snapshots are immutable records); the
    # table keeps their ids, which the runs' rows refer to (a foreign key), without a body
    def _add_snapshot(self, snapshot_id: str, snapshot_obj: Any, snapshot_type: Any) -> str:
        if snapshot_id not in self._snapshots:
            with self.connect() as conn:
                conn.execute(
                    SnapshotsTable.insert().values(
                        snapshot_id=snapshot_id,
                        snapshot_body=b"",
                        snapshot_type=snapshot_type.value,
                    )
                )
            self._snapshots[snapshot_id] = snapshot_obj
        return snapshot_id

    def _has_snapshot_id(self, snapshot_id: str) -> bool:
        return snapshot_id in self._snapshots

    def _get_snapshot(self, snapshot_id: str) -> Any:
        return self._snapshots.get(snapshot_id)

    def wipe(self) -> None:
        super().wipe()
        self._snapshots.clear()

    # the schema create_all made (asked on every run event)
    def has_run_stats_index_cols(self) -> bool:
        return _has_columns(RunStorageSqlMetadata, RunsTable.name, "start_time", "end_time")

    def has_backfill_id_column(self) -> bool:
        return _has_columns(RunStorageSqlMetadata, RunsTable.name, "backfill_id")


# Events this instance's event log does not keep: only readers it never has read them back.
# "Materialisation planned", written for each asset when a run is created, feeds the UI's
# partition status (a day in progress or failed), automation and backfills. Nothing an
# `okr run` does or prints reads it (run_range reads its runs' failures from the events each
# run hands back), and the instance is discarded when the command ends. The checks' planned
# events stay: a check's evaluation completes the record its planned event opens.
NOT_KEPT = frozenset({DagsterEventType.ASSET_MATERIALIZATION_PLANNED})


class _EventLogStorage(InMemoryEventLogStorage):
    def __init__(self) -> None:  # Dagster's, without the stamp and the preload
        from collections import defaultdict

        held = _HeldConnection("events")
        self._inst_data = None
        self._engine, self._held_conn, self._held = held.engine, held.conn, held
        self._handlers: Any = defaultdict(set)
        self._storage_id = 0
        self._db_lock = threading.Lock()
        self._latest_materializations: dict[dg.AssetKey, EventLogRecord] = {}
        self._latest_tags: dict[dg.AssetKey, dict[str, Mapping[str, str]]] = {}
        self._tags_complete = True
        with held.use() as conn:
            SqlEventLogStorageMetadata.create_all(conn)

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self._held.use() as conn:
            yield conn

    # Events only readers outside a run read back (NOT_KEPT) are not stored; the instance that
    # handles them still updates the run's status from its events, as before.
    def store_event(self, event: EventLogEntry) -> None:
        if event.dagster_event_type not in NOT_KEPT:
            super().store_event(event)

    # the schema create_all made (asked on every asset event)
    def has_table(self, table_name: str) -> bool:
        return _has_columns(SqlEventLogStorageMetadata, table_name)

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        return _has_columns(SqlEventLogStorageMetadata, AssetKeyTable.name, column_name)

    # The newest materialisation of each asset, and the indexed tags (the data version) of each
    # partition's newest materialisation, kept as the records they were stored from. Dagster
    # reads both back before every step, for the provenance it records on the step's
    # materialisations (the inputs' data versions) and the target of its checks; its storages
    # serialise the whole newest materialisation a second time into the asset's row for that,
    # and deserialise it at every look-up. Wipes and deleted runs hand the questions back to
    # Dagster's queries, which the rows and tags still answer (a row without its copy of the
    # newest materialisation is one Dagster looks up in the event log).

    def _get_asset_entry_values(
        self, event: EventLogEntry, event_id: int, has_asset_key_index_cols: bool
    ) -> dict[str, Any]:
        dagster_event = event.get_dagster_event()
        if not dagster_event.is_step_materialization:
            return super()._get_asset_entry_values(event, event_id, has_asset_key_index_cols)
        key = dagster_event.asset_key
        self._latest_materializations[key] = EventLogRecord(event_id, event)
        values: dict[str, Any] = {"last_run_id": event.run_id}
        if has_asset_key_index_cols:
            values["last_materialization_timestamp"] = datetime_from_timestamp(event.timestamp)
        return values

    def _get_latest_materialization_records(
        self, raw_asset_rows: Sequence[Any]
    ) -> Mapping[dg.AssetKey, EventLogRecord | None]:
        records: dict[dg.AssetKey, EventLogRecord | None] = {}
        asked = []
        for row in raw_asset_rows:
            key = dg.AssetKey.from_db_string(row["asset_key"])
            if key in self._latest_materializations:
                records[key] = self._latest_materializations[key]
            else:
                asked.append(row)
        if asked:
            records.update(super()._get_latest_materialization_records(asked))
        return records

    def _store_asset_event_tags(
        self, conn: Connection, events: Sequence[EventLogEntry], event_ids: Sequence[int]
    ) -> None:
        super()._store_asset_event_tags(conn, events, event_ids)
        for event in events:
            dagster_event = event.get_dagster_event()
            partition = dagster_event.partition
            if dagster_event.is_step_materialization and partition:
                by_partition = self._latest_tags.setdefault(dagster_event.asset_key, {})
                by_partition[partition] = self._tags_for_asset_event(event)

    def get_latest_tags_by_partition(
        self,
        asset_key: dg.AssetKey,
        event_type: DagsterEventType,
        tag_keys: Sequence[str],
        asset_partitions: Sequence[str] | None = None,
        before_cursor: int | None = None,
        after_cursor: int | None = None,
    ) -> Mapping[str, Mapping[str, str]]:
        if (
            event_type != DagsterEventType.ASSET_MATERIALIZATION
            or before_cursor is not None
            or after_cursor is not None
            or not self._tags_complete
            or len(tag_keys) != len(self.get_asset_tags_to_index(set(tag_keys)))
        ):
            return super().get_latest_tags_by_partition(
                asset_key, event_type, tag_keys, asset_partitions, before_cursor, after_cursor
            )
        by_partition = self._latest_tags.get(asset_key, {})
        partitions = by_partition if asset_partitions is None else asset_partitions
        answer = {}
        for partition in partitions:
            tags = {k: v for k, v in by_partition.get(partition, {}).items() if k in tag_keys}
            if tags:
                answer[partition] = tags
        return answer

    def wipe(self) -> None:
        super().wipe()
        self._latest_materializations.clear()
        self._latest_tags.clear()

    def wipe_asset(self, asset_key: dg.AssetKey) -> None:
        super().wipe_asset(asset_key)
        self._latest_materializations.pop(asset_key, None)
        self._latest_tags.pop(asset_key, None)

    def delete_events(self, run_id: str) -> None:
        # a partition's newest tags may have been the deleted run's: asked again from now on
        # (the asset's newest materialisation stays, as in the row Dagster keeps it in)
        super().delete_events(run_id)
        self._tags_complete = False


def ephemeral_instance() -> dg.DagsterInstance:
    """An ephemeral instance, as `DagsterInstance.ephemeral()` makes it, on the storages
    above."""
    return dg.DagsterInstance(
        instance_type=InstanceType.EPHEMERAL,
        local_artifact_storage=TemporaryLocalArtifactStorage(),
        run_storage=_RunStorage(),
        event_storage=_EventLogStorage(),
        compute_log_manager=NoOpComputeLogManager(),
        run_coordinator=DefaultRunCoordinator(),
        run_launcher=SyncInMemoryRunLauncher(),
    )
