"""Dagster glue of the destinations: one folder each, with its own Definitions."""
