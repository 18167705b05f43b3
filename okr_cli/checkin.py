"""`okr checkin`: write the week's check-in file, pre-filled from the warehouse and the last
check-in (reports/checkin_template.py), so an owner only changes what changed.

Registered in okr_cli/main.py. It writes `checkins/<week>.yaml` in the definitions folder
(`checkins/<week>-<team>.yaml` with `--team`, so each team can check in on its own file), never
over an existing file without `--force`, and checks the result as `okr validate` does. With
`--edit` it then opens the file in `$VISUAL` / `$EDITOR` and checks it again after the editor
closes. It never opens an editor unasked: the command also runs in scripts and CI.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.markup import escape

from okr_cli.console import (
    DefinitionsOption,
    WarehouseOption,
    console,
    definitions_folder,
    err,
    fail,
)

if TYPE_CHECKING:
    import duckdb

    from okr_definitions.checkins import Checkin
    from reports.checkin_trends import CheckinTrend


def checkin_file(definitions: Path, week: date, team: str | None) -> Path:
    # imported when a command runs, so `okr sql` starts without the check-in models
    from okr_definitions.checkins import CHECKINS_DIR, iso_week

    name = iso_week(week) + (f"-{team}" if team else "")
    return definitions / CHECKINS_DIR / f"{name}.yaml"


def _write_new(path: Path, text: str, force: bool) -> None:
    """Write `text` whole or not at all: a temporary file beside it, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        if force:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails if the file appeared meanwhile: never overwrite
            os.unlink(temporary)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _problems_in(path: Path, definitions: Path, known: set[str]) -> list[str]:
    """`okr validate`'s check-in problems that concern the written file."""
    from okr_definitions.checkins import load_checkins  # see checkin_file

    _, problems = load_checkins(definitions, known)
    return [
        p.format(relative_to=Path.cwd())
        for p in problems
        if p.file is not None and Path(p.file).resolve() == path.resolve()
    ]


def checkin(
    week: Annotated[
        str | None,
        typer.Option(help="ISO week (2026-W48) or any day of it (default: the newest week)."),
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's key results.")] = None,
    edit: Annotated[
        bool, typer.Option("--edit", help="Open the written file in $VISUAL or $EDITOR.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing check-in file.")] = False,
    definitions: DefinitionsOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Write the week's check-in file, pre-filled per key result with its owner, this week's
    value, status and pace, and the last check-in's confidence and comment."""
    # imported when the command runs, so `okr --help` starts quickly
    from okr_definitions.checkins import CHECKINS_DIR, iso_week, load_checkins
    from reports.checkin_template import checkin_template
    from reports.weekly import NoReportData, latest_week, parse_week
    from warehouse.db import WarehouseBusyError, connect
    from warehouse.queries import current_rows, known_key_results, team_owners

    root = definitions_folder(definitions)
    if not root.is_dir():
        raise typer.BadParameter(f"{root} is not a definitions folder", param_hint="-d")
    try:
        monday = parse_week(week) if week else None
    except ValueError:
        raise typer.BadParameter(
            f"{week!r} is not a week: write the ISO week (2026-W48) or any day of it",
            param_hint="--week",
        ) from None
    try:
        monday = monday or latest_week(warehouse)
        con = connect(warehouse, read_only=True)
        try:
            rows = current_rows(con, monday, monday + timedelta(days=6), team)
            owners = team_owners(con)
            known = known_key_results(con)
        finally:
            con.close()
    except (FileNotFoundError, NoReportData, WarehouseBusyError, ValueError) as exc:
        raise fail(str(exc)) from None
    if team is not None and team not in owners:
        raise fail(f"no team `{team}`; the teams are {', '.join(sorted(owners)) or 'none'}")
    if not rows:
        whose = f" of team {team}" if team else ""
        raise fail(f"no key-result rows{whose} in {iso_week(monday)}: run `okr run` first")

    checkins, problems = load_checkins(root, known)
    if problems:
        for problem in problems:
            err.print(f"[red]{escape(problem.format(relative_to=Path.cwd()))}[/]", soft_wrap=True)
        raise fail(f"fix the check-ins in {root / CHECKINS_DIR} first")
    earlier: dict[str, Checkin] = {}
    for note in sorted(checkins, key=lambda c: c.week_start):
        if note.week_start < monday:
            earlier[note.kr_id] = note  # the newest earlier one wins

    path = checkin_file(root, monday, team)
    if path.exists() and not force:
        raise fail(f"{path} exists: edit it, or give --force to write it again")
    try:
        _write_new(path, checkin_template(monday, rows, owners, earlier), force)
    except FileExistsError:
        raise fail(f"{path} exists: edit it, or give --force to write it again") from None
    problems_now = _problems_in(path, root, known)
    if problems_now:  # e.g. a key result already checked in this week in another file
        for line in problems_now:
            err.print(f"[yellow]{escape(line)}[/]", soft_wrap=True)
    carried = sum(1 for r in rows if r["kr_id"] in earlier)
    console.print(f"[green]wrote[/] {escape(str(path))}", soft_wrap=True)
    console.print(
        f"{iso_week(monday)}: {len(rows)} key results, {carried} with the last check-in "
        "carried over; change what changed, then `okr validate` and `okr report`",
        soft_wrap=True,
    )
    if edit:
        click.edit(filename=str(path))
        problems_now = _problems_in(path, root, known)
        for line in problems_now:
            err.print(f"[red]{escape(line)}[/]", soft_wrap=True)
        if problems_now:
            raise fail(f"{path} has problems: fix them and run `okr validate`")


def status_checkins(
    con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], definitions: Path
) -> dict[str, CheckinTrend]:
    """`okr status`'s check-in trends. A broken check-in file does not hide the numbers: its
    problems are printed as warnings and the trends left out until they are fixed."""
    from reports.checkin_trends import status_trends  # DuckDB: only when a command runs

    if not definitions.is_dir():
        return {}
    trends, problems = status_trends(con, rows, definitions)
    for problem in problems:
        err.print(f"[yellow]{escape(problem.format(relative_to=Path.cwd()))}[/]", soft_wrap=True)
    if problems:
        err.print("[yellow]check-ins left out of the status until these are fixed[/]")
    return trends
