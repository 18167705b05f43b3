"""The Dagster UI answers "where does this number come from?" — asked of a real
dagster-webserver over its GraphQL API, and looked at in a real headless Chromium.

The demo runs with DAGSTER_HOME set, so its materialisations are in the instance the webserver
reads; the webserver is started the way `dagster dev` finds the project: from the repository
root through `[tool.dagster]` in pyproject.toml.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
LOCATION = "okr_sync"  # [tool.dagster] code_location_name
RELOAD = (
    f'mutation {{ reloadRepositoryLocation(repositoryLocationName: "{LOCATION}") '
    "{ __typename } }"
)

ASSET_QUERY = """
{ assetNodes {
    assetKey { path } description groupName kinds opVersion
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    dependencyKeys { path }
    metadataEntries {
      label
      ... on MarkdownMetadataEntry { mdStr }
      ... on TableMetadataEntry { table { records } }
    }
} }
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Webserver:
    def __init__(self, base: str) -> None:
        self.base = base

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.base}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            payload = json.load(answer)
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def assets(self) -> dict[str, dict[str, Any]]:
        return {"/".join(n["assetKey"]["path"]): n for n in self.graphql(ASSET_QUERY)["assetNodes"]}

    def stale_by_partition(self, path: list[str], partition: str) -> tuple[str, list[str]]:
        data = self.graphql(
            """query($key: AssetKeyInput!, $p: [String!]!) {
              assetNodeOrError(assetKey: $key) { ... on AssetNode {
                staleStatusByPartition(partitions: $p)
                staleCausesByPartition(partitions: $p) { reason }
              } } }""",
            {"key": {"path": path}, "p": [partition]},
        )["assetNodeOrError"]
        return data["staleStatusByPartition"][0], [
            c["reason"] for c in data["staleCausesByPartition"][0]
        ]


@pytest.fixture(scope="module")
def demo_home(shared_demo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a private copy of the session's shared demo (its definitions, its
    warehouse and the Dagster instance holding its runs): tests here edit the definitions and
    run the pipeline from the UI."""
    assert shared_demo.returncode == 0, shared_demo.stderr
    folder = tmp_path_factory.mktemp("ui")
    shutil.copytree(shared_demo.definitions, folder / "okr_definitions")
    shutil.copytree(shared_demo.dagster_home, folder / "dagster_home")
    shutil.copy2(shared_demo.warehouse, folder / "okr_sync.duckdb")
    return {
        **os.environ,
        "DAGSTER_HOME": str(folder / "dagster_home"),
        "OKR_DEFINITIONS": str(folder / "okr_definitions"),
        "OKR_WAREHOUSE": str(folder / "okr_sync.duckdb"),
        # the hand-over sensors (source → staging → progress) look every 2 s, not every 30
        "OKR_SENSOR_INTERVAL_SECONDS": "2",
    }


@pytest.fixture(scope="module")
def demo_through(shared_demo) -> date:
    """The newest day the demo ran through: the day its partitions end at, whatever the clock
    says when a test reads them (the demo may have run before midnight, the test after)."""
    assert shared_demo.through is not None, shared_demo.stderr
    return shared_demo.through


@pytest.fixture(scope="module")
def webserver(demo_home: dict[str, str]) -> Iterator[Webserver]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=demo_home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        server = Webserver(base)
        # the code location loads in its own process after the server answers
        deadline = time.monotonic() + 180
        while not server.assets():
            assert time.monotonic() < deadline, "the code location did not load"
            time.sleep(0.5)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


SOURCES = ["raw/file", "raw/ga4", "raw/matomo", "raw/hubspot"]


def test_every_asset_is_described_owned_and_connected(webserver: Webserver) -> None:
    assets = webserver.assets()
    expected = {
        *SOURCES,
        "staging/metric_daily",
        "okr/kr_progress_daily",
        "okr/objective_progress_daily",
        "okr/key_results",
        "okr/metrics",
        "okr/objectives",
        "okr/teams",
        "okr/kr_lineage",
        "okr/objective/product-pages-convert",
        "okr/objective/found-by-readers",
        "okr/objective/grow-new-business",
    }
    assert expected <= set(assets)
    for path, node in assets.items():
        assert node["description"], f"{path} has no description"
        assert node["owners"], f"{path} has no owner"
        assert node["groupName"] in {"sources", "staging", "okr", "reports"}, path
        assert node["kinds"], f"{path} has no kinds"

    def upstream(path: str) -> set[str]:
        return {"/".join(d["path"]) for d in assets[path]["dependencyKeys"]}

    # every source reaches the key-result table through staging
    assert set(SOURCES) <= upstream("staging/metric_daily")
    assert "staging/metric_daily" in upstream("okr/kr_progress_daily")
    assert {"okr/key_results", "okr/metrics"} <= upstream("okr/kr_progress_daily")
    # an objective points at exactly the sources its key results read
    assert upstream("okr/objective/product-pages-convert") & set(SOURCES) == {
        "raw/ga4",
        "raw/matomo",
    }
    assert upstream("okr/objective/grow-new-business") & set(SOURCES) == {"raw/hubspot"}


def test_the_conversion_key_result_resolves_to_its_ga4_query(webserver: Webserver) -> None:
    assets = webserver.assets()
    node = assets["okr/objective/product-pages-convert"]
    table = next(e for e in node["metadataEntries"] if e["label"] == "key_result_lineage")
    records = [json.loads(r) for r in table["table"]["records"]]
    rows = [r for r in records if r["key_result"] == "product-page-conversion"]
    # a ratio: its numerator and denominator, both GA4 queries with the product-page filter
    assert len(rows) == 2
    assert all('"begins_with": "/products/"' in r["source_query"] for r in rows)
    assert any('"metric": "keyEvents:purchase"' in r["source_query"] for r in rows)
    assert any('"metric": "sessions"' in r["source_query"] for r in rows)
    # the link each row carries is the UI's page of an asset that exists
    for row in rows:
        assert row["source_asset_url"] == "/assets/raw/ga4"
        assert row["source_asset_url"].removeprefix("/assets/") in assets


def test_editing_a_target_marks_what_it_feeds_as_stale(
    webserver: Webserver, demo_home: dict[str, str], demo_through: date
) -> None:
    yesterday = demo_through.isoformat()
    kr_table = ["okr", "kr_progress_daily"]
    convert = ["okr", "objective", "product-pages-convert"]
    sales = ["okr", "objective", "grow-new-business"]
    assert webserver.stale_by_partition(kr_table, yesterday)[0] == "FRESH"
    growth = Path(demo_home["OKR_DEFINITIONS"]) / "growth.yaml"
    text = growth.read_text()
    assert "target: 5.5%" in text
    growth.write_text(text.replace("target: 5.5%", "target: 6%"))
    try:
        reload = webserver.graphql(RELOAD)
        assert reload["reloadRepositoryLocation"]["__typename"] == "WorkspaceLocationEntry"
        status, causes = webserver.stale_by_partition(kr_table, yesterday)
        assert status == "STALE" and "has a new code version" in causes
        assert webserver.stale_by_partition(convert, yesterday)[0] == "STALE"
        assert webserver.stale_by_partition(sales, yesterday)[0] == "FRESH"
    finally:
        growth.write_text(text)
        webserver.graphql(RELOAD)


def test_asset_lineage_page_renders_in_chromium(webserver: Webserver) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "asset-lineage.png"
    url = (
        f"{webserver.base}/assets/okr/objective/product-pages-convert"
        "?view=lineage&lineageScope=upstream&lineageDepth=4"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(url, wait_until="load", timeout=120_000)
            # Dagster's first-visit community dialog covers the graph; dismiss it if shown.
            with contextlib.suppress(PlaywrightTimeout):  # no dialog on this visit
                page.get_by_role("button", name="Skip").click(timeout=10_000)
            for name in ("ga4", "matomo", "kr_progress_daily"):
                page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000


def test_the_demo_recorded_the_report_it_wrote(webserver: Webserver, demo_through: date) -> None:
    """`okr demo` (DAGSTER_HOME set) writes the newest week's report and records it as that
    week's materialisation of reports/weekly_checkin, without a run."""
    data = webserver.graphql(
        """{ assetOrError(assetKey: {path: ["reports", "weekly_checkin"]}) { ... on Asset {
            assetMaterializations(limit: 1) {
              partition runId metadataEntries { label ... on PathMetadataEntry { path } }
            } } } }"""
    )
    (event,) = data["assetOrError"]["assetMaterializations"]
    week = demo_through - timedelta(days=demo_through.weekday())
    assert event["partition"] == week.isoformat()
    assert event["runId"] == ""
    path = next(e["path"] for e in event["metadataEntries"] if e["label"] == "path")
    assert Path(path).exists()


def test_the_progress_assets_have_no_missing_partition_after_the_demo(
    webserver: Webserver, demo_home: dict[str, str], demo_through: date
) -> None:
    """The UI's partition counts (its "% filled"): the demo materialised every partition of
    staging, from the first baseline day, and of the progress assets, which start at the
    first period day, so none shows the baseline days as missing."""
    from zoneinfo import ZoneInfo

    from okr_definitions.loader import load_definitions

    definitions, _ = load_definitions(Path(demo_home["OKR_DEFINITIONS"]))
    assert definitions is not None
    zone = ZoneInfo(definitions.organisation.timezone)
    period_start = min(kr.period_start for kr in definitions.resolved_key_results())
    # The newest partition is the newest day ended in the organisation's zone now, when the
    # webserver counts; the demo ran through its own yesterday, maybe a midnight earlier:
    # the days between are partitions not run yet.
    newest = datetime.now(zone).date() - timedelta(days=1)
    not_run = max(0, (newest - demo_through).days)
    expected = {
        "staging/metric_daily": (newest - definitions.earliest_date_needed()).days + 1,
        "okr/kr_progress_daily": (newest - period_start).days + 1,
        "okr/objective_progress_daily": (newest - period_start).days + 1,
        "okr/objective/grow-new-business": (newest - period_start).days + 1,
    }
    for path, partitions in expected.items():
        stats = webserver.graphql(
            """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
                ... on AssetNode { partitionStats {
                    numMaterialized numPartitions numFailed numMaterializing } } } }""",
            {"key": {"path": path.split("/")}},
        )["assetNodeOrError"]["partitionStats"]
        assert stats["numPartitions"] == partitions, (path, stats)
        assert stats["numMaterialized"] == partitions - not_run, (path, stats)
        assert stats["numFailed"] == 0, (path, stats)


# ---- a source partition materialised from the UI flows on to the progress tables ----------

LAUNCH = """
mutation($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}
"""
RUN = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
RUNS = """
query { runsOrError(limit: 20) { ... on Runs { results {
  runId jobName status tags { key value }
} } } }
"""
SENSOR_TICKS = """
query($name: String!) { sensorOrError(sensorSelector: {
    repositoryLocationName: "okr_sync", repositoryName: "__repository__", sensorName: $name
}) { ... on Sensor { sensorState { ticks(limit: 1) { status } } } } }
"""
DONE = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.fixture(scope="module")
def daemon(webserver: Webserver, demo_home: dict[str, str]) -> Iterator[None]:
    """`dagster-daemon run` on the same workspace and instance: it evaluates the sensors and
    starts the queued runs, as beside `dagster dev`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster._daemon", "run"],
        cwd=REPO,
        env=demo_home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield
    finally:
        # the daemon and the runs it started share its process group
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=3)  # a throwaway instance: no need to wait for a clean stop
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _wait(condition, what: str, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def _open_rate(warehouse: str, day: str) -> float:
    import duckdb

    with duckdb.connect(warehouse, read_only=True) as con:
        (value,) = con.execute(
            "SELECT value FROM okr.kr_progress_daily "
            "WHERE kr_id = 'newsletter-open-rate' AND as_of_date = ?",
            [day],
        ).fetchone()
    return value


def test_a_source_partition_materialised_in_the_ui_updates_that_days_progress(
    webserver: Webserver, daemon: None, demo_home: dict[str, str], demo_through: date
) -> None:
    import csv

    warehouse = demo_home["OKR_WAREHOUSE"]
    day = demo_through.isoformat()  # a day the demo computed
    before = _open_rate(warehouse, day)
    previous_day = (demo_through - timedelta(days=1)).isoformat()
    day_before = _open_rate(warehouse, previous_day)
    # The newsletter tool's export restates the day: every delivered mail was opened.
    export = Path(demo_home["OKR_DEFINITIONS"]) / "data" / "newsletter.csv"
    rows = list(csv.DictReader(export.open()))
    (row,) = [r for r in rows if r["date"] == day]
    assert row["numerator"] != row["denominator"]
    row["numerator"] = row["denominator"]
    with export.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["date", "numerator", "denominator"])
        writer.writeheader()
        writer.writerows(rows)
    # A run-status sensor starts from the runs that end after its first evaluation.
    for sensor in ("models_after_sources_succeeded", "progress_after_staging"):
        _wait(
            lambda sensor=sensor: webserver.graphql(SENSOR_TICKS, {"name": sensor})[
                "sensorOrError"
            ]["sensorState"]["ticks"],
            f"the first tick of {sensor}",
        )
    # What the UI sends for "Materialize" on one partition of raw/file.
    launched = webserver.graphql(
        LAUNCH,
        {
            "params": {
                "selector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": "__repository__",
                    "jobName": "__ASSET_JOB",
                    "assetSelection": [{"path": ["raw", "file"]}],
                    "assetCheckSelection": [],
                },
                "mode": "default",
                "runConfigData": {},
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day}]},
            }
        },
    )["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    source_run = launched["run"]["runId"]
    status = _wait(
        lambda: (
            webserver.graphql(RUN, {"id": source_run})["runOrError"]["status"] in DONE
            and webserver.graphql(RUN, {"id": source_run})["runOrError"]["status"]
        ),
        "the source run",
    )
    assert status == "SUCCESS"

    def run_after(job: str, sensor: str) -> Callable[[], dict | None]:
        def finished() -> dict | None:
            runs = webserver.graphql(RUNS)["runsOrError"]["results"]
            return next(
                (
                    r
                    for r in runs
                    if r["jobName"] == job
                    and {"key": "dagster/sensor_name", "value": sensor} in r["tags"]
                    and r["status"] in DONE
                ),
                None,
            )

        return finished

    # the sensors hand the day on: staging, then the progress tables
    for job, sensor in (
        ("okr_staging", "models_after_sources_succeeded"),
        ("okr_progress", "progress_after_staging"),
    ):
        run = _wait(run_after(job, sensor), f"the {job} run the sensor {sensor} starts")
        assert run["status"] == "SUCCESS", run
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert (
            tags["dagster/asset_partition_range_start"]
            == tags["dagster/asset_partition_range_end"]
            == day
        )
    # ratio of sums over the quarter so far: the day's opens rose, so the rate did
    after = _open_rate(warehouse, day)
    assert after > before
    assert _open_rate(warehouse, previous_day) == day_before
