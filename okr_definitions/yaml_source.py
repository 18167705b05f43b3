"""Reading YAML while remembering where every value came from (for located error messages).

Only YAML's safe subset is read. Anchors/aliases, nesting and the expanded size are limited
and huge files refused, so a hostile file (an alias "billion laughs" bomb, a self-referencing
anchor, ten thousand nested brackets, a multi-megabyte blob) cannot exhaust memory, time or
the stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from okr_definitions.problems import Problem

MAX_FILE_BYTES = 1_000_000  # definitions are hand-written; a megabyte is far past any real file
MAX_ALIASES = 100  # enough for DRY anchors, far below what an alias bomb needs
MAX_DEPTH = 64  # real definitions nest about 8 deep (a GA4 filter adds a few levels)
MAX_NODES = 100_000  # values (keys too) after expanding aliases; real files hold a few thousand

PathKey = tuple[str | int, ...]

# LibYAML's parser (PyYAML's C extension, in PyYAML's wheels): the same events and nodes, with
# their lines, several times faster than the pure-Python parser. A file it refuses is read
# again by the pure-Python parser, whose words the problems quote.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


@dataclass
class YamlDocument:
    file: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    # scalars as written (`no`, `2026-07-01`), for messages about what YAML made of them
    texts: dict[PathKey, str] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """The line of the deepest known node along `path` (1-based)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def printable(text: object) -> str:
    """`text` with control characters escaped, so a value can't rewrite the user's terminal."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text)
    )


def _walk(root: yaml.Node) -> Iterator[tuple[PathKey, yaml.Node, yaml.Node | None]]:
    """Every node in document order with its path (and, for mapping values, its key node).

    Iterative, so depth is no concern; aliases are visited once per use, which `_shape_problem`
    has already bounded.
    """
    stack: list[tuple[PathKey, yaml.Node, yaml.Node | None]] = [((), root, None)]
    while stack:
        path, node, key_node = stack.pop()
        yield path, node, key_node
        children: list[tuple[PathKey, yaml.Node, yaml.Node | None]] = []
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                children.append((path + (str(k.value),), v, k))
        elif isinstance(node, yaml.SequenceNode):
            children = [(path + (i,), item, None) for i, item in enumerate(node.value)]
        stack.extend(reversed(children))


def _index_lines(node: yaml.Node, doc: YamlDocument, dupes: list[tuple[PathKey, int]]) -> None:
    seen: dict[PathKey, set[str]] = {}
    for path, value, key_node in _walk(node):
        # a mapping value is located at its key's line (`target: 5` is on the key's line)
        doc.lines[path] = (key_node or value).start_mark.line + 1
        if isinstance(value, yaml.ScalarNode):
            doc.texts[path] = value.value
        if key_node is not None:
            keys = seen.setdefault(path[:-1], set())
            if path[-1] in keys:
                dupes.append((path, key_node.start_mark.line + 1))
            keys.add(str(path[-1]))


def _shape_problem(text: str, loader_class: Any) -> tuple[int | None, str, str] | None:
    """One streaming pass over the YAML events: refuse alias bombs, recursive anchors and
    absurd nesting before anything is built. Returns (line, message, fix) or None."""
    aliases = 0
    total = 0  # values so far, aliases expanded
    open_: list[list[Any]] = []  # per open collection: [anchor, expanded size, deepest child]
    done: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, depth)
    too_deep = "flatten the structure (definitions need only a few levels)"

    def child(size: int, depth: int) -> None:
        if open_:
            open_[-1][1] += size
            open_[-1][2] = max(open_[-1][2], depth)

    for event in yaml.parse(text, Loader=loader_class):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.CollectionStartEvent):
            open_.append([event.anchor, 1, 0])
            total += 1
            if len(open_) > MAX_DEPTH:
                return line, f"values are nested more than {MAX_DEPTH} levels deep", too_deep
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size, child_depth = open_.pop()
            if anchor is not None:
                done[anchor] = (size, child_depth + 1)
            child(size, child_depth + 1)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                done[event.anchor] = (1, 1)
            total += 1
            child(1, 1)
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            name = printable(event.anchor)
            if aliases > MAX_ALIASES:
                return (
                    line,
                    f"more than {MAX_ALIASES} YAML aliases (*name)",
                    "write the values out instead of repeating anchors",
                )
            if any(c[0] == event.anchor for c in open_):
                return (
                    line,
                    f"alias *{name} refers to the anchor it is inside of",
                    "remove the self-reference (a recursive value cannot be a definition)",
                )
            if event.anchor not in done:
                continue  # an undefined alias: the composer reports it in its own words
            size, depth = done[event.anchor]
            if len(open_) + depth > MAX_DEPTH:
                message = f"alias *{name} nests values more than {MAX_DEPTH} levels deep"
                return line, message, too_deep
            total += size
            child(size, depth)
        if total > MAX_NODES:
            return (
                line,
                f"the document expands to more than {MAX_NODES:,} values (through aliases *name)"
                if aliases
                else f"the document holds more than {MAX_NODES:,} values",
                "write the values out instead of repeating anchors"
                if aliases
                else "split the definitions into smaller files",
            )
    return None


def _bad_scalar(node: yaml.Node) -> tuple[PathKey, yaml.Node, str] | None:
    """The first scalar the constructor chokes on (e.g. the date 2026-13-01) and why."""
    constructor = yaml.constructor.SafeConstructor()
    for path, value, _ in _walk(node):
        if isinstance(value, yaml.ScalarNode) and value.tag.startswith("tag:yaml.org,2002:"):
            try:
                constructor.construct_object(value, deep=True)
            except (ValueError, OverflowError) as exc:
                return path, value, str(exc)
    return None


_TAG_NAMES = {
    "tag:yaml.org,2002:timestamp": "date",
    "tag:yaml.org,2002:int": "whole number",
    "tag:yaml.org,2002:float": "number",
}


def read_yaml(file: Path) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one file; on failure return the problems that say where and why."""

    def problem(line: int | None, message: str, fix: str, field: str = "") -> Problem:
        return Problem("error", file, line, field, message, fix)

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
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [
            problem(
                line,
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x}: {exc.reason})",
                "save the file as UTF-8",
            )
        ]

    if _FAST_LOADER is not None:
        try:
            return _parse(file, text, _FAST_LOADER)
        except yaml.YAMLError:
            pass  # read again below, for the pure-Python parser's words about where and why
    try:
        return _parse(file, text, yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(file, exc)]
    except yaml.YAMLError as exc:
        message = f"invalid YAML: {printable(exc)}"
        return None, [Problem("error", file, None, "", message, "check the file's syntax")]


def _parse(file: Path, text: str, loader_class: Any) -> tuple[YamlDocument | None, list[Problem]]:
    """`read_yaml` of the text with this loader class; YAML's own errors are raised."""

    def problem(line: int | None, message: str, fix: str, field: str = "") -> Problem:
        return Problem("error", file, line, field, message, fix)

    doc = YamlDocument(file=file, data=None)
    dupes: list[tuple[PathKey, int]] = []
    shape = _shape_problem(text, loader_class)
    if shape is not None:
        return None, [problem(*shape)]
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            # before constructing: that flattens `<<: *anchor` merges into the node in place
            _index_lines(node, doc, dupes)
        try:
            data = loader.construct_document(node) if node is not None else None
        except (ValueError, OverflowError) as exc:
            found = _bad_scalar(node)
            if found is None:
                return None, [problem(None, f"invalid YAML value: {exc}", "check the values")]
            path, bad, why = found
            return None, [
                problem(
                    bad.start_mark.line + 1,
                    f"`{printable(bad.value)}` is not a valid "
                    f"{_TAG_NAMES.get(bad.tag, bad.tag)} ({why})",
                    "write an existing date as YYYY-MM-DD, or quote the value to keep it as text"
                    if bad.tag.endswith("timestamp")
                    else "quote the value",
                    format_path(path),
                )
            ]
    finally:
        loader.dispose()

    doc.data = data
    problems: list[Problem] = []
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


def _syntax_problem(file: Path, exc: yaml.MarkedYAMLError) -> Problem:
    """A parse error at the line that needs the fix, with the parser's context."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    what = printable(exc.problem or exc.context or "invalid YAML")
    context = exc.context_mark.line + 1 if exc.context_mark else None
    unclosed = False
    if exc.context and exc.problem and context is not None:
        # An unclosed quote or bracket trips the parser lines later (or at the end of the
        # file): the fix is where it was opened, so that is the line to report.
        unclosed = "end of stream" in exc.problem or (
            "flow" in exc.context and line is not None and line > context
        )
        if unclosed:
            what = f"{printable(exc.context)} that starts on line {context}: {what}" + (
                f" on line {line}" if "end of stream" not in exc.problem else ""
            )
            line = context
        else:
            what += f" ({printable(exc.context)} on line {context})"
    fix = "check indentation, colons and quotes on that line"
    if unclosed:
        fix = "close the quote or bracket opened on that line"
    elif "'\\t'" in what:
        fix = "indent with spaces; YAML does not allow tabs for indentation"
    elif "undefined alias" in what:
        fix = "define the anchor (&name) before its first use, or write the value out"
    elif "constructor for the tag" in what:
        fix = "remove the `!!` tag: only plain YAML values (text, numbers, dates, lists, mappings)"
        fix += " are read"
    elif "another document" in what:
        fix = "keep one document per file: remove the `---` line or move the rest to another file"
    return Problem("error", file, line, "", f"invalid YAML: {what}", fix)


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        text = printable(part)
        out += f"[{text}]" if isinstance(part, int) else (f".{text}" if out else text)
    return out
