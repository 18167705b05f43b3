"""Start the source sandboxes the demo needs, and point the pipeline at them.

The real connectors talk to these local servers through the real client libraries; only the
endpoints (and throwaway sandbox credentials) come from here, through the same environment
variables a production deployment sets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from registry.sources import source_layer, source_names
from sandbox.base import SandboxServer


def sandbox_port(source: str, port_base: int) -> int:
    """The fixed port of `okr sandbox --port-base`: the base plus the source's place in the
    registry (file 0, ga4 1, matomo 2, hubspot 3, plugins after)."""
    return port_base + source_names().index(source)


@contextmanager
def running_sandboxes(
    sources: set[str], port_base: int | None = None
) -> Iterator[dict[str, SandboxServer]]:
    """Serve a sandbox for each source in `sources` that has a server (each source's `sandbox`
    layer, see registry.sources), with the environment set for it: on fixed ports from
    `port_base` (see sandbox_port), or on free ports when it is None (the demo, tests)."""
    servers: dict[str, SandboxServer] = {}
    saved = dict(os.environ)
    with ExitStack() as stack:
        try:
            for source in sorted(sources):
                port = 0 if port_base is None else sandbox_port(source, port_base)
                server, env = source_layer(source, "sandbox").start(port)
                if server is None:
                    continue
                stack.callback(server.stop)
                servers[source] = server
                os.environ.update(env)
            yield servers
        finally:
            os.environ.clear()
            os.environ.update(saved)
