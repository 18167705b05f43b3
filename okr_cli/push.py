"""`okr push [--dry-run]`: the newest computed day's key-result values into the OKR tools
configured under `push:`, and the id checks `okr validate` runs with credentials.

The same code as the Dagster `push/<tool>` assets (destinations/push/ledger.py); a failing
tool is reported and makes the exit code 1, the other tools are still pushed.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from okr_cli.console import (
    DefinitionsOption,
    WarehouseOption,
    console,
    definitions_folder,
    err,
    fail,
)
from okr_definitions.problems import DefinitionError, Problem

if TYPE_CHECKING:  # imported when a command runs: `okr --help` stays quick
    import duckdb

    from destinations.push.ledger import PushOutcome
    from okr_definitions.resolve import Definitions


def push_all(
    definitions: Definitions, warehouse: Path | None, day: date | None, dry_run: bool
) -> list[PushOutcome]:
    """Each configured tool's outcome for `day` (default: the newest computed day)."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from destinations.push.ledger import newest_day, push_tool
    from warehouse.db import ENV_VAR, connection, warehouse_path

    if not warehouse_path(warehouse).exists():
        raise FileNotFoundError(
            f"no warehouse at {warehouse_path(warehouse)}; run `okr run` first (or set {ENV_VAR})"
        )

    def connect() -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return connection(warehouse)

    if day is None:
        with connect() as con:
            day = newest_day(con)
    if day is None:
        return []
    return [
        push_tool(connect, definitions, tool, day, day, dry_run=dry_run)
        for tool in sorted(definitions.push.configured())
    ]


def print_outcomes(outcomes: list[PushOutcome], dry_run: bool) -> None:
    """One table per tool: what was written (or would be); the tools' answers are in
    push.sent (`okr sql "SELECT * FROM push.sent"`)."""
    # imported when a push prints, so every other command starts without the status tables
    from reports.terminal import print_renderables

    for outcome in outcomes:
        shown = outcome.planned if dry_run else [c for c, _ in outcome.sent]
        if not shown:
            if not outcome.failed:
                console.print(f"{outcome.tool}: nothing new to push")
            continue
        verb = "would push" if dry_run else "pushed"
        table = Table(title=f"{outcome.tool}: {verb}", title_justify="left")
        table.add_column("key result", no_wrap=True)
        table.add_column(f"{outcome.tool} id", no_wrap=True)
        table.add_column("day", no_wrap=True)
        table.add_column("value", justify="right", no_wrap=True)
        table.add_column("comment", overflow="fold")
        for c in shown:
            cells = (c.kr_id, c.target_id, c.day.isoformat(), f"{c.value:g}", c.comment)
            table.add_row(*(escape(cell) for cell in cells))
        # as `okr status`: within the terminal's width (or COLUMNS when piped), else at the
        # table's natural width, so a piped comment is not folded into a column of 3
        print_renderables(console, [table], console.is_terminal or "COLUMNS" in os.environ)


def push_command(
    day: Annotated[
        str | None, typer.Option("--date", help="Push this day (default: the newest computed).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be written; send nothing.")
    ] = False,
    definitions: DefinitionsOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Write the newest key-result values into the OKR tools configured under `push:` —
    only values that changed since the last push (recorded in push.sent)."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from pipelines.resources import load_valid_definitions
    from warehouse.db import WarehouseBusyError

    try:
        as_of = date.fromisoformat(day) if day else None
    except ValueError:
        raise typer.BadParameter(f"--date {day!r} is not YYYY-MM-DD") from None
    try:
        defs = load_valid_definitions(definitions_folder(definitions))
    except DefinitionError as exc:
        raise fail(str(exc)) from None
    if not defs.push.configured():
        console.print("no OKR tool configured: add `push:` to the definitions (see README)")
        return
    try:
        outcomes = push_all(defs, warehouse, as_of, dry_run)
    except (FileNotFoundError, ValueError, WarehouseBusyError) as exc:
        raise fail(str(exc)) from None
    if not outcomes:
        raise fail("no computed key-result days yet: run `okr run` first")
    print_outcomes(outcomes, dry_run)
    failed = [o for o in outcomes if o.failed]
    for outcome in failed:
        err.print(f"[red]failed:[/] {escape(outcome.failure_message())}", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def check_push_ids(definitions: Definitions) -> tuple[list[Problem], list[str]]:
    """With a tool's credentials set, every id mapped to it must exist in the tool."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from connectors.errors import SourceError
    from destinations.push.tools import make_client
    from okr_definitions.resolve import format_loc

    problems: list[Problem] = []
    notes: list[str] = []
    for tool, settings in sorted(definitions.push.configured().items()):
        mapped = [loc for loc in definitions.key_results.values() if tool in loc.item.push]
        if not mapped:
            continue
        try:
            client = make_client(tool, settings)
        except SourceError as exc:
            notes.append(f"{tool} ids not checked: {str(exc).removeprefix(f'{tool}: ')}")
            continue
        try:
            missing = set(client.missing_ids(sorted({loc.item.push[tool] for loc in mapped})))
        except SourceError as exc:
            first = mapped[0]
            problems.append(
                Problem(
                    "error",
                    first.file,
                    first.line("push", tool),
                    format_loc(first.path, "push", tool),
                    f"could not check the {tool} ids: {str(exc).removeprefix(f'{tool}: ')}",
                    f"check push.{tool} in the definitions and its credentials",
                )
            )
            continue
        finally:
            client.close()
        for loc in mapped:
            if loc.item.push[tool] in missing:
                problems.append(
                    Problem(
                        "error",
                        loc.file,
                        loc.line("push", tool),
                        format_loc(loc.path, "push", tool),
                        f"{tool} has no key result with id `{loc.item.push[tool]}`",
                        f"copy the key result's id from {tool}",
                    )
                )
    return problems, notes


def demo_push(definitions: Definitions, warehouse: Path) -> bool:
    """`okr demo`'s push: every key result mapped to a local okr-tracker sandbox, the newest
    day pushed and printed. The mapping lives in memory only: the demo's YAML stays free of
    `push:`, so `okr run` and `dagster dev` on the demo folder need no okr-tracker."""

    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from okr_definitions.push import OkrTrackerPush, Push
    from sandbox.okr_tracker.server import (
        DEFAULT_API_KEY,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        OkrTrackerSandbox,
        keyres_id,
    )

    ids = {kr_id: keyres_id(kr_id) for kr_id in definitions.key_results}
    tracker = OkrTrackerSandbox({tool_id: kr_id for kr_id, tool_id in ids.items()})
    env = {
        "OKR_TRACKER_API_KEY": DEFAULT_API_KEY,
        "OKR_TRACKER_CLIENT_ID": DEFAULT_CLIENT_ID,
        "OKR_TRACKER_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    }
    saved = dict(os.environ)
    with tracker.serve() as server:
        url = server.base_url
        definitions.push = Push(okr_tracker=OkrTrackerPush(base_url=server.base_url))
        for kr_id, loc in definitions.key_results.items():
            loc.item = loc.item.model_copy(update={"push": {"okr_tracker": ids[kr_id]}})
        os.environ.update(env)
        try:
            outcomes = push_all(definitions, warehouse, None, dry_run=False)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    console.print(f"\npushed to the okr-tracker sandbox ({url}), as `okr push` does:")
    print_outcomes(outcomes, dry_run=False)
    for outcome in outcomes:
        if outcome.failed:
            err.print(f"[red]failed:[/] {escape(outcome.failure_message())}", soft_wrap=True)
    return bool(outcomes) and not any(o.failed for o in outcomes)
