"""What every `okr` command prints through, and where it finds the definitions: the consoles,
the one-line error that ends a command (exit 1), the entry point's handling of usage and
environment errors (one line each, the stack trace only with --verbose or OKR_VERBOSE=1), and
the definitions folder."""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

# Typer vendors click (typer._click): its parse errors are this class, not the click package's.
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from okr_definitions.folder import DEFAULT_DIR

# The options every command that reads the definitions or the warehouse shares.
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
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Also print Dagster's events and the stack traces of failures."
    ),
]

console = Console(highlight=False, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False)

_VERBOSE = {"on": os.environ.get("OKR_VERBOSE", "") not in ("", "0")}
# Set by run_app: this process runs one `okr` command and exits (not a test calling the app).
_COMMAND_PROCESS = {"on": False}


def set_verbose(verbose: bool) -> None:
    """--verbose on any command: stack traces and Dagster's events are shown."""
    _VERBOSE["on"] = _VERBOSE["on"] or verbose


def fail(message: str) -> typer.Exit:
    """Print `message` as the command's error; raise the returned Exit (status 1)."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


def definitions_folder(path: Path | None) -> Path:
    """The definitions folder: the argument, else $OKR_DEFINITIONS, else the default."""
    return Path(path or os.environ.get("OKR_DEFINITIONS") or DEFAULT_DIR)


def usage_error(exc: ClickException) -> int:
    """Print a parse error of the command line (an unknown option, a value of the wrong type) as
    one line like every other usage error, naming the command's help; return its exit status.
    Typer's own rendering is a boxed panel of five lines."""
    ctx = getattr(exc, "ctx", None)
    where = f"{ctx.command_path}: " if ctx is not None else ""
    help_hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
    message = where + exc.format_message() + help_hint
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return exc.exit_code


@contextmanager
def objects_for_the_whole_command() -> Iterator[None]:
    """Imports and whatever else inside lives until the command exits (modules, definitions,
    the asset graph): Python's cycle collector neither walks them while they are made nor
    afterwards. Each of its full passes walks every live object, and after Dagster, pydantic
    and the sources' client libraries are imported that is some 270,000: about 0.7 s CPU of a
    cold daily `okr run` went to passes that found nothing to free (benchmarks/RESULTS.md,
    figure 4b). Only in an `okr` process (run_app): a test calling the app in its own process
    keeps its collector as it is."""
    if not _COMMAND_PROCESS["on"]:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # what exists now is out of the collector's sight from here on
        if was_enabled:
            gc.enable()


def _is_environment_error(exc: Exception) -> bool:
    """An OS error, or DuckDB's (a file it cannot open or read): said in one line. DuckDB is
    not imported to ask: a command that never loaded it (`okr validate`) cannot have raised
    its error, and starts without its import."""
    duckdb = sys.modules.get("duckdb")
    return isinstance(exc, OSError) or (duckdb is not None and isinstance(exc, duckdb.Error))


def run_app(app: typer.Typer) -> None:
    """Run the command line and exit with its status: a parse error, an OS or DuckDB error is
    one line, not a stack trace (the trace with --verbose or OKR_VERBOSE=1)."""
    _COMMAND_PROCESS["on"] = True
    # When the exit is left to Python (an error, or what `_end_process` leaves to it), the
    # collector walks every object left a few times (0.4 s once Dagster is imported) only to
    # find what the exit frees anyway: registered first, so run last of the exit handlers,
    # this freezes them out of its sight.
    atexit.register(gc.freeze)

    try:
        status = app(prog_name="okr", standalone_mode=False)  # "okr" also under python -m
    except NoArgsIsHelpError as exc:  # `okr` alone: the help, as click shows it
        exc.show()
        sys.exit(exc.exit_code)
    except ClickException as exc:
        sys.exit(usage_error(exc))
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except Exception as exc:
        if not _is_environment_error(exc):
            raise
        if _VERBOSE["on"]:
            traceback.print_exc()
        hint = "" if _VERBOSE["on"] else " (OKR_VERBOSE=1 shows the stack trace)"
        message = f"{type(exc).__name__}: {exc}".splitlines()[0] + hint
        err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
        sys.exit(1)
    _end_process(status if type(status) is int else 0)  # a command's own status (not a bool)


def _end_process(status: int) -> NoReturn:
    """End this `okr` process with `status`, skipping the interpreter's teardown when it can.

    After what a user relies on from an exit, Python's own tears down every module and frees
    every object one by one (~30 ms once Dagster, pydantic and the client libraries are
    loaded; benchmarks/RESULTS.md, figure 4b): memory the operating system takes back anyway.
    So this does, in Python's order, what its exit does first — the exit handlers (`atexit`:
    logging's flush and close, temporary folders' removal, our own), then stdout and stderr
    flushed — and then os._exit. It leaves the exit to Python, as before, when another
    (non-daemon) thread still runs (Python waits for it), when this process still has the
    warehouse file attached (a connection left open: Python's exit closes it and DuckDB
    checkpoints the file), when a profiler or tracer watches the process (`python -m cProfile`
    writes its figures after the command returns; coverage, debuggers), or when a flush fails
    (Python reports it as it always did). Every other DuckDB connection to a file is a
    reader's, or a writer's its command closed.
    """
    others = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    warehouse_db = sys.modules.get("warehouse.db")
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if others or watched or (warehouse_db is not None and warehouse_db.holds_the_file()):
        sys.exit(status)
    atexit._run_exitfuncs()  # CPython's: runs (and clears) every registered exit handler
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(status)
    os._exit(status)
