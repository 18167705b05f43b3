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
