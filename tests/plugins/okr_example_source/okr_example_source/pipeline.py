"""The example source's own Dagster Definitions, merged into okr-sync's code location."""

import dagster as dg

from okr_example_source.connector import fetch_example
from pipelines.sources.common import windowed_source_asset


def build_definitions(definitions, partitions) -> dg.Definitions:
    asset = windowed_source_asset(
        definitions,
        partitions,
        source="example",
        kinds={"python"},
        description="A constant number of events per day (the plug-in example).",
        fetch=lambda _defs, _client, metrics, start, end: fetch_example(metrics, start, end),
        raw_table=None,
        raw_slice=None,
    )
    return dg.Definitions(assets=[asset])
