"""Metric query for the `file` source: a CSV or Parquet export with one row per day."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from okr_definitions.strict import StrictModel


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
