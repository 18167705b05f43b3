"""`okr publish`: publish the public tables to PostgreSQL by hand (the schedule does it after
every model run)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from okr_cli.console import DefinitionsOption, WarehouseOption, console, err, fail
from okr_definitions.folder import DEFAULT_DIR
from okr_definitions.problems import DefinitionError


def publish_command(
    full: Annotated[
        bool, typer.Option("--full", help="Rebuild every published table, changed or not.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would happen; change nothing.")
    ] = False,
    grant_reader: Annotated[
        str | None,
        typer.Option(
            "--grant-reader",
            metavar="NAME",
            help="Give the role NAME read-only access for BI tools (with --dry-run: print the "
            "SQL) instead of publishing.",
        ),
    ] = None,
    definitions: DefinitionsOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Publish the public tables to PostgreSQL (OKR_PUBLISH_POSTGRES_URL): the days whose rows
    changed since the last publish, in one transaction."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from destinations.postgres import URL_ENV, PublishError, target_from
    from destinations.postgres.client import grant_reader as apply_grant
    from destinations.postgres.client import reader_grant_sql
    from pipelines.resources import load_valid_definitions

    root = Path(definitions or os.environ.get("OKR_DEFINITIONS") or DEFAULT_DIR)
    if warehouse:
        os.environ["OKR_WAREHOUSE"] = str(warehouse)
    os.environ["OKR_DEFINITIONS"] = str(root)
    try:
        defs = load_valid_definitions(root)
    except DefinitionError:
        raise fail("invalid definitions: run `okr validate` for details") from None
    config = defs.publish.postgres
    if config is None:
        raise fail(
            f'no publish target in {root}: add `publish: {{postgres: {{schema_prefix: "", '
            "tables: all}}` to a definitions file and set " + URL_ENV
        )
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from warehouse.db import warehouse_path

    if grant_reader is None and not warehouse_path().exists():
        raise fail(f"no warehouse at {warehouse_path()}; run `okr run` or `okr demo` first")
    try:
        if grant_reader is not None:
            if dry_run:
                target = target_from(
                    os.environ.get(URL_ENV) or "postgresql://", config.schema_prefix
                )
                for statement in reader_grant_sql(target, grant_reader):
                    print(f"{statement};")
                return
            target = target_from(os.environ.get(URL_ENV), config.schema_prefix)
            for statement in apply_grant(target, grant_reader):
                console.print(f"{escape(statement)};", soft_wrap=True)
            console.print(
                f"[green]granted[/] read-only access to {grant_reader} on {target.label}; "
                f"set its password with ALTER ROLE {grant_reader} PASSWORD '…'"
            )
            return
        if dry_run:
            _print_plan(config, full)
            return
        target = target_from(os.environ.get(URL_ENV), config.schema_prefix)
    except PublishError as exc:
        raise fail(str(exc)) from None
    _run_publish(defs, target.label, full)


def _print_plan(config, full: bool) -> None:
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from destinations.postgres import URL_ENV, plan_publish, target_from
    from destinations.postgres.publish import selected_tables
    from warehouse.db import connect

    url = os.environ.get(URL_ENV)
    target = target_from(url or "postgresql://not-set", config.schema_prefix)
    con = connect(read_only=True)
    try:
        plan = plan_publish(con, target, selected_tables(config.table_names()), full=full)
    finally:
        con.close()
    where = target.label if url else f"(set {URL_ENV} to publish)"
    console.print(f"would publish to {escape(where)}:", soft_wrap=True)
    for line in plan.describe() or ["nothing changed since the last publish"]:
        console.print(f"  {escape(line)}", soft_wrap=True)


def _run_publish(defs, label: str, full: bool) -> None:
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    import dagster as dg

    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from pipelines.build import build_definitions
    from pipelines.destinations.postgres import PUBLISH_JOB
    from pipelines.destinations.postgres.assets import FULL_TAG
    from pipelines.partitions import partition_range_tags
    from pipelines.runner import _failures, one_planned_event_per_asset

    dagster_defs = build_definitions(defs)
    today = datetime.now(ZoneInfo(defs.organisation.timezone)).date()
    first, last = defs.earliest_date_needed(), today - timedelta(days=1)
    tags = {**partition_range_tags(first, last), FULL_TAG: str(full).lower()}
    instance_home = os.environ.get("DAGSTER_HOME")
    with (
        console.status(f"publishing to {label}"),
        dg.DagsterInstance.get() if instance_home else dg.DagsterInstance.ephemeral() as instance,
        one_planned_event_per_asset(),
    ):
        result = dagster_defs.resolve_job_def(PUBLISH_JOB).execute_in_process(
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            instance=instance,
            tags=tags,
            raise_on_error=False,
        )
    if not result.success:
        _, errors = _failures(result)
        for message in errors:
            err.print(f"[red]failed:[/] {escape(message)}", soft_wrap=True)
        raise fail(f"publishing to {label} failed; the previous version is still there")
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from warehouse.db import connect

    con = connect(read_only=True)
    try:
        outcome, days, rows, tables = con.execute(
            "SELECT outcome, days_replaced, rows_written, tables FROM publish.postgres_runs "
            "WHERE run_id = ?",
            [result.run_id],
        ).fetchone()
    finally:
        con.close()
    summary = (
        f"{days} day(s) and {rows} rows in {', '.join(tables)}"
        if outcome == "published"
        else "nothing changed since the last publish"
    )
    console.print(f"[green]{outcome}[/] {escape(label)}: {escape(summary)}", soft_wrap=True)
