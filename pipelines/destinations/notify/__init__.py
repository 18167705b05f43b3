"""The notify destination in Dagster: `notify/messages` after the progress tables."""
