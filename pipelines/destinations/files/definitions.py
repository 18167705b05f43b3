"""The `files` destination's Dagster Definitions.

The file export runs on demand (`okr export`), not on a schedule, so it adds no asset: its
Definitions are empty, and merging them changes nothing. A destination that publishes after
every model run (a database, an OKR tool) returns its assets and resources here instead.
"""

import dagster as dg

from okr_definitions.resolve import Definitions


def build_definitions(_definitions: Definitions) -> dg.Definitions:
    return dg.Definitions()
