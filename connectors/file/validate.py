"""`okr validate` for files: each metric's file is read as a run would read it, so a missing
column or a cell that is not a date or a number is reported before any run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from connectors.base import MetricRequest
from connectors.errors import SourceError
from connectors.file.parse import read_metric_file


@dataclass(frozen=True)
class FileProblem:
    metric_id: str
    field: str
    message: str
    fix: str = "correct the file or the query's column names"


def validate_file_metrics(base_dir: Path, metrics: Sequence[MetricRequest]) -> list[FileProblem]:
    problems = []
    for metric in metrics:
        try:
            read_metric_file(base_dir, metric)
        except SourceError as exc:
            problems.append(FileProblem(metric.metric_id, "query.path", str(exc)))
    return problems
