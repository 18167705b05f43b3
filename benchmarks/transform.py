"""Figure 2, transform: okr.kr_progress_daily for 1,000 key results × 365 days.

A synthetic warehouse (benchmarks/synthetic.py) holds 1,000 key results with a one-year
period and staging.metric_daily rows for their 1,200 source metrics over that year and the
year before (what the previous-period baselines read). Ours is `compute_progress` for all 365
as-of days (one set-based statement chain, replacing the year's rows); the reference is its
own write-only floor: replacing the same 365,000 rows from an in-memory copy (DELETE, INSERT,
COMMIT, nothing computed). A bare `GROUP BY metric_id, date` over the staging rows is in the
details. All run on the same connection, round by round, after one warm-up (which also
freezes the measured baselines, as the first daily run does in production).
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
daily run does in production). The reference scans the same staging rows ours reads; ours
also resolves baselines, windows, flags and statuses and writes 365,000 rows of 23 columns.
Every tenth metric-day carries a flag, as in the incremental figure, so the flag path is
measured too.

History: 5.0-6.9 s at first; 1.2 s after the running totals stopped covering the previous
period once baselines are frozen and the window ids stopped being sorted (12.7x, flags not
yet in the data); now `compute_progress` is two statements, not four:

```
CREATE TEMP TABLE metric_cumulative   1,000 metrics x 394 calendar days, six running
                                      aggregates (sum x3, count x2, max) over one window
                                      sort; about half of ours
INSERT INTO okr.kr_progress_daily     kr_days -> window_values -> kr_progress_daily as CTEs
                                      of one statement: the (key result, day) rows stream
                                      from the running totals into the table
```

Fixed in this round: the two 365,000-row temp tables between the models are gone (fused into
one statement; each key result drives from its metric's running totals, with the key results
as the small side of the join, and the totals at the as-of day stand in for those at the
window's end). Flags were the costliest part once measured with data: the range join of
flags (old) and then a per-row list of flagged days cost 2.8 s of CPU in the insert; now a
running count of flagged days says whether a window holds any, and a metric with a single
kind of flag needs nothing more (the insert: 0.9 s of CPU, DuckDB's JSON profile).

The reference (since this round): its own write-only floor, measured round by round with
ours: only replacing the same 365,000 rows from a copy in memory (DELETE, INSERT, COMMIT,
nothing computed); the bare GROUP BY stays in the details. The figure recorded last session
(7.71) was against the bare GROUP BY; against the write-only floor the same tree stood at
2.5x on a quiet machine (0.770 s against 0.303 s, its recorded details).

Profiled by statement and operator (DuckDB's JSON profile and CPU time of the process, the
benchmark's warehouse, 2 threads; CPU seconds, the machine at load 12-30, so ±0.05 s):

```
compute_progress                      ~1.45   write-only floor ~0.40
  CREATE TEMP TABLE metric_cumulative ~0.65   dense calendar joins (metrics x days,
                                              their values and flags) 0.20; the exact
                                              decimals (each double through its shortest
                                              text) 0.12-0.14; six running aggregates over
                                              one partitioned sort 0.30-0.35
  INSERT INTO okr.kr_progress_daily   ~0.85   kr_days + window_values (the join of each key
                                              result to its metric's 365 days and the join
                                              at each window's start) ~0.38; the statuses
                                              and reasons ~0.10; the write itself ~0.38
```

Tried and measured, kept out because they did not move the figure: resolving the per-key-
result facts (frozen baseline and target, metric source, flag kinds) once per key result
before the expansion to days instead of three joins over the 365,000 rows (1.44 s against
1.43 s CPU); one running aggregate over a single ordered partition instead of a
partitioned window (0.175 s against 0.187 s for one sum); an integer fast path for the exact
decimal conversion (no change here: the synthetic values are not whole numbers; it would
help real counts).

What bounds it: every part of the statement chain is a few tenths of a second of DuckDB's
vectorised work over 365,000-400,000 rows, and the write floor is one of them. ≤ 1.5x the
write would leave 0.2 s for everything computed, about what the dense calendar's joins alone
cost; reaching it needs a different design (running totals kept incrementally in the
warehouse instead of recomputed for the whole period, or the arithmetic outside SQL), which
changes where okr_definitions/README.md says the math lives. Not done in this round.

Exact values (issue 21): the running totals are exact decimals (DECIMAL(38,15), each daily
value entering as the decimal it was delivered as), not doubles, and a `latest` value is the
day's own value (one more running aggregate, `last_value`). Measured on the same synthetic
warehouse, in one process, CPU time of `compute_progress` (median of three, interleaved, load
average 17-20 on the shared machine, so wall times are noise): doubles as in 886e35c 1.57 s,
decimals through their text 1.98 s (+26 %), decimals by DuckDB's direct cast 1.90 s (+21 %,
but it scales in binary: 1234567.89 becomes 1234567.8899999998). Compensated summation
(`fsum`) would cost nothing but cannot make a window exact: a window is a difference of two
running totals, and a double total of 4.5e8 keeps seven digits after the point, whatever the
summation. The recorded ratio (6.73, load average 12-16 while it ran) is within the noise of
the earlier 7.0-7.4; the CPU figures above are the comparison to trust: the decimals cost
about a quarter more CPU in `compute_progress`.
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
