"""The Dagster code location: `dagster dev` in the repository root loads `defs` from here.

Partitions and owners come from the OKR definitions (OKR_DEFINITIONS, default the bundled
`okr_definitions/`), so they are loaded and validated on import; invalid definitions stop
the code location with the same located errors as `okr validate`.
"""

from pipelines.build import build_definitions

__all__ = ["build_definitions", "defs"]

defs = build_definitions()
