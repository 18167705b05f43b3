"""The Amplitude sandbox: the Dashboard REST API's wire format on 127.0.0.1 (see server.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connectors.amplitude.settings import API_KEY_ENV, SECRET_KEY_ENV
from sandbox.amplitude.server import DEFAULT_API_KEY, DEFAULT_SECRET_KEY, hosts, serve
from sandbox.base import Started


def start(port: int = 0) -> Started:
    server, _ = serve(port=port)
    return server, {
        **hosts(server),
        API_KEY_ENV: DEFAULT_API_KEY,
        SECRET_KEY_ENV: DEFAULT_SECRET_KEY,
    }


def write_demo_data(_definitions_dir: Path, _first: date, _last: date) -> None:
    """The server computes every day's numbers from its own event log."""
