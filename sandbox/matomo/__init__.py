"""The Matomo sandbox: Matomo 5's Reporting API on 127.0.0.1 (see server.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connectors.matomo.settings import TOKEN_ENV, URL_ENV
from sandbox.base import Started
from sandbox.matomo.server import DEFAULT_TOKEN, serve


def start(port: int = 0) -> Started:
    server, _ = serve(port=port)
    return server, {URL_ENV: server.base_url, TOKEN_ENV: DEFAULT_TOKEN}


def write_demo_data(_definitions_dir: Path, _first: date, _last: date) -> None:
    """The server computes every day's numbers itself."""
