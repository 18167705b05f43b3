"""`okr notify`: send the status-change alerts and the weekly digest that are due, once.

Registered in okr_cli/main.py. Exit 0 when everything due was sent (or nothing was due),
1 when a channel failed (recorded in notify.sent and tried again next time) or the
definitions are invalid.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from okr_cli.console import DefinitionsOption, WarehouseOption, console, err
from okr_definitions.folder import DEFAULT_DIR


def notify(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent; send nothing.")
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            help="Pretend the clock shows this time (ISO 8601 with offset, e.g. "
            "2026-11-30T08:05+01:00): when the digest is due, which day is recent. For replays."
        ),
    ] = None,
    definitions: DefinitionsOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Send the status-change alerts of the newest day and the weekly digest to the channels
    of `notify:`, each once (recorded in notify.sent)."""
    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from destinations.notify import deliver, plan_messages
    from warehouse.db import WarehouseBusyError, warehouse_path

    try:
        now = datetime.fromisoformat(at) if at else None
    except ValueError:
        raise typer.BadParameter(f"--at {at!r} is not an ISO 8601 time") from None
    if now is not None and now.tzinfo is None:
        raise typer.BadParameter("--at needs an offset, e.g. 2026-11-30T08:05+01:00")
    root = Path(definitions or os.environ.get("OKR_DEFINITIONS") or DEFAULT_DIR)
    # imported when the command runs, so `okr status` and `okr sql` start quickly
    from okr_definitions.loader import load_definitions

    defs, problems = load_definitions(root)  # not the pipeline's loader: no Dagster import
    if defs is None:
        for problem in problems:
            if problem.severity == "error":
                err.print(escape(problem.format(relative_to=root)))
        raise typer.Exit(1)
    if defs.notify is None:
        console.print("no `notify:` section in the definitions: nothing to send")
        return
    target = warehouse_path(warehouse)
    if not target.exists():
        err.print(f"[bold red]error:[/] no warehouse at {escape(str(target))}; run `okr run` first")
        raise typer.Exit(1)
    try:
        outgoing = plan_messages(target, defs, now)
        if dry_run:
            for item in outgoing:
                what = f"{item.kind} {item.kr_id} {item.change}".replace("  ", " ")
                console.print(
                    f"[bold]would send to {item.channel}[/] ({item.channel_kind}): {escape(what)}"
                )
                console.print(escape(item.content.plain_text()))
            console.print(f"{len(outgoing)} message(s) due; --dry-run sent nothing")
            return
        deliveries = deliver(target, defs, outgoing)
    except WarehouseBusyError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    for d in deliveries:
        o = d.outgoing
        what = escape(f"{o.kind} {o.kr_id} {o.change}".replace("  ", " "))
        if d.status == "sent":
            console.print(f"sent to {escape(o.channel)}: {what}")
        else:
            err.print(
                f"[bold red]not sent[/] to {escape(o.channel)}: {what}: {escape(d.error or '')}"
            )
    sent = sum(d.status == "sent" for d in deliveries)
    console.print(f"{sent} sent, {len(deliveries) - sent} failed")
    if sent < len(deliveries):
        raise typer.Exit(1)
