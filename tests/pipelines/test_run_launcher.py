"""The production run launcher's answers to run monitoring when no code server can tell
(pipelines/run_launcher.py); a code server that restarted without the run is answered in
tests/deploy/test_services.py, with real processes."""

import json
import socket

import dagster as dg
from dagster._core.launcher import WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

from pipelines.run_launcher import CodeServerRunLauncher


def _run(tags: dict[str, str]) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="okr_sources", run_id="a-run", tags=tags)


def test_a_run_no_code_server_launched_is_left_alone() -> None:
    # `okr run` with DAGSTER_HOME set records its in-process runs in the instance, untagged
    health = CodeServerRunLauncher().check_run_worker_health(_run({}))
    assert health.status == WorkerStatus.RUNNING


def test_a_code_server_that_does_not_answer_is_asked_again_not_taken_for_dead() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tags = {GRPC_INFO_TAG: json.dumps({"host": "127.0.0.1", "port": port})}
    health = CodeServerRunLauncher().check_run_worker_health(_run(tags))
    assert health.status == WorkerStatus.RUNNING and health.transient
    assert (
        health.msg
        == f"the code server at 127.0.0.1:{port} does not answer; asking again at the next poll"
    )
