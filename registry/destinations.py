"""The destination registry: where okr-sync delivers the progress tables (files, databases,
OKR tools, chat), with the same pattern as the source registry.

A destination is one folder per layer:

- `destination`: `destinations/<name>/`, no Dagster: what it writes and how (for the file
  export `write_export`, used by `okr export`);
- `pipeline`: `pipelines/destinations/<name>/`, a function (named `module:function`, as in an
  entry point) that takes the OKR definitions and returns the destination's own Dagster
  `Definitions`, merged into the code location like the sources'.

Packages add their own through the entry-point group `okr_sync.destinations`, whose object is a
`DestinationEntry`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from types import ModuleType
from typing import Any, Literal

from registry.entries import load_entries

ENTRY_POINT_GROUP = "okr_sync.destinations"

Layer = Literal["destination", "pipeline"]
LAYERS: tuple[Layer, ...] = ("destination", "pipeline")


@dataclass(frozen=True)
class DestinationEntry:
    name: str
    destination: str
    pipeline: str

    def load(self, layer: Layer) -> ModuleType:
        return import_module(getattr(self, layer).partition(":")[0])

    def pipeline_builder(self) -> Callable[[Any], Any]:
        """The function that builds the destination's Dagster `Definitions`."""
        module, _, function = self.pipeline.partition(":")
        return getattr(import_module(module), function or "build_definitions")


def built_in(name: str) -> DestinationEntry:
    return DestinationEntry(
        name=name,
        destination=f"destinations.{name}",
        pipeline=f"pipelines.destinations.{name}.definitions:build_definitions",
    )


# A new destination is one more name here (and its two folders), e.g. "postgres".
BUILT_IN = tuple(built_in(name) for name in ("files", "postgres", "push", "notify"))


@cache
def registered_destinations() -> dict[str, DestinationEntry]:
    """Every destination by name: the built-in ones first, then those of installed packages."""
    return load_entries(ENTRY_POINT_GROUP, BUILT_IN, DestinationEntry, "destination")
