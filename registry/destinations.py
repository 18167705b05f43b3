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
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Literal

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


class RegistryError(Exception):
    """A package's entry point does not describe a usable destination."""


@cache
def registered_destinations() -> dict[str, DestinationEntry]:
    destinations = {entry.name: entry for entry in BUILT_IN}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        entry = point.load()
        if not isinstance(entry, DestinationEntry):
            raise RegistryError(
                f"entry point {point.name} = {point.value} in group {ENTRY_POINT_GROUP} is a "
                f"{type(entry).__name__}, not a registry.destinations.DestinationEntry"
            )
        if entry.name in destinations:
            raise RegistryError(
                f"entry point {point.name} = {point.value} registers the destination "
                f"{entry.name!r}, which already exists; give it another name"
            )
        destinations[entry.name] = entry
    return destinations


def destination_layer(name: str, layer: Layer) -> ModuleType:
    return registered_destinations()[name].load(layer)
