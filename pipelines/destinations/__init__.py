"""Each destination's own Dagster Definitions (`pipelines/destinations/<name>/`), merged into
the code location by pipelines/build.py through registry/destinations.py."""
