"""`okr demo`'s pipeline without its printing: the workspace, the sandboxes and `run_range`.

Shared by the pipeline-overhead figure (how long the whole demo run takes) and the API-economy
figure (how many HTTP requests a daily run of the demo definitions makes). The steps are the
ones `okr_cli.main.demo` takes, called through the same functions.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any


@dataclass
class DemoRun:
    seconds: float
    succeeded: bool
    first: date
    last: date
    errors: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)


def run_demo(
    folder: Path, today: date, daily_after: bool = False, full_history: bool = True
) -> dict[str, Any]:
    """The demo run in this process; with `daily_after`, then one daily run (yesterday plus
    the lookback, as the schedule asks for) with the sandboxes' request counts. Without
    `full_history` (the test suite's toy scale) the "demo run" covers the daily window only.

    Dagster is imported before the clock starts (the trivial run it is compared with pays the
    same import outside its clock); everything the demo imports beyond it is the demo's cost.
    """
    import dagster as dg

    stages: dict[str, float] = {}
    mark = time.perf_counter()
    start = mark

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[name] = now - mark
        mark = now

    from okr_cli.demo import prepare_workspace, write_demo_data, yesterday_of
    from okr_cli.sandboxes import running_sandboxes
    from pipelines.build import build_definitions
    from pipelines.resources import load_valid_definitions
    from pipelines.runner import run_range

    lap("imports")
    definitions_path = prepare_workspace(folder, today)
    yesterday = yesterday_of(today)
    write_demo_data(definitions_path, today - timedelta(days=400), yesterday)
    os.environ["OKR_WAREHOUSE"] = str(folder / "okr_sync.duckdb")
    os.environ["OKR_DEFINITIONS"] = str(definitions_path)
    definitions = load_valid_definitions(definitions_path)
    first = definitions.earliest_date_needed()
    if not full_history:
        first = max(first, yesterday - timedelta(days=definitions.organisation.lookback_days))
    lap("workspace")
    result: dict[str, Any] = {}
    with running_sandboxes(definitions.used_sources()) as servers:
        lap("sandboxes")
        defs = build_definitions(load_valid_definitions(definitions_path))
        lap("definitions")
        with dg.DagsterInstance.ephemeral() as instance:
            outcome = run_range(defs, first, yesterday, instance, log_level="ERROR")
            runs = [instance.get_run_by_id(run_id) for run_id in outcome.run_ids]
        lap("run_range")
        result["demo"] = {
            "seconds": time.perf_counter() - start,
            "succeeded": outcome.succeeded,
            "errors": outcome.errors,
            "first": first.isoformat(),
            "last": yesterday.isoformat(),
            "stages": stages,
            "requests": {name: s.total_requests for name, s in servers.items()},
            "shape": run_shapes(defs, runs),
        }
        if daily_after:
            result["daily"] = _daily_run(defs, definitions, servers, today)
    return result


def run_shapes(defs: Any, runs: list[Any]) -> list[dict[str, Any]]:
    """Per run `run_range` made: its job, how many daily-partitioned and unpartitioned assets
    it materialised, and its days."""
    from pipelines.schedules import RANGE_END, RANGE_START

    graph = defs.resolve_asset_graph()
    shapes = []
    for run in runs:
        keys = (
            run.asset_selection
            or defs.resolve_job_def(run.job_name).asset_layer.executable_asset_keys
        )
        partitioned = sum(1 for k in keys if graph.get(k).partitions_def is not None)
        shapes.append(
            {
                "job": run.job_name,
                "partitioned": partitioned,
                "unpartitioned": len(keys) - partitioned,
                "first": run.tags[RANGE_START],
                "last": run.tags[RANGE_END],
            }
        )
    return shapes


def _daily_run(defs: Any, definitions: Any, servers: dict[str, Any], today: date) -> dict[str, Any]:
    import dagster as dg

    from pipelines.runner import run_range
    from pipelines.schedules import daily_window

    lookback = definitions.organisation.lookback_days
    first, last = daily_window(today, lookback, definitions.earliest_date_needed())
    for server in servers.values():
        server.reset_counts()
    began = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = run_range(defs, first, last, instance, log_level="ERROR")
    seconds = time.perf_counter() - began
    days = (last - first).days + 1
    api_metrics = sorted(
        m.id
        for m in (definitions.metric(mid) for mid in definitions.metrics)
        if getattr(m, "source", None) in servers
    )
    return {
        "seconds": seconds,
        "succeeded": outcome.succeeded,
        "errors": outcome.errors,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "days": days,
        "lookback_days": lookback,
        "api_metrics": api_metrics,
        "requests": {name: s.total_requests for name, s in servers.items()},
        "requests_by_path": {
            name: dict(sorted(s.request_counts.items())) for name, s in servers.items()
        },
    }
