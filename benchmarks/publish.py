"""Publishing to PostgreSQL: 1,000 KRs × 365 days against a bare COPY of the same Arrow table
into the same server, and the daily incremental publish after 30 and after 365 days.

    python -m benchmarks.publish [--repeats N]

Starts a private cluster of Debian's PostgreSQL (tests/postgres_cluster.py; as root the
server runs as the `postgres` user) and removes it at the end. Prints the figures; record them
in benchmarks/RESULTS.md by hand (section "Publishing to PostgreSQL").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import adbc_driver_postgresql.dbapi as pg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from postgres_cluster import start_cluster  # noqa: E402

from destinations.postgres import publish, target_from  # noqa: E402
from warehouse.db import connect  # noqa: E402

KRS = 1_000
FIRST_DAY = date(2025, 1, 1)
TABLES = ["okr.kr_progress_daily"]


def fill(path: Path, days: int) -> None:
    """kr_progress_daily with KRS key results × `days` days, three flagged rows in ten."""
    with closing(connect(path)) as con:
        con.execute(
            f"""
            INSERT INTO okr.kr_progress_daily
            SELECT DATE '{FIRST_DAY}' + CAST(i // {KRS} AS INTEGER), 'kr-' || (i % {KRS}),
                   'objective-' || (i % {KRS} // 3), 'team-' || (i % 7), 'metric-' || (i % {KRS}),
                   'total', DATE '{FIRST_DAY}', DATE '{FIRST_DAY}' + 364,
                   random() * 1000, 100.0, 1000.0, 'increase', random(), random(), 0.5,
                   'on_track', NULL, DATE '{FIRST_DAY}' + CAST(i // {KRS} AS INTEGER),
                   'committed', 1.0, NULL,
                   CASE WHEN i % 10 < 3 THEN ['sampled'] ELSE [] END, 'hash'
            FROM range({KRS * days}) AS r(i)
            """
        )


def a_daily_run(path: Path, days: int, run: int) -> None:
    """What a daily run changes: the newest day and the lookback's three days before it."""
    newest = FIRST_DAY + timedelta(days=days + run)
    with closing(connect(path)) as con:
        con.execute(
            f"""
            INSERT INTO okr.kr_progress_daily
            SELECT DATE '{newest}', kr_id, objective_id, team, metric_id, measure, period_start,
                   period_end, value + 1, baseline, target, direction, progress, score,
                   expected_progress, status, status_reason, DATE '{newest}', commitment,
                   weight, unit, flags, definition_hash
            FROM okr.kr_progress_daily WHERE as_of_date = DATE '{newest}' - 1
            """
        )
        con.execute(
            f"UPDATE okr.kr_progress_daily SET value = value + 0.5 "
            f"WHERE as_of_date BETWEEN DATE '{newest}' - 3 AND DATE '{newest}' - 1"
        )


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--repeats", type=int, default=3)
    repeats = args.parse_args().repeats
    cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory() as folder:
            full, bare = [], []
            for attempt in range(repeats):
                url = cluster.create_database(f"bench_full_{attempt}")
                warehouse = Path(folder) / f"full_{attempt}.duckdb"
                fill(warehouse, 365)
                result = publish(
                    lambda w=warehouse: connect(w), target_from(url, ""), TABLES, {}, {}
                )
                full.append(result.seconds)
                with closing(connect(warehouse)) as con:
                    table = con.sql("SELECT * FROM okr.kr_progress_daily").to_arrow_table()
                with closing(pg.connect(url)) as con, con.cursor() as cursor:
                    began = time.perf_counter()
                    cursor.adbc_ingest("bare_copy", table, mode="create")
                    con.commit()
                    bare.append(time.perf_counter() - began)
            ours, reference = statistics.median(full), statistics.median(bare)
            print(
                f"full publish of {KRS:,} KRs × 365 days ({table.num_rows:,} rows): "
                f"{ours:.2f} s; bare COPY of the same Arrow table {reference:.2f} s; "
                f"ratio {ours / reference:.2f} (target ≤ 2)"
            )
            daily: dict[int, float] = {}
            for days in (30, 365):
                url = cluster.create_database(f"bench_daily_{days}")
                warehouse = Path(folder) / f"daily_{days}.duckdb"
                fill(warehouse, days)
                publish(lambda w=warehouse: connect(w), target_from(url, ""), TABLES, {}, {})
                times = []
                for run in range(repeats):
                    a_daily_run(warehouse, days, run)
                    result = publish(
                        lambda w=warehouse: connect(w), target_from(url, ""), TABLES, {}, {}
                    )
                    assert result.plan.days_replaced == 4, result.plan.describe()
                    times.append(result.seconds)
                daily[days] = statistics.median(times)
            print(
                f"daily publish (4 days, {4 * KRS:,} rows): after 365 days {daily[365]:.3f} s, "
                f"after 30 days {daily[30]:.3f} s; ratio {daily[365] / daily[30]:.2f} "
                "(target: independent of history, ≤ 1.2)"
            )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
