"""Pydantic's validation errors in the user's words: each becomes a located problem with the
file, line, field and a fix (a did-you-mean for unknown keys, what YAML made of a value, the
accepted forms of an id or a number).

Split from the loader, whose job is reading and merging files; this is the larger part of
`okr validate`'s messages for a single file.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError

from okr_definitions import model as m
from okr_definitions.problems import Problem, did_you_mean
from okr_definitions.yaml_source import PathKey, YamlDocument, format_path, printable
from registry.sources import source_names


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
    out = [annotation]
    for arg in get_args(annotation):
        out.extend(_type_args(arg))
    return out


VOCABULARY = _model_vocabulary()


def _error_path(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[PathKey, bool]:
    """Map a pydantic error location onto the YAML document.

    Union-member tags and names in the location (`ratio`, `ExplicitPeriod`, `str`) are not
    YAML keys and are dropped; the flag says whether any was seen, i.e. whether the error is
    one member's view of a value that other members may accept or explain better.
    """
    path: list[str | int] = []
    current = data
    via_union = False
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(current, dict):
            if part in current:
                path.append(part)
                current = current[part]
            elif kind == "missing" and last:
                path.append(part)
                current = None
            else:
                via_union = True
            continue
        if isinstance(current, list) and isinstance(part, int) and part < len(current):
            path.append(part)
            current = current[part]
            continue
        if last and kind == "missing" and isinstance(part, str) and current is None:
            path.append(part)
        else:
            via_union = True
    return tuple(path), via_union


# -- which keys a mapping at a pydantic location allows (for did-you-mean) ---------------------


def _members(annotation: Any) -> list[tuple[Any, str | None]]:
    """The concrete types an annotation may hold, each with its union tag if it has one."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *meta = get_args(annotation)
        tag = next((x.tag for x in meta if isinstance(x, Tag)), None)
        return [(t, tag or inner) for t, inner in _members(base)]
    if origin in (Union, UnionType):
        return [member for arg in get_args(annotation) for member in _members(arg)]
    return [(annotation, None)]


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    current: list[tuple[Any, str | None]] = [(m.DefinitionFile, None)]
    for part in loc:
        chosen = [(t, tag) for t, tag in current if part in (tag, getattr(t, "__name__", None))]
        if chosen and len(current) > 1:  # a union tag or member name picks the member
            current = chosen
            continue
        following: list[tuple[Any, str | None]] = []
        for t, _ in current:
            if isinstance(part, int) and get_origin(t) is list:
                following += _members(get_args(t)[0])
            elif isinstance(part, str) and _is_model(t):
                for name, info in t.model_fields.items():
                    if part in (name, info.alias):
                        following += _members(info.annotation)
        if not following:
            return None
        current = following
    models = [t for t, _ in current if _is_model(t)]
    return models[0] if len(models) == 1 else None


def _allowed_keys(loc: tuple[Any, ...]) -> list[str] | None:
    model = _model_at(loc)
    if model is None:
        return None
    return [info.alias or name for name, info in model.model_fields.items()]


# -- turning pydantic errors into located problems ----------------------------------------------

_FIXES = {
    "date_from_datetime_parsing": "write the date as YYYY-MM-DD",
    "date_from_datetime_inexact": "write the date as YYYY-MM-DD, without a time",
    "date_parsing": "write the date as YYYY-MM-DD",
    "date_type": "write the date as YYYY-MM-DD",
    "too_short": "add at least one entry",
    "greater_than": "use a larger number",
    "greater_than_equal": "use a larger number",
    "less_than": "use a smaller number",
    "less_than_equal": "use a smaller number",
    "finite_number": "write a finite number",
    "invalid_key": "write the key as text, e.g. in quotes",
    "metric_kind": "add `source:` and `query:`, or `ratio:`",
}

# What a type error expected, in words.
_EXPECTED = {
    "string_type": "text",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date",
}
_IMPERATIVES = {"write", "use", "set", "add", "remove", "list", "keep", "put", "point", "give"}


def _describe(value: Any, written: str | None) -> str:
    """What YAML made of a value, in the user's terms."""
    shown = printable(written if written is not None else value)
    if isinstance(value, bool):
        return f"`{shown}` (YAML reads it as the boolean {str(value).lower()})"
    if isinstance(value, (date, datetime)):
        return f"`{shown}` (YAML reads it as a date)"
    if isinstance(value, (int, float)):
        return f"`{shown}` (a number)"
    if value is None:
        return "an empty value"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"`{shown}`"


def _type_problem(errors: list[dict[str, Any]], doc: YamlDocument, path: PathKey) -> Problem:
    """One problem for a value of the wrong type (several union members may have said so)."""
    value = errors[0]["input"]
    written = doc.texts.get(path)
    expected: list[str] = []
    for error in errors:
        if error["type"] == "literal_error":
            words = error.get("ctx", {}).get("expected", "")
            words = words.replace("'", "`")
        else:
            words = _EXPECTED.get(error["type"], error["msg"])
        if words not in expected:
            expected.append(words)
    wanted = " or ".join(expected)
    message = f"expected {wanted}, found {_describe(value, written)}"
    if "text" in expected and isinstance(value, (bool, int, float, date)) and written:
        fix = f'put the value in quotes: "{printable(written)}"'
    elif expected == ["a list"] and isinstance(value, dict):
        fix = "write each entry on its own line, starting with `- `"
    elif value is None:
        fix = "fill in the value or remove the key"
    elif expected == ["a mapping"]:
        fix = "write `key: value` lines indented below it"
    else:
        fix = f"write {wanted}"
    return Problem("error", doc.file, doc.line_of(path), format_path(path), message, fix)


def _id_problem(value: str) -> tuple[str, str]:
    """Why `value` is not an id, and a fix that suggests one."""
    shown = printable(value)
    bad = [c for c in dict.fromkeys(value) if not re.fullmatch(r"[a-z0-9_-]", c)]
    if len(value) > 64:
        message = f"`{shown[:70]}…` is {len(value)} characters long; an id has at most 64"
    elif bad:
        named = ", ".join(
            repr(c)
            if c.isascii() and c.isprintable()
            else f"{printable(c)!r} ({unicodedata.name(c, f'U+{ord(c):04X}')})"
            for c in bad[:6]
        )
        message = f"id `{shown}` contains characters an id cannot hold: {named}"
    elif not value:
        message = "the id is empty"
    else:
        message = f"id `{shown}` must start with a letter or digit"
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9_]+", "-", plain).strip("-_")[:64].strip("-_")
    fix = "use lowercase letters, digits, - and _"
    if not value.isascii():
        fix = "retype it with plain ASCII letters (a–z, 0–9, - and _)"
    if slug and slug != value:
        fix += f", e.g. `{slug}`"
    return message, fix


def _problem_from_error(error: dict[str, Any], doc: YamlDocument, path: PathKey) -> Problem:
    field = format_path(path)
    kind = error["type"]
    leaf = printable(path[-1]) if path else ""
    value = error.get("input")
    message = error["msg"]
    ctx = error.get("ctx", {})
    if kind == "extra_forbidden":
        allowed = _allowed_keys(tuple(error["loc"])[:-1])
        guess = did_you_mean(str(path[-1]), [k for k in allowed or VOCABULARY if k != path[-1]])
        message = f"unknown key `{leaf}`"
        if guess:
            fix = f"did you mean `{guess}`?"
        elif allowed:
            fix = f"remove it; keys allowed here: {', '.join(allowed)}"
        else:
            fix = "remove it"
    elif kind == "missing":
        message = f"missing required key `{leaf}`"
        fix = f"add `{leaf}:`"
    elif kind == "value_error":
        message = printable(message.removeprefix("Value error, "))
        fix = "correct the value as described"
        # "… is not a number; write 1500, 0.032 or 3.2%": the second half is the fix
        what, _, how = message.rpartition("; ")
        if what and how.split(" ", 1)[0] in _IMPERATIVES:
            message, fix = what, how
    elif kind == "string_pattern_mismatch" and ctx.get("pattern") == m.ID_PATTERN:
        message, fix = _id_problem(str(value))
    elif kind == "string_pattern_mismatch" and ctx.get("pattern") == m.MEASURE_PATTERN:
        message = f"`{printable(value)}` is not a measure"
        fix = "use total, latest, average or rolling_<N>d (e.g. rolling_28d)"
    elif kind == "literal_error":
        choices = ctx.get("expected", "").replace("'", "`")
        message = f"`{printable(value)}` is not one of {choices}"
        options = re.findall(r"`([^`]*)`", choices)
        guess = did_you_mean(str(value), options)
        fix = f"did you mean `{guess}`?" if guess else f"use one of: {choices}"
    elif kind == "metric_kind" and not isinstance(value, dict):
        message = f"a metric must be a mapping, found {_describe(value, doc.texts.get(path))}"
        fix = "write `- id: ...` with `source:` and `query:`, or with `ratio:`"
    elif kind == "metric_kind" and "source" in value:
        source = printable(value["source"])
        path = path + ("source",)
        field = format_path(path)
        message = f"unknown source `{source}`"
        guess = did_you_mean(str(value["source"]), list(source_names()))
        fix = f"did you mean `{guess}`?" if guess else f"use one of: {', '.join(source_names())}"
    elif kind == "string_too_short":
        wanted = ctx.get("min_length")
        message = f"`{printable(value)}` is too short (at least {wanted} characters)"
        fix = f"write at least {wanted} characters"
    elif kind == "too_short":
        wanted = ctx.get("min_length", 1)
        entries = "entry" if wanted == 1 else "entries"
        message = f"`{leaf}` is empty; it needs at least {wanted} {entries}"
        fix = _FIXES[kind]
    else:
        if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            message = f"{message}, found {printable(value)}"
        fix = _FIXES.get(kind, "correct the value").format(field=leaf)
    return Problem("error", doc.file, doc.line_of(path), field, message, fix)


def validation_problems(exc: ValidationError, doc: YamlDocument) -> list[Problem]:
    errors = exc.errors()
    located = [(e, *_error_path(tuple(e["loc"]), doc.data, e["type"])) for e in errors]

    def is_type(error: dict[str, Any], via_union: bool) -> bool:
        return error["type"] in _EXPECTED or (via_union and error["type"] == "literal_error")

    # A union reports one error per member. A member that got further (an error deeper in
    # the value, or about its content rather than its type) explains the mistake; the other
    # members' "wrong type" errors are noise. When every member only says "wrong type", they
    # become one problem listing what the value could be.
    kept: list[tuple[dict[str, Any], PathKey]] = []
    type_groups: dict[PathKey, list[dict[str, Any]]] = {}
    for error, path, via_union in located:
        if via_union and is_type(error, via_union):
            explained = any(
                other is not error
                and other_via
                and other_path[: len(path)] == path
                and (len(other_path) > len(path) or not is_type(other, other_via))
                for other, other_path, other_via in located
            )
            if not explained:
                type_groups.setdefault(path, []).append(error)
            continue
        if not via_union and error["type"] in _EXPECTED:
            type_groups.setdefault(path, []).append(error)
            continue
        kept.append((error, path))

    # `targt:` next to a missing `target`: one problem (rename it), not two
    missing = [path for error, path in kept if error["type"] == "missing"]
    renamed: dict[PathKey, str] = {}
    for error, path in kept:
        if error["type"] == "extra_forbidden" and path:
            siblings = [p[-1] for p in missing if p[:-1] == path[:-1] and isinstance(p[-1], str)]
            guess = did_you_mean(str(path[-1]), siblings)
            if guess:
                renamed[path] = guess

    explained_missing = {p[:-1] + (guess,) for p, guess in renamed.items()}
    problems: list[Problem] = []
    for error, path in kept:
        if error["type"] == "missing" and path in explained_missing:
            continue
        problem = _problem_from_error(error, doc, path)
        if path in renamed:
            problem = Problem(
                "error",
                problem.file,
                problem.line,
                problem.field,
                f"unknown key `{printable(path[-1])}` (and `{renamed[path]}` is missing)",
                f"rename it to `{renamed[path]}`",
            )
        problems.append(problem)
    for path, group in type_groups.items():
        problems.append(_type_problem(group, doc, path))

    unique: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        unique.setdefault((problem.field, problem.message), problem)
    return sorted(unique.values(), key=lambda p: p.line or 0)
