"""One in-memory DuckDB instance per process, for computations on data in hand (a connector's
daily values from the objects it read, the warehouse's declared columns) and as the host the
warehouse file is attached to (warehouse/db.py).

A new DuckDB instance costs ~15–20 ms CPU (it builds its catalogue of built-in functions), an
in-memory database attached to a live one ~1 ms; a daily run used to make one instance per
connector call. A scratch connection is a connection of its own to an empty in-memory database
of the shared instance: what it creates (tables, registered Arrow tables, session settings such
as the time zone) is its own, other connections and threads do not see it, and it is gone when
the connection closes. Global settings (`threads`, `memory_limit`) would reach every user of
the instance: scratch users set none.
"""

import itertools
import threading
from typing import Any

import duckdb

_lock = threading.Lock()
_instance: duckdb.DuckDBPyConnection | None = None
_numbers = itertools.count()


def instance_connection() -> duckdb.DuckDBPyConnection:
    """A new connection to the process's in-memory DuckDB instance (made on first use)."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = duckdb.connect(":memory:")
        return _instance.cursor()


class CursorConnection:
    """DuckDB's connection in every respect — a cursor of the shared instance — except for
    what closing it does besides (`_close`). Also used for the warehouse's connections
    (warehouse/db.py)."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cursor: duckdb.DuckDBPyConnection | None = cursor

    def __getattr__(self, name: str) -> Any:
        cursor = self.__dict__.get("_cursor")
        if cursor is None:
            raise duckdb.ConnectionException("Connection already closed!")
        return getattr(cursor, name)

    def close(self) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            self._close(cursor)

    def _close(self, cursor: duckdb.DuckDBPyConnection) -> None:
        cursor.close()

    def __enter__(self) -> "CursorConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A connection dropped without close() is closed as it is freed, as DuckDB's own is.
        if self.__dict__.get("_cursor") is not None:
            self.close()


class ScratchConnection(CursorConnection):
    """A cursor of the shared instance using its own in-memory database, which close() drops."""

    def __init__(self) -> None:
        self._database = f"okr_scratch_{next(_numbers)}"
        cursor = instance_connection()
        cursor.execute(f"ATTACH ':memory:' AS {self._database}")
        cursor.execute(f"USE {self._database}")
        super().__init__(cursor)

    def _close(self, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            cursor.execute("USE memory")
            cursor.execute(f"DETACH {self._database}")
        finally:
            cursor.close()


def scratch_connection() -> duckdb.DuckDBPyConnection:
    """A connection to a new, empty in-memory database of the process's instance; close it
    (or use it as a context manager) to drop the database."""
    return ScratchConnection()  # type: ignore[return-value]
