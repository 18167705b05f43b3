"""Start the source sandboxes the demo needs, and point the pipeline at them.

The real connectors talk to these local servers through the real client libraries; only the
endpoints (and throwaway sandbox credentials) come from here, through the same environment
variables a production deployment sets.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from okr_cli.console import console, fail
from registry.sources import source_layer, source_names
from sandbox.base import SandboxServer, wait_until_interrupted


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


def serve_until_interrupted(sources: set[str], port_base: int) -> None:
    """`okr sandbox`: serve on the fixed ports of `port_base` (so the `export …` lines stay
    valid when it is restarted, and a `dagster dev` started with them keeps working), print
    the environment that points okr-sync at them, and wait for Ctrl-C."""
    before = dict(os.environ)
    with ExitStack() as stack:
        try:
            servers = stack.enter_context(running_sandboxes(sources, port_base))
        except OSError as exc:
            raise fail(
                f"a sandbox port from {port_base} on is taken ({exc.strerror}): stop the other "
                "`okr sandbox`, or choose another --port-base"
            ) from None
        for name, server in servers.items():
            console.print(f"[green]{name}[/] sandbox on {server.base_url}")
        console.print("\nIn another shell (sandbox credentials, not secrets):")
        for key, value in sorted(os.environ.items()):
            if before.get(key) != value:
                print(f"export {key}={value}")
        console.print("\nCtrl-C stops the sandboxes.")
        with contextlib.suppress(KeyboardInterrupt):
            wait_until_interrupted()
