"""The GA4 sandbox: the Data API's REST wire format on 127.0.0.1 (see server.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connectors.ga4.settings import ANONYMOUS_ENV, ENDPOINT_ENV
from sandbox.base import Started
from sandbox.ga4.server import GA4Sandbox


def start(port: int = 0) -> Started:
    server = GA4Sandbox().serve(port)
    # The sandbox takes no credentials; the connector allows that for a non-Google host only.
    return server, {ENDPOINT_ENV: server.base_url, ANONYMOUS_ENV: "1"}


def write_demo_data(_definitions_dir: Path, _first: date, _last: date) -> None:
    """The server computes every day's numbers itself."""
