"""The `okr` commands that live in modules of their own, registered by name and imported only
when they run (or when `okr --help` lists them).

Typer builds a click command from a function's signature, so registering a function means
importing its module and whatever that imports (typer alone registers nothing lazily). Eight
command modules imported up front cost every `okr` process ~30 ms (`python -X importtime`),
`okr run` and `okr status` included, which use none of them. The group below is typer's own
with one difference: its table of commands builds such a command on first lookup, from its
"module:function" path, exactly as typer would have built it at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from typer.core import TyperGroup
from typer.main import get_command_from_info
from typer.models import CommandInfo

# typer/_click's Command: the type of what the table holds
Command = Any


class _CommandTable(MutableMapping[str, Command]):
    """The group's commands: the ones built at start-up, then the deferred ones by name."""

    def __init__(
        self, built: MutableMapping[str, Command], deferred: Mapping[str, str], markup: Any
    ) -> None:
        self._built = dict(built)
        self._deferred = {name: path for name, path in deferred.items() if name not in built}
        self._order = [*built, *self._deferred]  # as listed in `okr --help`
        self._markup = markup

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            module, _, function = self._deferred[name].partition(":")
            callback = getattr(importlib.import_module(module), function)
            self._built[name] = get_command_from_info(
                CommandInfo(name=name, callback=callback),
                pretty_exceptions_short=True,  # typer's default (the app's own setting)
                rich_markup_mode=self._markup,
            )
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self:
            self._order.append(name)
        self._deferred.pop(name, None)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._order.remove(name)
        self._deferred.pop(name, None)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._deferred


def group_with_deferred_commands(deferred: Mapping[str, str]) -> type[TyperGroup]:
    """A typer group class (`typer.Typer(cls=...)`) that also offers `deferred`: command name
    -> "module:function", the function written as for `app.command()`."""

    class DeferredCommandsGroup(TyperGroup):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.commands = _CommandTable(self.commands, deferred, self.rich_markup_mode)

    return DeferredCommandsGroup
