"""The production deployment as real processes (README, "Deploy"): `dagster api grpc`,
`dagster-daemon run` and `dagster-webserver`, started with the ExecStart lines of
deploy/systemd/*.service, deploy/dagster.yaml and deploy/workspace.yaml, on a private cluster
of Debian's PostgreSQL, with a sandbox as the source. Everything is observed through the
webserver's GraphQL API.

The story: a source run for the schedule's window (the schedule's own evaluation, launched as
the UI's "Test schedule" launches it) dies mid-way together with the daemon — the code server
holding its process is killed, as by an OOM kill or a crash; code server and daemon restart;
run monitoring marks the run failed; the schedule's next tick fetches the same days, the
sensors run the models and then the report; the warehouse equals a clean run's; a restarted
webserver shows the same history.

What the test changes, to wait for one cron boundary instead of a day: the cron
(OKR_SCHEDULE_CRON: every minute, then, when the code server restarts, the one minute of the
catching-up tick), a sensor interval of 1 s (OKR_SENSOR_INTERVAL_SECONDS), a run-monitoring
poll and a run-queue interval of 1 s, and definitions of one key result on one source.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import yaml
from postgres_cluster import SUPERUSER, SUPERUSER_PASSWORD, PostgresCluster

from okr_cli.sandboxes import running_sandboxes
from okr_definitions.loader import load_definitions
from pipelines.reports.assets import REPORTS_JOB
from pipelines.schedules import PROGRESS_JOB, SOURCES_JOB, STAGING_JOB

# Selectable on its own with `pytest -m deploy`.
pytestmark = pytest.mark.deploy

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
SERVICES = ("code-server", "daemon", "webserver")
LOCATION = {"repositoryLocationName": "okr_sync", "repositoryName": "__repository__"}
SCHEDULE = {**LOCATION, "scheduleName": "daily_okr_sync"}
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


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
            # its own process group, as a systemd unit has its own control group: a kill
            # takes its children too (the code server's run processes)
            start_new_session=True,
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

    def run(self, run_id: str) -> dict:
        return next(r for r in self.runs() if r["runId"] == run_id)

    def events(self, run_id: str) -> list[tuple[str, str]]:
        """Every event of the run (the API pages them): (event type, message)."""
        found: list[tuple[str, str]] = []
        cursor = None
        while True:
            page = self.graphql(EVENTS, runId=run_id, cursor=cursor)["logsForRun"]
            found += [(e["__typename"], e.get("message") or "") for e in page["events"]]
            if not page["hasMore"]:
                return found
            cursor = page["cursor"]

    def schedule(self, mutation: str) -> None:
        """Starts or stops the daily schedule; checks the state it is left in."""
        if mutation == "start":
            done = self.graphql(START_SCHEDULE, selector=SCHEDULE)["startSchedule"]
        else:
            state = self.graphql(SCHEDULE_STATE, selector=SCHEDULE)["scheduleOrError"]
            done = self.graphql(STOP_SCHEDULE, id=state["scheduleState"]["id"])
            done = done["stopRunningSchedule"]
        assert done["__typename"] == "ScheduleStateResult", done
        state = self.graphql(SCHEDULE_STATE, selector=SCHEDULE)["scheduleOrError"]
        expected = "RUNNING" if mutation == "start" else "STOPPED"
        assert state["scheduleState"]["status"] == expected, (done, state)

    def log(self, service: str) -> str:
        file = self.folder / f"{service}.log"
        return file.read_text(errors="replace")[-4000:] if file.exists() else "(not started)"


RUNS = """
query { runsOrError { __typename ... on Runs { results {
  runId jobName status creationTime tags { key value } } } } }
"""
EVENTS = """
query ($runId: ID!, $cursor: String) { logsForRun(runId: $runId, afterCursor: $cursor) {
  __typename ... on EventConnection { cursor hasMore
  events { __typename ... on MessageEvent { message } } } } }
"""
SCHEDULE_STATE = """
query ($selector: ScheduleSelector!) { scheduleOrError(scheduleSelector: $selector) {
  __typename ... on Schedule { scheduleState { id status } } } }
"""
START_SCHEDULE = """
mutation ($selector: ScheduleSelector!) { startSchedule(scheduleSelector: $selector) {
  __typename ... on PythonError { message } } }
"""
STOP_SCHEDULE = """
mutation ($id: String) { stopRunningSchedule(id: $id) {
  __typename ... on PythonError { message } } }
"""
DRY_RUN = """
mutation ($selector: ScheduleSelector!, $timestamp: Float) {
  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) {
  __typename ... on DryRunInstigationTick { evaluationResult {
    runRequests { runKey tags { key value } } } } } }
"""
LAUNCH = """
mutation ($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
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
    """deploy/dagster.yaml with run monitoring and the run queue polling every second."""
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 1
    config["run_coordinator"]["config"] = {"dequeue_interval_seconds": 1}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


def write_definitions(folder: Path, today: date) -> Path:
    """One key result on one Matomo metric (the sandbox's), its period around today."""
    definitions = folder / "okr_definitions"
    definitions.mkdir()
    (definitions / "organisation.yaml").write_text(
        "organisation: {name: Deploy Shop, timezone: Europe/Berlin, lookback_days: 2}\n"
        "sources:\n  matomo: {site_id: 1, allowed_lag_days: 2}\n"
        "teams:\n  - {id: web, name: Web, owner: web@example.com}\n"
    )
    (definitions / "metrics.yaml").write_text(
        "metrics:\n  - id: homepage_load_time\n    unit: s\n    source: matomo\n"
        "    query: {method: PagePerformance.get, column: avg_page_load_time, "
        "page_url: 'https://shop.example/'}\n"
    )
    (definitions / "web.yaml").write_text(
        f"objectives:\n  - id: fast-pages\n    title: Pages load fast\n    team: web\n"
        f"    period: {{start: {today - timedelta(days=20)}, end: {today + timedelta(days=20)}}}\n"
        "    key_results:\n      - id: homepage-load-time\n        title: Homepage under 1.5 s\n"
        "        metric: homepage_load_time\n        measure: rolling_7d\n        baseline: 2.5\n"
        "        target: 1.5\n        direction: decrease\n        unit: s\n"
    )
    return definitions


@pytest.fixture(scope="module")
def deployment(
    postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("deployment")
    home = folder / "dagster_home"
    home.mkdir()
    _instance_yaml(home)
    postgres_cluster.create_database("dagster")
    definitions = write_definitions(folder, date.today())
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
            "OKR_SENSOR_INTERVAL_SECONDS": "1",
        }
        running = Deployment(folder, env, int(env["OKR_WEBSERVER_PORT"]))
        try:
            # The daemon last: no tick before the story stops the schedule.
            running.start("code-server")
            running.start("webserver")
            yield running
        finally:
            for service in list(running.processes):
                running.kill(service)


def _tag(run: dict, key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


def _window(run: dict) -> tuple[str | None, str | None]:
    return (
        _tag(run, "dagster/asset_partition_range_start"),
        _tag(run, "dagster/asset_partition_range_end"),
    )


@dataclass
class Story:
    dead_run: dict
    dead_run_events: list[tuple[str, str]]
    tick_run: dict
    # the runs the sensors started after the tick's run, each after the one it names
    chain: list[dict]
    clean_warehouse: Path


def _launch_schedule_run(deployment: Deployment) -> str:
    """The schedule evaluated now by the code server and its run request launched, as the UI's
    "Test schedule" does: the same job, window and tags a tick gives."""
    tick = deployment.graphql(DRY_RUN, selector=SCHEDULE, timestamp=time.time())
    (request,) = tick["scheduleDryRun"]["evaluationResult"]["runRequests"]
    launched = deployment.graphql(
        LAUNCH,
        params={
            "selector": {**LOCATION, "jobName": SOURCES_JOB},
            "executionMetadata": {"tags": request["tags"]},
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _descendants(runs: list[dict], first: str) -> list[dict]:
    """The runs sensors started after `first`, after them, and so on: each sensor's run key
    ends with "-after-<the run it follows>" (pipelines/schedules.py, pipelines/reports/)."""
    chain: list[dict] = []
    parents = {first}
    while True:
        children = [
            r
            for r in runs
            if r not in chain
            and any((_tag(r, "dagster/run_key") or "").endswith(f"-after-{p}") for p in parents)
        ]
        if not children:
            return chain
        chain += children
        parents = {r["runId"] for r in children}


@pytest.fixture(scope="module")
def story(deployment: Deployment) -> Story:
    def loaded() -> bool:  # the webserver answers, with the code location loaded
        answer = deployment.graphql(SCHEDULE_STATE, selector=SCHEDULE)["scheduleOrError"]
        return answer["__typename"] == "Schedule"

    wait_for("the webserver and the code location", loaded, 180, deployment)
    # default-running: no tick before the story starts it (no daemon yet, so nothing can
    # undo the stop)
    deployment.schedule("stop")
    dead_id = _launch_schedule_run(deployment)
    deployment.start("daemon")  # takes the run from the queue

    def first_step() -> bool:
        return any(kind == "ExecutionStepStartEvent" for kind, _ in deployment.events(dead_id))

    wait_for("the run's first step", first_step, 120, deployment)
    deployment.schedule("start")  # its next tick is the one that catches up
    started = time.time()
    # The code server dies with the run's process (its child, in its process group), and the
    # daemon too: nothing that watched the run is left.
    deployment.kill("daemon")
    deployment.kill("code-server")
    # Restarted with one tick left in the day (README: restart the code server after changing
    # the cron): the next minute at least 10 s away, so the code server is back when it comes
    # (a daemon still starting then launches the tick it missed as soon as it is up). Not
    # every minute and a stop after the tick: that tick is the daemon's first iteration after
    # the start, whose write of the schedule's state undoes a stop landing meanwhile — the UI
    # says STOPPED and the daemon ticks on (README, "Deploy": pausing the daily run;
    # tests/pipelines/test_schedule_settings.py shows it in process).
    tick_at = datetime.fromtimestamp(started + 70, UTC).replace(second=0, microsecond=0)
    deployment.env["OKR_SCHEDULE_CRON"] = f"{tick_at.minute} {tick_at.hour} * * *"
    deployment.env["OKR_SCHEDULE_TIMEZONE"] = "UTC"
    deployment.start("code-server")
    deployment.start("daemon")
    # The same window as the tick fetched, on a fresh warehouse with no Dagster instance.
    clean_warehouse = deployment.folder / "clean.duckdb"
    clean_env = {**deployment.env, "OKR_WAREHOUSE": str(clean_warehouse)}
    del clean_env["DAGSTER_HOME"]
    clean = subprocess.Popen(
        [str(BIN / "okr"), "run"],
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def tick_run() -> dict | None:
        runs = [
            r
            for r in deployment.runs()
            if r["jobName"] == SOURCES_JOB
            and _tag(r, "dagster/schedule_name") == "daily_okr_sync"
            and r["creationTime"] > started
        ]
        return runs[0] if runs else None

    tick = wait_for("the next tick's run", tick_run, 150, deployment)

    def failed() -> dict | None:
        run = deployment.run(dead_id)
        return run if run["status"] == "FAILURE" else None

    dead_run = wait_for("run monitoring to fail the dead run", failed, 120, deployment)
    dead_run_events = deployment.events(dead_id)

    def chain_done() -> list[dict] | None:
        runs = deployment.runs()
        source_run = next(r for r in runs if r["runId"] == tick["runId"])
        chain = _descendants(runs, tick["runId"])
        done = [source_run, *chain]
        if any(r["status"] not in FINISHED for r in done):
            return None
        return chain if any(r["jobName"] == REPORTS_JOB for r in chain) else None

    chain = wait_for("the tick's run, models and report", chain_done, 300, deployment)
    output, _ = clean.communicate(timeout=300)
    assert clean.returncode == 0, output
    return Story(dead_run, dead_run_events, deployment.run(tick["runId"]), chain, clean_warehouse)


def check_run_monitoring_failed_the_run_whose_process_died(
    deployment: Deployment, story: Story
) -> None:
    run_id = story.dead_run["runId"]
    port = deployment.env["OKR_CODE_SERVER_PORT"]
    failures = [m for kind, m in story.dead_run_events if kind == "RunFailureEvent"]
    # the message of Dagster's monitoring daemon, with the reason pipelines/run_launcher.py gave
    assert failures == [
        f"Detected run worker status NOT_FOUND: 'the code server at 127.0.0.1:{port} has no "
        "process for this run (the server was restarted or the run's process is gone)'. "
        f"Marking run {run_id} as failed."
    ], story.dead_run_events[-5:]
    assert story.dead_run["status"] == "FAILURE"


def check_the_tick_catches_up_then_models_then_the_report(story: Story) -> None:
    # the same days as the run that died: nothing of its window is left out
    assert _window(story.tick_run) == _window(story.dead_run) != (None, None)
    assert story.tick_run["status"] == "SUCCESS"
    assert all(r["status"] == "SUCCESS" for r in story.chain), story.chain
    # staging rebuilds the tick's days; progress the same days from the periods' start on
    (staging,) = [r for r in story.chain if r["jobName"] == STAGING_JOB]
    assert _window(staging) == _window(story.tick_run)
    (progress,) = [r for r in story.chain if r["jobName"] == PROGRESS_JOB]
    start, end = _window(progress)
    assert end == _window(story.tick_run)[1] and start >= _window(story.tick_run)[0]
    assert [_tag(r, "dagster/sensor_name") for r in story.chain if r["jobName"] == REPORTS_JOB]
    assert all(_tag(r, "dagster/sensor_name") for r in story.chain)


# What a run computes; columns of the time a row was written differ between any two runs.
TABLES = (
    "raw.metric_rows",
    "staging.metric_daily",
    "okr.kr_progress_daily",
    "okr.objective_progress_daily",
)


def _rows(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = {}
        for table in TABLES:
            schema, name = table.split(".")
            columns = [
                c
                for c, kind in con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                    [schema, name],
                ).fetchall()
                if not kind.startswith("TIMESTAMP")
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            found[table] = con.execute(f"SELECT {listed} FROM {table} ORDER BY ALL").fetchall()
        return found
    finally:
        con.close()


def check_the_warehouse_equals_a_clean_runs(deployment: Deployment, story: Story) -> None:
    after_crash = _rows(Path(deployment.env["OKR_WAREHOUSE"]))
    clean = _rows(story.clean_warehouse)
    first, last = (date.fromisoformat(d) for d in _window(story.tick_run))
    days = {row[2] for row in clean["raw.metric_rows"]}
    assert days == {first + timedelta(days=n) for n in range((last - first).days + 1)}
    assert clean["okr.kr_progress_daily"]  # the comparison below compares something
    for table in TABLES:
        assert after_crash[table] == clean[table], table  # nothing lost, nothing twice


def check_a_restarted_webserver_shows_the_same_history(
    deployment: Deployment, story: Story
) -> None:
    # the runs that ended (the dead run's own model run may still be going)
    before = {r["runId"]: r["status"] for r in deployment.runs() if r["status"] in FINISHED}
    assert story.dead_run["runId"] in before and len(before) >= 4
    deployment.kill("webserver")
    deployment.start("webserver")
    after = wait_for("the webserver to answer again", deployment.runs, 120, deployment)
    assert {r["runId"]: r["status"] for r in after if r["runId"] in before} == before


def test_a_dead_run_is_failed_the_next_tick_catches_up_and_the_history_stays(
    deployment: Deployment, story: Story
) -> None:
    """One test, in the order things happen, so xdist never splits the one deployment
    between two workers."""
    check_run_monitoring_failed_the_run_whose_process_died(deployment, story)
    check_the_tick_catches_up_then_models_then_the_report(story)
    check_the_warehouse_equals_a_clean_runs(deployment, story)
    check_a_restarted_webserver_shows_the_same_history(deployment, story)
