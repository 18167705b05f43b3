"""`okr demo`: the whole pipeline on the example OKRs with no credentials.

The example definitions are copied into a demo folder with their periods moved to the current
quarter, the demo exports are generated up to yesterday, and the pipeline runs from the first
day any baseline needs through yesterday.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

from okr_definitions.checkins import CHECKINS_DIR, iso_week
from okr_definitions.loader import DEFAULT_DIR
from registry.sources import source_layer, source_names

_QUARTER_LINE = re.compile(r"^(\s*period:\s*)\d{4}-Q[1-4]\s*$", re.MULTILINE)
_WEEK_LINE = re.compile(r"^(week:\s*)\S+", re.MULTILINE)
_WEEK_IN_NAME = re.compile(r"\d{4}-W\d{2}")


def current_quarter(today: date) -> str:
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def prepare_workspace(folder: Path, today: date) -> Path:
    """Copy the example definitions into `folder` for the quarter of the newest complete day
    (yesterday: on the first day of a quarter the demo shows the quarter that just ended, not
    one with nothing measured yet); returns them."""
    definitions = folder / "okr_definitions"
    if definitions.exists():
        shutil.rmtree(definitions)
    shutil.copytree(
        DEFAULT_DIR,
        definitions,
        ignore=shutil.ignore_patterns("*.py", "__pycache__", "queries", "data", "*.json"),
    )
    quarter = current_quarter(yesterday_of(today))
    for file in definitions.glob("*.yaml"):
        text = file.read_text()
        file.write_text(_QUARTER_LINE.sub(lambda m: m.group(1) + quarter, text))
    _move_checkins(definitions / CHECKINS_DIR, yesterday_of(today))
    return definitions


def _move_checkins(folder: Path, last_day: date) -> None:
    """Date the example check-ins in the week of the demo's newest data, so the demo's
    default report (the newest week) shows them beside the numbers."""
    week = iso_week(last_day - timedelta(days=last_day.weekday()))
    for file in sorted(folder.glob("*.yaml")):
        text = _WEEK_LINE.sub(lambda m: m.group(1) + week, file.read_text())
        file.unlink()
        (folder / _WEEK_IN_NAME.sub(week, file.name)).write_text(text)


def write_demo_data(definitions: Path, first: date, yesterday: date) -> None:
    """Each source's sandbox writes what the demo reads from disk (the file source's exports)."""
    for source in source_names():
        source_layer(source, "sandbox").write_demo_data(definitions, first, yesterday)


def yesterday_of(today: date) -> date:
    return today - timedelta(days=1)
