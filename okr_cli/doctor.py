"""`okr doctor`: is this deployment healthy? One line per check, exit 1 naming each failure
(README, "Deploy"), so it serves as a monitoring probe.

Checks, in order: the Dagster instance (DAGSTER_HOME, its storage reachable), the code
location (the definitions load into Dagster; with OKR_CODE_SERVER_PORT set, the gRPC code
server answers), the warehouse (it opens, no migration pending, the newest as-of day, each
source's newest data within its allowed lag) and every used source's credentials (the same
check as `okr validate`: the source's metadata API, asked with them).

Registered in okr_cli/main.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from okr_cli.console import DefinitionsOption, WarehouseOption, console
from okr_definitions.folder import DEFAULT_DIR

if TYPE_CHECKING:  # imported when the command runs: `okr status` and `okr sql` start quickly
    from okr_definitions.resolve import Definitions


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _redact(message: str) -> str:
    """The instance's PostgreSQL password never reaches the output, whatever a driver quotes."""
    secret = os.environ.get("DAGSTER_PG_PASSWORD")
    return message.replace(secret, "***") if secret else message


def check_instance() -> Check:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return Check(
            "instance",
            False,
            "DAGSTER_HOME is not set; point it at the folder "
            "holding dagster.yaml (deploy/dagster.yaml)",
        )
    if not (Path(home) / "dagster.yaml").is_file():
        return Check(
            "instance",
            False,
            f"no dagster.yaml in DAGSTER_HOME={home}; copy deploy/dagster.yaml there",
        )
    import dagster as dg  # deferred: the other checks do not need Dagster's import time

    try:
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs_count()
            storage = type(instance.run_storage).__name__
    except Exception as exc:  # any driver's error: reported, not raised
        first = _redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else ""
        return Check(
            "instance",
            False,
            f"the storage in {home}/dagster.yaml is not reachable: {type(exc).__name__}: {first}",
        )
    return Check("instance", True, f"DAGSTER_HOME={home}, {storage}, {runs} runs recorded")


def check_code_location(definitions: Definitions) -> list[Check]:
    from pipelines.build import build_definitions  # deferred: Dagster, as above

    checks = []
    try:
        defs = build_definitions(definitions)
        jobs = len(list(defs.resolve_all_job_defs()))
        schedules = [s.name for s in defs.schedules or []]
        checks.append(
            Check(
                "code location",
                True,
                f"loads: {jobs} jobs, schedules {', '.join(schedules) or 'none'}",
            )
        )
    except Exception as exc:  # a bad cron, a failing import: the code server would stop too
        checks.append(Check("code location", False, f"does not load: {exc}"))
    port = os.environ.get("OKR_CODE_SERVER_PORT")
    if port:
        host = os.environ.get("OKR_CODE_SERVER_HOST", "localhost")
        # Dagster's own health check of a code server (what its container images use)
        probe = subprocess.run(
            [
                sys.executable,
                "-m",
                "dagster",
                "api",
                "grpc-health-check",
                "--host",
                host,
                "--port",
                port,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        checks.append(
            Check(
                "code server",
                probe.returncode == 0,
                f"{host}:{port} "
                + (
                    "answers"
                    if probe.returncode == 0
                    else "does not answer; is okr-sync-code-server running?"
                ),
            )
        )
    return checks


def check_warehouse(definitions: Definitions, warehouse: Path | None, today: date) -> list[Check]:
    from warehouse.db import connection, warehouse_path

    target = warehouse_path(warehouse)
    try:
        with connection(target, read_only=True) as con:
            newest = con.execute("SELECT max(as_of_date) FROM okr.kr_progress_daily").fetchall()
            by_source = dict(
                con.execute(
                    "SELECT source, max(date) FROM staging.metric_daily GROUP BY source"
                ).fetchall()
            )
    except Exception as exc:  # missing, not DuckDB, busy, pending migrations: all say why
        return [Check("warehouse", False, str(exc))]
    checks = [Check("warehouse", True, f"{target} opens, migrations current")]
    yesterday = today - timedelta(days=1)
    last = newest[0][0]
    # The schedule computes yesterday each morning: before it has run, the day before is newest.
    if last is None or last < yesterday - timedelta(days=1):
        checks.append(
            Check(
                "newest as-of day",
                False,
                f"{last or 'none'}, expected {yesterday}"
                " or the day before: has the schedule run? see the Dagster UI",
            )
        )
    else:
        checks.append(Check("newest as-of day", True, str(last)))
    for source in sorted(definitions.used_sources()):
        lag = getattr(definitions.sources, source).allowed_lag_days
        through = by_source.get(source)
        late = through is None or (yesterday - through).days > lag
        detail = f"data through {through or 'never'}, allowed lag {lag} days"
        checks.append(
            Check(
                f"source {source} data",
                not late,
                detail + (" — its key results are stale" if late else ""),
            )
        )
    return checks


def check_credentials(definitions: Definitions) -> list[Check]:
    from connectors.base import MetricRequest
    from connectors.errors import SourceError
    from registry.sources import source_layer

    checks = []
    for source in sorted(definitions.used_sources()):
        connector = source_layer(source, "connector").CONNECTOR
        if connector.validate is None or connector.settings_from_env is None:
            checks.append(Check(f"source {source} credentials", True, "none needed"))
            continue
        settings = connector.settings_from_env(definitions)
        if settings is None:
            checks.append(
                Check(f"source {source} credentials", False, f"not set: {connector.how_to_enable}")
            )
            continue
        metrics = [MetricRequest(m.id, m.query) for m in definitions.source_metrics(source)]
        try:
            found = connector.validate(settings, metrics)
        except SourceError as exc:
            checks.append(Check(f"source {source} credentials", False, str(exc)))
            continue
        unknown = [item for item in found if getattr(item, "severity", "error") == "error"]
        checks.append(
            Check(
                f"source {source} credentials",
                not unknown,
                "accepted"
                if not unknown
                else f"accepted, but {len(unknown)} metric(s) unknown to the source: "
                "run okr validate",
            )
        )
    return checks


def doctor(
    today: Annotated[
        str | None,
        typer.Option(help="Check as if today were this day (YYYY-MM-DD), for replays."),
    ] = None,
    definitions: DefinitionsOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Check the deployment: instance, code location, warehouse, sources; exit 1 on a failure."""
    # imported when the command runs, so `okr status` and `okr sql` start quickly
    from okr_definitions.loader import load_definitions

    try:
        day = date.fromisoformat(today) if today else None
    except ValueError:
        raise typer.BadParameter(f"--today {today!r} is not a day (YYYY-MM-DD)") from None
    root = Path(definitions or os.environ.get("OKR_DEFINITIONS") or DEFAULT_DIR)
    checks = [check_instance()]
    defs, problems = load_definitions(root)
    if defs is None:
        errors = [p for p in problems if p.severity == "error"]
        first = errors[0].format(relative_to=root) if errors else "invalid"
        checks.append(
            Check(
                "definitions",
                False,
                f"{root}: {len(errors)} error(s), the first: {first}; run okr validate",
            )
        )
    else:
        checks.append(Check("definitions", True, f"{root}"))
        checks += check_code_location(defs)
        now = day or datetime.now(ZoneInfo(defs.organisation.timezone)).date()
        checks += check_warehouse(defs, warehouse, now)
        checks += check_credentials(defs)
    for check in checks:
        mark = "[green]ok  [/]" if check.ok else "[bold red]FAIL[/]"
        console.print(f"{mark} {escape(check.name)}: {escape(check.detail)}", soft_wrap=True)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        console.print(f"[bold red]unhealthy:[/] {escape(', '.join(failed))}", soft_wrap=True)
        raise typer.Exit(1)
    console.print("[green]healthy[/]")
