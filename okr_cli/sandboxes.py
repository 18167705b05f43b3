"""Start the source sandboxes the demo needs, and point the pipeline at them.

The real connectors talk to these local servers through the real client libraries; only the
endpoints (and throwaway sandbox credentials) come from here, through the same environment
variables a production deployment sets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from registry.sources import source_layer
from sandbox.base import SandboxServer


@contextmanager
def running_sandboxes(sources: set[str]) -> Iterator[dict[str, SandboxServer]]:
    """Serve a sandbox for each source in `sources` that has a server (each source's `sandbox`
    layer, see registry.sources), with the environment set for it."""
    servers: dict[str, SandboxServer] = {}
    saved = dict(os.environ)
    with ExitStack() as stack:
        for source in sorted(sources):
            server, env = source_layer(source, "sandbox").start()
            if server is None:
                continue
            stack.callback(server.stop)
            servers[source] = server
            os.environ.update(env)
        try:
            yield servers
        finally:
            os.environ.clear()
            os.environ.update(saved)
