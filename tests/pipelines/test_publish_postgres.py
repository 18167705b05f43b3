"""publish/postgres on a real PostgreSQL (a private cluster of Debian's server, started once per
session): the published tables equal their DuckDB twins, reruns change nothing, readers never
see half a publish, a dropped connection leaves the previous version, and a refused password
fails only the publish asset."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path

import adbc_driver_postgresql.dbapi as pg
import dagster as dg
import duckdb
import pytest
from postgres_cluster import SUPERUSER_PASSWORD, PostgresCluster

from destinations.postgres import PublishError, publish, target_from
from destinations.postgres.settings import STORED_TABLES
from okr_definitions.model import PUBLISHABLE_TABLES
from pipelines.build import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import run_range
from pipelines.schedules import PROGRESS_JOB, STAGING_JOB
from warehouse.columns import COLUMN_DESCRIPTIONS
from warehouse.db import connect

FIRST, LAST = date(2026, 9, 25), date(2026, 10, 10)
PUBLISH = '\npublish:\n  postgres: {schema_prefix: "", tables: all}\n'
# The tables and views with the columns that order their rows.
ORDER = {t.name: ", ".join(t.primary_key) for t in STORED_TABLES} | {
    "okr.kr_progress_latest": "kr_id",
    "okr.kr_final_grades": "kr_id",
}


@pytest.fixture
def database(postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database for the test; OKR_PUBLISH_POSTGRES_URL points at it."""
    url = postgres_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("OKR_PUBLISH_POSTGRES_URL", url)
    return url


@pytest.fixture
def publishing(project: Path, database: str) -> Path:
    with (project / "organisation.yaml").open("a") as handle:
        handle.write(PUBLISH)
    return project


def _defs(project: Path) -> dg.Definitions:
    return build_definitions(load_valid_definitions(project))


def _pg_rows(url: str, sql: str) -> list[tuple]:
    with closing(pg.connect(url)) as con, con.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _duck_rows(sql: str) -> list[tuple]:
    """The rows as ADBC reads PostgreSQL's: an exact decimal (numeric) as its text."""
    import os

    with closing(duckdb.connect(os.environ["OKR_WAREHOUSE"], read_only=True)) as con:
        rows = con.execute(sql).fetchall()
    return [tuple(str(v) if isinstance(v, Decimal) else v for v in row) for row in rows]


def _assert_twins(url: str) -> None:
    """Every public table and view holds the same rows, in the same column order and values
    (dates as dates, lists as lists, doubles to the bit), in both databases."""
    for name in PUBLISHABLE_TABLES:
        sql = f"SELECT * FROM {name} ORDER BY {ORDER[name]}"
        duck = _duck_rows(sql)
        published = _pg_rows(url, sql)
        assert published == duck, name
        assert duck, f"{name} is empty: the comparison would prove nothing"


def _publish_directly(url: str, **kwargs) -> object:
    import os

    return publish(
        lambda: connect(os.environ["OKR_WAREHOUSE"]),
        target_from(url, ""),
        list(PUBLISHABLE_TABLES),
        {"okr.kr_progress_daily": "One row per (as_of_date, kr_id)."},
        COLUMN_DESCRIPTIONS,
        **kwargs,
    )


def test_every_published_table_equals_its_duckdb_twin(
    publishing: Path, database: str, instance: dg.DagsterInstance
) -> None:
    defs = _defs(publishing)
    outcome = run_range(defs, FIRST, LAST, instance, "ERROR")
    assert outcome.succeeded, outcome.errors
    assert len(outcome.run_ids) == 4  # sources, staging, progress, publish
    _assert_twins(database)
    # The schedule's way: each successful model run asks for a publish of the days it
    # completed: the staging run those before the periods, the progress run the period's.
    sensor = defs.resolve_sensor_def("publish_postgres_after_models")
    requested = []
    for job in (STAGING_JOB, PROGRESS_JOB):
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name=job))
        request = sensor(
            dg.build_run_status_sensor_context(
                sensor_name="publish_postgres_after_models",
                dagster_instance=instance,
                dagster_run=run,
                dagster_event=instance.all_logs(run.run_id)[-1].get_dagster_event(),
            )
        )
        requested.append(request.tags)
    assert requested == [
        {
            "dagster/asset_partition_range_start": FIRST.isoformat(),
            "dagster/asset_partition_range_end": "2026-09-30",
        },
        {
            "dagster/asset_partition_range_start": "2026-10-01",
            "dagster/asset_partition_range_end": LAST.isoformat(),
        },
    ]
    types = dict(
        _pg_rows(
            database,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'okr' AND table_name = 'kr_progress_daily'",
        )
    )
    assert types["as_of_date"] == "date"
    assert types["value"] == "double precision"
    assert types["flags"] == "ARRAY"
    keys = _pg_rows(
        database,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'okr.kr_progress_daily'::regclass "
        "AND i.indisprimary ORDER BY a.attname",
    )
    assert [k for (k,) in keys] == ["as_of_date", "kr_id"]
    # Table comments are the Dagster assets' descriptions, column comments the column schema's.
    (table_comment, column_comment, view_comment) = _pg_rows(
        database,
        "SELECT obj_description('okr.kr_progress_daily'::regclass), "
        "col_description('okr.kr_progress_daily'::regclass, 1), "
        "obj_description('okr.kr_final_grades'::regclass)",
    )[0]
    assert table_comment.startswith("One row per (as_of_date, kr_id): the key result's value")
    assert column_comment == COLUMN_DESCRIPTIONS["okr.kr_progress_daily"]["as_of_date"]
    assert view_comment.startswith("One row per (kr_id, period)")
    # Recorded in the warehouse: where, which days, the answer (no password).
    runs = _duck_rows("SELECT target, outcome, first_day, last_day FROM publish.postgres_runs")
    assert runs == [(runs[0][0], "published", FIRST, LAST)]
    assert SUPERUSER_PASSWORD not in runs[0][0] and "@127.0.0.1:" in runs[0][0]


def test_a_rerun_changes_nothing_and_a_definition_change_rebuilds_what_changed(
    publishing: Path, database: str, instance: dg.DagsterInstance
) -> None:
    assert run_range(_defs(publishing), FIRST, LAST, instance, "ERROR").succeeded
    versions = "SELECT as_of_date, kr_id, xmin::text FROM okr.kr_progress_daily ORDER BY 1, 2"
    before = _pg_rows(database, versions)
    assert run_range(_defs(publishing), FIRST, LAST, instance, "ERROR").succeeded
    # Not a single progress row was rewritten (xmin is the transaction that wrote a row).
    assert _pg_rows(database, versions) == before
    _assert_twins(database)
    second = _duck_rows(
        "SELECT list_sort(tables) FROM publish.postgres_runs ORDER BY started_at DESC LIMIT 1"
    )
    # staging's rows carry fetched_at, which a rerun renews: only staging travelled again.
    assert second == [(["staging.metric_daily"],)]

    objectives = publishing / "objectives.yaml"
    objectives.write_text(objectives.read_text().replace("target: 20%", "target: 25%"))
    assert run_range(_defs(publishing), date(2026, 10, 8), LAST, instance, "ERROR").succeeded
    _assert_twins(database)
    after = dict(((d, k), x) for d, k, x in _pg_rows(database, versions))
    rewritten = {
        key for key, xmin in after.items() if xmin != dict(((d, k), x) for d, k, x in before)[key]
    }
    # The three days the models recomputed (both key results' rows), nothing else.
    assert {d for d, _ in rewritten} == {date(2026, 10, 8), date(2026, 10, 9), LAST}
    assert _pg_rows(
        database, "SELECT target_value FROM okr.key_results WHERE kr_id = 'conversion'"
    ) == [(0.25,)]


def test_a_reader_never_sees_a_missing_or_doubled_day(
    publishing: Path, database: str, instance: dg.DagsterInstance
) -> None:
    assert run_range(_defs(publishing), FIRST, LAST, instance, "ERROR").succeeded
    expected = _pg_rows(
        database, "SELECT as_of_date, count(*) FROM okr.kr_progress_daily GROUP BY 1 ORDER BY 1"
    )
    assert len(expected) == 10 and all(n == 2 for _, n in expected)
    seen: list[list[tuple]] = []
    stop = threading.Event()

    def read() -> None:
        with closing(pg.connect(database)) as con:
            con.autocommit = True
            with con.cursor() as cursor:
                while not stop.is_set():
                    cursor.execute(
                        "SELECT as_of_date, count(*) FROM okr.kr_progress_daily "
                        "GROUP BY 1 ORDER BY 1"
                    )
                    seen.append(cursor.fetchall())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(6):  # full rebuilds: every day deleted and written again
            _publish_directly(database, full=True)
    finally:
        stop.set()
        reader.join()
    assert len(seen) > 6
    assert all(result == expected for result in seen)


def test_a_connection_dropped_mid_publish_leaves_the_previous_version(
    publishing: Path, database: str, instance: dg.DagsterInstance, postgres_cluster
) -> None:
    import os

    assert run_range(_defs(publishing), FIRST, LAST, instance, "ERROR").succeeded
    value = "SELECT value FROM okr.kr_progress_daily WHERE as_of_date = '2026-10-05' ORDER BY kr_id"
    previous = _pg_rows(database, value)
    with closing(duckdb.connect(os.environ["OKR_WAREHOUSE"])) as con:  # a recomputed day
        con.execute(
            "UPDATE okr.kr_progress_daily SET value = value + 1 WHERE as_of_date = '2026-10-05'"
        )

    def kill_the_publisher() -> None:
        (killed,) = _pg_rows(
            database,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'okr-sync-publish'",
        )[0]
        assert killed == 1

    with pytest.raises(PublishError) as failure:
        _publish_directly(database, before_commit=kill_the_publisher)
    assert "nothing of it was committed" in str(failure.value)
    assert _pg_rows(database, value) == previous
    (outcome,) = _duck_rows(
        "SELECT outcome FROM publish.postgres_runs ORDER BY started_at DESC LIMIT 1"
    )[0]
    assert outcome == "failed"
    # The next run covers other days; after a failed publish it compares them all.
    result = _publish_directly(database, first_day=LAST, last_day=LAST)
    assert [c.table.name for c in result.plan.changes] == ["okr.kr_progress_daily"]
    assert result.plan.changes[0].days == [date(2026, 10, 5)]
    assert _pg_rows(database, value) == [(v + 1,) for (v,) in previous]
    _assert_twins(database)


def test_a_wrong_password_fails_only_the_publish_asset(
    publishing: Path,
    postgres_cluster: PostgresCluster,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "wrong-pw-canary-91d3"
    monkeypatch.setenv("OKR_PUBLISH_POSTGRES_URL", postgres_cluster.url(password=wrong))
    outcome = run_range(_defs(publishing), FIRST, LAST, instance, "ERROR")
    assert not outcome.succeeded
    assert outcome.failed_steps == ["publish__postgres"]
    (message,) = outcome.errors
    assert "password authentication failed" in message
    assert "check OKR_PUBLISH_POSTGRES_URL" in message
    # The rest of the pipeline is fresh: the newest day's progress rows are there.
    assert _duck_rows(
        f"SELECT count(*) FROM okr.kr_progress_daily WHERE as_of_date = '{LAST}'"
    ) == [(2,)]
    events = [
        str(record.dagster_event)
        for run in instance.get_runs()
        for record in instance.all_logs(run.run_id)
    ]
    assert any("password authentication failed" in e for e in events)
    assert not any(wrong in e for e in events)
    stored = _duck_rows(
        "SELECT string_agg(target || coalesce(message, ''), ' ') FROM publish.postgres_runs"
    )
    assert "password authentication failed" in stored[0][0] and wrong not in stored[0][0]


def test_publish_settings_are_validated_with_located_errors(project: Path) -> None:
    from okr_definitions.loader import load_definitions

    with (project / "organisation.yaml").open("a") as handle:
        handle.write(
            '\npublish:\n  postgres: {schema_prefix: "BI", tables: [okr.kr_progres_daily]}\n'
        )
    definitions, problems = load_definitions(project)
    assert definitions is None
    found = {(p.file.name, p.field): p for p in problems}
    prefix = found[("organisation.yaml", "publish.postgres.schema_prefix")]
    assert prefix.line is not None and "lowercase" in prefix.fix
    tables = found[("organisation.yaml", "publish.postgres.tables")]
    assert "okr.kr_progress_daily" in tables.fix


def test_the_publish_asset_follows_the_progress_tables_in_its_own_group(
    publishing: Path, database: str
) -> None:
    defs = _defs(publishing)
    graph = defs.resolve_asset_graph()
    key = dg.AssetKey(["publish", "postgres"])
    node = graph.get(key)
    assert node.group_name == "publish"
    # partitioned like staging, which it publishes too, from the first baseline day: its days
    # before the periods read no progress partition (there is none)
    staging = graph.get(dg.AssetKey(["staging", "metric_daily"]))
    assert node.partitions_def == staging.partitions_def
    progress = graph.get(dg.AssetKey(["okr", "kr_progress_daily"]))
    assert node.partitions_def.get_first_partition_key() < (
        progress.partitions_def.get_first_partition_key()
    )
    assert {
        dg.AssetKey(["okr", "kr_progress_daily"]),
        dg.AssetKey(["okr", "objective_progress_daily"]),
        dg.AssetKey(["okr", "kr_lineage"]),
        dg.AssetKey(["staging", "metric_daily"]),
    } <= node.parent_keys
    target = node.metadata["target"]
    assert (
        target.startswith("postgresql://okr_admin@127.0.0.1:") and SUPERUSER_PASSWORD not in target
    )
    assert defs.resolve_sensor_def("publish_postgres_after_models") is not None


def test_without_a_publish_section_there_is_no_publish_asset(project: Path) -> None:
    graph = _defs(project).resolve_asset_graph()
    assert dg.AssetKey(["publish", "postgres"]) not in graph.get_all_asset_keys()


def _okr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "publish", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_okr_publish_dry_run_full_and_a_read_only_reader(
    publishing: Path,
    database: str,
    postgres_cluster: PostgresCluster,
    instance: dg.DagsterInstance,
) -> None:
    assert run_range(_defs(publishing), FIRST, LAST, instance, "ERROR").succeeded
    dry = _okr("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "nothing changed since the last publish" in dry.stdout
    with closing(duckdb.connect(os.environ["OKR_WAREHOUSE"])) as con:
        con.execute("UPDATE okr.kr_progress_daily SET value = 0 WHERE as_of_date = '2026-10-03'")
    dry = _okr("--dry-run")
    assert "okr.kr_progress_daily: replace 1 day(s), 2026-10-03 (2 rows)" in dry.stdout
    assert _pg_rows(database, "SELECT count(*) FROM okr.kr_progress_daily WHERE value = 0") == [
        (0,)
    ]

    full = _okr("--full")
    assert full.returncode == 0, full.stderr
    assert "published" in full.stdout and SUPERUSER_PASSWORD not in full.stdout + full.stderr
    _assert_twins(database)

    printed = _okr("--grant-reader", "bi_reader", "--dry-run")
    assert "GRANT SELECT ON ALL TABLES IN SCHEMA okr, staging TO bi_reader;" in printed.stdout
    assert _pg_rows(database, "SELECT count(*) FROM pg_roles WHERE rolname = 'bi_reader'") == [(0,)]
    applied = _okr("--grant-reader", "bi_reader")
    assert applied.returncode == 0, applied.stderr
    postgres_cluster.psql("ALTER ROLE bi_reader PASSWORD 'reader-pw'")
    reader_url = database.replace(f"okr_admin:{SUPERUSER_PASSWORD}", "bi_reader:reader-pw")
    assert _pg_rows(reader_url, "SELECT count(*) FROM okr.kr_progress_latest") == [(2,)]
    with pytest.raises(pg.Error, match="read-only transaction|permission denied"):
        _pg_rows(reader_url, "DELETE FROM okr.kr_progress_daily")


def test_a_run_compares_its_own_days_and_the_days_a_source_restated(
    publishing: Path, database: str, instance: dg.DagsterInstance
) -> None:
    assert run_range(_defs(publishing), FIRST, LAST, instance, "ERROR").succeeded
    with closing(duckdb.connect(os.environ["OKR_WAREHOUSE"])) as con:
        # An old progress row changed outside any run (not how the pipeline works): a run of
        # other days does not look at it. A restated staging day carries a new fetched_at.
        con.execute("UPDATE okr.kr_progress_daily SET value = -1 WHERE as_of_date = '2026-10-02'")
        con.execute(
            "UPDATE staging.metric_daily SET value = 99, fetched_at = now() "
            "WHERE date = '2026-09-27' AND metric_id = 'signups'"
        )
    result = _publish_directly(database, first_day=LAST, last_day=LAST)
    changes = {c.table.name: c.days for c in result.plan.changes}
    assert changes == {"staging.metric_daily": [date(2026, 9, 27)]}
    restated = "SELECT value FROM staging.metric_daily WHERE date = '2026-09-27' AND metric_id = "
    assert _pg_rows(database, restated + "'signups'") == [(99.0,)]
    # By hand (no run's days), everything is compared.
    result = _publish_directly(database)
    assert {c.table.name: c.days for c in result.plan.changes} == {
        "okr.kr_progress_daily": [date(2026, 10, 2)]
    }
    _assert_twins(database)
