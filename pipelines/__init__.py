"""Dagster glue only: Definitions, assets, resources, partitions, schedules and checks.

The work itself lives in `okr_definitions/`, `connectors/` and `warehouse/`; assets here call
those and describe the result (metadata) for the Dagster UI.
"""

# Arrow's memory pool is chosen there (connectors/__init__.py), before a module here imports
# pyarrow.
import connectors  # noqa: F401
