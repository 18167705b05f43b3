"""What `okr run` starts on threads while it imports Dagster, the pipeline and the sources'
client libraries: work that DuckDB and OpenSSL do without holding the GIL, so it overlaps
the imports instead of following them (~50 ms of a daily run's wall, benchmarks/RESULTS.md).

The main thread still tells each outcome where the run always told it: the warehouse file's
problems after the definitions' errors, the TLS context's where a client needs it.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from okr_definitions.resolve import Definitions
from registry.sources import source_layer

# What the check imports, imported by the main thread: two threads importing at once can
# deadlock on each other's modules.
from warehouse.db import connect, warehouse_path


def checking_warehouse_file(warehouse: Path | None) -> Future[None]:
    """`check_warehouse_file(warehouse)` on a thread of its own, which ends with it."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="okr-warehouse-check")
    try:
        return pool.submit(check_warehouse_file, warehouse)
    finally:
        pool.shutdown(wait=False)


def check_warehouse_file(warehouse: Path | None) -> None:
    """A folder, or a file DuckDB cannot open, named as the warehouse: said once, before
    anything runs (not once by every step that opens it). A missing file is fine: the run
    creates it; so is a file an older okr-sync wrote: the run's first step migrates it."""
    if warehouse_path(warehouse).exists():
        # As the run's writers open it (attached to the process's DuckDB instance, ~3 ms),
        # not read-only on an instance of its own (~25 ms); the schema is left alone. The
        # first open also makes that instance (~25 ms).
        connect(warehouse, apply_migrations=False).close()


def build_tls_context_if_used(definitions: Definitions) -> None:
    """When a source of the definitions verifies HTTPS through the shared TLS context
    (connectors/tls.py), its CA bundle is read on a thread while the sources' client
    libraries are imported."""
    if any(
        source_layer(source, "connector").CONNECTOR.uses_tls_context
        for source in definitions.used_sources()
    ):
        # imported only then: it imports httpx, which only those sources use
        from connectors.tls import build_tls_context_on_a_thread

        build_tls_context_on_a_thread()
