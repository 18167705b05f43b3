"""The HubSpot sandbox: the CRM v3 API on 127.0.0.1 (see server.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from connectors.hubspot.settings import HOST_ENV, RATE_ENV, SEARCH_RATE_ENV, TOKEN_ENV
from sandbox.base import Started
from sandbox.hubspot.server import DEFAULT_TOKEN, HubSpotSandbox


def start(port: int = 0) -> Started:
    # The CRM as it is now: deals created, moved, won and edited up to this moment.
    server = HubSpotSandbox(now=datetime.now(UTC)).warm().serve(port)
    # The sandbox has no rate limit; HubSpot's would only make the demo wait (~15 s).
    return server, {
        HOST_ENV: server.base_url,
        TOKEN_ENV: DEFAULT_TOKEN,
        SEARCH_RATE_ENV: "1000",
        RATE_ENV: "1000",
    }


def write_demo_data(_definitions_dir: Path, _first: date, _last: date) -> None:
    """The server computes every object itself."""
