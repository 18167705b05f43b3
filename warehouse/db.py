"""Opening the warehouse file: one place for its path, migrations and the "busy" message.

DuckDB lets one process write a file at a time. Writers hold a connection only as long as a
write needs (during a run's back-to-back steps the file stays attached up to
IDLE_HOLD_SECONDS longer: `held_between_writes`); a second writer (or a reader while a writer
holds the file) waits briefly and then gets :class:`WarehouseBusyError`, a clear message
instead of a lock traceback.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from connectors.scratch import CursorConnection, instance_connection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MODELS_DIR = Path(__file__).parent / "models"
# Not `okr.duckdb`: DuckDB names the catalog after the file, and a catalog `okr` next to the
# schema `okr` makes every `okr.<table>` reference ambiguous (in BI tools too).
DEFAULT_PATH = Path(__file__).parent / "okr_sync.duckdb"
RESERVED_STEMS = {"okr", "raw", "staging", "meta", "main", "publish", "push", "notify"}
ENV_VAR = "OKR_WAREHOUSE"
# How long to wait for another process's write to finish before saying the file is busy.
BUSY_WAIT_SECONDS = float(os.environ.get("OKR_WAREHOUSE_BUSY_WAIT", "30"))
# Inside `held_between_writes` (a run's jobs): how long the file stays attached after the last
# connection closed, for the next step's connection to find it so.
IDLE_HOLD_SECONDS = 0.1


class WarehouseBusyError(RuntimeError):
    pass


def warehouse_path(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_PATH)


class _Locked(Exception):
    pass


class NotAWarehouseError(ValueError):
    """The path names a folder or a file DuckDB cannot open: a usage error, not a crash."""


def _open(path: Path, read_only: bool, config: dict[str, object]) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise _Locked(str(exc)) from None
        raise NotAWarehouseError(_not_a_warehouse(path, exc)) from None


class _SharedInstance:
    """One in-memory DuckDB instance per process (connectors/scratch.py's, which the connectors'
    computations share), on which the warehouse file is attached while
    a writable connection of this process uses it, and detached — its write lock released for
    other processes — when the last one closes.

    A file opened as its own DuckDB instance costs ~17 ms CPU (each instance builds its
    catalogue of built-in functions), attaching it to a live one ~2 ms; a daily `okr run`
    opens the warehouse about twenty times, once or twice per step. The file is attached under
    its stem, the catalogue name DuckDB gives a file it opens, so `<stem>.okr.<table>` reads
    the same either way. A second file at the same time (tests comparing two warehouses), a
    stem DuckDB reserves, or a file this process already holds open on its own instance is
    opened the plain way: DuckDB refuses one file on two instances in one process.

    A writable connection checks the file's migrations, except when the file is as this
    process let it go after they were checked (the same inode, size and modification time,
    and the same write-ahead log): then no one can have changed its schema meanwhile.

    Inside `held_between_writes` the file is detached `idle_seconds` after the last
    connection closed rather than at once, unless a connection comes first: the steps of a
    run open it one after the other, and each new attachment costs ~15 ms of wall (the
    ATTACH reads the catalogue, the DETACH checkpoints, and the next statements start on a
    cold cache). A timer thread detaches it; a reader of this process on an instance of its
    own, or another file, first has it detached (`detach_if_unused`).
    """

    _RESERVED_CATALOGS = {"memory", "system", "temp"}

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._host: duckdb.DuckDBPyConnection | None = None
        self._path: Path | None = None
        self._catalog = ""
        self._users = 0
        # Whether the attached file's migrations are known to be applied, and the file as
        # this process last let it go with them applied (`_FileState`).
        self._migrated = False
        self._let_go: _FileState | None = None
        # 0: detach when the last connection closes; otherwise after that many idle seconds.
        self._idle_seconds = 0.0
        self._idle_timer: threading.Timer | None = None

    def attach(self, target: Path) -> duckdb.DuckDBPyConnection | None:
        """A cursor on the attached file, or None when this file cannot be attached (then
        the caller opens it on its own instance). Raises _Locked while another process holds
        the file, NotAWarehouseError when DuckDB cannot open it."""
        catalog = _identifier(target.stem)
        if target.stem.lower() in self._RESERVED_CATALOGS:
            return None
        resolved = target.resolve()
        with self._lock:
            self._cancel_idle_timer()
            if self._path is not None and self._path != resolved:
                if self._users:
                    return None
                self._detach()  # kept attached only for the next connection to find it so
            if self._host is None:
                self._host = instance_connection()
            if self._path is None:
                try:
                    self._host.execute(f"ATTACH ? AS {catalog}", [str(target)])
                except duckdb.IOException as exc:
                    if "lock" in str(exc).lower():
                        raise _Locked(str(exc)) from None
                    raise NotAWarehouseError(_not_a_warehouse(target, exc)) from None
                except duckdb.Error:  # held open by this process on an instance of its own
                    return None
                self._path, self._catalog = resolved, catalog
                # Unchanged since this process let it go with its migrations applied: no one
                # has written it since (the lock is ours now), so they still are.
                self._migrated = self._let_go is not None and self._let_go == _file_state(resolved)
                self._let_go = None
            self._users += 1
            return self.cursor(self._host)

    def cursor(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """A new connection to the instance of `con`, reading and writing the attached file."""
        cursor = con.cursor()
        cursor.execute(f"USE {self._catalog}")
        return cursor

    def release(self) -> None:
        """One connection closed: detach the file when it was the last (after the idle time,
        inside `held_between_writes`)."""
        with self._lock:
            self._users -= 1
            if self._users:
                return
            if self._idle_seconds > 0 and self._path is not None:
                self._idle_timer = threading.Timer(self._idle_seconds, self._detach_when_idle)
                self._idle_timer.daemon = True
                self._idle_timer.start()
            else:
                self._detach()

    def detach_if_unused(self, target: Path | None = None) -> None:
        """Detach the file now if no connection uses it (only if it is `target`, if given)."""
        with self._lock:
            if self._users or (target is not None and self._path != target.resolve()):
                return
            self._cancel_idle_timer()
            self._detach()

    def _detach_when_idle(self) -> None:
        """The idle timer's end (on its own thread): detach unless a connection came since."""
        with self._lock:
            if threading.current_thread() is not self._idle_timer:
                return  # cancelled or replaced while it waited for the lock
            self._idle_timer = None
            if not self._users:
                self._detach()

    def hold_when_idle(self, seconds: float) -> float:
        """Keep the file attached this long after the last connection closed (0: detach at
        once); returns the previous setting."""
        with self._lock:
            previous, self._idle_seconds = self._idle_seconds, seconds
            return previous

    def _detach(self) -> None:
        """Detach the file (the caller holds the lock; no connection uses it)."""
        if self._host is None or self._path is None:
            return
        path, self._path = self._path, None
        self._host.execute(f"DETACH {self._catalog}")
        self._let_go = _file_state(path) if self._migrated else None
        self._migrated = False

    def _cancel_idle_timer(self) -> None:
        # (a timer that already fired and waits for the lock then finds it is not the current
        # one: `_detach_when_idle`)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def migrations_applied(self) -> bool:
        """Whether the attached file's migrations are known to be applied (by a connection
        of this attachment, or before this process last let the file go unchanged since)."""
        with self._lock:
            return self._migrated

    def note_migrations_applied(self) -> None:
        with self._lock:
            self._migrated = self._path is not None

    def holds_a_file(self) -> bool:
        with self._lock:
            return self._path is not None


_FileState = tuple[Path, int, int, int, int, tuple[int, int, int] | None]


def _file_state(path: Path) -> _FileState | None:
    """The file and its write-ahead log as the file system sees them (device, inode, size,
    modification time): any write of another process, a checkpoint or a replaced file
    changes them."""
    try:
        stat = path.stat()
    except OSError:
        return None
    try:
        wal = path.with_name(path.name + ".wal").stat()
        log = (wal.st_ino, wal.st_size, wal.st_mtime_ns)
    except OSError:
        log = None
    return (path, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, log)


def _identifier(name: str) -> str:
    """`name` quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


_SHARED = _SharedInstance()


def holds_the_file() -> bool:
    """Whether this process still has the warehouse file attached (a writable connection not
    yet closed, or inside `held_between_writes`: the file's write lock is still held)."""
    return _SHARED.holds_a_file()


@contextmanager
def held_between_writes(idle_seconds: float = IDLE_HOLD_SECONDS) -> Iterator[None]:
    """While inside, the warehouse file stays attached `idle_seconds` after this process's
    last writable connection closed, so the next one (the next step of a run) finds it
    attached instead of opening it again; it is let go when the block ends.

    Another process waits up to `idle_seconds` longer for the file, and only while this one
    writes back to back: a step that waits longer for a source's answer lets it go meanwhile.
    A daily run's ~18 opens cost ~0.3 s of wall when each attached the file anew
    (benchmarks/RESULTS.md, figure 4b).
    """
    outer = _SHARED.hold_when_idle(idle_seconds)
    try:
        yield
    finally:
        _SHARED.hold_when_idle(outer)
        if not outer:  # (an enclosing block keeps holding it)
            _SHARED.detach_if_unused()


class WarehouseConnection(CursorConnection):
    """A writable connection to the warehouse through the process's shared instance: DuckDB's
    connection (a cursor on the attached file) in every respect, except that closing it also
    lets the file go when no other connection of this process uses it."""

    def cursor(self) -> duckdb.DuckDBPyConnection:
        if self._cursor is None:
            raise duckdb.ConnectionException("Connection already closed!")
        return _SHARED.cursor(self._cursor)

    def _close(self, cursor: duckdb.DuckDBPyConnection) -> None:
        cursor.close()
        _SHARED.release()


def _not_a_warehouse(path: Path, exc: Exception) -> str:
    return (
        f"{path} is not a DuckDB warehouse file ({str(exc).splitlines()[0]}); "
        f"point -w or {ENV_VAR} at the .duckdb file the pipeline writes"
    )


def connect(
    path: str | Path | None = None,
    read_only: bool = False,
    wait_seconds: float | None = None,
    config: dict[str, object] | None = None,
    apply_migrations: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting up to `wait_seconds` for another writer to finish.

    `config` is DuckDB's connection configuration (`okr sql` turns external access off).
    A writable connection holds the file's only write lock and applies pending migrations; a
    read-only one refuses a file with pending migrations (its reader would fail later on a
    missing table or column). `apply_migrations=False` leaves the schema alone: a writer only
    takes the lock (`okr backup` copies the file as it is), a reader does not refuse an older
    file (`okr run` checks the file before the run that migrates it)."""
    target = warehouse_path(path)
    if target.stem.lower() in RESERVED_STEMS:
        raise ValueError(
            f"the warehouse file may not be called {target.name}: DuckDB would name its catalog "
            f"`{target.stem}` like a schema, and `{target.stem}.<table>` would be ambiguous. "
            "Choose another name, e.g. okr_sync.duckdb"
        )
    if target.is_dir():
        raise NotAWarehouseError(
            f"{target} is a folder; point -w or {ENV_VAR} at the warehouse's .duckdb file "
            f"(e.g. {target / DEFAULT_PATH.name})"
        )
    if read_only and not target.exists():
        raise FileNotFoundError(
            f"no warehouse at {target}; run `okr demo` or `okr run` first (or set {ENV_VAR})"
        )
    if not read_only:
        target.parent.mkdir(parents=True, exist_ok=True)
    wait = BUSY_WAIT_SECONDS if wait_seconds is None else wait_seconds
    try:
        for attempt in Retrying(
            retry=retry_if_exception_type(_Locked),
            wait=wait_exponential(multiplier=0.05, max=1.0),
            stop=stop_after_delay(wait),
            reraise=True,
        ):
            with attempt:
                # Writers share the process's instance (see _SharedInstance); readers and
                # connections with a configuration of their own (`okr sql`) get their own,
                # which DuckDB refuses while the shared one still has the file attached.
                if read_only or config:
                    _SHARED.detach_if_unused(target)
                shared = None if read_only or config else _SHARED.attach(target)
                con = (
                    WarehouseConnection(shared)  # type: ignore[assignment]
                    if shared is not None
                    else _open(target, read_only, config or {})
                )
    except _Locked:
        raise WarehouseBusyError(
            f"the warehouse {target} is busy: another okr-sync process is writing to it. "
            "Wait for that run to finish and try again."
        ) from None
    if read_only and apply_migrations:
        _refuse_pending_migrations(con, target)
    elif apply_migrations and not (shared is not None and _SHARED.migrations_applied()):
        # (a daily run's steps open the file a dozen times, and no one else writes it
        # between most of them: each check cost ~1 ms CPU)
        migrate(con)
        if shared is not None:
            _SHARED.note_migrations_applied()
    return con


def _refuse_pending_migrations(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """A reader cannot migrate: on a file an older okr-sync wrote, say what to run instead of
    failing later on a missing table or column."""
    try:
        applied = {
            version
            for (version,) in con.execute("SELECT version FROM meta.schema_migrations").fetchall()
        }
    except duckdb.CatalogException:
        applied = set()
    pending = [file.name for version, file in migration_files() if version not in applied]
    if pending:
        con.close()
        raise ValueError(
            f"the warehouse {target} was written by an older okr-sync ({len(pending)} pending "
            f"migration{'s' if len(pending) != 1 else ''}, from {pending[0]}): run `okr run` "
            "once (it applies them), then try again"
        )


@contextmanager
def connection(
    path: str | Path | None = None, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a crash or error inside leaves the previous data whole."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files() -> list[tuple[int, Path]]:
    files = []
    for file in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _MIGRATION_NAME.match(file.name)
        if not match:
            raise ValueError(f"migration file {file.name} must be named NNNN_name.sql")
        files.append((int(match.group(1)), file))
    return files


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations in order, each in its own transaction. Returns what ran."""
    # Every writable connection asks (about twenty per daily run): a migrated file answers
    # with one read, and only a new file gets the bookkeeping table created.
    try:
        rows = con.execute("SELECT version FROM meta.schema_migrations").fetchall()
    except duckdb.CatalogException:
        con.execute("CREATE SCHEMA IF NOT EXISTS meta")
        con.execute(
            "CREATE TABLE IF NOT EXISTS meta.schema_migrations "
            "(version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
        rows = []
    applied = {row[0] for row in rows}
    ran = []
    for version, file in migration_files():
        if version in applied:
            continue
        with transaction(con):
            con.execute(file.read_text())
            con.execute(
                "INSERT INTO meta.schema_migrations VALUES (?, ?, ?)",
                [version, file.name, datetime.now(UTC)],
            )
        ran.append(version)
    return ran


def read_model(name: str) -> str:
    return (MODELS_DIR / f"{name}.sql").read_text()
