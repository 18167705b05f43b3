"""Load a definitions folder: parse every YAML file, validate it, merge, and lint.

`load_definitions(path)` returns the merged :class:`Definitions` and every located problem;
`okr validate` prints the problems, the pipeline refuses to run while any is an error.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from okr_definitions import model as m
from okr_definitions.problems import Problem
from okr_definitions.yaml_source import PathKey, YamlDocument, format_path, read_yaml

DEFAULT_DIR = Path(__file__).parent
# Sub-folders with other YAML (weekly check-in notes) are not definitions.
IGNORED_DIRS = {"checkins"}


def _model_vocabulary() -> set[str]:
    """Every key the format knows, for did-you-mean suggestions on unknown keys."""
    words: set[str] = set()
    seen: set[type] = set()

    def walk(cls: Any) -> None:
        if not isinstance(cls, type) or not issubclass(cls, BaseModel) or cls in seen:
            return
        seen.add(cls)
        for name, info in cls.model_fields.items():
            words.add(info.alias or name)
            for arg in _type_args(info.annotation):
                walk(arg)

    walk(m.DefinitionFile)
    return words


def _type_args(annotation: Any) -> list[Any]:
    from typing import get_args

    out = [annotation]
    for arg in get_args(annotation):
        out.extend(_type_args(arg))
    return out


VOCABULARY = _model_vocabulary()


def did_you_mean(word: str, choices: set[str] | list[str]) -> str | None:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


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


def _error_path(loc: tuple[Any, ...], data: Any) -> PathKey:
    """Map a pydantic error location onto the YAML document, dropping union-member tags."""
    path: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(current, dict):
            if part in current:
                path.append(part)
                current = current[part]
                continue
            if last or not isinstance(part, str):
                path.append(part)
                current = None
            # else: a union tag or member name (`ratio`, `ExplicitPeriod`): not a YAML key
            continue
        if isinstance(current, list) and isinstance(part, int) and part < len(current):
            path.append(part)
            current = current[part]
            continue
        if last and isinstance(part, str) and current is None:
            path.append(part)
    return tuple(path)


_FIXES = {
    "missing": "add the `{field}:` key",
    "string_pattern_mismatch": "use lowercase letters, digits, - and _ (e.g. organic-traffic)",
    "literal_error": "use one of the values listed",
    "date_from_datetime_parsing": "write the date as YYYY-MM-DD",
    "date_parsing": "write the date as YYYY-MM-DD",
    "date_type": "write the date as YYYY-MM-DD",
    "too_short": "add at least one entry",
    "greater_than": "use a larger number",
    "greater_than_equal": "use a larger number",
    "less_than_equal": "use a smaller number",
    "metric_kind": "add `source:` and `query:`, or `ratio:`",
}


def _problem_from_error(error: dict[str, Any], doc: YamlDocument) -> Problem:
    path = _error_path(tuple(error["loc"]), doc.data)
    field = format_path(path)
    kind = error["type"]
    leaf = str(path[-1]) if path else ""
    message = error["msg"]
    if kind == "extra_forbidden":
        guess = did_you_mean(leaf, VOCABULARY)
        message = f"unknown key `{leaf}`"
        fix = f"did you mean `{guess}`?" if guess else "remove it (see okr_definitions/README.md)"
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
        fix = "correct the value as described"
    else:
        fix = _FIXES.get(kind, "correct the value (see okr_definitions/README.md)").format(
            field=leaf
        )
        if kind == "literal_error":
            fix = f"use one of: {message.split('Input should be ')[-1]}"
        if kind == "string_pattern_mismatch" and "measure" in leaf:
            fix = "use total, latest, average or rolling_<N>d (e.g. rolling_28d)"
    return Problem("error", doc.file, doc.line_of(path), field, message, fix)


def _validation_problems(exc: ValidationError, doc: YamlDocument) -> list[Problem]:
    errors = exc.errors()
    # A union reports one error per member; keep the most specific (deepest) ones.
    paths = [tuple(e["loc"]) for e in errors]
    kept = [
        e
        for e in errors
        if not any(
            len(other) > len(tuple(e["loc"])) + 1
            and other[: len(e["loc"]) - 1] == tuple(e["loc"])[:-1]
            for other in paths
        )
        or e["type"] in ("missing", "extra_forbidden")
    ]
    unique: dict[tuple[str, str], Problem] = {}
    for error in kept:
        problem = _problem_from_error(error, doc)
        unique.setdefault((problem.field, problem.message), problem)
    return list(unique.values())


@dataclass
class ParsedFile:
    doc: YamlDocument
    model: m.DefinitionFile


def parse_file(file: Path) -> tuple[ParsedFile | None, list[Problem]]:
    doc, problems = read_yaml(file)
    if doc is None or any(p.severity == "error" for p in problems):
        return None, problems
    data = doc.data if doc.data is not None else {}
    try:
        parsed = m.DefinitionFile.model_validate(data)
    except ValidationError as exc:
        return None, problems + _validation_problems(exc, doc)
    return ParsedFile(doc, parsed), problems


def definition_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = [
        f
        for f in sorted(path.rglob("*.y*ml"))
        if f.suffix in (".yaml", ".yml") and not (IGNORED_DIRS & set(f.relative_to(path).parts))
    ]
    return files


def load_definitions(path: Path | str | None = None) -> tuple[Definitions | None, list[Problem]]:
    """Parse, validate and lint a folder (or one file). Definitions is None on any error."""
    from okr_definitions.lint import lint
    from okr_definitions.resolve import merge

    root = Path(path) if path is not None else DEFAULT_DIR
    if not root.exists():
        return None, [
            Problem(
                "error", root, None, "", "no such file or folder", "pass the definitions folder"
            )
        ]
    files = definition_files(root)
    if not files:
        return None, [
            Problem("error", root, None, "", "no .yaml files found", "add a definitions file")
        ]
    parsed: list[ParsedFile] = []
    problems: list[Problem] = []
    for file in files:
        result, file_problems = parse_file(file)
        problems += file_problems
        if result is not None:
            parsed.append(result)
    if any(p.severity == "error" for p in problems):
        return None, problems
    base_dir = root if root.is_dir() else root.parent
    definitions, merge_problems = merge(parsed, base_dir)
    problems += merge_problems
    problems += lint(definitions)
    if any(p.severity == "error" for p in problems):
        return None, problems
    return definitions, problems


from okr_definitions.resolve import Definitions  # noqa: E402  (re-export for callers)

__all__ = ["Definitions", "Located", "load_definitions", "did_you_mean", "parse_file"]
