"""Where a definition was written: a validated item with its YAML document and path, one parsed
file, and the did-you-mean every located error message uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from okr_definitions import model as m
from okr_definitions.yaml_source import PathKey, YamlDocument


@dataclass
class Located:
    """A validated item and where it was written."""

    item: Any
    doc: YamlDocument
    path: PathKey

    @property
    def file(self) -> Path:
        return self.doc.file

    def line(self, *sub: str | int) -> int | None:
        return self.doc.line_of(self.path + sub)


@dataclass
class ParsedFile:
    doc: YamlDocument
    model: m.DefinitionFile
