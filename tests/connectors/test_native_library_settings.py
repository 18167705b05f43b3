"""What okr-sync sets for the native libraries under pyarrow and NumPy before they load
(connectors/__init__.py), whichever of its packages that use them is imported first: Arrow's
memory pool is the C library's allocator, NumPy's BLAS starts no threads; a value the user set
stands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


SETTINGS = ("ARROW_DEFAULT_MEMORY_POOL", "OPENBLAS_NUM_THREADS")


def _after_importing(module: str, **chosen: str) -> tuple[str, int]:
    """The backend of pyarrow's default pool and the number of the process's threads, in a
    fresh process that imported `module` first (both libraries read their settings once, as
    they load: this process may have loaded them already)."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS} | chosen
    code = (
        f"import os, {module}, numpy, pyarrow; "
        "print(pyarrow.default_memory_pool().backend_name, len(os.listdir('/proc/self/task')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    pool, threads = done.stdout.split()
    return pool, int(threads)


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
    assert _after_importing(module)[0] == "system"


def test_a_pool_the_user_chose_stands() -> None:
    chosen = _after_importing("warehouse.daily_rows", ARROW_DEFAULT_MEMORY_POOL="mimalloc")
    assert chosen[0] == "mimalloc"


def test_numpy_starts_no_blas_threads_unless_the_user_asks_for_them() -> None:
    _, ours = _after_importing("warehouse.daily_rows")
    _, one = _after_importing("warehouse.daily_rows", OPENBLAS_NUM_THREADS="1")
    _, two = _after_importing("warehouse.daily_rows", OPENBLAS_NUM_THREADS="2")
    assert ours == one
    # OpenBLAS starts one thread fewer than it uses (the caller is one), at most one a core
    assert two == one + min(2, len(os.sched_getaffinity(0))) - 1
