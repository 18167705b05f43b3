"""The loading process test_crash_safety.py kills: it replaces one partition window, rebuilds
staging and recomputes progress, over and over, the way the assets do (one connection per
write), on a real DuckDB file.

    python crash_child.py WAREHOUSE FIRST_VERSION MODE

MODE `all` runs the three steps in turn; `replace` only replaces, back to back, so that nearly
every kill lands inside a replace transaction.

Version k of the window is recognisable: every row carries request_hash `v<k>`, and
`signups` alternates between two sets of values (so staging records real revisions). It
prints a marker, flushed, before and after each step, so the parent knows where it was killed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from connectors.results import DAILY_SCHEMA, FetchResult
from warehouse.db import connection
from warehouse.load import replace_source_window
from warehouse.progress import build_staging, compute_objective_progress, compute_progress

SOURCE = "file"
# A year of days for the key results' metric and for enough extra metrics that one replace
# is tens of thousands of rows: a transaction long enough for kills to land inside it.
WINDOW_START = date(2025, 10, 11)
WINDOW_END = date(2026, 10, 10)
PROGRESS_START = date(2026, 10, 1)
PROGRESS_END = date(2026, 10, 10)
EXTRA_METRICS = 80
METRIC_IDS = ["signups", *(f"bulk_{i:03d}" for i in range(EXTRA_METRICS))]


def days() -> list[date]:
    return [WINDOW_START + timedelta(days=i) for i in range((WINDOW_END - WINDOW_START).days + 1)]


def value(metric: str, day: date, version: int) -> float:
    base = 10.0 + (day.toordinal() % 7)
    if metric == "signups":
        return base + (version % 2)  # alternates, so every other staging rebuild revises
    return base * (1 + int(metric[-3:]))


def version_rows(version: int) -> pa.Table:
    all_days = days()
    metrics = [m for m in METRIC_IDS for _ in all_days]
    dates = all_days * len(METRIC_IDS)
    values = [value(m, d, version) for m, d in zip(metrics, dates, strict=True)]
    table = pa.Table.from_arrays(
        [
            pa.array(metrics, pa.string()),
            pa.array(dates, pa.date32()),
            pa.array(values, pa.float64()),
            pa.nulls(len(values), pa.float64()),
            pa.nulls(len(values), pa.float64()),
            pa.array([f"v{version}"] * len(values), pa.string()),
        ],
        schema=DAILY_SCHEMA,
    )
    return table


def say(marker: str) -> None:
    print(marker, flush=True)


def load_version(
    warehouse: str,
    version: int,
    rows: pa.Table,
    say: Callable[[str], None],
    replace_only: bool = False,
) -> None:
    """One loop: replace the window with `version`, rebuild staging, recompute progress."""
    # The rows were built for this version's parity; each version's rows name their own request
    # (DAILY_SCHEMA), which is how the parent tells the versions apart.
    column = rows.schema.get_field_index("request_hash")
    rows = rows.set_column(column, "request_hash", pa.array([f"v{version}"] * rows.num_rows))
    with connection(warehouse) as con:
        say(f"replacing {version}")
        replace_source_window(
            con,
            SOURCE,
            METRIC_IDS,
            WINDOW_START,
            WINDOW_END,
            FetchResult(daily=rows),
            f"v{version}",
            datetime.now(UTC),
            WINDOW_END,
        )
        say(f"replaced {version}")
    if replace_only:
        return
    with connection(warehouse) as con:
        say(f"staging {version}")
        build_staging(con, WINDOW_START, WINDOW_END)
        say(f"staged {version}")
    with connection(warehouse) as con:
        say(f"progress {version}")
        compute_progress(con, PROGRESS_START, PROGRESS_END)
        compute_objective_progress(con, PROGRESS_START, PROGRESS_END)
        say(f"progressed {version}")


def main(warehouse: str, first_version: int, mode: str) -> None:
    # Both parities of the data built before "ready": the loop itself only writes.
    built = {v % 2: version_rows(v) for v in (first_version, first_version + 1)}
    say("ready")
    version = first_version
    while True:
        load_version(warehouse, version, built[version % 2], say, mode == "replace")
        version += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
