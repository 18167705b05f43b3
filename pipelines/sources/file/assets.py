"""The file source: CSV/Parquet exports read into raw.metric_rows."""

from datetime import date

import dagster as dg

from connectors.base import MetricRequest
from connectors.file import fetch_file
from connectors.results import FetchResult
from okr_definitions.resolve import Definitions
from pipelines.sources.common import windowed_source_asset
from warehouse.sources.file import RAW_TABLE, raw_slice

SOURCE = "file"


def _fetch(
    defs: Definitions, _client: None, metrics: list[MetricRequest], start: date, end: date
) -> FetchResult:
    # Each metric's rows carry the hash of the read that produced them (raw.file_reads).
    return fetch_file(defs.base_dir, metrics, start, end)


def build_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    return [
        windowed_source_asset(
            definitions,
            partitions,
            source=SOURCE,
            kinds={"csv", "duckdb"},
            description=(
                "Daily values read from CSV/Parquet exports (tools without an API, such as the "
                "newsletter platform). Writes raw.metric_rows and raw.file_reads (which file "
                "version each row came from)."
            ),
            fetch=_fetch,
            raw_table=RAW_TABLE,
            raw_slice=raw_slice,
        )
    ]
