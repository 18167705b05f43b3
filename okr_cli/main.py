"""`okr`: validate definitions, run the pipeline, and read the numbers.

Exit codes: 0 success, 1 failure (invalid definitions, a failed run, a bad query, a warehouse
that cannot be read), 2 usage errors. Every error is one message without a stack trace;
`--verbose` adds Dagster's events and the traces.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from okr_cli.console import (
    DefinitionsOption,
    VerboseOption,
    WarehouseOption,
    console,
    definitions_folder,
    err,
    fail,
    objects_for_the_whole_command,
    run_app,
    set_verbose,
)
from okr_cli.lazy_commands import group_with_deferred_commands
from okr_definitions.folder import DEFAULT_DIR
from okr_definitions.problems import DefinitionError

app = typer.Typer(
    help="okr-sync: measure OKR key results from the systems that hold the truth.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # The commands that live in modules of their own: imported when they run (or `okr --help`
    # lists them), not by every `okr` process (okr_cli/lazy_commands.py).
    cls=group_with_deferred_commands(
        {
            "push": "okr_cli.push:push_command",
            "publish": "okr_cli.publish:publish_command",
            "import": "okr_cli.import_workbook:import_workbook",
            "notify": "okr_cli.notify:notify",
            "checkin": "okr_cli.checkin:checkin",
            "backup": "okr_cli.backup:backup_command",
            "restore": "okr_cli.backup:restore_command",
            "doctor": "okr_cli.doctor:doctor",
        }
    ),
)
# emoji=False: text from the warehouse or the definitions is printed as written (":x:" stays).


def _usage(message: str) -> typer.Exit:
    """A usage error in one line (exit 2), for what typer cannot check itself."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(2)


@app.command()
def validate(
    path: Annotated[Path | None, typer.Argument(help="Definitions folder or file.")] = None,
    strict: Annotated[bool, typer.Option(help="Treat method warnings as errors.")] = False,
    offline: Annotated[
        bool, typer.Option(help="Skip checking metric names against the sources' metadata.")
    ] = False,
    definitions_dir: DefinitionsOption = None,
) -> None:
    """Check OKR definitions: every problem with file, line, field and the fix.

    With a source's credentials in the environment, its metrics are also checked against the
    source's metadata API (GA4 getMetadata, Matomo API.getReportMetadata, HubSpot properties).
    """
    with objects_for_the_whole_command():
        # imported when the command runs, so `okr --help` and `okr status` start quickly
        from okr_cli.push import check_push_ids
        from okr_cli.source_checks import check_sources
        from okr_definitions.loader import load_definitions

    if path is not None and definitions_dir is not None and path != definitions_dir:
        raise _usage("give the definitions once: as PATH or as -d")
    root = definitions_folder(path or definitions_dir)
    if not root.exists():  # a mistyped argument is a usage error (2), not invalid definitions
        raise typer.BadParameter(f"{root} does not exist", param_hint="PATH")
    definitions, problems = load_definitions(root)
    notes: list[str] = []
    if definitions is not None and root.is_dir():
        # imported when the command runs, so `okr --help` and `okr status` start quickly
        from okr_definitions.checkins import load_checkins

        # Check-in notes name key results: a typo would silently drop a note from the report.
        _, checkin_problems = load_checkins(root, set(definitions.key_results))
        problems += checkin_problems
        if any(p.severity == "error" for p in checkin_problems):
            definitions = None
    if definitions is not None and not offline:
        source_problems, notes = check_sources(definitions)

        push_problems, push_notes = check_push_ids(definitions)
        source_problems, notes = source_problems + push_problems, notes + push_notes
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
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from okr_definitions.schema import write_schema

    write_schema(out)
    console.print(f"wrote {out}")


def _run(
    definitions_path: Path, warehouse: Path | None, first: date, last: date, verbose: bool
) -> bool:
    if warehouse:
        os.environ["OKR_WAREHOUSE"] = str(warehouse)
    os.environ["OKR_DEFINITIONS"] = str(definitions_path)
    with objects_for_the_whole_command():
        # imported when the command runs, so `okr --help` and `okr status` start quickly
        from okr_cli.run_start import build_tls_context_if_used, checking_warehouse_file

        # checked while Dagster and the pipeline are imported (okr_cli/run_start.py)
        checked = checking_warehouse_file(warehouse)
        import dagster as dg

        from okr_cli.run_summary import failure_lines
        from pipelines.build import build_definitions
        from pipelines.ephemeral import ephemeral_instance
        from pipelines.resources import load_valid_definitions
        from pipelines.runner import run_range

        try:
            definitions = load_valid_definitions(definitions_path)
        except DefinitionError as exc:
            checked.exception()  # its connection closed before the command ends
            for line in str(exc).splitlines()[1:]:
                err.print(escape(line), soft_wrap=True)
            raise fail("invalid definitions: run `okr validate` for details") from None
        with _warehouse_errors(warehouse):
            checked.result()
        build_tls_context_if_used(definitions)
        defs = build_definitions(definitions)
    # Dagster's console log: nothing by default (the events and traces stay in the instance),
    # everything with --verbose.
    log_level = "INFO" if verbose else "CRITICAL"
    # Either instance is disposed when the runs end (its storages' connections closed).
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else ephemeral_instance()
    with console.status(f"running sources and models for {first}..{last}"), instance as used:
        outcome = run_range(defs, first, last, used, log_level=log_level)
    if outcome.succeeded:
        return True
    lines, summary = failure_lines(outcome.failed_steps, outcome.errors, definitions)
    for line in lines:
        err.print(f"[red]failed:[/] {escape(line)}", soft_wrap=True)
    err.print(f"[bold red]error:[/] {escape(summary)}", soft_wrap=True)
    return False


def _run_days(
    root: Path, day: str | None, start: str | None, end: str | None
) -> tuple[date, date] | None:
    """The days to run, checked against what the definitions allow before anything runs:
    from the first day their baselines need through yesterday in the organisation's time
    zone (a day is complete, and a Dagster partition, once it has ended there). None when the
    definitions are invalid: `_run` reports that."""
    if day and (start or end):
        raise _usage("use either --date or --from/--to")
    if (start or end) and not (start and end):
        raise _usage("--from and --to go together")
    parsed: dict[str, date] = {}
    for option, text in (("--date", day), ("--from", start), ("--to", end)):
        if text:
            try:
                parsed[option] = date.fromisoformat(text)
            except ValueError:
                raise _usage(f"{option} {text!r} is not a date: write YYYY-MM-DD") from None
    from okr_definitions.loader import load_definitions  # when needed: `okr status` starts fast

    loaded, _ = load_definitions(root)
    if loaded is None:
        return None
    zone = loaded.organisation.timezone
    newest = datetime.now(ZoneInfo(zone)).date() - timedelta(days=1)
    earliest = loaded.earliest_date_needed()
    if not parsed:
        from pipelines.schedules import daily_window  # imports Dagster: only when needed

        first, last = daily_window(
            newest + timedelta(days=1), loaded.organisation.lookback_days, earliest
        )
        return first, last
    first = parsed.get("--date") or parsed["--from"]
    last = parsed.get("--date") or parsed["--to"]
    first_option = "--date" if day else "--from"
    last_option = "--date" if day else "--to"
    if last < first:
        raise _usage(f"--to {last} is before --from {first}")
    if first < earliest:
        raise _usage(
            f"{first_option} {first} is before {earliest}, the first day the definitions need "
            f"(their earliest baseline window); start at {earliest} or later"
        )
    if last > newest:
        raise _usage(
            f"{last_option} {last} has not ended yet in {zone}: the newest day to run is {newest}"
        )
    return first, last


@app.command()
def run(
    day: Annotated[str | None, typer.Option("--date", help="One day, YYYY-MM-DD.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    definitions: DefinitionsOption = None,
    warehouse: WarehouseOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Fetch the sources and compute progress for a day or a range (default: yesterday plus
    the lookback days, like the daily schedule). Days run from the first day the definitions
    need (their baseline windows) through yesterday in the organisation's time zone."""
    set_verbose(verbose)
    root = definitions_folder(definitions)
    days = _run_days(root, day, start, end)
    if days is not None and days[0] > days[1]:
        console.print(
            f"nothing to run yet: the definitions need days from {days[0]} on, "
            f"and the newest complete day is {days[1]}"
        )
        return
    first, last = days or (date.today(), date.today())  # invalid definitions: _run says so
    if not _run(root, warehouse, first, last, verbose):
        raise typer.Exit(1)
    console.print(f"[green]done[/]: {first}..{last}")


@app.command()
def sandbox(
    definitions: DefinitionsOption = None,
    port_base: Annotated[
        int,
        typer.Option(
            help="Serve on fixed ports: this one plus each source's place in the registry, "
            "so the printed exports stay valid across restarts.",
            min=1024,
            max=65000,
        ),
    ] = 8710,
) -> None:
    """Serve the local source sandboxes the definitions need (until Ctrl-C), and print the
    environment that points okr-sync at them — for `dagster dev` on the demo workspace."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from okr_cli.sandboxes import serve_until_interrupted
    from pipelines.resources import load_valid_definitions

    try:
        used = load_valid_definitions(definitions_folder(definitions)).used_sources()
    except DefinitionError as exc:
        raise fail(str(exc)) from None
    serve_until_interrupted(used, port_base)


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Demo workspace.")] = Path("okr-demo"),
    verbose: VerboseOption = False,
) -> None:
    """Run the whole pipeline on the example OKRs (no credentials) and print the results."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from okr_cli.demo import prepare_workspace, write_demo_data, yesterday_of
    from okr_cli.push import demo_push
    from okr_cli.report_recording import demo_report
    from okr_cli.sandboxes import running_sandboxes
    from pipelines.resources import load_valid_definitions

    set_verbose(verbose)
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
        ok = _run(definitions_path, warehouse, first, yesterday, verbose)
    _print_status(warehouse, team=None, day=None, definitions=definitions_path)
    if ok:
        ok &= demo_report(warehouse, definitions_path)
    ok &= demo_push(definitions, warehouse)  # okr_cli/push.py
    console.print(
        f"\nwarehouse: {escape(str(warehouse))}\nnext:\n"
        f"  okr status -w {escape(str(warehouse))} -d {escape(str(definitions_path))}\n"
        f"  okr report -w {escape(str(warehouse))} -d {escape(str(definitions_path))}"
        "   # the weekly check-in report\n"
        f'  okr sql -w {escape(str(warehouse))} "SELECT kr_id, status, progress '
        'FROM okr.kr_progress_latest"\n'
        f"  okr sandbox -d {escape(str(definitions_path))}   # then dagster dev, see README",
        soft_wrap=True,
    )
    if not ok:
        raise fail("the demo run had failures (see above)")


def _print_status(
    warehouse: Path | None, team: str | None, day: date | None, definitions: Path
) -> None:
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from okr_cli.checkin import status_checkins
    from okr_cli.warehouse_facts import what_exists
    from reports.terminal import print_status
    from warehouse.db import connection
    from warehouse.queries import not_started_status_rows, status_rows

    # One read-only open for every question (each open is a DuckDB instance, ~20 ms), closed
    # before printing: a reader holds the file's shared lock, which keeps a run from writing.
    with connection(warehouse, read_only=True) as con:
        rows = status_rows(con, team=team, day=day)
        not_started = not_started_status_rows(con, team=team, day=day)
        # Nothing to show is an answer only for an empty warehouse; a team or a day that is
        # not there is a mistake, answered with what is there — unless the team's key results
        # have simply not started yet.
        problem = None if rows else what_exists(con, team, day)
        trends = status_checkins(con, rows, definitions) if rows else {}  # okr_cli/checkin.py
    if not rows:
        if problem and (day is not None or not not_started):
            raise fail(problem)
        if not not_started:
            console.print("no key-result rows yet: run `okr run` first")
            return
    # Piped with COLUMNS set: laid out within COLUMNS like a terminal (titles wrap, numbers
    # stay whole); piped without it: at the table's natural width.
    fit = console.is_terminal or "COLUMNS" in os.environ
    print_status(console, rows, not_started, fit_width=fit, trends=trends)


@app.command()
def status(
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="As of this day (default: latest).")
    ] = None,
    warehouse: WarehouseOption = None,
    definitions: DefinitionsOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Where every key result stands, grouped by team and objective: status, value against
    target, progress against the expected pace, the change over 7 days and trust flags; then
    each key result's check-ins over the last weeks (from the definitions' checkins/)."""
    set_verbose(verbose)
    try:
        as_of = date.fromisoformat(day) if day else None
    except ValueError:
        raise _usage(f"--date {day!r} is not a date: write YYYY-MM-DD") from None
    with _warehouse_errors(warehouse):
        _print_status(warehouse, team, as_of, definitions_folder(definitions))


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
    verbose: VerboseOption = False,
) -> None:
    """Write the weekly check-in report: one self-contained HTML file and a Markdown twin."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from okr_cli.report_recording import record_report
    from reports.weekly import CheckinError, NoReportData, latest_week, parse_week
    from reports.write import write_weekly_report

    set_verbose(verbose)
    try:
        monday = parse_week(week) if week else None
    except ValueError:
        raise _usage(
            f"--week {week!r} is not a week: write the ISO week with its year (2026-W48) "
            "or any day of it (2026-11-26)"
        ) from None
    if out is not None and out.is_dir():
        raise _usage(
            f"--out {out} is a folder; give the HTML file to write, e.g. {out / 'checkin.html'}"
        )
    root = definitions_folder(definitions)
    with _warehouse_errors(warehouse):
        try:
            monday = monday or latest_week(warehouse)
            with console.status(f"rendering the check-in report for {monday}"):
                written = write_weekly_report(warehouse, monday, out, root)
        except CheckinError as exc:
            for problem in exc.problems:
                err.print(
                    f"[red]{escape(problem.format(relative_to=Path.cwd()))}[/]", soft_wrap=True
                )
            raise fail(f"{len(exc.problems)} problem(s) in {root / 'checkins'}") from None
        except NoReportData as exc:
            raise fail(str(exc)) from None
    summary = ", ".join(f"{n} {s}" for s, n in written.report.status_counts)
    console.print(f"[green]wrote[/] {escape(str(written.html))}", soft_wrap=True)
    console.print(f"[green]wrote[/] {escape(str(written.markdown))}", soft_wrap=True)
    record_report(written, monday, warehouse)
    console.print(
        f"{written.report.week_label}, as of {written.report.as_of}: {summary}; "
        f"{len(written.report.attention)} need attention, "
        f"{len(written.report.checkins)} check-in(s)",
        soft_wrap=True,
    )


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or xlsx")] = "parquet",
    out: Annotated[Path, typer.Option(help="Folder for the files.")] = Path("okr-export"),
    warehouse: WarehouseOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Write the public tables (okr.*, staging.metric_daily) as Parquet or CSV for BI tools,
    or (xlsx) one scorecard workbook."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from destinations.files.export import FORMATS, export_tables

    set_verbose(verbose)
    if fmt == "xlsx":
        with _warehouse_errors(warehouse):
            return _export_workbook(warehouse, out)
    if fmt not in FORMATS:
        raise _usage(f"--format is {', '.join(FORMATS)} or xlsx")
    with _warehouse_errors(warehouse):
        written = export_tables(warehouse, out, fmt)
    # One line a table, the path whole (a table would cut it to the terminal's width).
    width = max(len(item.table) for item in written) if written else 0
    for item in written:
        print(f"{item.table:<{width}}  {item.rows:>12,} rows  {item.path}")


def _export_workbook(warehouse: Path | None, out: Path) -> None:
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from destinations.files.workbook import export_workbook
    from warehouse.db import WarehouseBusyError

    try:
        written = export_workbook(warehouse, out)
    except (FileNotFoundError, WarehouseBusyError) as exc:
        raise fail(str(exc)) from None
    console.print(
        f"{written.path}: {written.key_results} key results, {written.history_rows} daily rows, "
        f"{written.charts} charts",
        soft_wrap=True,
    )


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run (read-only).")],
    warehouse: WarehouseOption = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="table, csv or json (default: table at a terminal, csv when piped)."
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Run a read-only SQL query on the warehouse: queries only, no access to files."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    import duckdb

    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from okr_cli.sql_query import (
        FORMATS,
        EmptyQuery,
        RefusedStatement,
        default_format,
        run_query,
        write_result,
    )

    set_verbose(verbose)
    if fmt is not None and fmt not in FORMATS:
        raise _usage(f"--format is {', '.join(FORMATS)}")
    with _warehouse_errors(warehouse):
        try:
            columns, rows = run_query(warehouse, query)
        except EmptyQuery as exc:
            raise _usage(str(exc)) from None
        except RefusedStatement as exc:
            raise fail(str(exc)) from None
        except duckdb.PermissionException as exc:
            raise fail(
                "okr sql reads the warehouse's tables only, never files: "
                + str(exc).splitlines()[0]
            ) from None
        except duckdb.Error as exc:
            raise fail(f"query failed: {exc}") from None
    write_result(columns, rows, fmt or default_format(), console)


@contextlib.contextmanager
def _warehouse_errors(warehouse: Path | None) -> Iterator[None]:
    """The warehouse's usage and environment errors as one line (exit 1)."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from okr_cli.warehouse_facts import demo_hint
    from warehouse.db import WarehouseBusyError

    try:
        yield
    except FileNotFoundError as exc:
        raise fail(demo_hint(warehouse) or str(exc)) from None
    except (ValueError, WarehouseBusyError) as exc:
        raise fail(str(exc)) from None


def main() -> None:
    """The `okr` entry point (okr_cli/console.py says how its errors read)."""
    run_app(app)


if __name__ == "__main__":
    main()
