"""Figure 4, pipeline overhead: the whole demo run against a trivial two-asset Dagster run.

Both run in a fresh child process with the same setup: Dagster imported before the clock
starts, an ephemeral instance, `execute_in_process`. The demo run is `okr demo`'s pipeline
(workspace, demo data, sandboxes, definitions, `run_range` from the first day the baselines
need through yesterday) without the final printout; the trivial run materialises two assets
(b depends on a) that return a number. The ratio says how much the demo costs beyond the
orchestrator's own floor.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, child_main, median, parser, report, run_child

COMMAND = "python -m benchmarks.pipeline_overhead"
NOTES = {
    "pipeline_overhead": """
### Pipeline overhead (figure 4)

Each side runs in its own fresh process, three times (median). Both import Dagster before the
clock starts; the demo's own imports (the GA4 and HubSpot client libraries, pyarrow, ...) are
part of the demo's cost, as they are for a user running `okr demo`.
""",
}


def trivial_run() -> dict[str, Any]:
    import dagster as dg

    start = time.perf_counter()

    @dg.asset
    def a() -> int:
        return 1

    @dg.asset
    def b(a: int) -> int:
        return a + 1

    defs = dg.Definitions(assets=[a, b], jobs=[dg.define_asset_job("trivial", selection="*")])
    run_config = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("trivial").execute_in_process(
            run_config=run_config, instance=instance
        )
    return {"seconds": time.perf_counter() - start, "succeeded": result.success}


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    if payload["side"] == "trivial":
        return trivial_run()
    from benchmarks.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="okr-bench-demo-") as folder:
        return run_demo(Path(folder), date.fromisoformat(payload["today"]))["demo"]


def run(scale: str = "full", repeats: int = 3) -> list[Figure]:
    today = date.today().isoformat()
    demo_runs: list[dict[str, Any]] = []
    trivial_runs: list[dict[str, Any]] = []
    for _ in range(max(1, repeats)):
        # Interleaved, so a burst of load on the shared machine hits both sides alike.
        demo_runs.append(
            run_child("benchmarks.pipeline_overhead", {"side": "demo", "today": today})
        )
        trivial_runs.append(run_child("benchmarks.pipeline_overhead", {"side": "trivial"}))
    if not all(r["succeeded"] for r in demo_runs + trivial_runs):
        raise RuntimeError(f"a run failed: {[r.get('errors') for r in demo_runs]}")
    demo_s = median([r["seconds"] for r in demo_runs])
    trivial_s = median([r["seconds"] for r in trivial_runs])
    ratio = demo_s / trivial_s
    last = demo_runs[-1]
    return [
        Figure(
            key="pipeline_overhead",
            title="Pipeline overhead: whole demo run vs trivial two-asset run",
            ours=f"demo {demo_s:.2f} s ({last['first']}..{last['last']})",
            reference=f"trivial {trivial_s:.2f} s",
            ratio=ratio,
            target="≤ 3×",
            met=ratio <= 3,
            command=COMMAND,
            details={
                "scale": scale,
                "repeats": len(demo_runs),
                "demo_seconds": [round(r["seconds"], 3) for r in demo_runs],
                "trivial_seconds": [round(r["seconds"], 3) for r in trivial_runs],
                "demo_stages_last_run": {k: round(v, 3) for k, v in last["stages"].items()},
                "demo_requests": last["requests"],
                "demo_peak_rss_mib": round(max(r["peak_rss_mib"] for r in demo_runs), 1),
                "trivial_peak_rss_mib": round(max(r["peak_rss_mib"] for r in trivial_runs), 1),
            },
        )
    ]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if child_main(measure, argv):
        return
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    report(run(args.scale, args.repeats), NOTES, write=not args.no_record)


if __name__ == "__main__":
    main()
