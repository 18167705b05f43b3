"""The salesforce source's own Dagster Definitions: its assets and its resource, merged into
the code location by pipelines/build.py like every other source's."""

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.sources.salesforce.assets import build_assets
from pipelines.sources.salesforce.resources import RESOURCE_KEY, make_resource


def build_definitions(
    definitions: Definitions, partitions: dg.PartitionsDefinition
) -> dg.Definitions:
    return dg.Definitions(
        assets=build_assets(definitions, partitions),
        resources={RESOURCE_KEY: make_resource()},
    )
