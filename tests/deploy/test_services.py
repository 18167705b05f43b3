"""The production deployment as real processes (README, "Deploy"): `dagster code-server start`,
`dagster-daemon run` and `dagster-webserver`, started with the ExecStart lines of
deploy/systemd/*.service, deploy/dagster.yaml and deploy/workspace.yaml, on a private cluster
of Debian's PostgreSQL, with the demo's definitions and the sandboxes as sources.

The test's only changes to deploy/: a cron of every minute (OKR_SCHEDULE_CRON), a sensor
interval of 2 s (OKR_SENSOR_INTERVAL_SECONDS) and a run-monitoring poll of 2 s, so the whole
story takes about two ticks. Everything is observed through the webserver's GraphQL API.

One deployment (module-scoped: stopped as soon as its test ends), in one test, so xdist runs
it beside the rest on one worker; it is mostly waiting for the clock and for the runs.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import yaml
from postgres_cluster import SUPERUSER, SUPERUSER_PASSWORD, PostgresCluster

from okr_cli.demo import prepare_workspace, write_demo_data
from okr_cli.sandboxes import running_sandboxes
from okr_definitions.loader import load_definitions

# Minutes of real services and cron ticks: outside the suite, `pytest -m deploy` (pyproject).
pytestmark = pytest.mark.deploy

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
SERVICES = ("code-server", "daemon", "webserver")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unit_command(service: str, env: dict[str, str]) -> list[str]:
    """The ExecStart of deploy/systemd/okr-sync-<service>.service, with /opt/okr-sync read as
    this checkout and its venv, and ${VARIABLES} expanded as systemd does from the env file."""
    text = (DEPLOY / "systemd" / f"okr-sync-{service}.service").read_text()
    line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    line = line.removeprefix("ExecStart=")
    line = line.replace("/opt/okr-sync/.venv/bin/", f"{BIN}/").replace("/opt/okr-sync/", f"{REPO}/")
    line = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], line)
    return shlex.split(line)


@dataclass
class Deployment:
    folder: Path
    env: dict[str, str]
    webserver_port: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, service: str) -> None:
        log = (self.folder / f"{service}.log").open("a")
        self.processes[service] = subprocess.Popen(
            unit_command(service, self.env),
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill takes its children too
        )

    def kill(self, service: str) -> None:
        process = self.processes.pop(service)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def graphql(self, query: str, **variables: Any) -> dict:
        answer = httpx.post(
            f"http://127.0.0.1:{self.webserver_port}/graphql",
            json={"query": query, "variables": variables},
            timeout=60,
        )
        answer.raise_for_status()
        body = answer.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def runs(self) -> list[dict]:
        data = self.graphql(RUNS)["runsOrError"]
        assert data["__typename"] == "Runs", data
        return sorted(data["results"], key=lambda r: r["creationTime"])

    def messages(self, run_id: str) -> list[tuple[str, str]]:
        """Every event of the run (the API pages them): (event type, message)."""
        found: list[tuple[str, str]] = []
        cursor = None
        while True:
            page = self.graphql(EVENTS, runId=run_id, cursor=cursor)["logsForRun"]
            found += [(e["__typename"], e.get("message") or "") for e in page["events"]]
            if not page["hasMore"]:
                return found
            cursor = page["cursor"]

    def stop_schedule(self) -> None:
        """No more ticks once the story is told: runs queued behind every minute's tick would
        only slow the test down."""
        state = self.graphql(SCHEDULE)["scheduleOrError"]["scheduleState"]
        stopped = self.graphql(STOP_SCHEDULE, id=state["id"])["stopRunningSchedule"]
        assert stopped["__typename"] == "ScheduleStateResult", stopped

    def log(self, service: str) -> str:
        return (self.folder / f"{service}.log").read_text(errors="replace")[-4000:]


RUNS = """
query { runsOrError { __typename ... on Runs { results {
  runId jobName status creationTime tags { key value } } } } }
"""
EVENTS = """
query ($runId: ID!, $cursor: String) { logsForRun(runId: $runId, afterCursor: $cursor) {
  __typename ... on EventConnection { cursor hasMore
  events { __typename ... on MessageEvent { message } } } } }
"""
SCHEDULE = """
query { scheduleOrError(scheduleSelector: {repositoryLocationName: "okr_sync",
  repositoryName: "__repository__", scheduleName: "daily_okr_sync"}) {
  __typename ... on Schedule { scheduleState { id status } } } }
"""
STOP_SCHEDULE = """
mutation ($id: String) { stopRunningSchedule(id: $id) { __typename } }
"""


def wait_for(what: str, probe: Callable[[], Any], timeout: float, deployment: Deployment) -> Any:
    """Polls `probe` until it returns something truthy; on timeout, fails with the logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except (httpx.HTTPError, OSError):
            found = None  # the webserver is (re)starting
        if found:
            return found
        time.sleep(0.5)
    logs = "\n".join(f"--- {s}\n{deployment.log(s)}" for s in SERVICES)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")


def _instance_yaml(home: Path) -> None:
    """deploy/dagster.yaml with run monitoring polling every 2 s instead of 2 minutes."""
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 2
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def deployment(
    postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("deployment")
    home = folder / "dagster_home"
    home.mkdir()
    _instance_yaml(home)
    postgres_cluster.create_database("dagster")
    today = date.today()
    definitions = prepare_workspace(folder, today)
    # as `okr demo` does: the data first, so validation finds the export files
    write_demo_data(definitions, today - timedelta(days=400), today - timedelta(days=1))
    defs, problems = load_definitions(definitions)
    assert defs is not None, problems
    with running_sandboxes(defs.used_sources()):
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(postgres_cluster.port),
            "DAGSTER_PG_USER": SUPERUSER,
            "DAGSTER_PG_PASSWORD": SUPERUSER_PASSWORD,
            "DAGSTER_PG_DB": "dagster",
            "OKR_COMPUTE_LOG_DIR": str(home / "compute_logs"),
            "OKR_CODE_SERVER_HOST": "127.0.0.1",
            "OKR_CODE_SERVER_PORT": str(_free_port()),
            "OKR_WEBSERVER_PORT": str(_free_port()),
            "OKR_DEFINITIONS": str(definitions),
            "OKR_WAREHOUSE": str(folder / "okr_sync.duckdb"),
            "OKR_SCHEDULE_CRON": "* * * * *",
            "OKR_SENSOR_INTERVAL_SECONDS": "2",
        }
        running = Deployment(folder, env, int(env["OKR_WEBSERVER_PORT"]))
        try:
            for service in SERVICES:
                running.start(service)
            yield running
        finally:
            for service in list(running.processes):
                running.kill(service)


def _tag(run: dict, key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


def _scheduled_source_runs(deployment: Deployment) -> list[dict]:
    return [
        r
        for r in deployment.runs()
        if r["jobName"] == "okr_sources" and _tag(r, "dagster/schedule_name") == "daily_okr_sync"
    ]


def _pid(deployment: Deployment, run_id: str) -> int | None:
    """The run worker's pid, once its first step has started (the run is mid-way)."""
    messages = deployment.messages(run_id)
    if not any(kind == "ExecutionStepStartEvent" for kind, _ in messages):
        return None
    for _, message in messages:
        found = re.search(r"Started process for run \(pid: (\d+)\)", message)
        if found:
            return int(found.group(1))
    return None


@pytest.fixture(scope="module")
def dead_run(deployment: Deployment) -> dict:
    """The first tick's source run, killed mid-way together with the daemon; the daemon
    restarted. Returns the run as the webserver reports it once it is failed."""
    first = wait_for(
        "the first tick's source run", lambda: _scheduled_source_runs(deployment), 150, deployment
    )[0]
    pid = wait_for("its first step", lambda: _pid(deployment, first["runId"]), 120, deployment)
    deployment.kill("daemon")
    os.kill(pid, signal.SIGKILL)  # the run's own process dies with it (a crash, an OOM kill)
    deployment.start("daemon")

    def failed() -> dict | None:
        run = next(r for r in deployment.runs() if r["runId"] == first["runId"])
        return run if run["status"] == "FAILURE" else None

    return wait_for("the dead run to be marked failed", failed, 60, deployment)


def check_a_run_whose_process_died_is_marked_failed(deployment: Deployment, dead_run: dict) -> None:
    # the code server ("DagsterApiServer") watches the run processes it started
    crash = f"Run execution process for {dead_run['runId']} was terminated by signal 9 (SIGKILL)."
    messages = [m for _, m in deployment.messages(dead_run["runId"])]
    assert any(crash in m for m in messages), messages[-5:]
    assert dead_run["status"] == "FAILURE"


@dataclass(frozen=True)
class CatchUp:
    sources: dict
    staging: dict
    progress: dict
    reports: list[dict]


@pytest.fixture(scope="module")
def catch_up(deployment: Deployment, dead_run: dict) -> CatchUp:
    """The next tick after the dead run: its source run, the staging run the sensor started
    after it, the progress run after that, and the report runs after that — each waited for
    until it succeeded."""

    def caught_up() -> dict | None:
        later = [
            r
            for r in _scheduled_source_runs(deployment)
            if r["creationTime"] > dead_run["creationTime"] and r["status"] == "SUCCESS"
        ]
        return later[0] if later else None

    def next_tick() -> dict | None:
        later = [
            r
            for r in _scheduled_source_runs(deployment)
            if r["creationTime"] > dead_run["creationTime"]
        ]
        return later[0] if later else None

    wait_for("the next tick", next_tick, 150, deployment)
    deployment.stop_schedule()
    sources = wait_for("the next tick's source run to succeed", caught_up, 400, deployment)

    def after(job: str, run_key: str) -> Callable[[], dict | None]:
        def succeeded() -> dict | None:
            runs = [
                r
                for r in deployment.runs()
                if r["jobName"] == job and _tag(r, "dagster/run_key") == run_key
            ]
            return runs[0] if runs and runs[0]["status"] == "SUCCESS" else None

        return succeeded

    staging_run = wait_for(
        "the sensor's staging run to succeed",
        after("okr_staging", f"models-after-{sources['runId']}"),
        400,
        deployment,
    )
    progress_run = wait_for(
        "the sensor's progress run to succeed",
        after("okr_progress", f"progress-after-{staging_run['runId']}"),
        400,
        deployment,
    )

    def reports() -> list[dict] | None:
        runs = [
            r
            for r in deployment.runs()
            if r["jobName"] == "okr_reports"
            and (_tag(r, "dagster/run_key") or "").endswith(f"-after-{progress_run['runId']}")
        ]
        return runs if runs and all(r["status"] == "SUCCESS" for r in runs) else None

    report_runs = wait_for("the reports after the progress run", reports, 400, deployment)
    return CatchUp(sources, staging_run, progress_run, report_runs)


def check_the_next_tick_catches_up_sources_then_models_then_reports(
    deployment: Deployment, dead_run: dict, catch_up: CatchUp
) -> None:
    window = (
        _tag(catch_up.sources, "dagster/asset_partition_range_start"),
        _tag(catch_up.sources, "dagster/asset_partition_range_end"),
    )
    # the same days as the run that died: nothing of its window is left out
    assert window == (
        _tag(dead_run, "dagster/asset_partition_range_start"),
        _tag(dead_run, "dagster/asset_partition_range_end"),
    )
    assert _tag(catch_up.staging, "dagster/sensor_name") == "models_after_sources_succeeded"
    assert (
        _tag(catch_up.staging, "dagster/asset_partition_range_start"),
        _tag(catch_up.staging, "dagster/asset_partition_range_end"),
    ) == window
    # the progress run: the same days, from the first day of the key results' periods on
    definitions, _ = load_definitions(Path(deployment.env["OKR_DEFINITIONS"]))
    assert definitions is not None
    period_start = min(kr.period_start for kr in definitions.resolved_key_results())
    assert _tag(catch_up.progress, "dagster/sensor_name") == "progress_after_staging"
    assert (
        _tag(catch_up.progress, "dagster/asset_partition_range_start"),
        _tag(catch_up.progress, "dagster/asset_partition_range_end"),
    ) == (max(window[0], period_start.isoformat()), window[1])
    assert {_tag(r, "dagster/sensor_name") for r in catch_up.reports} == {"reports_after_models"}


def check_nothing_lost_or_doubled_in_the_warehouse(deployment: Deployment, dead_run: dict) -> None:
    first = date.fromisoformat(_tag(dead_run, "dagster/asset_partition_range_start"))
    last = date.fromisoformat(_tag(dead_run, "dagster/asset_partition_range_end"))
    days = (last - first).days + 1
    con = duckdb.connect(deployment.env["OKR_WAREHOUSE"], read_only=True)
    try:
        doubled = con.execute(
            "SELECT metric_id, date, count(*) FROM staging.metric_daily "
            "GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
        raw_doubled = con.execute(
            "SELECT source, metric_id, date, count(*) FROM raw.metric_rows "
            "GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
        per_metric = con.execute(
            "SELECT source, metric_id, count(DISTINCT date) FROM staging.metric_daily "
            "WHERE date BETWEEN ? AND ? GROUP BY ALL ORDER BY ALL",
            [first, last],
        ).fetchall()
        progress = con.execute(
            "SELECT count(*), count(DISTINCT (kr_id, as_of_date)) FROM okr.kr_progress_daily "
            "WHERE as_of_date BETWEEN ? AND ?",
            [first, last],
        ).fetchall()[0]
    finally:
        con.close()
    assert doubled == [] and raw_doubled == []
    assert {source for source, _, _ in per_metric} == {"file", "ga4", "hubspot", "matomo"}
    assert all(count == days for _, _, count in per_metric), per_metric
    assert progress[0] == progress[1] > 0


def check_a_restarted_webserver_shows_the_same_history(
    deployment: Deployment, dead_run: dict, catch_up: CatchUp
) -> None:
    before = {r["runId"]: r["status"] for r in deployment.runs()}
    assert dead_run["runId"] in before and len(before) >= 4
    deployment.kill("webserver")
    deployment.start("webserver")
    after = wait_for("the webserver to answer again", deployment.runs, 120, deployment)
    after_status = {r["runId"]: r["status"] for r in after}
    assert {k: after_status.get(k) for k in before} == before


def test_a_dead_run_is_failed_the_next_tick_catches_up_and_the_history_stays(
    deployment: Deployment, dead_run: dict, catch_up: CatchUp
) -> None:
    """One test, in the order things happen, so xdist never splits the one deployment
    between two workers."""
    check_a_run_whose_process_died_is_marked_failed(deployment, dead_run)
    check_the_next_tick_catches_up_sources_then_models_then_reports(deployment, dead_run, catch_up)
    check_nothing_lost_or_doubled_in_the_warehouse(deployment, dead_run)
    check_a_restarted_webserver_shows_the_same_history(deployment, dead_run, catch_up)
