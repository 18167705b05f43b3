"""Which sources exist and what each knows about its metrics (additivity).

Imports are lazy so using one source never loads the others' client libraries.
"""

from __future__ import annotations

import importlib
from typing import Any

SOURCES = ("file", "ga4", "matomo", "hubspot")

_MODULES = {
    "file": "connectors.file.client",
    "ga4": "connectors.ga4",
    "matomo": "connectors.matomo.client",
    "hubspot": "connectors.hubspot",
}


def source_module(source: str) -> Any:
    return importlib.import_module(_MODULES[source])


def is_additive(source: str, query: Any) -> bool:
    """May this metric's daily values be summed across days? (No for unique users, rates.)"""
    return bool(source_module(source).is_additive(query))
