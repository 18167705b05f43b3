"""Reading the entries of a registry: the built-in ones first, then those installed packages
declare under an entry-point group. Sources and destinations share it."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import TypeVar

E = TypeVar("E")


class RegistryError(Exception):
    """A package's entry point does not describe a usable source or destination."""


def load_entries(group: str, built_in: Iterable[E], entry_type: type[E], kind: str) -> dict[str, E]:
    """Every entry by name: `built_in` first, then the packages' entry points of `group`."""
    entries: dict[str, E] = {entry.name: entry for entry in built_in}  # type: ignore[attr-defined]
    for point in sorted(entry_points(group=group), key=lambda p: p.name):
        entry = point.load()
        if not isinstance(entry, entry_type):
            raise RegistryError(
                f"entry point {point.name} = {point.value} in group {group} is a "
                f"{type(entry).__name__}, not a {entry_type.__module__}.{entry_type.__name__}; "
                "point it at one"
            )
        if entry.name in entries:
            raise RegistryError(
                f"entry point {point.name} = {point.value} registers the {kind} "
                f"{entry.name!r}, which already exists; give the {kind} another name"
            )
        entries[entry.name] = entry
    return entries
