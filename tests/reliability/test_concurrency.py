"""Concurrency: the daily schedule and a manual backfill write one warehouse at the same time,
while people read it.

Two `okr run` processes start together on one DuckDB file: the schedule's window (yesterday and its
lookback days) and a backfill over every day. DuckDB lets one process write a file at a time;
writers hold it only for the writes they do (and while a run's steps write back to back) and wait
for each other (warehouse/db.py), so both must finish, and the end state must equal the clean run's,
row for row. Meanwhile `okr sql` and `okr status` run in a loop: each either reads a consistent
state (no duplicate and no half-replaced day) or, after a short wait, says the warehouse is busy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from reliability_kit import (
    BASE_START,
    LATER_END,
    LATER_START,
    SOURCE_KRS,
    checksums,
    copy_warehouse,
    query,
)

# A stack trace in any form: Python's, or Dagster's formatted failure events.
TRACE_MARKERS = ("Traceback", "STEP_FAILURE", "RUN_FAILURE", "Stack Trace:")

REPO = Path(__file__).resolve().parents[2]
# When a row was fetched and by which request: legitimately different between two runs that
# asked for different windows.
PROVENANCE = {"fetched_at", "request_hash"}
KRS = sum(len(krs) for krs in SOURCE_KRS.values())
# Readers wait this long for a writer before saying the warehouse is busy.
READER_WAIT_S = "3"
CONSISTENCY = f"""
SELECT
    (SELECT count(*) - count(DISTINCT (kr_id, as_of_date)) FROM okr.kr_progress_daily)
        AS progress_duplicates,
    (SELECT count(*) FROM (SELECT as_of_date FROM okr.kr_progress_daily
                           GROUP BY 1 HAVING count(*) <> {KRS})) AS partial_days,
    (SELECT count(*) - count(DISTINCT (metric_id, date)) FROM staging.metric_daily)
        AS staging_duplicates,
    (SELECT count(*) - count(DISTINCT (source, metric_id, date)) FROM raw.metric_rows)
        AS raw_duplicates
"""


def _okr(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "okr_cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def _read(env: dict[str, str]) -> list[tuple[str, int, str, str]]:
    """One `okr sql` and one `okr status`: (command, exit code, stdout, stderr) each."""
    results = []
    for args in (["sql", CONSISTENCY, "--format", "json"], ["status"]):
        process = _okr(*args, env=env)
        out, err = process.communicate(timeout=120)
        results.append((args[0], process.returncode, out, err))
    return results


def test_schedule_and_backfill_at_once_lose_nothing_and_readers_stay_consistent(
    suite, reference, tmp_path: Path
) -> None:
    warehouse = copy_warehouse(suite.base, tmp_path / "shared.duckdb")
    env = {**os.environ, **suite.env, "OKR_WAREHOUSE": str(warehouse), "COLUMNS": "200"}
    schedule = ["run", "--from", LATER_START.isoformat(), "--to", LATER_END.isoformat()]
    backfill = ["run", "--from", BASE_START.isoformat(), "--to", LATER_END.isoformat()]
    writers = {"schedule": _okr(*schedule, env=env), "backfill": _okr(*backfill, env=env)}

    readers_env = {**env, "OKR_WAREHOUSE_BUSY_WAIT": READER_WAIT_S}
    reads: list[tuple[str, int, str, str]] = []
    while any(w.poll() is None for w in writers.values()):
        reads += _read(readers_env)
        time.sleep(0.5)  # a reader every half second or so, like a person refreshing
    finished = {name: (w.returncode, *w.communicate()) for name, w in writers.items()}

    for name, (code, out, err) in finished.items():
        assert code == 0, f"{name} run failed:\n{out}\n{err}"
        assert not any(marker in err for marker in TRACE_MARKERS), err
    # No corruption, no lost row: the same public tables as the clean run of these days, bit
    # for bit (the sums are exact), up to which request delivered a row (the backfill asked
    # for a longer window than the clean run did).
    assert checksums(warehouse, PROVENANCE) == checksums(reference.warehouse, PROVENANCE)
    missing = query(
        warehouse,
        "SELECT m.metric_id, count(r.date) FROM okr.metrics AS m "
        "LEFT JOIN raw.metric_rows AS r ON r.metric_id = m.metric_id "
        "AND r.date BETWEEN ? AND ? WHERE m.kind = 'source' GROUP BY 1 "
        "HAVING count(r.date) <> ?",
        [BASE_START, LATER_END, (LATER_END - BASE_START).days + 1],
    )
    assert missing == []

    reads += _read(readers_env)  # and once more when nobody writes
    assert reads[-2][1] == 0 and reads[-1][1] == 0, reads[-2:]
    busy = 0
    for command, code, out, err in reads:
        if code != 0:
            # Waited READER_WAIT_S, then said so in words: no lock traceback.
            assert code == 1 and "is busy" in err, (command, err)
            assert not any(marker in err for marker in TRACE_MARKERS), (command, err)
            busy += 1
        elif command == "sql":
            (row,) = json.loads(out)
            assert row == {
                "progress_duplicates": 0,
                "partial_days": 0,
                "staging_duplicates": 0,
                "raw_duplicates": 0,
            }, row
        else:
            assert "conversion-up" in out, out + err
            assert not any(marker in err for marker in TRACE_MARKERS), out + err
    print(f"{len(reads)} reads while writing, {busy} answered 'busy'")
