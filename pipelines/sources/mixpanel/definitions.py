"""The mixpanel source's own Dagster Definitions: its assets and its resource, merged into the code
location by pipelines/build.py like every other source's."""

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.sources.mixpanel.assets import build_assets
from pipelines.sources.mixpanel.resources import RESOURCE_KEY, make_resource


def build_definitions(
    definitions: Definitions, partitions: dg.PartitionsDefinition
) -> dg.Definitions:
    resource = make_resource()
    return dg.Definitions(
        assets=build_assets(definitions, partitions),
        resources={RESOURCE_KEY: resource} if RESOURCE_KEY else {},
    )
