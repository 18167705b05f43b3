"""Destinations: where the numbers go after the warehouse (no Dagster here)."""
