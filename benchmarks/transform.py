"""Figure 2, transform: okr.kr_progress_daily for 1,000 key results × 365 days.

A synthetic warehouse (benchmarks/synthetic.py) holds 1,000 key results with a one-year
period and staging.metric_daily rows for their 1,200 source metrics over that year and the
year before (what the previous-period baselines read). Ours is `compute_progress` for all 365
as-of days (window sums in arrays, then one statement from them into the table); the
reference is its own write-only floor: replacing the same 365,000 rows from an in-memory
copy (DELETE, INSERT, COMMIT, nothing computed). A bare `GROUP BY metric_id, date` over the
staging rows is in the details. All run on the same connection, round by round, after one
warm-up (which also freezes the measured baselines, as the first daily run does in
production).
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, benchmark_main, median, run_child, seconds

COMMAND = "python -m benchmarks.transform"
SCALES = {"full": {"krs": 1000}, "tiny": {"krs": 20}}
PERIOD = (date(2026, 1, 1), date(2026, 12, 31))
STAGED = (date(2025, 1, 1), date(2026, 12, 31))
NOTES = {
    "transform": """
### Transform (figure 2)

One child process, one DuckDB file, DuckDB's default threads (2 here); the median of three
rounds after a warm-up round (the warm-up also freezes the measured baselines, as the first
daily run does in production). The reference is our own write-only floor, measured round
by round with ours: replacing the same 365,000 rows of 23 columns from a copy in memory
(DELETE, INSERT, COMMIT, nothing computed); the bare GROUP BY over the staging rows is in the
details. Ours also resolves baselines, windows, flags and statuses. Every tenth metric-day
carries a flag, as in the incremental figure, so the flag path is measured too. The ratio is
the median of each round's pair; on this shared machine compare the CPU ratio
(`cpu_ratio_to_write_only`) too.

History: 5.0-6.9 s at first; 1.2 s after the running totals stopped covering the previous
period once baselines are frozen; then one statement chain (kr_days -> window_values ->
kr_progress_daily as CTEs) and flags by running counts: 2.5x the write-only floor on a quiet
machine (0.770 s against 0.303 s), 4.1x in CPU under load.

This round: the running totals of the daily rows are kept in arrays
(`warehouse/running_totals.py`). The SQL running totals cost a partitioned sort of 394,000
(metric, day) rows with six running aggregates, the dense calendar's joins and two 365,000-row
joins (each key result's days, and the totals on the day before each window's start). In a
(metric x day) array a metric's running totals are one cumulative sum along a row, and both
look-ups are indexing. The exact decimals are kept: each staged value still enters as its
shortest text as DECIMAL(38,15) (DuckDB's cast, as before), reaches numpy as Arrow's 128-bit
decimal integers, and is summed as two exact 64-bit parts (whole, fifteen decimals); each
window's sum is rounded once to the nearest double, exactly as CAST(DECIMAL AS DOUBLE)
does (halfway cases checked exactly, the rare doubtful ones rounded as fractions). The output
is identical, row for row and bit for bit, to the SQL chain's on the benchmark's warehouse,
and window_values.sql, kr_progress_daily.sql (value rules, progress, statuses, reasons, flags)
are unchanged SQL fed by either. metric_cumulative.sql remains for measuring baselines, for
key results not started yet and for sums whose whole parts exceed 64 bits (4.6e18).

Measured old against new, each in a fresh process, interleaved, three rounds, medians, the
machine at load 17-20 (the tree before this round, e72fd26, against this one, on the
benchmark's warehouse): a year of rows, CPU 1.62 s -> 0.97 s (4.10x -> 2.48x the write-only
floor's CPU; wall 4.41x -> 2.52x); a daily run of one day, CPU 0.86 s -> 0.32 s. The figure
measured while this round's change was made (`python -m benchmarks.transform`, load 25, wall
times three times the CPU times): 2.26x in wall time, 2.47x in CPU; the table's figure is the
quiet `run_all` of the merged tree (2.55x, load about 1); last round's
recording 3.62x.

Where the time goes now (CPU seconds, 2 threads, load ~20, so +-0.03):

```
compute_progress                        ~0.97   write-only floor ~0.40
  metric_flag_days (the flags view)      0.09
  staged values -> DECIMAL(38,15) text   0.14   the shortest-text cast of 394,000 values
  numpy: dense arrays, cumulative sums,  0.20   (metric x day) arrays 0.06, 365,000 rows'
    look-ups, rounding, Arrow                    look-ups 0.05, rounding + Arrow 0.06
  INSERT INTO okr.kr_progress_daily      0.55   the write itself ~0.40; key-result facts,
                                                baselines, flag kinds, statuses and reasons
                                                over 365,000 rows ~0.15
```

What bounds it: ≤ 1.5x leaves 0.2 s for everything computed; the statuses and reasons of
365,000 rows (one SQL projection with the progress formula and the reason texts) and the
joins of the key-result facts already take about 0.15 s of it, and reading the flags and the
exact decimals of the staged values another 0.23 s. Reaching 1.5x needs those inputs kept
incrementally (the decimal parts and the flagged days stored when staged, not recomputed
from the staged doubles and the flags view each run) or the statuses computed outside SQL as
well; both move more of the contract's math out of the SQL models. Not done in this round.

Exact values (issue 21): DECIMAL(38,15) sums of the values as delivered, as before; the
decimals cost about a quarter more CPU than doubles did in the SQL chain (1.98 s against
1.57 s then).
""",
}


def _rewrite(con: Any) -> None:
    """Replace the period's rows by the in-memory copy: the write alone, in a transaction."""
    con.execute("BEGIN")
    con.execute("DELETE FROM okr.kr_progress_daily WHERE as_of_date BETWEEN ? AND ?", PERIOD)
    con.execute("INSERT INTO okr.kr_progress_daily SELECT * FROM result")
    con.execute("COMMIT")


def _timed(fn: Any) -> tuple[float, float, Any]:
    """Wall and CPU seconds (all of DuckDB's threads: the process's CPU time) of one call."""
    cpu = time.process_time()
    wall, value = seconds(fn)
    return wall, time.process_time() - cpu, value


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.synthetic import write_definitions, write_staging
    from warehouse.db import connect
    from warehouse.progress import compute_progress

    with tempfile.TemporaryDirectory(prefix="okr-bench-transform-") as folder:
        con = connect(Path(folder) / "bench.duckdb")
        write_definitions(con, payload["krs"], *PERIOD)
        staged = write_staging(con, *STAGED)
        bare_sql = (
            "CREATE OR REPLACE TEMP TABLE bare AS SELECT metric_id, date, sum(value) AS value, "
            "sum(numerator) AS numerator, sum(denominator) AS denominator, count(*) AS n "
            "FROM staging.metric_daily GROUP BY metric_id, date"
        )
        # The warm-up round (it also freezes the measured baselines) leaves the rows whose
        # in-memory copy the write-only floor writes back.
        compute_progress(con, *PERIOD)
        con.execute("CREATE TEMP TABLE result AS SELECT * FROM okr.kr_progress_daily")
        times: dict[str, list[float]] = {k: [] for k in ("ours", "write", "bare")}
        cpu: dict[str, list[float]] = {k: [] for k in ("ours", "write", "bare")}
        rows = 0
        # Interleaved, round by round: ours, the write-only floor, the bare scan.
        for _ in range(payload["repeats"]):
            for name, fn in (
                ("ours", lambda: compute_progress(con, *PERIOD)),
                ("write", lambda: _rewrite(con)),
                ("bare", lambda: con.execute(bare_sql)),
            ):
                wall, used, value = _timed(fn)
                times[name].append(wall)
                cpu[name].append(used)
                if name == "ours":
                    rows = value
        (groups,) = con.execute("SELECT count(*) FROM bare").fetchone()
        (flags,) = con.execute("SELECT count(*) FROM raw.metric_flags").fetchone()
        statuses = dict(
            con.execute(
                "SELECT status, count(*) FROM okr.kr_progress_daily GROUP BY ALL ORDER BY 1"
            ).fetchall()
        )
        con.close()
    return {
        "ours_s": times["ours"],
        "bare_s": times["bare"],
        "write_s": times["write"],
        "cpu_s": cpu,
        "kr_rows": rows,
        "flag_rows": flags,
        "staging_rows": staged,
        "bare_groups": groups,
        "statuses": statuses,
    }


def run(scale: str = "full", repeats: int = 3) -> list[Figure]:
    krs = SCALES[scale]["krs"]
    result = run_child("benchmarks.transform", {"krs": krs, "repeats": max(1, repeats)})
    ours = median(result["ours_s"])
    bare = median(result["bare_s"])
    write = median(result["write_s"])
    # The ratio of each round's pair, then the median: a drift in the machine's speed between
    # rounds moves both sides of a pair alike.
    ratio = median([o / w for o, w in zip(result["ours_s"], result["write_s"], strict=True)])
    cpu = result["cpu_s"]
    cpu_ratio = median([o / w for o, w in zip(cpu["ours"], cpu["write"], strict=True)])
    days = (PERIOD[1] - PERIOD[0]).days + 1
    return [
        Figure(
            key="transform",
            title=f"Transform: kr_progress_daily, {krs:,} KRs × {days} days",
            ours=f"{ours:.3f} s ({result['kr_rows']:,} rows, {result['kr_rows'] / ours:,.0f}/s)",
            reference=(
                f"writing the same rows (its write-only floor) {write:.3f} s; "
                f"bare GROUP BY {bare:.3f} s over {result['staging_rows']:,} rows"
            ),
            ratio=ratio,
            target="≤ 1.5× the write-only floor",
            met=ratio <= 1.5,
            command=COMMAND,
            details={
                "scale": scale,
                "repeats": len(result["ours_s"]),
                "ours_s": [round(x, 4) for x in result["ours_s"]],
                "write_only_s": [round(x, 4) for x in result["write_s"]],
                "bare_s": [round(x, 4) for x in result["bare_s"]],
                "cpu_s": {k: [round(x, 4) for x in v] for k, v in cpu.items()},
                "cpu_ratio_to_write_only": round(cpu_ratio, 2),
                "ratio_to_bare": round(ours / bare, 2),
                "write_only_ratio_to_bare": round(write / bare, 2),
                "flag_rows": result["flag_rows"],
                "kr_rows": result["kr_rows"],
                "staging_rows": result["staging_rows"],
                "statuses": result["statuses"],
                "peak_rss_mib": round(result["peak_rss_mib"], 1),
            },
        )
    ]


def main(argv: list[str] | None = None) -> None:
    benchmark_main(__doc__, measure, run, NOTES, argv)


if __name__ == "__main__":
    main()
