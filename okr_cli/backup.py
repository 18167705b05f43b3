"""`okr backup` and `okr restore`: a consistent copy of the warehouse file, with retention, and
putting one back (README, "Deploy"; the copying is warehouse/backup.py).

Registered in okr_cli/main.py. Exit 0 done, 1 when the warehouse or the backup cannot be read
or the warehouse stayed busy, 2 for a bad option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from okr_cli.console import WarehouseOption, console, err

# warehouse/backup.py's DEFAULT_KEEP (a test checks they agree): that module loads DuckDB,
# which `okr validate` and `okr --help` do without.
DEFAULT_KEEP = 14


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    return typer.Exit(1)


def backup_command(
    to: Annotated[
        Path | None,
        typer.Option(
            "--to",
            help="Folder for the backups (default: OKR_BACKUP_DIR or backups/ beside "
            "the warehouse).",
        ),
    ] = None,
    keep: Annotated[
        int, typer.Option(min=1, help="How many backups of this warehouse to keep.")
    ] = DEFAULT_KEEP,
    warehouse: WarehouseOption = None,
) -> None:
    """Copy the warehouse while no run writes to it (it holds the file's write lock), keep the
    newest --keep copies."""
    # imported when the command runs, so `okr validate` starts without DuckDB
    from warehouse.backup import backup
    from warehouse.db import NotAWarehouseError, WarehouseBusyError

    try:
        made, removed = backup(warehouse, to, keep)
    except (FileNotFoundError, NotAWarehouseError, WarehouseBusyError) as exc:
        raise _fail(exc) from None
    console.print(f"backup written: {escape(str(made))} ({made.stat().st_size:,} bytes)")
    for old in removed:
        console.print(f"removed the older backup {escape(str(old))} (--keep {keep})")


def restore_command(
    backup_file: Annotated[Path, typer.Argument(help="A file `okr backup` wrote.")],
    warehouse: WarehouseOption = None,
) -> None:
    """Replace the warehouse with a backup (stop the Dagster daemon first)."""
    # imported when the command runs, so `okr validate` starts without DuckDB
    from warehouse.backup import restore
    from warehouse.db import NotAWarehouseError, WarehouseBusyError

    try:
        kept = restore(backup_file, warehouse)
    except (FileNotFoundError, NotAWarehouseError, WarehouseBusyError) as exc:
        raise _fail(exc) from None
    console.print(f"restored {escape(str(backup_file))}")
    if kept is not None:
        console.print(f"the replaced warehouse is kept as {escape(str(kept))}")
