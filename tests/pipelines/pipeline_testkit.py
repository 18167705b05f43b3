"""Helpers the pipeline tests share (imported as a module, like tests/ga4/ga4_testkit.py)."""

from __future__ import annotations

import os
from contextlib import closing
from pathlib import Path

import duckdb


def warehouse_rows(query: str, *params: object) -> list[tuple]:
    """The rows of `query` against the test's warehouse (OKR_WAREHOUSE), opened read-only and
    closed again, so the next run can take the write lock."""
    with closing(duckdb.connect(os.environ["OKR_WAREHOUSE"], read_only=True)) as con:
        return con.execute(query, list(params)).fetchall()


def add_source(project: Path, source: str, metrics: str, objectives: str) -> Path:
    """The conftest `project` with one more source (its line under `sources:` in
    organisation.yaml, e.g. `matomo: {site_id: 1}`) and the metrics and objectives that read
    it appended to the YAML files."""
    with (project / "metrics.yaml").open("a") as handle:
        handle.write(metrics)
    with (project / "objectives.yaml").open("a") as handle:
        handle.write(objectives)
    organisation = project / "organisation.yaml"
    organisation.write_text(
        organisation.read_text().replace("sources:\n", f"sources:\n  {source}\n", 1)
    )
    return project
