"""The check-in reports `okr report` and `okr demo` write, recorded in the Dagster instance as
materialisations of reports/weekly_checkin (README, "The Dagster UI"), so the UI shows the
weeks that were rendered outside a run."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from okr_cli.console import console, err

if TYPE_CHECKING:
    from reports.write import WrittenReport


def record_report(written: WrittenReport, monday: date, warehouse: Path | None) -> None:
    """With DAGSTER_HOME set, a report written where reports/weekly_checkin writes it is
    recorded as that asset's materialisation of the week (a runless event)."""
    if not os.environ.get("DAGSTER_HOME"):
        return
    import dagster as dg  # deferred: only with an instance to record in

    from pipelines.reports.assets import record_written_report

    with dg.DagsterInstance.get() as instance:
        if record_written_report(instance, written, monday, warehouse):
            console.print(
                f"recorded as reports/weekly_checkin {monday} in {os.environ['DAGSTER_HOME']}",
                soft_wrap=True,
            )


def demo_report(warehouse: Path, definitions: Path) -> bool:
    """The newest week's check-in report, written where reports/weekly_checkin writes it."""
    # deferred: rendering imports the chart libraries, which `okr --help` does not need
    from reports.weekly import CheckinError, NoReportData, latest_week
    from reports.write import write_weekly_report

    try:
        monday = latest_week(warehouse)
        written = write_weekly_report(warehouse, monday, None, definitions)
    except (CheckinError, NoReportData) as exc:
        err.print(f"[red]the check-in report was not written:[/] {escape(str(exc))}")
        return False
    console.print(f"[green]wrote[/] {escape(str(written.html))}", soft_wrap=True)
    record_report(written, monday, warehouse)
    return True
