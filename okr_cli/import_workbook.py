"""`okr import WORKBOOK.xlsx`: the OKR tracker workbook a team keeps today → definitions YAML.

The parsing lives in `okr_definitions/workbook_import.py`; this module is the command: options,
writing the folder (never over existing files without --force) and the import report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape

from okr_cli.console import console, err

DEFINITIONS_FILE = "okr.yaml"


def import_workbook(
    workbook: Annotated[Path, typer.Argument(help="The .xlsx/.xlsm tracker workbook.")],
    out: Annotated[Path, typer.Option(help="Folder for the definitions.")] = Path(
        "okr_definitions"
    ),
    sheet: Annotated[str | None, typer.Option(help="Sheet to read (default: the first).")] = None,
    header_row: Annotated[
        int | None, typer.Option(help="Row of the column names (default: found in rows 1-20).")
    ] = None,
    column_map: Annotated[
        list[str] | None,
        typer.Option("--map", help='A header for a field, e.g. --map "Zielwert=target".'),
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Period for rows without one, e.g. 2026-Q3.")
    ] = None,
    organisation: Annotated[str, typer.Option(help="Organisation name.")] = "My organisation",
    force: Annotated[bool, typer.Option(help="Overwrite existing definitions.")] = False,
) -> None:
    """Import objectives and key results from an OKR workbook (English or German headers)."""
    # imported when the command runs, so `okr status` and `okr sql` start quickly
    from okr_definitions.loader import load_definitions

    # imported when the command runs, so `okr --help` and `okr status` start quickly
    from okr_definitions.workbook_import import ImportError_, definitions_yaml, read_workbook

    mapping = {}
    for item in column_map or []:
        header, sep, field = item.partition("=")
        if not sep or not header.strip() or not field.strip():
            raise typer.BadParameter(f"{item!r}: write HEADER=field", param_hint="--map")
        mapping[header.strip()] = field.strip()
    if not workbook.is_file():
        raise typer.BadParameter(f"{workbook} does not exist", param_hint="WORKBOOK")
    target = out / DEFINITIONS_FILE
    if target.exists() and not force:
        err.print(f"[red]{escape(str(target))} exists; use --force to overwrite it[/]")
        raise typer.Exit(1)
    try:
        result = read_workbook(workbook, sheet, header_row, mapping, period)
    except ImportError_ as exc:
        err.print(f"[red]error: {escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    out.mkdir(parents=True, exist_ok=True)
    partial = out / f".{DEFINITIONS_FILE}.partial"
    partial.write_text(
        yaml.safe_dump(definitions_yaml(result, organisation), sort_keys=False, allow_unicode=True)
    )
    partial.replace(target)
    krs = sum(len(o.key_results) for o in result.objectives)
    console.print(
        f"wrote {target}: {len(result.objectives)} objectives, {krs} key results", soft_wrap=True
    )
    if result.skipped_current:
        console.print(
            f"{result.skipped_current} typed-in current value(s) not imported: the numbers come "
            "from the sources once each key result's metric is bound",
            soft_wrap=True,
        )
    for item in result.unparsed:
        console.print(f"left for you: {escape(item)}", soft_wrap=True)
    # The method lint on the result: placeholders to bind, activity titles, missing targets
    # (written as `null`, so one lint names them all).
    _, problems = load_definitions(out)
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        console.print(
            f"[{style}]{escape(problem.format(relative_to=Path.cwd()))}[/]", soft_wrap=True
        )
