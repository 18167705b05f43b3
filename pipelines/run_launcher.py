"""The run launcher of the production instance (deploy/dagster.yaml, README "Deploy"): Dagster's
default launcher — each run a process of the code server that holds the job — plus the check
run monitoring needs to fail a run whose process is gone.

Dagster's `DefaultRunLauncher` does not offer that check (`supports_check_run_worker_health`
is False), so the monitoring daemon never looks at a started run of it. While the code server
lives it fails a run whose process died itself (it polls its run processes twice a second).
But when the code server dies — a crash, an OOM kill, `systemctl restart okr-sync-code-server`
during an upgrade — its run processes die with it (systemd stops the unit's whole control
group, Docker the whole container) and nobody is left to say so: the run would show STARTED
for ever. Here run monitoring asks the code server at the address Dagster tagged the run with
for the runs it is executing; a started run it does not hold has no process, and run monitoring
marks it failed ("Detected run worker status NOT_FOUND … Marking run … as failed.").

The code server is `dagster api grpc` (deploy/systemd/okr-sync-code-server.service): its runs are
its own child processes, and it answers that question. `dagster code-server start` puts a proxy
in front of a child server that it replaces on every reload, and the proxy does not answer it.
"""

from __future__ import annotations

import json

import dagster as dg
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import GetCurrentRunsResult
from dagster._serdes import deserialize_value


class CodeServerRunLauncher(dg.DefaultRunLauncher):
    """`DefaultRunLauncher` whose runs run monitoring can check (see the module docstring)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        address = run.tags.get(GRPC_INFO_TAG)
        if address is None:
            # Not started by a code server (`okr run` records its in-process runs in the
            # instance when DAGSTER_HOME is set): its process is not ours to judge.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not launched by a code server")
        where = json.loads(address)
        server = f"{where.get('host')}:{where.get('port') or where.get('socket')}"
        client = DagsterGrpcClient(
            host=where.get("host"),
            port=where.get("port"),
            socket=where.get("socket"),
            use_ssl=bool(where.get("use_ssl", False)),
        )
        try:
            answer = client.get_current_runs()
        except DagsterUserCodeUnreachableError:
            # Restarting, or busy: the run cannot outlive its server (see the module
            # docstring), so once the server answers again it tells. (A `dagster code-server
            # start` proxy never tells: its runs are then left to `dagster/max_runtime`.)
            return CheckRunHealthResult(
                WorkerStatus.RUNNING,
                f"the code server at {server} does not answer; asking again at the next poll",
                transient=True,
            )
        current = deserialize_value(answer, GetCurrentRunsResult)
        if run.run_id in current.current_runs:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.NOT_FOUND,
            f"the code server at {server} has no process for this run (the server was "
            "restarted or the run's process is gone)",
        )
