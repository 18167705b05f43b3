"""Resources shared by every asset: where the definitions and the warehouse are."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from okr_definitions.loader import DEFAULT_DIR, load_definitions
from okr_definitions.problems import DefinitionError
from okr_definitions.resolve import Definitions
from warehouse.db import connect, warehouse_path

DEFINITIONS_ENV = "OKR_DEFINITIONS"


def definitions_dir() -> Path:
    return Path(os.environ.get(DEFINITIONS_ENV) or DEFAULT_DIR)


def load_valid_definitions(path: str | Path | None = None) -> Definitions:
    """The merged definitions, or DefinitionError listing every located error."""
    definitions, problems = load_definitions(path or definitions_dir())
    if definitions is None:
        raise DefinitionError(problems)
    return definitions


class OkrDefinitionsResource(dg.ConfigurableResource):
    """The folder of OKR YAML files (OKR_DEFINITIONS overrides the bundled examples)."""

    path: str = ""

    def load(self) -> Definitions:
        return load_valid_definitions(self.path or None)


class _DefaultIOManagerOnFirstUse(dg.IOManager):
    """Dagster's default IO manager (pickles to the instance's storage), built the first time
    an output is stored or an input loaded. No asset of ours does either: each writes its
    table itself and returns only metadata, so Dagster never calls it. Built eagerly, as
    Dagster does for every run, it imports universal-pathlib and fsspec (~17 ms CPU in each
    process) for nothing."""

    def __init__(self, init_context: dg.InitResourceContext) -> None:
        self._init_context = init_context
        self._manager: dg.IOManager | None = None

    def _default(self) -> dg.IOManager:
        if self._manager is None:
            from dagster._core.definitions.job_definition import (
                default_job_io_manager_with_fs_io_manager_schema as default,
            )

            self._manager = default.resource_fn(self._init_context)
        return self._manager

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        return self._default().handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> object:
        return self._default().load_input(context)


@dg.io_manager(
    description="Dagster's default filesystem IO manager, built on first use.",
    # Dagster's default's own: base_dir set in a run's config still counts
    config_schema={"base_dir": dg.Field(dg.StringSource, is_required=False)},
)
def default_io_manager(init_context: dg.InitResourceContext) -> dg.IOManager:
    return _DefaultIOManagerOnFirstUse(init_context)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file (OKR_WAREHOUSE overrides warehouse/okr.duckdb).

    Assets open a connection only for the write they do, so other processes (okr status, a
    BI tool) can read between writes.
    """

    path: str = ""

    @property
    def file(self) -> Path:
        return warehouse_path(self.path or None)

    @contextmanager
    def connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect(self.file, read_only=read_only)
        try:
            yield con
        finally:
            con.close()
