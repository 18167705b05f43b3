"""Dagster glue of the OKR-tool push: `push/<tool>` assets in their own group."""

from pipelines.destinations.push.definitions import build_definitions

__all__ = ["build_definitions"]
