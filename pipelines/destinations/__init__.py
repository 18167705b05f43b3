"""Dagster glue of the destinations: each builds its own `dg.Definitions`."""
