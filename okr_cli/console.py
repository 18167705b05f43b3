"""What every `okr` command prints through, and where it finds the definitions: the consoles,
the one-line error that ends a command (exit 1), and the definitions folder."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from okr_definitions.folder import DEFAULT_DIR

console = Console(highlight=False, emoji=False)
err = Console(stderr=True, highlight=False, emoji=False)


def fail(message: str) -> typer.Exit:
    """Print `message` as the command's error; raise the returned Exit (status 1)."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


def definitions_folder(path: Path | None) -> Path:
    """The definitions folder: the argument, else $OKR_DEFINITIONS, else the default."""
    return Path(path or os.environ.get("OKR_DEFINITIONS") or DEFAULT_DIR)
