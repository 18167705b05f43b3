"""Figure 2, transform: okr.kr_progress_daily for 1,000 key results × 365 days.

A synthetic warehouse (benchmarks/synthetic.py) holds 1,000 key results with a one-year
period and staging.metric_daily rows for their 1,200 source metrics over that year and the
year before (what the previous-period baselines read). Ours is `compute_progress` for all 365
as-of days (one set-based statement chain, replacing the year's rows); the reference is a bare
`GROUP BY metric_id, date` over the same staging rows, materialised into a table as ours is.
Both run on the same connection, alternating, after one warm-up each (the warm-up also freezes
the measured baselines, as the first daily run does in production).
"""

from __future__ import annotations

import tempfile
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

Before the fixes `compute_progress` took 5.0-6.9 s here (per statement: metric_cumulative
2.32 s, kr_days 1.29 s, window_value 0.45 s, the insert 0.83 s). Fixed: the running totals no
longer cover the previous period once the baselines are frozen (half the days), and the
window ids are numbered without sorting 365,000 rows (see "Fixes"). What remains, per
statement after the fixes (a profiling run while others' tests loaded the machine: 1.63 s in
all, the bare GROUP BY 0.16-0.22 s in the same process):

```
0.363 CREATE TEMP TABLE metric_cumulative   1,000 metrics × 366 days, five running
                                            aggregates (window operator, sort per metric)
0.592 CREATE TEMP TABLE windows (kr_days)   365,000 (kr, day) rows, 26 columns: the hash
                                            join into the running totals 0.22 s and writing
                                            the wide temp table 0.29 s (EXPLAIN ANALYZE)
0.154 CREATE TEMP TABLE window_value        two equality joins per window
0.469 INSERT INTO okr.kr_progress_daily     365,000 rows × 23 columns into the file
```

Each statement runs at about bare-scan speed for the rows it produces; the target is missed
because the model writes three tables of 365,000 rows (two temporary) where the reference
writes one narrow one. Reaching 3x would mean fusing kr_days, window_values and the final
insert into one statement (the temp tables are shared with the baseline path today) and
carrying only ids through it; left for a later change.
""",
}


def _rewrite(con: Any) -> None:
    """Replace the period's rows by the in-memory copy: the write alone, in a transaction."""
    con.execute("BEGIN")
    con.execute("DELETE FROM okr.kr_progress_daily WHERE as_of_date BETWEEN ? AND ?", PERIOD)
    con.execute("INSERT INTO okr.kr_progress_daily SELECT * FROM result")
    con.execute("COMMIT")


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
        ours_s: list[float] = []
        bare_s: list[float] = []
        rows = 0
        for i in range(payload["repeats"] + 1):
            t_ours, rows = seconds(lambda: compute_progress(con, *PERIOD))
            t_bare, _ = seconds(lambda: con.execute(bare_sql))
            if i:  # the first round is the warm-up
                ours_s.append(t_ours)
                bare_s.append(t_bare)
        # The floor under ours: only writing the same rows into the same table, from a copy
        # in memory, as the last step of compute_progress does.
        con.execute("CREATE TEMP TABLE result AS SELECT * FROM okr.kr_progress_daily")
        write_s: list[float] = []
        for _ in range(payload["repeats"]):
            write_s.append(seconds(lambda: _rewrite(con))[0])
        (groups,) = con.execute("SELECT count(*) FROM bare").fetchone()
        (flags,) = con.execute("SELECT count(*) FROM raw.metric_flags").fetchone()
        statuses = dict(
            con.execute(
                "SELECT status, count(*) FROM okr.kr_progress_daily GROUP BY ALL ORDER BY 1"
            ).fetchall()
        )
        con.close()
    return {
        "ours_s": ours_s,
        "bare_s": bare_s,
        "write_s": write_s,
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
    ratio = ours / bare
    days = (PERIOD[1] - PERIOD[0]).days + 1
    return [
        Figure(
            key="transform",
            title=f"Transform: kr_progress_daily, {krs:,} KRs × {days} days",
            ours=f"{ours:.3f} s ({result['kr_rows']:,} rows, {result['kr_rows'] / ours:,.0f}/s)",
            reference=f"bare GROUP BY {bare:.3f} s over {result['staging_rows']:,} rows",
            ratio=ratio,
            target="≤ 3×",
            met=ratio <= 3,
            command=COMMAND,
            details={
                "scale": scale,
                "repeats": len(result["ours_s"]),
                "ours_s": [round(x, 4) for x in result["ours_s"]],
                "bare_s": [round(x, 4) for x in result["bare_s"]],
                "write_only_s": [round(x, 4) for x in result["write_s"]],
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
