"""The file source's sandbox: no server, deterministic demo exports in the definitions folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sandbox.base import Started
from sandbox.file.server import write_demo_files


def start(port: int = 0) -> Started:
    """Files need no server and no environment (`port` is unused)."""
    return None, {}


def write_demo_data(definitions_dir: Path, first: date, last: date) -> None:
    """The demo's exports for [first, last] under `data/`, where the example metrics read them."""
    write_demo_files(definitions_dir / "data", first, last)
