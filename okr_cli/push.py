"""`okr push [--dry-run]`: the newest computed day's key-result values into the OKR tools
configured under `push:` (issue 20), and the id checks `okr validate` runs with credentials.

The same code as the Dagster `push/<tool>` assets (destinations/push/ledger.py); a failing
tool is reported and makes the exit code 1, the other tools are still pushed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from okr_definitions.problems import DefinitionError, Problem
from okr_definitions.resolve import Definitions, format_loc

if TYPE_CHECKING:  # imported when a command runs: `okr --help` stays quick
    import duckdb

    from destinations.push.ledger import PushOutcome

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def push_all(
    definitions: Definitions, warehouse: Path | None, day: date | None, dry_run: bool
) -> list[PushOutcome]:
    """Each configured tool's outcome for `day` (default: the newest computed day)."""
    from destinations.push.ledger import newest_day, push_tool
    from warehouse.db import connection

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
    table = Table(title="would push" if dry_run else "pushed", title_justify="left")
    for column in ("tool", "key result", "tool's id", "day", "value", "comment"):
        table.add_column(column)
    if not dry_run:
        table.add_column("answer")
    for outcome in outcomes:
        answers = {id(c): a for c, a in outcome.sent}
        shown = outcome.planned if dry_run else [c for c, _ in outcome.sent]
        for c in shown:
            row = [c.tool, c.kr_id, c.target_id, c.day.isoformat(), f"{c.value:g}", c.comment]
            if not dry_run:
                row.append(answers.get(id(c), ""))
            table.add_row(*(escape(cell) for cell in row))
    if table.row_count:
        console.print(table)
    for outcome in outcomes:
        if not outcome.planned:
            console.print(f"{outcome.tool}: nothing new to push")


def push_command(
    day: Annotated[
        str | None, typer.Option("--date", help="Push this day (default: the newest computed).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be written; send nothing.")
    ] = False,
    definitions: Annotated[
        Path | None,
        typer.Option("--definitions", "-d", help="OKR definitions folder."),
    ] = None,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", "-w", help="DuckDB file.")] = (
        None
    ),
) -> None:
    """Write the newest key-result values into the OKR tools configured under `push:` —
    only values that changed since the last push (recorded in push.sent)."""
    from okr_cli.main import _definitions_path, _fail
    from pipelines.resources import load_valid_definitions
    from warehouse.db import WarehouseBusyError

    try:
        as_of = date.fromisoformat(day) if day else None
    except ValueError:
        raise typer.BadParameter(f"--date {day!r} is not YYYY-MM-DD") from None
    try:
        defs = load_valid_definitions(_definitions_path(definitions))
    except DefinitionError as exc:
        raise _fail(str(exc)) from None
    if not defs.push.configured():
        console.print("no OKR tool configured: add `push:` to the definitions (see README)")
        return
    try:
        outcomes = push_all(defs, warehouse, as_of, dry_run)
    except (FileNotFoundError, ValueError, WarehouseBusyError) as exc:
        raise _fail(str(exc)) from None
    if not outcomes:
        raise _fail("no computed key-result days yet: run `okr run` first")
    print_outcomes(outcomes, dry_run)
    failed = [o for o in outcomes if o.failed]
    for outcome in failed:
        err.print(f"[red]failed:[/] {escape(outcome.failure_message())}", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def check_push_ids(definitions: Definitions) -> tuple[list[Problem], list[str]]:
    """With a tool's credentials set, every id mapped to it must exist in the tool."""
    from connectors.errors import SourceError
    from destinations.push.tools import make_client

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
