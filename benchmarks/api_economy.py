"""Figure 5, API economy: HTTP requests of one daily run of the demo definitions.

The demo's history is loaded first (the whole `okr demo` run); then one daily run — yesterday
plus the organisation's `lookback_days`, the window the schedule asks for — runs with the
sandboxes' request counters reset. The counters are the servers' own
(`SandboxServer.request_counts`), so every retry, page and batch is counted, whoever sends
it. The reference is the naive client: one request per API metric per day of the window.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, benchmark_main, run_child

COMMAND = "python -m benchmarks.api_economy"
NOTES = {
    "api_economy": """
### API economy (figure 5)

Counted by the sandboxes' own servers for one daily run (yesterday + `lookback_days`) after
the demo's history is in place. GA4 metrics that share a property, filter and dimensions are
one report; reports go five to a `batchRunReports`; Matomo sends every report and day of a run
in one `API.getBulkRequest`; HubSpot reads only what changed since the last run (one search
and one recycle-bin page per object type, plus the pipelines); a window of days is one
request, not one per day. The reference (one request per metric per day) is what a
per-metric, per-partition client would send.
""",
}


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="okr-bench-api-") as folder:
        return run_demo(
            Path(folder),
            date.fromisoformat(payload["today"]),
            daily_after=True,
            full_history=payload["scale"] == "full",
        )


def run(scale: str = "full", repeats: int = 1) -> list[Figure]:
    # Request counts are deterministic: one run is the figure (repeats only cost time).
    result = run_child(
        "benchmarks.api_economy", {"today": date.today().isoformat(), "scale": scale}
    )
    daily = result["daily"]
    if not daily["succeeded"]:
        raise RuntimeError(f"the daily run failed: {daily['errors']}")
    ours = sum(daily["requests"].values())
    naive = len(daily["api_metrics"]) * daily["days"]
    by_source = ", ".join(f"{k} {v}" for k, v in sorted(daily["requests"].items()))
    return [
        Figure(
            key="api_economy",
            title="API economy: requests per daily run (demo definitions)",
            ours=f"{ours} requests ({by_source})",
            reference=(f"{naive} = {len(daily['api_metrics'])} API metrics × {daily['days']} days"),
            ratio=ours / naive if naive else 0.0,
            target="< 1 (fewer than one request per metric per day)",
            met=ours < naive,
            command=COMMAND,
            details={
                "scale": scale,
                "window": f"{daily['first']}..{daily['last']}",
                "lookback_days": daily["lookback_days"],
                "api_metrics": daily["api_metrics"],
                "requests_by_path": daily["requests_by_path"],
                "demo_history_requests": result["demo"]["requests"],
            },
        )
    ]


def main(argv: list[str] | None = None) -> None:
    benchmark_main(__doc__, measure, run, NOTES, argv)


if __name__ == "__main__":
    main()
