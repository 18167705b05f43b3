"""`okr doctor` on the demo's deployment: healthy with the sandboxes as sources, and each
failure it names (README, "Deploy")."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from okr_cli.main import app
from okr_cli.sandboxes import running_sandboxes
from okr_definitions.loader import load_definitions

CANARY = "doctor-pg-canary-7d3a"


@pytest.fixture(scope="module")
def deployment(shared_demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The demo's definitions and warehouse, a Dagster home, and the sandboxes serving the
    demo's sources with their environment set (as `okr sandbox` prints it)."""
    assert shared_demo.returncode == 0, shared_demo.stderr
    home = tmp_path_factory.mktemp("doctor-home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    defs, _ = load_definitions(shared_demo.definitions)
    con = duckdb.connect(str(shared_demo.warehouse), read_only=True)
    newest = con.execute("SELECT max(as_of_date) FROM okr.kr_progress_daily").fetchall()[0][0]
    con.close()
    saved = dict(os.environ)
    with running_sandboxes(defs.used_sources()):
        env = {key: value for key, value in os.environ.items() if saved.get(key) != value}
        yield {
            "definitions": shared_demo.definitions,
            "warehouse": shared_demo.warehouse,
            "today": (newest + timedelta(days=1)).isoformat(),
            "env": {**env, "DAGSTER_HOME": str(home)},
        }


def doctor(deployment: dict, *extra: str, env: dict | None = None, **override: str):
    args = ["doctor", "-d", str(override.get("definitions", deployment["definitions"]))]
    args += ["-w", str(override.get("warehouse", deployment["warehouse"]))]
    args += ["--today", override.get("today", deployment["today"]), *extra]
    result = CliRunner().invoke(app, args, env={**deployment["env"], **(env or {})})
    return result.exit_code, result.output


def test_a_healthy_deployment_passes_every_check(deployment: dict) -> None:
    code, out = doctor(deployment)
    assert code == 0, out
    assert out.splitlines()[-1] == "healthy"
    for name in ["instance", "definitions", "code location", "warehouse", "newest as-of day"]:
        assert f"ok   {name}:" in out
    for source in ["file", "ga4", "hubspot", "matomo"]:
        assert f"ok   source {source} data:" in out and f"ok   source {source} credentials" in out


def test_no_dagster_home(deployment: dict) -> None:
    code, out = doctor(deployment, env={"DAGSTER_HOME": None})
    assert code == 1
    assert "FAIL instance: DAGSTER_HOME is not set" in out
    assert out.splitlines()[-1] == "unhealthy: instance"


def test_postgres_storage_not_reachable_without_its_password(
    deployment: dict, tmp_path: Path
) -> None:
    (tmp_path / "dagster.yaml").write_text(
        (Path(__file__).parents[2] / "deploy" / "dagster.yaml").read_text()
    )
    env = {
        "DAGSTER_HOME": str(tmp_path),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "9",  # nothing listens on the discard port
        "DAGSTER_PG_USER": "dagster",
        "DAGSTER_PG_PASSWORD": CANARY,
        "DAGSTER_PG_DB": "dagster",
        "OKR_COMPUTE_LOG_DIR": str(tmp_path / "logs"),
    }
    code, out = doctor(deployment, env=env)
    assert code == 1
    assert f"FAIL instance: the storage in {tmp_path}/dagster.yaml is not reachable" in out
    assert CANARY not in out


def test_definitions_that_do_not_load(deployment: dict, tmp_path: Path) -> None:
    broken = tmp_path / "defs"
    shutil.copytree(deployment["definitions"], broken)
    okr_yaml = next(broken.glob("*.yaml"))
    okr_yaml.write_text(okr_yaml.read_text() + "\n  - this: [is not closed\n")
    code, out = doctor(deployment, definitions=broken)
    assert code == 1
    assert "FAIL definitions:" in out and "run okr validate" in out


def test_a_cron_dagster_refuses_stops_the_code_location(deployment: dict) -> None:
    code, out = doctor(deployment, env={"OKR_SCHEDULE_CRON": "every morning"})
    assert code == 1
    assert "FAIL code location: does not load: OKR_SCHEDULE_CRON='every morning'" in out


def test_a_warehouse_with_a_pending_migration(deployment: dict, tmp_path: Path) -> None:
    copy = tmp_path / "okr_sync.duckdb"
    shutil.copyfile(deployment["warehouse"], copy)
    con = duckdb.connect(str(copy))
    con.execute(
        "DELETE FROM meta.schema_migrations WHERE version = (SELECT max(version) "
        "FROM meta.schema_migrations)"
    )
    con.close()
    code, out = doctor(deployment, warehouse=copy)
    assert code == 1
    assert "FAIL warehouse:" in out and "1 pending migration" in out


def test_no_warehouse(deployment: dict, tmp_path: Path) -> None:
    code, out = doctor(deployment, warehouse=tmp_path / "okr_sync.duckdb")
    assert code == 1
    assert f"FAIL warehouse: no warehouse at {tmp_path / 'okr_sync.duckdb'}" in out


def test_an_old_as_of_day_and_sources_past_their_lag(deployment: dict) -> None:
    # four days after the demo's newest day: as-of day 3 days behind, GA4 and Matomo (lag 2)
    # and HubSpot (lag 1) stale, the file source (lag 7) still fine
    from datetime import date

    late = (date.fromisoformat(deployment["today"]) + timedelta(days=3)).isoformat()
    code, out = doctor(deployment, today=late)
    assert code == 1
    assert "FAIL newest as-of day:" in out
    for source in ["ga4", "hubspot", "matomo"]:
        assert f"FAIL source {source} data:" in out
    assert "ok   source file data:" in out


def test_missing_and_refused_credentials(deployment: dict) -> None:
    code, out = doctor(deployment, env={"MATOMO_TOKEN": None, "HUBSPOT_ACCESS_TOKEN": "wrong"})
    assert code == 1
    assert "FAIL source matomo credentials: not set: set MATOMO_URL and MATOMO_TOKEN" in out
    assert "FAIL source hubspot credentials:" in out and "HUBSPOT_ACCESS_TOKEN" in out
    assert "ok   source ga4 credentials: accepted" in out
