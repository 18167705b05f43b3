"""Destinations: where okr-sync delivers the progress tables (no Dagster here).

One folder per destination (`destinations/<name>/`), registered in registry/destinations.py;
its Dagster definitions, if any, live in `pipelines/destinations/<name>/`.
"""

# Arrow's memory pool is chosen there (connectors/__init__.py), before a module here imports
# pyarrow.
import connectors  # noqa: F401
