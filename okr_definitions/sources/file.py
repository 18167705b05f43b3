"""Metric query for the `file` source: a CSV or Parquet export with one row per day."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from okr_definitions.sources.base import LintContext, QueryProblem, SourceOptions
from okr_definitions.strict import StrictModel
from okr_definitions.yaml_source import printable


class FileQuery(StrictModel):
    """A file with `date,value` or `date,numerator,denominator` columns.

    `path` is relative to the definitions folder and must stay inside the project.
    """

    path: str = Field(description="CSV or Parquet file, relative to the definitions folder.")
    format: Literal["csv", "parquet"] | None = Field(
        default=None, description="Defaults to the file's extension."
    )
    date_column: str = "date"
    value_column: str = "value"
    numerator_column: str = "numerator"
    denominator_column: str = "denominator"


class FileOptions(SourceOptions):
    allowed_lag_days: int = Field(7, ge=0, le=366)


QUERY = FileQuery
OPTIONS = FileOptions


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def lint_query(query: FileQuery, _options: FileOptions, where: LintContext) -> list[QueryProblem]:
    """The file exists inside the project and is CSV or Parquet."""
    raw = Path(query.path)
    target = raw if raw.is_absolute() else where.base_dir / raw
    if raw.is_absolute() or not _inside(target, where.project_root):
        return [
            QueryProblem(
                ("query", "path"),
                f"file path `{printable(query.path)}` leaves the project",
                "use a path relative to the definitions folder, inside the project",
            )
        ]
    if not target.is_file():
        return [
            QueryProblem(
                ("query", "path"),
                f"file `{printable(query.path)}` does not exist",
                f"create it or correct the path (relative to {where.base_dir.name}/)",
            )
        ]
    if (query.format or target.suffix.lstrip(".")) not in ("csv", "parquet"):
        return [
            QueryProblem(
                ("query", "path"),
                f"file `{printable(query.path)}` is neither CSV nor Parquet",
                "use a .csv or .parquet file, or set `format:`",
            )
        ]
    return []
