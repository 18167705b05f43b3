"""Publishing the public tables from the DuckDB warehouse to PostgreSQL.

What a publish replaces is decided by comparing, per table and day, the warehouse's rows with
what was last published there, as recorded in publish.postgres_published (a row count and the
sum of the rows' hashes). The days a model run computed are replaced when their rows changed;
so is any other day whose rows changed since (a definition edit that rebuilt days, a source
restating old days into staging, a publish that failed half-way), and a day gone from the
warehouse is deleted. A rerun of the same days finds nothing changed and writes nothing.

All of it lands in one PostgreSQL transaction (delete the days, one binary COPY per table
through ADBC, comments), so a reader sees the previous version or the new one, never half a
day; only after the commit is the new state recorded in the warehouse. A publish that dies
before its commit leaves the previous version in PostgreSQL and the record unchanged: the next
publish finds the same days changed and completes them.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa

from destinations.postgres.client import (
    PublishError,
    Target,
    connect,
    describe,
    lock,
    migrate,
    quote_literal,
)
from destinations.postgres.settings import STORED_TABLES, VIEWS, PublicTable
from warehouse.db import transaction

# From this many rows, a table rewritten whole gets its primary key built after the COPY.
REBUILD_KEY_ROWS = 50_000


@dataclass
class TableChange:
    table: PublicTable
    days: list[date | None]  # [None]: the whole table
    rows: int  # rows the warehouse holds for those days
    every_day: bool = False  # all of the table's days change (a first or full publish)


@dataclass
class PublishPlan:
    target: Target
    first_day: date | None
    last_day: date | None
    full: bool
    changes: list[TableChange] = field(default_factory=list)

    @property
    def days_replaced(self) -> int:
        return sum(len(c.days) for c in self.changes if c.table.day_column)

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.changes)

    def describe(self) -> list[str]:
        """One line per table that would change."""
        lines = []
        for change in self.changes:
            if change.table.day_column is None:
                lines.append(f"{change.table.name}: replace the whole table ({change.rows} rows)")
                continue
            days = sorted(d for d in change.days if d is not None)
            span = f"{days[0]} .. {days[-1]}" if len(days) > 1 else str(days[0])
            lines.append(
                f"{change.table.name}: replace {len(days)} day(s), {span} ({change.rows} rows)"
            )
        return lines


@dataclass
class PublishResult:
    plan: PublishPlan
    run_id: str
    outcome: str  # published | unchanged
    rows_written: int
    seconds: float
    migrations_applied: list[int]


def selected_tables(table_names: list[str]) -> list[PublicTable]:
    return [t for t in STORED_TABLES if t.name in table_names]


def _fingerprint_sql(table: PublicTable, days: tuple[date, date] | None) -> str:
    day = table.day_column or "NULL"
    group = " GROUP BY ALL" if table.day_column else ""
    where = ""
    if table.day_column and days is not None:
        where = f" WHERE {day} BETWEEN DATE '{days[0]}' AND DATE '{days[1]}'"
    return (
        f"SELECT '{table.name}' AS table_name, CAST({day} AS DATE) AS day, count(*) AS row_count, "
        f"CAST(coalesce(sum(hash(t)), 0) AS HUGEINT) AS fingerprint "
        f"FROM {table.name} AS t{where}{group}"
    )


_NOTHING_PUBLISHED = (
    "(SELECT NULL::VARCHAR AS target, NULL::VARCHAR AS table_name, NULL::DATE AS day, "
    "NULL::BIGINT AS row_count, NULL::HUGEINT AS fingerprint WHERE false)"
)


def _compared_days(
    con: duckdb.DuckDBPyConnection,
    target: Target,
    tables: list[PublicTable],
    first_day: date | None,
    last_day: date | None,
    full: bool,
) -> dict[str, tuple[date, date]] | None:
    """The days each day-partitioned table is compared over; None: all of them.

    A run's days, so a daily publish costs the same after a year as after a month. Outside
    them the progress tables change only when a later run computes them; staging can also
    change earlier days (a source restating a deal into an old day), and those rows carry a
    fetched_at after the last publish. Everything is compared on a first or full publish, by
    hand, and after a failed publish (its days may lie outside this run's).
    """
    if full or first_day is None or last_day is None:
        return None
    last_run = con.execute(
        "SELECT outcome, started_at FROM publish.postgres_runs WHERE target = ? "
        "ORDER BY started_at DESC LIMIT 1",
        [target.label],
    ).fetchone()
    if last_run is None or last_run[0] == "failed":
        return None
    days = {t.name: (first_day, last_day) for t in tables if t.day_column}
    if "staging.metric_daily" in days:
        (restated,) = con.execute(
            "SELECT min(date) FROM staging.metric_daily WHERE fetched_at >= ?", [last_run[1]]
        ).fetchone()
        if restated is not None and restated < first_day:
            days["staging.metric_daily"] = (restated, last_day)
    return days


def plan_publish(
    con: duckdb.DuckDBPyConnection,
    target: Target,
    tables: list[PublicTable],
    first_day: date | None = None,
    last_day: date | None = None,
    full: bool = False,
) -> PublishPlan:
    """What differs between the warehouse and what was published to the target (with
    `full`, everything). Leaves the temp table publish_now (the current fingerprints) on the
    connection for record_published."""
    (recorded,) = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'publish' AND table_name = 'postgres_published'"
    ).fetchone()
    # A read-only warehouse (`okr publish --dry-run`) may predate the record: nothing published.
    published = "publish.postgres_published" if recorded else _NOTHING_PUBLISHED
    compared = _compared_days(con, target, tables, first_day, last_day, full) if recorded else None
    con.execute(
        "CREATE OR REPLACE TEMP TABLE publish_now AS "
        + " UNION ALL ".join(
            _fingerprint_sql(t, compared.get(t.name) if compared else None) for t in tables
        )
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE publish_scope "
        "(table_name VARCHAR, first_day DATE, last_day DATE)"
    )
    con.executemany(
        "INSERT INTO publish_scope VALUES (?, ?, ?)",
        [
            [t.name, *(compared.get(t.name, (None, None)) if compared else (None, None))]
            for t in tables
        ],
    )
    changed = con.execute(
        f"""
        SELECT coalesce(now.table_name, published.table_name) AS table_name,
               coalesce(now.day, published.day) AS day,
               coalesce(now.row_count, 0)
        FROM publish_now AS now
        FULL OUTER JOIN (
            SELECT p.* FROM {published} AS p JOIN publish_scope AS s USING (table_name)
            WHERE p.target = $target
              AND (p.day IS NULL OR s.first_day IS NULL
                   OR p.day BETWEEN s.first_day AND s.last_day)
        ) AS published
          ON published.table_name = now.table_name
         AND published.day IS NOT DISTINCT FROM now.day
        WHERE $full
           OR now.fingerprint IS DISTINCT FROM published.fingerprint
           OR now.row_count IS DISTINCT FROM published.row_count
        ORDER BY table_name, day
        """,
        {"target": target.label, "full": full},
    ).fetchall()
    by_table: dict[str, TableChange] = {}
    for name, day, rows in changed:
        table = next(t for t in tables if t.name == name)
        change = by_table.setdefault(name, TableChange(table, [], 0))
        change.days.append(day)
        change.rows += int(rows)
    days_held = dict(
        con.execute("SELECT table_name, count(*) FROM publish_now GROUP BY ALL").fetchall()
    )
    for change in by_table.values():
        current = {d for d in change.days if d is not None}
        change.every_day = change.table.day_column is None or (
            compared is None and len(current) >= days_held.get(change.table.name, 0)
        )
    plan = PublishPlan(target, first_day, last_day, full)
    plan.changes = [by_table[t.name] for t in tables if t.name in by_table]
    return plan


def _days_sql(days: list[date | None]) -> str:
    return ", ".join(f"DATE '{d.isoformat()}'" for d in days if d is not None)


def _rows_of(con: duckdb.DuckDBPyConnection, change: TableChange) -> pa.Table:
    table = change.table
    order = ", ".join(table.primary_key)
    where = ""
    if table.day_column:
        where = f" WHERE {table.day_column} IN ({_days_sql(change.days)})"
    return con.sql(f"SELECT * FROM {table.name}{where} ORDER BY {order}").to_arrow_table()


def read_changes(
    con: duckdb.DuckDBPyConnection, plan: PublishPlan
) -> list[tuple[TableChange, pa.Table]]:
    """The warehouse rows of every change, as Arrow (read before PostgreSQL is touched, so
    the warehouse is free again while the rows travel)."""
    return [(change, _rows_of(con, change)) for change in plan.changes]


def write_to_postgres(
    plan: PublishPlan,
    rows: list[tuple[TableChange, pa.Table]],
    descriptions: Mapping[str, str],
    column_descriptions: Mapping[str, Mapping[str, str]],
    before_commit: Callable[[], None] | None = None,
) -> tuple[list[int], int]:
    """Migrations, then one transaction: delete the changed days, COPY their rows, comments.
    Returns (migrations applied, rows written)."""
    target = plan.target
    con = connect(target)
    try:
        ran = migrate(con, target)
        written = 0
        with con.cursor() as cursor:
            lock(cursor, target)
            for change, table in rows:
                name = f"{target.schema(change.table.schema)}.{change.table.table}"
                # Rewriting a whole large table: COPY without its primary key index and build
                # the index after, twice as fast as maintaining it row by row. The ALTER locks
                # the table until the commit: readers wait and then see the new version.
                rebuild_key = change.every_day and table.num_rows >= REBUILD_KEY_ROWS
                key = f"{change.table.table}_pkey"
                if change.every_day:
                    cursor.execute(f"DELETE FROM {name}")
                else:
                    cursor.execute(
                        f"DELETE FROM {name} WHERE {change.table.day_column} "
                        f"IN ({_days_sql(change.days)})"
                    )
                if rebuild_key:
                    cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {key}")
                if table.num_rows:
                    written += cursor.adbc_ingest(
                        change.table.table,
                        table,
                        mode="append",
                        db_schema_name=target.schema(change.table.schema),
                    )
                if rebuild_key:
                    columns = ", ".join(change.table.primary_key)
                    cursor.execute(
                        f"ALTER TABLE {name} ADD CONSTRAINT {key} PRIMARY KEY ({columns})"
                    )
            # Comments follow the descriptions; unchanged data needs no catalog writes.
            if rows or ran or plan.full:
                for statement in _comment_statements(target, descriptions, column_descriptions):
                    cursor.execute(statement)
        if before_commit is not None:
            before_commit()
        con.commit()
        return ran, written
    except PublishError:
        raise
    except Exception as exc:
        raise PublishError(
            f"publishing to {target.label} failed, nothing of it was committed: "
            f"{describe(exc, target)}"
        ) from None
    finally:
        with contextlib.suppress(Exception):  # the connection may be gone: why we are here
            con.close()


def _comment_statements(
    target: Target,
    descriptions: Mapping[str, str],
    column_descriptions: Mapping[str, Mapping[str, str]],
) -> list[str]:
    statements = []
    for name in [t.name for t in STORED_TABLES] + list(VIEWS):
        schema, table = name.split(".")
        qualified = f"{target.schema(schema)}.{table}"
        kind = "VIEW" if name in VIEWS else "TABLE"
        if name in descriptions:
            statements.append(
                f"COMMENT ON {kind} {qualified} IS {quote_literal(descriptions[name])}"
            )
        for column, text in column_descriptions.get(name, {}).items():
            statements.append(f'COMMENT ON COLUMN {qualified}."{column}" IS {quote_literal(text)}')
    return statements


def record_published(
    con: duckdb.DuckDBPyConnection, plan: PublishPlan, run_id: str, now: datetime
) -> None:
    """The target now holds the changed days as they are in publish_now."""
    for change in plan.changes:
        con.execute(
            """
            DELETE FROM publish.postgres_published
            WHERE target = $target AND table_name = $table
              AND (day IS NULL OR list_contains($days, day)) AND ($whole OR day IS NOT NULL)
            """,
            {
                "target": plan.target.label,
                "table": change.table.name,
                "days": [d for d in change.days if d is not None],
                "whole": change.table.day_column is None,
            },
        )
        con.execute(
            """
            INSERT INTO publish.postgres_published
            SELECT $target, table_name, day, row_count, fingerprint, $now, $run_id
            FROM publish_now
            WHERE table_name = $table AND (day IS NULL OR list_contains($days, day))
            """,
            {
                "target": plan.target.label,
                "table": change.table.name,
                "days": [d for d in change.days if d is not None],
                "now": now,
                "run_id": run_id,
            },
        )


def record_run(
    con: duckdb.DuckDBPyConnection,
    plan: PublishPlan,
    run_id: str,
    outcome: str,
    rows_written: int,
    started: datetime,
    message: str | None = None,
) -> None:
    con.execute(
        "INSERT INTO publish.postgres_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            plan.target.label,
            plan.first_day,
            plan.last_day,
            plan.full,
            outcome,
            plan.days_replaced if outcome == "published" else 0,
            rows_written,
            [c.table.name for c in plan.changes] if outcome == "published" else [],
            message,
            started,
            datetime.now(UTC),
        ],
    )


def publish(
    open_warehouse: Callable[[], duckdb.DuckDBPyConnection],
    target: Target,
    table_names: list[str],
    descriptions: Mapping[str, str],
    column_descriptions: Mapping[str, Mapping[str, str]],
    first_day: date | None = None,
    last_day: date | None = None,
    full: bool = False,
    run_id: str | None = None,
    before_commit: Callable[[], None] | None = None,
) -> PublishResult:
    """Publish what changed (everything with `full`) and record it; PublishError when the
    target refused or failed (recorded as a failed run, the target left as it was).

    `open_warehouse` opens a write connection: the warehouse is held while the changes are
    read and while the outcome is recorded, not while the rows travel.
    """
    run_id = run_id or uuid.uuid4().hex
    started = datetime.now(UTC)
    clock = time.perf_counter()
    tables = selected_tables(table_names)
    con = open_warehouse()
    try:
        plan = plan_publish(con, target, tables, first_day, last_day, full)
        rows = read_changes(con, plan)
        fingerprints = con.sql("SELECT * FROM publish_now").to_arrow_table()
    finally:
        con.close()
    try:
        ran, written = write_to_postgres(
            plan, rows, descriptions, column_descriptions, before_commit
        )
    except PublishError as exc:
        con = open_warehouse()
        try:
            record_run(con, plan, run_id, "failed", 0, started, str(exc))
        finally:
            con.close()
        raise
    outcome = "published" if plan.changes else "unchanged"
    con = open_warehouse()
    try:
        with transaction(con):
            con.register("fingerprints_read", fingerprints)
            con.execute(
                "CREATE OR REPLACE TEMP TABLE publish_now AS SELECT * FROM fingerprints_read"
            )
            record_published(con, plan, run_id, datetime.now(UTC))
            record_run(con, plan, run_id, outcome, written, started)
    finally:
        con.close()
    return PublishResult(plan, run_id, outcome, written, time.perf_counter() - clock, ran)
