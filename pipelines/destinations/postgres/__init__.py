"""Dagster glue of the PostgreSQL destination (destinations/postgres/ does the work)."""

from pipelines.destinations.postgres.definitions import PUBLISH_JOB, build_definitions

__all__ = ["PUBLISH_JOB", "build_definitions"]
