"""The `file` source: CSV or Parquet exports with one row per day (no Dagster, no warehouse)."""

from connectors.base import Connector
from connectors.file.client import RAW_SCHEMA, fetch_file, is_additive, read_metric_file
from connectors.file.settings import settings_from_env
from connectors.file.validate import FileProblem, validate_file_metrics

CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=lambda definitions: settings_from_env(definitions.base_dir),
    validate=validate_file_metrics,
)

__all__ = [
    "CONNECTOR",
    "RAW_SCHEMA",
    "FileProblem",
    "fetch_file",
    "is_additive",
    "read_metric_file",
    "validate_file_metrics",
]
