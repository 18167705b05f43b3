"""The source registry: the built-in sources, and those that packages add.

A source is one folder (or module) per layer, each with the same contract:

- `definitions`: `QUERY` (the pydantic model of a metric's `query:`), `OPTIONS` (the model of
  its non-secret `sources.<name>:` settings) and `lint_query` (located checks that need no
  network), in the definitions layer;
- `connector`: `CONNECTOR` (a `connectors.base.Connector`: additivity, settings from the
  environment, validation against the source's metadata), no Dagster; importing it loads no
  slow client library (the fetches and the API checks load theirs on first use, so `okr
  validate` without credentials and `okr status` stay quick);
- `sandbox`: `serve()` and `write_demo_data()`, the local stand-in that `okr demo`, `okr
  sandbox`, the tests and the benchmarks use;
- `warehouse`: `RAW_TABLE` and `raw_slice()` (the raw rows a re-run of a window replaces);
- `pipeline`: `build_definitions(definitions, partitions)`, the source's own Dagster
  `Definitions`, which the code location merges with the others.

A company adds its in-house source without forking: a package declares an entry point in the
group `okr_sync.sources` whose object is a `SourceEntry` (see CONTRIBUTING.md, "Adding a
source", and tests/plugins/okr_example_source/).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from types import ModuleType
from typing import Literal

from registry.entries import load_entries

ENTRY_POINT_GROUP = "okr_sync.sources"

Layer = Literal["definitions", "connector", "sandbox", "warehouse", "pipeline"]
LAYERS: tuple[Layer, ...] = ("definitions", "connector", "sandbox", "warehouse", "pipeline")


@dataclass(frozen=True)
class SourceEntry:
    """One source: its name (the `source:` of a metric) and the module of each layer."""

    name: str
    definitions: str
    connector: str
    sandbox: str
    warehouse: str
    pipeline: str

    def load(self, layer: Layer) -> ModuleType:
        """The source's module of `layer`, imported on first use (one source's client library
        is never loaded for another's run)."""
        return import_module(getattr(self, layer))


def built_in(name: str) -> SourceEntry:
    """A source shipped with okr-sync, in the project's own folders."""
    return SourceEntry(
        name=name,
        definitions=f"okr_definitions.sources.{name}",
        connector=f"connectors.{name}",
        sandbox=f"sandbox.{name}",
        warehouse=f"warehouse.sources.{name}",
        pipeline=f"pipelines.sources.{name}.definitions",
    )


# The order is the order of error messages, the JSON Schema and `okr sandbox`.
BUILT_IN = tuple(
    built_in(name)
    for name in ("file", "ga4", "matomo", "hubspot", "salesforce", "mixpanel", "amplitude")
)


@cache
def registered_sources() -> dict[str, SourceEntry]:
    """Every source by name: the built-in ones first, then those of installed packages."""
    return load_entries(ENTRY_POINT_GROUP, BUILT_IN, SourceEntry, "source")


def source_names() -> tuple[str, ...]:
    return tuple(registered_sources())


def source_layer(name: str, layer: Layer) -> ModuleType:
    """The module of `layer` of the source `name` (see the module docstring for each contract)."""
    return registered_sources()[name].load(layer)
