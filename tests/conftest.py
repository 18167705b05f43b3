"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from demo_run import Demo, demo_ran_through
from filelock import FileLock
from postgres_cluster import PostgresCluster, start_cluster

from warehouse.db import connect

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "okr_definitions"


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries keep their logic but not their sleeps, so fault tests stay fast."""
    monkeypatch.setenv("OKR_RETRY_WAIT_SCALE", "0")


@pytest.fixture
def tls_context_builders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the threads that build connectors/tls.py's shared context during the
    test, which starts without one (and leaves none behind)."""
    import ssl
    import threading

    from connectors import tls

    built: list[str] = []
    create = tls.httpx.create_ssl_context

    def counted() -> ssl.SSLContext:
        built.append(threading.current_thread().name)
        return create()

    monkeypatch.setattr(tls.httpx, "create_ssl_context", counted)
    tls.forget_tls_context()
    yield built
    for thread in threading.enumerate():  # a build on a thread finished before the next test
        if thread.name == "okr-tls-context":
            thread.join()
    tls.forget_tls_context()


@pytest.fixture
def warehouse_file(tmp_path: Path) -> Path:
    return tmp_path / "test_okr_sync.duckdb"


@pytest.fixture
def wh(warehouse_file: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated warehouse in a real DuckDB file."""
    con = connect(warehouse_file)
    yield con
    con.close()


@pytest.fixture(scope="session")
def shared_demo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Demo:
    """`okr demo` run once per test session and shared by the xdist workers (the pattern from
    pytest-xdist's docs: the first worker builds it under a lock, the others reuse it).
    Tests read it; a test that must change it works on a copy."""
    shared = (
        tmp_path_factory.getbasetemp()
        if worker_id == "master"
        else tmp_path_factory.getbasetemp().parent
    )
    folder = shared / "shared-demo"
    record = folder / "demo-run.json"
    with FileLock(str(shared / "shared-demo.lock")):
        if not record.exists():
            if folder.exists():
                shutil.rmtree(folder)
            home = folder / "dagster_home"
            home.mkdir(parents=True)
            (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
            env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
            result = subprocess.run(
                [sys.executable, "-m", "okr_cli.main", "demo", "--dir", str(folder)],
                capture_output=True,
                text=True,
                timeout=600,
                cwd=REPO,
                env={**env, "COLUMNS": "200", "DAGSTER_HOME": str(home)},
            )
            record.write_text(
                json.dumps(
                    {
                        "returncode": result.returncode,
                        "stdout": result.stdout,
                        "stderr": result.stderr,
                        "through": demo_ran_through(home),
                    }
                )
            )
    run = json.loads(record.read_text())
    through = date.fromisoformat(run["through"]) if run["through"] else None
    return Demo(folder, run["returncode"], run["stdout"], run["stderr"], through)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster (Debian's server, tests/postgres_cluster.py), one per test
    session and xdist worker; each test takes its own database from it."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()
