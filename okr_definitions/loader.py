"""Load a definitions folder: parse every YAML file, validate it, merge, and lint.

`load_definitions(path)` returns the merged :class:`Definitions` and every located problem;
`okr validate` prints the problems, the pipeline refuses to run while any is an error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import ValidationError

from okr_definitions import model as m
from okr_definitions.folder import DEFAULT_DIR
from okr_definitions.lint import lint
from okr_definitions.located import Located, ParsedFile
from okr_definitions.problems import Problem, did_you_mean
from okr_definitions.pydantic_errors import validation_problems
from okr_definitions.resolve import Definitions, merge
from okr_definitions.yaml_source import read_yaml

# Sub-folders with other YAML (weekly check-in notes) are not definitions.
IGNORED_DIRS = {"checkins"}


# Parsed and validated files by path and content. One process reads the same folder from many
# places (the CLI, the code location, the run's resources, every asset), and parsing the YAML
# and validating the models is nearly all of a load: each file is parsed once per content (an
# edited file again). Merging and linting run on every load, because they check what is on
# disk beside the YAML (the files a file source reads) and take about a millisecond.
_PARSED: dict[tuple[Path, bytes], tuple[ParsedFile | None, tuple[Problem, ...]]] = {}


def parse_file(file: Path) -> tuple[ParsedFile | None, list[Problem]]:
    """One file parsed and validated, from the process's memo when its content is unchanged."""
    try:
        key = (file, hashlib.blake2b(file.read_bytes(), digest_size=16).digest())
    except OSError:  # read_yaml says why, with the file's name
        return _parse_file(file)
    if key not in _PARSED:
        parsed, problems = _parse_file(file)
        _PARSED[key] = (parsed, tuple(problems))
    parsed, problems = _PARSED[key]
    return parsed, list(problems)


def _parse_file(file: Path) -> tuple[ParsedFile | None, list[Problem]]:
    doc, problems = read_yaml(file)
    if doc is None or any(p.severity == "error" for p in problems):
        return None, problems
    data = doc.data if doc.data is not None else {}
    try:
        parsed = m.DefinitionFile.model_validate(data)
    except ValidationError as exc:
        return None, problems + validation_problems(exc, doc)
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


__all__ = [
    "DEFAULT_DIR",
    "Definitions",
    "Located",
    "load_definitions",
    "did_you_mean",
    "parse_file",
]
