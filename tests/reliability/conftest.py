"""Fixtures of the reliability suite: the sandboxes, the project, and a warehouse loaded once.

`suite` is built once per test process: four API sandboxes, the five-source project and a
*base* warehouse holding BASE_START..BASE_END. Tests copy the base file and run the later days
on the copy, so each starts from the same history without paying for it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from reliability_kit import (
    BASE_END,
    BASE_START,
    LATER_END,
    LATER_START,
    Sandboxes,
    checksums,
    copy_warehouse,
    environment,
    sandboxes,
    write_project,
)

from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import RunOutcome, run_range


@dataclass
class Suite:
    sandboxes: Sandboxes
    project: Path
    base: Path
    env: dict[str, str]
    defs: dg.Definitions
    root: Path

    def run(
        self,
        warehouse: Path,
        first: date = LATER_START,
        last: date = LATER_END,
        instance: dg.DagsterInstance | None = None,
        env: dict[str, str] | None = None,
    ) -> RunOutcome:
        """Sources then models for [first, last] into `warehouse`, in this process; `env`
        overrides the suite's environment (another token, another definitions folder)."""
        with environment({**self.env, **(env or {}), "OKR_WAREHOUSE": str(warehouse)}):
            # Console logs at ERROR: the event log keeps everything, the terminal need not.
            if instance is not None:
                return run_range(self.defs, first, last, instance, "ERROR")
            with dg.DagsterInstance.ephemeral() as ephemeral:
                return run_range(self.defs, first, last, ephemeral, "ERROR")


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    root = tmp_path_factory.mktemp("reliability")
    with sandboxes(root) as sb:
        project = write_project(root / "okr_definitions")
        env = {**sb.env, "OKR_DEFINITIONS": str(project)}
        with environment(env):
            # Resources decide at build time which settings come from the environment.
            defs = build_definitions(load_valid_definitions(project))
        base = root / "base.duckdb"
        made = Suite(sb, project, base, env, defs, root)
        outcome = made.run(base, BASE_START, BASE_END)
        assert outcome.succeeded, outcome.errors
        yield made


@dataclass
class Reference:
    """The later days run clean on a copy of the base: what every recovered run must equal."""

    checksums: dict[str, tuple[int, str]]
    warehouse: Path


@pytest.fixture(scope="session")
def reference(suite: Suite) -> Reference:
    warehouse = copy_warehouse(suite.base, suite.root / "reference.duckdb")
    outcome = suite.run(warehouse)
    assert outcome.succeeded, outcome.errors
    return Reference(checksums(warehouse), warehouse)
