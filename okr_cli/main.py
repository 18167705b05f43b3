"""`okr`: validate definitions, run the pipeline, and read the numbers.

Exit codes: 0 success, 1 failure (invalid definitions, a failed run, a bad query),
2 usage errors (typer's own).
"""

from __future__ import annotations

import contextlib
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from okr_definitions.loader import DEFAULT_DIR, load_definitions
from okr_definitions.problems import DefinitionError

app = typer.Typer(
    help="okr-sync: measure OKR key results from the systems that hold the truth.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DefinitionsOption = Annotated[
    Path | None,
    typer.Option(
        "--definitions",
        "-d",
        help="OKR definitions folder (default: OKR_DEFINITIONS or the bundled okr_definitions/).",
    ),
]
WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        "-w",
        help="DuckDB file (default: OKR_WAREHOUSE or warehouse/okr_sync.duckdb).",
    ),
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(1)


def _definitions_path(path: Path | None) -> Path:
    return Path(path or os.environ.get("OKR_DEFINITIONS") or DEFAULT_DIR)


@app.command()
def validate(
    path: Annotated[Path | None, typer.Argument(help="Definitions folder or file.")] = None,
    strict: Annotated[bool, typer.Option(help="Treat method warnings as errors.")] = False,
    offline: Annotated[
        bool, typer.Option(help="Skip checking metric names against the sources' metadata.")
    ] = False,
) -> None:
    """Check OKR definitions: every problem with file, line, field and the fix.

    With a source's credentials in the environment, its metrics are also checked against the
    source's metadata API (GA4 getMetadata, Matomo API.getReportMetadata, HubSpot properties).
    """
    from okr_cli.source_checks import check_sources

    root = _definitions_path(path)
    if not root.exists():  # a mistyped argument is a usage error (2), not invalid definitions
        raise typer.BadParameter(f"{root} does not exist", param_hint="PATH")
    definitions, problems = load_definitions(root)
    notes: list[str] = []
    if definitions is not None and root.is_dir():
        from okr_definitions.checkins import load_checkins

        # Check-in notes name key results: a typo would silently drop a note from the report.
        _, checkin_problems = load_checkins(root, set(definitions.key_results))
        problems += checkin_problems
        if any(p.severity == "error" for p in checkin_problems):
            definitions = None
    if definitions is not None and not offline:
        source_problems, notes = check_sources(definitions)
        problems += source_problems
        if any(p.severity == "error" for p in source_problems):
            definitions = None
    if strict:
        problems = [
            p.__class__("error", p.file, p.line, p.field, p.message, p.fix) for p in problems
        ]
    base = Path.cwd()
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        # Titles and paths are the user's text: printed as written, never as rich markup.
        err.print(f"[{style}]{escape(problem.format(relative_to=base))}[/]", soft_wrap=True)
    for note in notes:
        err.print(f"[dim]note: {escape(note)}[/]", soft_wrap=True)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors or definitions is None:
        err.print(f"[bold red]{errors} error(s)[/], {warnings} warning(s) in {root}")
        raise typer.Exit(1)
    console.print(
        f"[green]OK[/]: {len(definitions.objectives)} objectives, "
        f"{len(definitions.key_results)} key results, {len(definitions.metrics)} metrics"
        + (f", {warnings} warning(s)" if warnings else "")
    )


@app.command()
def schema(
    out: Annotated[Path, typer.Option(help="Where to write the JSON Schema.")] = DEFAULT_DIR
    / "okr-definitions.schema.json",
) -> None:
    """Write the JSON Schema of the definition format (for editor autocompletion)."""
    from okr_definitions.schema import write_schema

    write_schema(out)
    console.print(f"wrote {out}")


def _run(definitions_path: Path, warehouse: Path | None, first: date, last: date) -> bool:
    import dagster as dg

    if warehouse:
        os.environ["OKR_WAREHOUSE"] = str(warehouse)
    os.environ["OKR_DEFINITIONS"] = str(definitions_path)
    from pipelines.build import build_definitions
    from pipelines.resources import load_valid_definitions
    from pipelines.runner import run_range

    try:
        defs = build_definitions(load_valid_definitions(definitions_path))
    except DefinitionError as exc:
        for line in str(exc).splitlines()[1:]:
            err.print(escape(line), soft_wrap=True)
        raise _fail("invalid definitions: run `okr validate` for details") from None
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    with console.status(f"running sources and models for {first}..{last}"):
        if instance is None:
            with dg.DagsterInstance.ephemeral() as ephemeral:
                outcome = run_range(defs, first, last, ephemeral, log_level="ERROR")
        else:
            outcome = run_range(defs, first, last, instance, log_level="ERROR")
    for message in outcome.errors:
        err.print(f"[red]failed:[/] {escape(message)}", soft_wrap=True)
    return outcome.succeeded


@app.command()
def run(
    day: Annotated[str | None, typer.Option("--date", help="One day, YYYY-MM-DD.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    definitions: DefinitionsOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Fetch the sources and compute progress for a day or a range (default: yesterday plus
    the lookback days, like the daily schedule)."""
    root = _definitions_path(definitions)
    try:
        if day and (start or end):
            raise typer.BadParameter("use either --date or --from/--to")
        if day:
            first = last = date.fromisoformat(day)
        elif start or end:
            if not (start and end):
                raise typer.BadParameter("--from and --to go together")
            first, last = date.fromisoformat(start), date.fromisoformat(end)
            if last < first:
                raise typer.BadParameter(f"--to {last} is before --from {first}")
        else:
            from pipelines.schedules import daily_window

            # Invalid definitions are reported by _run below; here only the window matters.
            loaded, _ = load_definitions(root)
            org = loaded.organisation if loaded else None
            today = datetime.now(ZoneInfo(org.timezone if org else "UTC")).date()
            first, last = daily_window(today, org.lookback_days if org else 3, date.min)
    except ValueError as exc:
        raise typer.BadParameter(f"dates are YYYY-MM-DD ({exc})") from None
    ok = _run(root, warehouse, first, last)
    if not ok:
        raise _fail("some steps failed (see above); the other sources' key results are fresh")
    console.print(f"[green]done[/]: {first}..{last}")


@app.command()
def sandbox(
    definitions: DefinitionsOption = None,
) -> None:
    """Serve the local source sandboxes the definitions need (until Ctrl-C), and print the
    environment that points okr-sync at them — for `dagster dev` on the demo workspace."""
    import threading

    from okr_cli.sandboxes import running_sandboxes
    from pipelines.resources import load_valid_definitions

    try:
        used = load_valid_definitions(_definitions_path(definitions)).used_sources()
    except DefinitionError as exc:
        raise _fail(str(exc)) from None
    before = dict(os.environ)
    with running_sandboxes(used) as servers:
        for name, server in servers.items():
            console.print(f"[green]{name}[/] sandbox on {server.base_url}")
        console.print("\nIn another shell (sandbox credentials, not secrets):")
        for key, value in sorted(os.environ.items()):
            if before.get(key) != value:
                print(f"export {key}={value}")
        console.print("\nCtrl-C stops the sandboxes.")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Demo workspace.")] = Path("okr-demo"),
) -> None:
    """Run the whole pipeline on the example OKRs (no credentials) and print the results."""
    from okr_cli.demo import prepare_workspace, write_demo_data, yesterday_of
    from okr_cli.sandboxes import running_sandboxes
    from pipelines.resources import load_valid_definitions

    today = date.today()
    definitions_path = prepare_workspace(folder, today)
    warehouse = folder / "okr_sync.duckdb"
    yesterday = yesterday_of(today)
    # Generate data first so validation finds the export files; the window it covers comes
    # from the definitions (baselines read the previous period).
    write_demo_data(definitions_path, today - timedelta(days=400), yesterday)
    definitions = load_valid_definitions(definitions_path)
    first = definitions.earliest_date_needed()
    with running_sandboxes(definitions.used_sources()):
        ok = _run(definitions_path, warehouse, first, yesterday)
    _print_status(warehouse, team=None, day=None)
    console.print(
        f"\nwarehouse: {warehouse}\nnext:\n"
        f"  okr report -w {warehouse} -d {definitions_path}   # the weekly check-in report\n"
        f'  okr sql -w {warehouse} "SELECT kr_id, status, progress FROM okr.kr_progress_latest"\n'
        f"  okr sandbox -d {definitions_path}   # then dagster dev, see README",
        soft_wrap=True,
    )
    if not ok:
        raise _fail("the demo run had failures (see above)")


def _print_status(warehouse: Path | None, team: str | None, day: date | None) -> None:
    from reports.terminal import print_status
    from warehouse.queries import status_rows

    rows = status_rows(warehouse, team=team, day=day)
    if not rows:
        what = f" for team {team}" if team else ""
        when = f" on {day}" if day else ""
        console.print(f"no key-result rows{what}{when}")
        return
    print_status(console, rows)


@app.command()
def status(
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="As of this day (default: latest).")
    ] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Where every key result stands, grouped by team and objective: status, value against
    target, progress against the expected pace, the change over 7 days and trust flags."""
    from warehouse.db import WarehouseBusyError

    try:
        as_of = date.fromisoformat(day) if day else None
    except ValueError:
        raise typer.BadParameter(f"--date {day!r} is not YYYY-MM-DD") from None
    try:
        _print_status(warehouse, team, as_of)
    except (FileNotFoundError, ValueError, WarehouseBusyError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def report(
    week: Annotated[
        str | None,
        typer.Option(help="ISO week (2026-W48) or any day of it (default: the newest week)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="HTML file to write; the Markdown twin goes beside it as .md "
            "(default: OKR_REPORTS or reports/ beside the warehouse)."
        ),
    ] = None,
    warehouse: WarehouseOption = None,
    definitions: DefinitionsOption = None,
) -> None:
    """Write the weekly check-in report: one self-contained HTML file and a Markdown twin."""
    from reports.weekly import CheckinError, NoReportData, latest_week, parse_week
    from reports.write import write_weekly_report
    from warehouse.db import WarehouseBusyError

    try:
        monday = parse_week(week) if week else None
    except ValueError as exc:
        raise typer.BadParameter(f"--week is an ISO week (2026-W48) or a date ({exc})") from None
    root = _definitions_path(definitions)
    try:
        monday = monday or latest_week(warehouse)
        with console.status(f"rendering the check-in report for {monday}"):
            written = write_weekly_report(warehouse, monday, out, root)
    except CheckinError as exc:
        for problem in exc.problems:
            err.print(f"[red]{escape(problem.format(relative_to=Path.cwd()))}[/]", soft_wrap=True)
        raise _fail(f"{len(exc.problems)} problem(s) in {root / 'checkins'}") from None
    except (FileNotFoundError, NoReportData, WarehouseBusyError, ValueError) as exc:
        raise _fail(str(exc)) from None
    summary = ", ".join(f"{n} {s}" for s, n in written.report.status_counts)
    console.print(f"[green]wrote[/] {written.html}", soft_wrap=True)
    console.print(f"[green]wrote[/] {written.markdown}", soft_wrap=True)
    console.print(
        f"{written.report.week_label}, as of {written.report.as_of}: {summary}; "
        f"{len(written.report.attention)} need attention, "
        f"{len(written.report.checkins)} check-in(s)",
        soft_wrap=True,
    )


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
    out: Annotated[Path, typer.Option(help="Folder for the files.")] = Path("okr-export"),
    warehouse: WarehouseOption = None,
) -> None:
    """Write the public tables (okr.*, staging.metric_daily) as Parquet or CSV for BI tools."""
    from destinations.files.export import FORMATS, export_tables
    from warehouse.db import WarehouseBusyError

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format is {' or '.join(FORMATS)}")
    try:
        written = export_tables(warehouse, out, fmt)
    except (FileNotFoundError, ValueError, WarehouseBusyError) as exc:
        raise _fail(str(exc)) from None
    table = Table("table", "rows", "file")
    for item in written:
        table.add_row(item.table, f"{item.rows:,}", str(item.path))
    console.print(table)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run (read-only).")],
    warehouse: WarehouseOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Run a read-only SQL query on the warehouse."""
    import duckdb

    from warehouse.db import WarehouseBusyError, connect

    if fmt not in ("table", "csv", "json"):
        raise typer.BadParameter("--format is table, csv or json")
    try:
        con = connect(warehouse, read_only=True)
    except (FileNotFoundError, ValueError, WarehouseBusyError) as exc:
        raise _fail(str(exc)) from None
    try:
        cursor = con.execute(query)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise _fail(f"query failed: {exc}") from None
    finally:
        con.close()
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif fmt == "json":
        import json

        print(json.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str, indent=1))
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*("NULL" if v is None else str(v) for v in row))
        console.print(table)


app.command()(__import__("okr_cli.notify", fromlist=["notify"]).notify)  # issue 18: okr notify

if __name__ == "__main__":
    app()
