"""The `okr` command as people run it: a real subprocess, real files, real exit codes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pytest
import time_machine
from demo_run import demo_ran_through

from okr_definitions.loader import load_definitions

REPO = Path(__file__).resolve().parents[2]


def okr(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "okr_cli.main", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        timeout=300,
    )


@pytest.fixture(scope="module")
def demo(shared_demo) -> tuple[subprocess.CompletedProcess, Path]:
    """The session's shared `okr demo` run (tests/conftest.py), as (result, folder)."""
    result = subprocess.CompletedProcess(
        ["okr", "demo"], shared_demo.returncode, shared_demo.stdout, shared_demo.stderr
    )
    return result, shared_demo.folder


def test_demo_prints_a_status_for_every_example_key_result(demo) -> None:
    result, folder = demo
    assert result.returncode == 0, result.stderr
    definitions, _ = load_definitions(folder / "okr_definitions")
    assert definitions is not None
    for kr_id in definitions.key_results:
        line = next((ln for ln in result.stdout.splitlines() if kr_id in ln), None)
        assert line is not None, f"{kr_id} missing from demo output"
        assert any(s in line for s in ("achieved", "on_track", "at_risk", "off_track")), line


def test_demo_values_match_the_exports(demo) -> None:
    """The newsletter open rate (average since the quarter start) is the export's opens over
    its deliveries for those days: a ratio of sums, not a mean of daily rates."""
    _, folder = demo
    con = duckdb.connect(str(folder / "okr_sync.duckdb"), read_only=True)
    value, start, through = con.execute(
        "SELECT value, period_start, data_through FROM okr.kr_progress_latest "
        "WHERE kr_id = 'newsletter-open-rate'"
    ).fetchone()
    statuses = con.execute("SELECT count(*), count(status) FROM okr.kr_progress_latest").fetchone()
    con.close()
    with (folder / "okr_definitions" / "data" / "newsletter.csv").open() as handle:
        rows = [
            r for r in csv.DictReader(handle) if start <= date.fromisoformat(r["date"]) <= through
        ]
    opens = sum(float(r["numerator"]) for r in rows)
    delivered = sum(float(r["denominator"]) for r in rows)
    mean_of_rates = sum(float(r["numerator"]) / float(r["denominator"]) for r in rows) / len(rows)
    assert value == pytest.approx(opens / delivered)
    assert value != pytest.approx(mean_of_rates, rel=1e-9)
    assert statuses[0] == statuses[1] >= 6


def _assert_every_progress_partition_materialised(folder: Path, last: date) -> None:
    """In the Dagster instance `okr demo` recorded into (in `folder`), every partition of the
    progress assets through `last` is materialised (the UI shows them 100 % filled): their
    partitions start at the earliest period start, not at the baseline days staging reads,
    which are all materialised for staging."""
    import dagster as dg

    from pipelines.build import build_definitions
    from pipelines.resources import load_valid_definitions
    from pipelines.schedules import PROGRESS_JOB

    definitions = load_valid_definitions(folder / "okr_definitions")
    period_start = min(kr.period_start for kr in definitions.resolved_key_results())
    assert definitions.earliest_date_needed() < period_start  # baseline days exist
    defs = build_definitions(definitions)
    graph = defs.resolve_asset_graph()
    progress = defs.resolve_job_def(PROGRESS_JOB).asset_layer.executable_asset_keys
    objectives = {dg.AssetKey(["okr", "objective", o]) for o in definitions.objectives}
    tables = {dg.AssetKey(["okr", t]) for t in ("kr_progress_daily", "objective_progress_daily")}
    assert progress == tables | objectives
    staging = dg.AssetKey(["staging", "metric_daily"])
    with dg.DagsterInstance.from_config(str(folder / "dagster_home")) as instance:
        for key in (*sorted(progress), staging):
            partitions = graph.get(key).partitions_def
            keys = [k for k in partitions.get_partition_keys() if k <= last.isoformat()]
            first = period_start if key != staging else definitions.earliest_date_needed()
            assert keys[0] == first.isoformat() and keys[-1] == last.isoformat(), key
            materialised = instance.get_materialized_partitions(key)
            assert materialised == set(keys), (key, sorted(set(keys) - materialised)[:3])


def test_demo_leaves_no_progress_partition_missing(demo, shared_demo) -> None:
    result, folder = demo
    assert result.returncode == 0, result.stderr
    assert shared_demo.through is not None
    # the day the demo ran through, not this clock's yesterday (tests/demo_run.py)
    _assert_every_progress_partition_materialised(folder, shared_demo.through)


def test_the_demo_checks_hold_when_midnight_passes_after_the_demo(demo, shared_demo) -> None:
    """The session's demo may be built at 23:59 and its tests run at 00:01. The fixture's
    reading of the day the demo ran through, with the clock at 23:59:30 of the day the demo
    ran; the partition check with the clock at 00:00:30 after it. The check passes; compared
    with the clock's yesterday instead (as it was), it fails: the demo never ran that day."""
    result, folder = demo
    assert result.returncode == 0, result.stderr
    through = shared_demo.through
    assert through is not None
    ran_on = through + timedelta(days=1)  # `okr demo` runs through the day before its today
    # local time: `okr demo` takes its today from date.today()
    before_midnight = datetime.combine(ran_on, time(23, 59, 30)).astimezone()
    after_midnight = datetime.combine(ran_on + timedelta(days=1), time(0, 0, 30)).astimezone()
    with time_machine.travel(before_midnight, tick=False):
        assert date.today() - timedelta(days=1) == through  # the clock agrees, until midnight
        read_before = demo_ran_through(shared_demo.dagster_home)
    with time_machine.travel(after_midnight, tick=False):
        assert demo_ran_through(shared_demo.dagster_home) == read_before == through.isoformat()
        _assert_every_progress_partition_materialised(folder, date.fromisoformat(read_before))
        clock_yesterday = date.today() - timedelta(days=1)
        assert clock_yesterday == through + timedelta(days=1)
        with pytest.raises(AssertionError):
            _assert_every_progress_partition_materialised(folder, clock_yesterday)


def test_status_filters_by_team(demo) -> None:
    _, folder = demo
    result = okr("status", "--team", "sales", "-w", str(folder / "okr_sync.duckdb"))
    assert result.returncode == 0, result.stderr
    assert "won-revenue" in result.stdout
    assert "product-page-conversion" not in result.stdout


def test_sql_csv_output_and_errors(demo) -> None:
    _, folder = demo
    warehouse = str(folder / "okr_sync.duckdb")
    result = okr(
        "sql", "SELECT count(*) AS n FROM okr.key_results", "-w", warehouse, "--format", "csv"
    )
    assert result.returncode == 0, result.stderr
    definitions, _ = load_definitions(folder / "okr_definitions")
    assert result.stdout.splitlines()[:2] == ["n", str(len(definitions.key_results))]
    bad = okr("sql", "SELECT * FROM okr.no_such_table", "-w", warehouse)
    assert bad.returncode == 1
    assert "query failed" in bad.stderr and "no_such_table" in bad.stderr
    # the warehouse is opened read-only: writes are refused
    write = okr("sql", "DELETE FROM okr.key_results", "-w", warehouse)
    assert write.returncode == 1
    assert "read-only" in write.stderr.lower()


def test_status_without_a_warehouse_says_what_to_do(tmp_path: Path) -> None:
    result = okr("status", "-w", str(tmp_path / "missing.duckdb"))
    assert result.returncode == 1
    assert "okr demo" in result.stderr
    assert not (tmp_path / "missing.duckdb").exists()


def test_run_usage_errors_exit_2(tmp_path: Path) -> None:
    assert okr("run", "--date", "yesterday").returncode == 2
    assert okr("run", "--from", "2026-10-05", "--to", "2026-10-01").returncode == 2
    assert okr("run", "--no-such-option").returncode == 2


def test_run_with_invalid_definitions_fails_cleanly(tmp_path: Path) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "okr.yaml").write_text("organisation: {name: X, timezone: Mars/Base}\n")
    warehouse = tmp_path / "w.duckdb"
    result = okr("run", "--date", "2026-10-01", "-d", str(folder), "-w", str(warehouse))
    assert result.returncode == 1
    assert "okr.yaml:1" in result.stderr and "Mars/Base" in result.stderr
    assert not warehouse.exists()  # nothing half-written


def test_validate_checks_the_checkin_notes(tmp_path: Path) -> None:
    import shutil

    definitions = tmp_path / "okr_definitions"
    shutil.copytree(REPO / "okr_definitions", definitions)
    (checkin,) = (definitions / "checkins").glob("*.yaml")
    checkin.write_text(
        checkin.read_text().replace("product-page-conversion:", "product-page-convrsion:")
    )
    result = okr("validate", str(definitions), "--offline")
    assert result.returncode == 1
    line = next(ln for ln in result.stderr.splitlines() if "convrsion" in ln)
    assert f"{checkin.name}:" in line and "did you mean `product-page-conversion`" in line


def test_demo_pushes_the_newest_day_to_the_okr_tracker_sandbox(demo) -> None:
    """Issue 20: the demo maps every key result to a local okr-tracker and prints what it
    pushed; push.sent holds the same, one check-in per key result with a value."""
    result, folder = demo
    assert "pushed to the okr-tracker sandbox" in result.stdout
    assert "okr_tracker: pushed" in result.stdout
    con = duckdb.connect(str(folder / "okr_sync.duckdb"), read_only=True)
    sent = con.execute(
        "SELECT s.kr_id, s.day, s.value, p.value, p.unit FROM push.sent s "
        "JOIN okr.kr_progress_daily p ON p.kr_id = s.kr_id AND p.as_of_date = s.day "
        "WHERE s.tool = 'okr_tracker'"
    ).fetchall()
    (newest, with_value) = con.execute(
        "SELECT max(as_of_date), count(value) FILTER (WHERE as_of_date = "
        "(SELECT max(as_of_date) FROM okr.kr_progress_daily)) FROM okr.kr_progress_daily"
    ).fetchone()
    con.close()
    assert len(sent) == with_value >= 6
    for kr_id, day, pushed, value, unit in sent:
        assert day == newest
        assert pushed == pytest.approx(value * 100 if unit == "%" else value), kr_id
        assert kr_id in result.stdout


def test_every_command_prints_through_the_shared_consoles() -> None:
    """One pair of consoles (okr_cli/console.py: no emoji from `:name:` in a title or a path,
    no highlighting); `okr notify` prints a title as it is (tests/notify)."""
    from okr_cli import console, import_workbook, notify, publish, push

    for command in (import_workbook, notify, publish, push):
        assert (command.console, command.err) == (console.console, console.err), command
