"""What every source's definitions module builds on: its options' base and its lint problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from okr_definitions.strict import StrictModel


class SourceOptions(StrictModel):
    """A source's non-secret settings under `sources.<name>:` (credentials come from the
    environment only)."""

    allowed_lag_days: int = Field(
        2, ge=0, le=60, description="Days the newest data may lag before key results are stale."
    )


@dataclass(frozen=True)
class QueryProblem:
    """An error in a metric's query found without asking the source (the field is relative to
    the metric: "query" or ("query", "path"))."""

    field: str | tuple[str, ...]
    message: str
    fix: str


@dataclass(frozen=True)
class LintContext:
    """What a source's `lint_query` may look at besides the query and its options."""

    base_dir: Path  # the definitions folder
    project_root: Path  # paths must stay inside it
