"""Destinations: where numbers leave the warehouse for (no Dagster here; see
`pipelines/destinations/` for the assets)."""
