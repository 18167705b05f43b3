"""The Mixpanel sandbox: the Raw Event Export and Query APIs on 127.0.0.1 (see server.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from connectors.mixpanel.settings import ENDPOINT_ENV, SECRET_ENV, USERNAME_ENV
from sandbox.base import Started
from sandbox.mixpanel.server import DEFAULT_SECRET, DEFAULT_USERNAME, MixpanelSandbox, demo_events


def start(port: int = 0) -> Started:
    today = datetime.now(UTC).date()
    sandbox = MixpanelSandbox(demo_events(today - timedelta(days=400), today, "UTC"))
    server = sandbox.serve(port)
    return server, {
        ENDPOINT_ENV: server.base_url,
        USERNAME_ENV: DEFAULT_USERNAME,
        SECRET_ENV: DEFAULT_SECRET,
    }


def write_demo_data(_definitions_dir: Path, _first: date, _last: date) -> None:
    """The server holds every day's events itself."""
