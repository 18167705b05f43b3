"""Figure 4b, cold start: `okr run` for one day on the demo against a trivial two-asset Dagster
run in process, each a whole fresh process measured from outside.

The demo's workspace and a short history (its daily window) are prepared once; its sandboxes
serve from this (the parent) process, as `okr sandbox` serves a user's shell. Then, round by
round, `okr run --date <yesterday>` and a script that imports Dagster and materialises two
assets (b depends on a) on an ephemeral instance, as benchmarks/pipeline_overhead.py's trivial
run does, but timed as a whole process: interpreter start, imports, definitions, run, exit.
Wall and CPU seconds and peak RSS come from the operating system's accounting of each child
(GNU time, `/usr/bin/time`). The details add `okr status`, `okr sql` and `okr validate` on the same
workspace against a bare interpreter start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, Figure, benchmark_main, median, run_child

COMMAND = "python -m benchmarks.cold_start"
_MARK = "okr-bench-time"
TRIVIAL = "from benchmarks.pipeline_overhead import trivial_run; assert trivial_run()['succeeded']"
NOTES = {
    "cold_start": """
### Cold start (figure 4b)

Whole processes, measured from outside (GNU time: wall, user + system CPU, peak RSS of
each child), the two contenders in turn for several rounds, medians of the per-round ratios.
`okr run` pays everything a user's daily run pays: the interpreter, typer, the definitions
(parsed and validated once per process: each YAML file is memoised by its content in
`okr_definitions/loader.py`, where a run used to parse the whole folder nine times), the
asset graph, the source client libraries the definitions use (GA4's, HubSpot's, httpx for
Matomo), the warehouse, and Dagster's three runs (sources, staging, progress) with their
events. The trivial run pays the interpreter, Dagster and one run of two assets.

Deferred since the last recorded run (function-level imports, each with a comment): the
weekly report's rendering (altair and vl-convert, loaded only by the report's own step), the
PostgreSQL destination (ADBC's driver) and the notify destination's senders (loaded only for
definitions that publish or notify). `okr status`, `okr sql` and `okr validate` import no
Dagster and no charting (tests/pipelines/test_cold_start.py checks it in a subprocess).

What bounds the rest: Dagster's own cost per run and step (the daily run is three runs,
sources, staging and progress, of about twenty steps where the trivial run has one run of
two), the client libraries of the sources in use (google-analytics-data with gRPC and
protobuf, hubspot-api-client, httpx), pydantic's models of the definitions, and DuckDB.
""",
}


def _timed_process(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """One child process, timed by the operating system through GNU time (a child forked
    from this process would count this process's memory as its own until it execs): wall,
    CPU (user + system) and peak RSS. Its output is discarded; a failure raises."""
    completed = subprocess.run(
        ["/usr/bin/time", "-f", f"{_MARK} %e %U %S %M", *argv],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{argv[1:]} failed ({completed.returncode}): {completed.stderr[-2000:]}"
        )
    line = next(ln for ln in reversed(completed.stderr.splitlines()) if ln.startswith(_MARK))
    wall, user, system, rss_kib = (float(x) for x in line.split()[1:])
    return {"wall": wall, "cpu": user + system, "peak_rss_mib": rss_kib / 1024}


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    """In a child: the demo's workspace with its daily window's history, in `folder`."""
    from benchmarks.demo import run_demo

    result = run_demo(
        Path(payload["folder"]), date.fromisoformat(payload["today"]), full_history=False
    )
    return {"succeeded": result["demo"]["succeeded"], "errors": result["demo"]["errors"]}


def run(scale: str = "full", repeats: int = 3) -> list[Figure]:
    from okr_cli.demo import yesterday_of
    from okr_cli.sandboxes import running_sandboxes
    from okr_definitions.loader import load_definitions

    rounds = max(1, repeats)
    today = date.today()
    day = yesterday_of(today).isoformat()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="okr-bench-cold-") as folder:
        prepared = run_child("benchmarks.cold_start", {"folder": folder, "today": str(today)})
        if not prepared["succeeded"]:
            raise RuntimeError(f"the demo's history failed: {prepared['errors']}")
        definitions_dir = Path(folder) / "okr_definitions"
        warehouse = Path(folder) / "okr_sync.duckdb"
        definitions, problems = load_definitions(definitions_dir)
        if definitions is None:
            raise RuntimeError(f"invalid demo definitions: {problems}")
        okr = [python, "-m", "okr_cli.main"]
        run_cmd = [*okr, "run", "--date", day, "-d", str(definitions_dir), "-w", str(warehouse)]
        trivial_cmd = [python, "-c", TRIVIAL]
        readers = {
            "status": [*okr, "status", "-w", str(warehouse)],
            "sql": [
                *okr,
                "sql",
                "-w",
                str(warehouse),
                "SELECT count(*) FROM okr.kr_progress_daily",
            ],
            "validate": [*okr, "validate", str(definitions_dir)],
            "python": [python, "-c", "pass"],
        }
        times: dict[str, list[dict[str, float]]] = {
            name: [] for name in ("run", "trivial", *readers)
        }
        with running_sandboxes(definitions.used_sources()):
            # Bytecode cached as on a user's machine (pip compiles what it installs, Python
            # caches the rest on first import): this shell may say not to write it, and then
            # every `okr run` would compile okr-sync's own modules from source again, while
            # Dagster's installed bytecode is there.
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env.update({"PYTHONPATH": str(REPO), "COLUMNS": "200"})
            # A warm-up of each (the file cache), then the rounds, in turn.
            for i in range(rounds + 1):
                for name, argv in (("run", run_cmd), ("trivial", trivial_cmd), *readers.items()):
                    measured = _timed_process(argv, env)
                    if i:
                        times[name].append(measured)
    wall_ratios = [
        r["wall"] / t["wall"] for r, t in zip(times["run"], times["trivial"], strict=True)
    ]
    cpu_ratios = [r["cpu"] / t["cpu"] for r, t in zip(times["run"], times["trivial"], strict=True)]
    ratio = median(wall_ratios)

    def med(name: str, what: str) -> float:
        return median([t[what] for t in times[name]])

    return [
        Figure(
            key="cold_start",
            title="Cold start: `okr run` for one day on the demo vs a trivial two-asset run",
            ours=f"okr run {med('run', 'wall'):.2f} s ({med('run', 'cpu'):.2f} s CPU)",
            reference=(
                f"trivial Dagster run {med('trivial', 'wall'):.2f} s "
                f"({med('trivial', 'cpu'):.2f} s CPU)"
            ),
            ratio=ratio,
            target="≤ 1.5×",
            met=ratio <= 1.5,
            command=COMMAND,
            details={
                "scale": scale,
                "rounds": rounds,
                "day": day,
                "whole_process": "wall from start to exit; CPU user + system; /usr/bin/time",
                "wall_ratios": [round(x, 2) for x in wall_ratios],
                "cpu_ratios": [round(x, 2) for x in cpu_ratios],
                "cpu_ratio": round(median(cpu_ratios), 2),
                "median_wall_s": {name: round(med(name, "wall"), 3) for name in times},
                "median_cpu_s": {name: round(med(name, "cpu"), 3) for name in times},
                "peak_rss_mib": {
                    name: round(max(t["peak_rss_mib"] for t in times[name]), 1) for name in times
                },
                "load_average": [round(x, 2) for x in os.getloadavg()],
            },
        )
    ]


def main(argv: list[str] | None = None) -> None:
    benchmark_main(__doc__, measure, run, NOTES, argv)


if __name__ == "__main__":
    main()
