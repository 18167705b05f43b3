"""Mixpanel ingest: a year of daily series for 200 events, ours vs a bare httpx loop.

The sandbox holds a year of events for 200 event names (10 users). Its export answer is
recorded once and then replayed from memory by a server in its own process
(benchmarks/replay.py), so neither contender pays for the sandbox or shares a GIL with it.
Each contender runs in a fresh child process, the two interleaved round by round:

- **ours**: `fetch_mixpanel` for 200 `count: total` metrics over 365 days (the streamed gzip
  answer landed in DuckDB, de-duplicated, put on project-local days, 200 daily series counted
  in SQL, Arrow tables) and the load into a migrated warehouse file (`replace_source_window`
  with raw.mixpanel_requests), as the Mixpanel asset does;
- **bare loop**: the same request with httpx, the whole answer read (gzip decoded), kept as a
  file and bulk-read by DuckDB's `read_json` into a table of the same events (name, user,
  time, `$insert_id`): the least any client must do to have the events in DuckDB.

Also: requests per daily run (yesterday + 3 lookback days) for the same 200 metrics, counted
by the sandbox's server.

    python -m benchmarks.mixpanel_ingest [--scale tiny] [--repeats N] [--no-record]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, child_main, median, paired_rounds, parser, report

COMMAND = "python -m benchmarks.mixpanel_ingest"
LAST = date(2026, 9, 30)
PROJECT_ID = 1
EXTRA_EVENTS = 197
USERS = 10
NOTES = {
    "mixpanel_ingest": """
### Mixpanel ingest

A year of daily series for 200 events (3 product events + 197 more, 10 users) from one Raw
Event Export request (no `where`: one filter set), the answer gzip JSONL recorded once and
replayed from memory by a server in its own process. Each contender is a fresh child process,
the two interleaved (ours, bare, ours, bare, ...); the figure is the median of the rounds'
ratios, CPU time beside it (steadier on the shared machine). Ours is the connector and the
load of its 73,000 daily rows into a migrated warehouse file, as the asset does; the bare loop
sends the same request, reads the whole answer and bulk-reads it into a DuckDB table of the
same 365,000 events (the columns ours lands): the least any client must do to have the events
in DuckDB. Requests per daily run: one per distinct `where` for all days of the window (a
per-event, per-day client would send 200 × 4).

Where the time goes (cProfile and CPU time, one process each): both contenders pay the download
and un-gzipping (~0.3 s of CPU: httpx decodes for the bare loop, zlib in the connector, which
checks the gzip stream's end itself) and DuckDB's `read_json` of the three properties used.
Ours adds the de-duplication on the four fields Mixpanel uses (~0.15 s of CPU: a hash of
365,000 rows), the 73,000 daily rows' checks and load into the warehouse file (~0.15 s) and
the series query (~0.05 s). The first recording (2.43×) measured a bare loop that only
downloaded the answer, with the sandbox serving from the measuring process; most of the
change to ~1.3-1.8× is that honest reference. The connector's own gain is smaller (~0.1 s of
CPU): each answer is now counted per event name and day in one SQL pass straight from the
file, and one row per event is kept only for funnel steps and exact uniques ranges, instead
of landing every event and grouping the table again. Not done: letting DuckDB un-gzip the
file itself (it reads a gzip file on one thread, and the volume bound and cut-off checks
would move after the download).
""",
}


def _names() -> list[str]:
    from sandbox.mixpanel.server import DEMO_EVENTS

    return list(DEMO_EVENTS) + [f"Event {n + 1:03d}" for n in range(EXTRA_EVENTS)]


def _metrics() -> list[Any]:
    from connectors.base import MetricRequest
    from okr_definitions.sources.mixpanel import MixpanelQuery

    return [MetricRequest(f"m{i:03d}", MixpanelQuery(event=n)) for i, n in enumerate(_names())]


def _window(payload: dict[str, Any]) -> tuple[date, date]:
    return LAST - timedelta(days=payload["days"] - 1), LAST


def _settings(base_url: str) -> Any:
    from pydantic import SecretStr

    from connectors.mixpanel import MixpanelSettings
    from sandbox.mixpanel.server import DEFAULT_SECRET, DEFAULT_USERNAME

    return MixpanelSettings(
        project_id=PROJECT_ID,
        username=DEFAULT_USERNAME,
        secret=SecretStr(DEFAULT_SECRET),
        endpoint=base_url,
    )


def ours(payload: dict[str, Any]) -> dict[str, Any]:
    """The connector and the warehouse load, as the Mixpanel asset runs them."""
    from connectors.mixpanel import fetch_mixpanel
    from warehouse.db import connect
    from warehouse.load import replace_source_window
    from warehouse.sources.mixpanel import RAW_TABLE, raw_slice

    first, last = _window(payload)
    settings = _settings(payload["base_url"])
    metrics = _metrics()
    ids = [m.metric_id for m in metrics]
    with tempfile.TemporaryDirectory(prefix="okr-bench-mixpanel-") as folder:
        # a migrated warehouse, as a daily run finds it (opening it is not ingest)
        con = connect(Path(folder) / "bench.duckdb")
        try:
            began, cpu_began = time.perf_counter(), time.process_time()
            result, usage = fetch_mixpanel(settings, metrics, first, last, today=last)
            fetched = time.perf_counter()
            predicate, params = raw_slice(ids, first, last)
            rows = replace_source_window(
                con,
                "mixpanel",
                ids,
                first,
                last,
                result,
                "bench",
                datetime.now(UTC),
                last,
                raw_tables={RAW_TABLE: (predicate, params, result.raw)},
            )
            seconds = time.perf_counter() - began
            cpu_seconds = time.process_time() - cpu_began
        finally:
            con.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "fetch_seconds": fetched - began,
        "rows": rows,
        "events": usage.exported_events,
        "requests": usage.export_requests + usage.query_requests,
        "answer_bytes": usage.answer_bytes,
    }


def bare_loop(payload: dict[str, Any]) -> dict[str, Any]:
    """The same requests, each answer read whole and bulk-read into a DuckDB table."""
    import duckdb
    import httpx

    from connectors.mixpanel.parse import EXPORT_COLUMNS
    from sandbox.mixpanel.server import DEFAULT_SECRET, DEFAULT_USERNAME

    with tempfile.TemporaryDirectory(prefix="okr-bench-mixpanel-bare-") as folder:
        con = duckdb.connect()
        began, cpu_began = time.perf_counter(), time.process_time()
        size = 0
        files = []
        with httpx.Client(auth=(DEFAULT_USERNAME, DEFAULT_SECRET), timeout=300) as client:
            for n, params in enumerate(payload["params"]):
                answer = client.get(f"{payload['base_url']}/api/2.0/export", params=params)
                answer.raise_for_status()
                target = Path(folder) / f"export-{n}.jsonl"
                target.write_bytes(answer.content)  # httpx decodes the gzip
                size += len(answer.content)
                files.append(str(target))
        (events,) = con.execute(
            f"""
            CREATE TABLE events AS
            SELECT event, properties.distinct_id AS distinct_id, properties."time" AS time,
                   properties."$insert_id" AS insert_id
            FROM read_json(?, format = 'newline_delimited', columns = {EXPORT_COLUMNS})
            """,
            [files],
        ).fetchall()[0]
        seconds = time.perf_counter() - began
        cpu_seconds = time.process_time() - cpu_began
        con.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rows": events,
        "requests": len(payload["params"]),
        "jsonl_bytes": size,
    }


CONTENDERS = {"ours": ours, "bare_loop": bare_loop}


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    return CONTENDERS[payload["contender"]](payload)


def _daily_run_requests() -> tuple[int, int, date]:
    """Requests of one daily run (yesterday and 3 lookback days) of the 200 metrics, counted
    by a live sandbox's server; and the filter sets the plan has."""
    from connectors.mixpanel import fetch_mixpanel
    from connectors.mixpanel.requests import plan_requests
    from sandbox.mixpanel.server import MixpanelSandbox, demo_events

    first = LAST - timedelta(days=3)
    events = demo_events(first - timedelta(days=1), LAST, "UTC", EXTRA_EVENTS, USERS)
    server = MixpanelSandbox(events, project_id=PROJECT_ID).serve()
    try:
        metrics = _metrics()
        fetch_mixpanel(_settings(server.base_url), metrics, first, LAST, today=LAST)
        filter_sets = len(plan_requests(PROJECT_ID, metrics, [], first, LAST, LAST).exports)
        return server.total_requests, filter_sets, first
    finally:
        server.stop()


def run(scale: str = "full", repeats: int = 3) -> list[Figure]:
    from benchmarks.replay import replayed_rounds
    from connectors.mixpanel.requests import plan_requests

    days = 365 if scale == "full" else 20
    payload: dict[str, Any] = {"days": days}
    first, last = _window(payload)
    plan = plan_requests(PROJECT_ID, _metrics(), [], first, last, last)
    payload["params"] = [{"project_id": str(PROJECT_ID), **e.params()} for e in plan.exports]
    spec = {
        # every event (late ones too) has arrived by then
        "now": datetime.combine(last + timedelta(days=5), datetime.min.time(), UTC).isoformat(),
        "first": (first - timedelta(days=1)).isoformat(),
        "last": last.isoformat(),
        "extra_events": EXTRA_EVENTS,
        "users": USERS,
        "project_id": PROJECT_ID,
    }
    _, runs = replayed_rounds(
        "benchmarks.mixpanel_ingest", "mixpanel", spec, payload, CONTENDERS, repeats
    )
    o, b = runs["ours"], runs["bare_loop"]
    if any(r["events"] != b[0]["rows"] for r in o) or any(r["rows"] != b[0]["rows"] for r in b):
        raise RuntimeError("ours and the bare loop read different numbers of events")
    if any(r["requests"] != b[0]["requests"] for r in o):
        raise RuntimeError("ours and the bare loop sent different numbers of requests")
    t = {name: median([r["seconds"] for r in rs]) for name, rs in runs.items()}
    ratio, _, paired = paired_rounds(runs)
    daily_requests, filter_sets, daily_first = _daily_run_requests()
    naive = len(_names()) * 4
    return [
        Figure(
            key="mixpanel_ingest",
            title=f"Mixpanel ingest: {days} days × {len(_names())} events",
            ours=(
                f"{t['ours']:.2f} s ({o[0]['events']:,} events, {o[0]['requests']} request, "
                f"{o[0]['rows']:,} daily rows loaded)"
            ),
            reference=(
                f"{t['bare_loop']:.2f} s bare httpx loop + DuckDB read_json "
                f"({b[0]['jsonl_bytes'] / 1e6:.0f} MB JSONL)"
            ),
            ratio=ratio,
            target="≤ 2",
            met=ratio <= 2,
            command=COMMAND,
            details={
                "scale": scale,
                "repeats": len(o),
                **paired,
                "ours_fetch_seconds": [round(r["fetch_seconds"], 3) for r in o],
                "events": b[0]["rows"],
                "daily_rows": o[0]["rows"],
            },
        ),
        Figure(
            key="mixpanel_requests_per_daily_run",
            title="Mixpanel: requests per daily run (200 events, 4 days)",
            ours=f"{daily_requests} request(s)",
            reference=f"{naive} = 200 events × 4 days (one request per event per day)",
            ratio=daily_requests / naive,
            target="one per filter set",
            met=daily_requests == filter_sets,
            command=COMMAND,
            details={"window": f"{daily_first}..{LAST}", "filter_sets": filter_sets},
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if child_main(measure, argv):
        return
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    report(run(args.scale, args.repeats), NOTES, write=not args.no_record)


if __name__ == "__main__":
    main()
