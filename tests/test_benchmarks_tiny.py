"""Every benchmark runs at toy scale and prints its figures (no timing is asserted).

The full figures take minutes (`python -m benchmarks.run_all`); here each benchmark's whole
path — sandboxes, child processes, recording and replay, the SQL, the ratio — runs on a few
rows, so a change that breaks a benchmark shows in the suite. RESULTS.md is never written.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import (  # noqa: E402
    api_economy,
    incremental,
    ingest,
    pipeline_overhead,
    publish,
    transform,
)
from benchmarks.common import Figure  # noqa: E402


def _check(figures: list[Figure], keys: list[str]) -> None:
    assert [f.key for f in figures] == keys
    for figure in figures:
        print(figure.line())
        assert math.isfinite(figure.ratio) and figure.ratio > 0
        assert figure.ours and figure.reference and figure.target
        assert figure.command.startswith("python -m benchmarks.")
        assert figure.details["scale"] == "tiny"


def test_ingest_tiny() -> None:
    figures = ingest.run("tiny", repeats=1)
    _check(figures, ["ingest_ga4", "ingest_hubspot"])
    ga4, hubspot = figures
    rows = ga4.details["rows"]
    # 40 pages × 25 days, every contender read every row of the same answers.
    assert rows["ours"] == rows["bare_loop"] == rows["local_files"] == 1000
    assert ga4.details["http_requests"] == ga4.details["connector_requests"] > 1
    assert hubspot.details["rows"]["bare_loop"] == hubspot.details["rows"]["local_files"] > 0
    assert hubspot.details["rows"]["ours"] > 0
    for figure in figures:
        assert all(v > 0 for v in figure.details["median_seconds"].values())
        assert all(x > 0 for runs in figure.details["peak_rss_mib"].values() for x in runs)


def test_transform_tiny() -> None:
    (figure,) = transform.run("tiny", repeats=1)
    _check([figure], ["transform"])
    assert figure.details["kr_rows"] == 20 * 365
    assert sum(figure.details["statuses"].values()) == figure.details["kr_rows"]


def test_incremental_tiny() -> None:
    (figure,) = incremental.run("tiny", repeats=1)
    _check([figure], ["incremental"])
    tables = figure.details["tables"]
    assert tables["365"]["staging.metric_daily"] > tables["30"]["staging.metric_daily"] > 0
    steps = figure.details["steps"]["365_days_median_s"]
    assert steps["total"] == pytest.approx(
        sum(v for k, v in steps.items() if k != "total"), abs=1e-3
    )


@pytest.mark.parametrize(
    ("module", "key"),
    [(pipeline_overhead.run, "pipeline_overhead"), (api_economy.run, "api_economy")],
)
def test_demo_figures_tiny(module: Callable[..., list[Figure]], key: str) -> None:
    figures = module("tiny", repeats=1)
    _check(figures, [key])
    if key == "api_economy":
        details = figures[0].details
        assert sum(sum(p.values()) for p in details["requests_by_path"].values()) > 0
        assert details["api_metrics"]


def test_publish_tiny() -> None:
    figures = publish.run("tiny", repeats=1)
    _check(figures, ["publish_full", "publish_daily"])
    assert figures[0].details["rows"] == 20 * 365
