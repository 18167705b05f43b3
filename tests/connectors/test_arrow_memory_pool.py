"""Arrow's memory pool in an okr-sync process: the C library's allocator, whichever of the
packages that use pyarrow is imported first (connectors/__init__.py), unless the user chose
one with ARROW_DEFAULT_MEMORY_POOL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pool_after_importing(module: str, chosen: str | None = None) -> str:
    """The backend of pyarrow's default pool in a fresh process that imported `module` first
    (Arrow picks the pool once, when pyarrow is imported: this process may have done so)."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    code = f"import {module}, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    "module",
    [
        # each imports pyarrow itself, the first of its package to run
        "connectors.base",
        "warehouse.daily_rows",
        "destinations.postgres.publish",
        "pipelines.sources.common",
    ],
)
def test_the_system_allocator_whichever_package_imports_pyarrow_first(module: str) -> None:
    assert _pool_after_importing(module) == "system"


def test_a_pool_the_user_chose_stands() -> None:
    assert _pool_after_importing("warehouse.daily_rows", chosen="mimalloc") == "mimalloc"
