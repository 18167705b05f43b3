"""What is asked of a file: which file a metric reads (a path inside the project), in which
format, and how its days add up."""

from __future__ import annotations

from pathlib import Path

from connectors.errors import SourceError
from connectors.file.settings import SOURCE
from okr_definitions.sources.file import FileQuery


def is_additive(query: FileQuery) -> bool:
    # Exports hold daily counts (sends, opens); a file of daily uniques would need a range file.
    return True


def resolve_path(base_dir: Path, query: FileQuery) -> Path:
    """The file's absolute path; refuses paths outside the project holding `base_dir`."""
    project = base_dir.resolve().parent
    path = (base_dir / query.path).resolve()
    if Path(query.path).is_absolute() or not path.is_relative_to(project):
        raise SourceError(SOURCE, f"path {query.path!r} leaves the project; use a relative path")
    return path


def file_format(path: Path, query: FileQuery) -> str:
    """csv, parquet or xlsx (`.xlsm` is an xlsx workbook whose macros are never run)."""
    fmt = query.format or path.suffix.lstrip(".").lower()
    return "xlsx" if fmt == "xlsm" else fmt
