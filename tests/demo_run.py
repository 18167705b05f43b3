"""The session's `okr demo` run as tests read it (tests/conftest.py builds it once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Demo:
    """One `okr demo` run: its folder, what it printed, the Dagster instance it recorded
    its runs in (DAGSTER_HOME), so the UI tests see materialisations, and the newest day it
    ran through.

    `through` is what the demo's own run asked for, not yesterday by the clock of the test
    that reads it: the session's demo may have run before midnight and its tests after."""

    folder: Path
    returncode: int
    stdout: str
    stderr: str
    through: date | None

    @property
    def warehouse(self) -> Path:
        return self.folder / "okr_sync.duckdb"

    @property
    def definitions(self) -> Path:
        return self.folder / "okr_definitions"

    @property
    def dagster_home(self) -> Path:
        return self.folder / "dagster_home"


def demo_ran_through(dagster_home: Path) -> str | None:
    """The last day (YYYY-MM-DD) of the partition range the demo's sources run covered, read
    from the runs the demo recorded in its Dagster instance; None when it recorded none."""
    # imported here: most tests never build the demo and need not load Dagster
    import dagster as dg

    from pipelines.schedules import SOURCES_JOB

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=SOURCES_JOB), limit=1)
    return runs[0].tags.get("dagster/asset_partition_range_end") if runs else None
