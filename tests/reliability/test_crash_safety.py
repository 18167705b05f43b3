"""Crash safety: SIGKILL the loading process at random moments of a partition replace.

A child process (crash_child.py) loops replace_source_window → build_staging →
compute_progress on a real DuckDB file, each step in its own connection and transaction as
the assets do. The test kills it after a random delay, TRIALS times, and after every kill
opens the file and proves: the window holds exactly one version (the last one committed, or
the one in flight if its COMMIT got through), complete, without a duplicate row; staging and
the progress tables are whole too. Finally the real pipeline runs on the same file and
succeeds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import crash_child as child
import dagster as dg
import duckdb
import pytest

from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import run_range
from warehouse.db import connection
from warehouse.definitions import write_definitions

TRIALS = 20
# One loop of the child (replace ~30,000 rows, rebuild staging, recompute progress) takes
# roughly half a second; delays up to that spread the kills over every step.
MAX_DELAY_S = 0.6
REPO = Path(__file__).resolve().parents[2]

PROJECT = {
    "organisation.yaml": """
organisation: {name: Crash Shop, timezone: Europe/Berlin, lookback_days: 2}
sources:
  file: {allowed_lag_days: 2}
teams:
  - {id: growth, name: Growth, owner: growth@example.com}
""",
    "metrics.yaml": """
metrics:
  - {id: signups, source: file, query: {path: data/signups.csv}}
""",
    "objectives.yaml": """
objectives:
  - id: grow
    title: More people sign up
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: signups-total, title: "150 signups this period", metric: signups,
         measure: total, target: 150}
      - {id: signups-daily, title: "At least 12 signups a day", metric: signups,
         measure: latest, target: 12, direction: at_least}
""",
}
KRS = 2
PROGRESS_DAYS = (child.PROGRESS_END - child.PROGRESS_START).days + 1
WINDOW_ROWS = len(child.METRIC_IDS) * len(child.days())


def _project(folder: Path) -> Path:
    folder.mkdir()
    for name, text in PROJECT.items():
        (folder / name).write_text(text)
    (folder / "data").mkdir()
    lines = ["date,value"] + [f"{d.isoformat()},12" for d in child.days()]
    (folder / "data" / "signups.csv").write_text("\n".join(lines) + "\n")
    return folder


def _versions(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, int, int]]:
    """(request_hash, rows, distinct (metric_id, date)) per version of the window's rows."""
    return con.execute(
        f"SELECT request_hash, count(*), count(DISTINCT (metric_id, date)) FROM {table} "
        "WHERE source = 'file' AND date BETWEEN ? AND ? GROUP BY 1",
        [child.WINDOW_START, child.WINDOW_END],
    ).fetchall()


def _one_whole_version(con: duckdb.DuckDBPyConnection, table: str) -> int:
    versions = _versions(con, table)
    assert len(versions) == 1, f"{table} mixes versions: {versions}"
    ((request_hash, rows, distinct),) = versions
    assert rows == distinct == WINDOW_ROWS, f"{table}: {rows} rows, {distinct} distinct"
    return int(request_hash.removeprefix("v"))


def _signups_are_version(con: duckdb.DuckDBPyConnection, table: str, version: int) -> None:
    got = dict(
        con.execute(
            f"SELECT date, value FROM {table} WHERE metric_id = 'signups' AND source = 'file'"
        ).fetchall()
    )
    assert got == {d: child.value("signups", d, version) for d in child.days()}


def _progress_is_whole(con: duckdb.DuckDBPyConnection) -> None:
    for table, key in (
        ("okr.kr_progress_daily", "kr_id"),
        ("okr.objective_progress_daily", "objective_id"),
    ):
        rows, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT ({key}, as_of_date)) FROM {table}"
        ).fetchone()
        per_day = KRS if key == "kr_id" else 1
        assert rows == distinct == per_day * PROGRESS_DAYS, f"{table}: {rows} / {distinct}"


def _last(markers: list[str], step: str, default: int) -> int:
    numbers = [int(m.split()[1]) for m in markers if m.split()[0] == step]
    return max(numbers, default=default)


def test_sigkill_during_partition_replace_leaves_the_previous_partition_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "okr_definitions")
    warehouse = tmp_path / "crash.duckdb"
    with connection(warehouse) as con:
        write_definitions(con, load_valid_definitions(project))
    # Version 0, loaded by the same steps in this process: the state the first kill may hit.
    state = {"raw": 0, "staging": 0}
    child.load_version(str(warehouse), 0, child.version_rows(0), lambda _: None)

    seed = int(os.environ.get("OKR_CRASH_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    killed_in: Counter[str] = Counter()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for trial in range(TRIALS):
        process = subprocess.Popen(
            # Every other trial the loader only replaces: kills then land inside the replace
            # transaction itself rather than in staging or progress.
            [
                sys.executable,
                str(Path(child.__file__)),
                str(warehouse),
                str(state["raw"] + 1),
                "replace" if trial % 2 else "all",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        ready = process.stdout.readline() if process.stdout else ""
        if ready.strip() != "ready":
            process.kill()
            pytest.fail(
                f"trial {trial} (seed {seed}): the loader did not start: {process.communicate()[1]}"
            )
        time.sleep(rng.uniform(0.0, MAX_DELAY_S))
        process.send_signal(signal.SIGKILL)
        stdout, stderr = process.communicate()
        assert process.returncode == -signal.SIGKILL, stderr
        markers = stdout.splitlines()
        killed_in[markers[-1].split()[0] if markers else "ready"] += 1

        where = f"trial {trial} (seed {seed}), killed after {markers[-1:] or ['ready']}"
        # The file opens (DuckDB replays or drops its WAL) and is whole.
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            raw = _one_whole_version(con, "raw.metric_rows")
            # Never older than a commit the loader reported, never newer than the one it began.
            low = max(state["raw"], _last(markers, "replaced", state["raw"]))
            high = max(state["raw"], _last(markers, "replacing", state["raw"]))
            assert low <= raw <= high, where
            _signups_are_version(con, "raw.metric_rows", raw)
            staged = _one_whole_version(con, "staging.metric_daily")
            assert max(state["staging"], _last(markers, "staged", 0)) <= staged <= raw, where
            _signups_are_version(con, "staging.metric_daily", staged)
            _progress_is_whole(con)
        finally:
            con.close()
        state = {"raw": raw, "staging": staged}

    # The next run completes normally: the real pipeline, on the same file.
    monkeypatch.setenv("OKR_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("OKR_DEFINITIONS", str(project))
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_range(
            build_definitions(load_valid_definitions(project)),
            date(2026, 10, 1),
            date(2026, 10, 10),
            instance,
            log_level="ERROR",
        )
    assert outcome.succeeded, outcome.errors
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        _progress_is_whole(con)
        ((duplicates,),) = con.execute(
            "SELECT count(*) - count(DISTINCT (metric_id, date)) FROM staging.metric_daily"
        ).fetchall()
        assert duplicates == 0
        assert con.execute(
            "SELECT value FROM okr.kr_progress_daily "
            "WHERE kr_id = 'signups-total' AND as_of_date = '2026-10-10'"
        ).fetchall() == [(120.0,)]  # ten days of the CSV's 12
    finally:
        con.close()
    print(f"kills by step (seed {seed}): {dict(killed_in)}")
