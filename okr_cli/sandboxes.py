"""Start the source sandboxes the demo needs, and point the pipeline at them.

The real connectors talk to these local servers through the real client libraries; only the
endpoints (and throwaway sandbox credentials) come from here, through the same environment
variables a production deployment sets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sandbox.base import SandboxServer


def _start_matomo() -> tuple[SandboxServer, dict[str, str]]:
    import sandbox.matomo.server as matomo
    from pipelines.sources.matomo.resources import TOKEN_ENV, URL_ENV

    server, _ = matomo.serve()
    return server, {URL_ENV: server.base_url, TOKEN_ENV: matomo.DEFAULT_TOKEN}


def _start_ga4() -> tuple[SandboxServer, dict[str, str]]:
    from pipelines.sources.ga4.resources import ANONYMOUS_ENV, ENDPOINT_ENV
    from sandbox.ga4.server import GA4Sandbox

    server = GA4Sandbox().serve()
    return server, {ENDPOINT_ENV: server.base_url, ANONYMOUS_ENV: "1"}


def _start_hubspot() -> tuple[SandboxServer, dict[str, str]]:
    from datetime import UTC, datetime

    from connectors.hubspot.settings import HOST_ENV, TOKEN_ENV
    from pipelines.sources.hubspot.resources import RATE_ENV, SEARCH_RATE_ENV
    from sandbox.hubspot.server import DEFAULT_TOKEN, HubSpotSandbox

    # The CRM as it is now: deals created, moved, won and edited up to this moment.
    server = HubSpotSandbox(now=datetime.now(UTC)).warm().serve()
    # The sandbox has no rate limit; HubSpot's would only make the demo wait (~15 s).
    return server, {
        HOST_ENV: server.base_url,
        TOKEN_ENV: DEFAULT_TOKEN,
        SEARCH_RATE_ENV: "1000",
        RATE_ENV: "1000",
    }


STARTERS = {
    "ga4": _start_ga4,
    "hubspot": _start_hubspot,
    "matomo": _start_matomo,
}


@contextmanager
def running_sandboxes(sources: set[str]) -> Iterator[dict[str, SandboxServer]]:
    """Serve a sandbox for each API source in `sources`, with the environment set for it."""
    servers: dict[str, SandboxServer] = {}
    saved = dict(os.environ)
    with ExitStack() as stack:
        for source in sorted(sources & STARTERS.keys()):
            server, env = STARTERS[source]()
            stack.callback(server.stop)
            servers[source] = server
            os.environ.update(env)
        try:
            yield servers
        finally:
            os.environ.clear()
            os.environ.update(saved)
