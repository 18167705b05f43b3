"""Reading YAML while remembering where every value came from (for located error messages).

Only YAML's safe subset is read. Anchors/aliases are limited and huge files refused, so a
hostile file (an alias "billion laughs" bomb, a multi-megabyte blob) cannot exhaust memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from okr_definitions.problems import Problem

MAX_FILE_BYTES = 1_000_000  # definitions are hand-written; a megabyte is far past any real file
MAX_ALIASES = 100  # enough for DRY anchors, far below what an alias bomb needs

PathKey = tuple[str | int, ...]


@dataclass
class YamlDocument:
    file: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """The line of the deepest known node along `path` (1-based)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def _index_lines(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int], dupes: list[tuple[PathKey, int]]
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                dupes.append((path + (key,), key_node.start_mark.line + 1))
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _index_lines(value_node, path + (key,), lines, dupes)
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, path + (index,), lines, dupes)


def read_yaml(file: Path) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one file; on failure return the problems that say where and why."""

    def problem(line: int | None, message: str, fix: str) -> Problem:
        return Problem("error", file, line, "", message, fix)

    try:
        size = file.stat().st_size
    except OSError as exc:
        return None, [problem(None, f"cannot read the file ({exc.strerror})", "check the path")]
    if size > MAX_FILE_BYTES:
        return None, [
            problem(
                None,
                f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit",
                "split the definitions into smaller files",
            )
        ]
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [problem(None, f"not UTF-8 text ({exc.reason})", "save the file as UTF-8")]

    try:
        aliases = sum(
            isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader)
        )
        if aliases > MAX_ALIASES:
            return None, [
                problem(
                    None,
                    f"{aliases} YAML aliases (*name), more than the {MAX_ALIASES} allowed",
                    "write the values out instead of repeating anchors",
                )
            ]
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        return None, [
            problem(
                line, f"invalid YAML: {what}", "check indentation, colons and quotes on that line"
            )
        ]
    except yaml.YAMLError as exc:
        return None, [problem(None, f"invalid YAML: {exc}", "check the file's syntax")]

    doc = YamlDocument(file=file, data=data)
    problems: list[Problem] = []
    if node is not None:
        dupes: list[tuple[PathKey, int]] = []
        _index_lines(node, (), doc.lines, dupes)
        for path, line in dupes:
            problems.append(
                Problem(
                    "error",
                    file,
                    line,
                    format_path(path),
                    "the key appears twice in one mapping",
                    "keep one of them (YAML would silently use the last)",
                )
            )
    if data is not None and not isinstance(data, dict):
        problems.append(
            problem(1, "the file must be a mapping of sections", "start with e.g. `objectives:`")
        )
    return doc, problems


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
