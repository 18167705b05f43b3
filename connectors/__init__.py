"""Source connectors: plain Python clients that fetch metrics and return Arrow tables.

Nothing here imports Dagster: a connector is usable on its own (from a notebook, a script or a
test). Each source has one module (`file_source`, `ga4`, `matomo`, `hubspot`) that exposes a
`fetch_*` function returning a :class:`connectors.results.FetchResult`.
"""

import os

# Arrow's memory pool: the C library's allocator (`system`), not mimalloc, pyarrow's default
# since version 17. On the buffers okr-sync's steps make (a few MiB each, freed soon after),
# mimalloc stalled for 6-18 ms on every few calls of a pyarrow compute function that takes
# well under 1 ms otherwise; the system allocator and jemalloc (not in every pyarrow wheel)
# never did, were as fast on the large ingests, and the system one held the least memory
# (benchmarks/RESULTS.md, the cold start's notes). Arrow reads the variable once, as pyarrow
# is imported, so it is set here: warehouse/, pipelines/ and destinations/ import this
# package before any module of theirs imports pyarrow. A value set by the user stands.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
# NumPy's BLAS (OpenBLAS) on one thread: nothing here multiplies matrices, and the threads it
# starts as NumPy is imported (which pyarrow does) spin for work that never comes, ~0.1 s CPU
# of a daily `okr run` taken from the other core. Also read once, at that import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
