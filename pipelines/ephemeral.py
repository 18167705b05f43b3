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
in one process they are kept as the objects they are, answered to the same questions.
"""

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import sqlalchemy as db
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


class _EventLogStorage(InMemoryEventLogStorage):
    def __init__(self) -> None:  # Dagster's, without the stamp and the preload
        from collections import defaultdict

        held = _HeldConnection("events")
        self._inst_data = None
        self._engine, self._held_conn, self._held = held.engine, held.conn, held
        self._handlers: Any = defaultdict(set)
        self._storage_id = 0
        self._db_lock = threading.Lock()
        with held.use() as conn:
            SqlEventLogStorageMetadata.create_all(conn)

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self._held.use() as conn:
            yield conn

    # the schema create_all made (asked on every asset event)
    def has_table(self, table_name: str) -> bool:
        return _has_columns(SqlEventLogStorageMetadata, table_name)

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        return _has_columns(SqlEventLogStorageMetadata, AssetKeyTable.name, column_name)


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
