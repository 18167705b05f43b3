"""What the file connector needs: no credentials and no environment variables, only the
definitions folder that the metrics' paths are relative to."""

from __future__ import annotations

from pathlib import Path

SOURCE = "file"


def settings_from_env(definitions_dir: Path) -> Path:
    """The folder the files are read from (always known: the file source needs no secret)."""
    return definitions_dir
