"""Weekly check-in notes: `checkins/*.yaml` in the definitions folder.

The numbers come from the sources; what they cannot say — how sure the owner is that a key
result will land, and what blocks it — is written down once a week:

    week: 2026-W48                 # ISO week, or the week's Monday (2026-11-23)
    key_results:
      product-page-conversion:
        confidence: 4              # 1 (won't make it) .. 10 (certain)
        comment: Checkout redesign slipped; the A/B test starts Monday.
        by: growth-lead@example.com   # optional

The definitions loader skips this folder (notes change weekly, definitions per quarter); the
report reads it and every problem names the file, line and field like `okr validate` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from okr_definitions.problems import Problem, did_you_mean
from okr_definitions.yaml_source import YamlDocument, format_path, printable, read_yaml

CHECKINS_DIR = "checkins"
MAX_COMMENT = 2000  # a check-in note, not a document: longer text belongs in a linked page

FIXES = {
    "week": "write the ISO week (2026-W48) or the week's Monday as YYYY-MM-DD",
    "confidence": "use a whole number from 1 (won't make it) to 10 (certain)",
    "comment": f"write the comment as text of at most {MAX_COMMENT} characters "
    "(quote it if it starts with a special character)",
    "by": "write who checked in as text, e.g. an e-mail address",
    "key_results": "map each key-result id to its `confidence` and `comment`",
}
KEYS = {"week", "key_results", "confidence", "comment", "by"}


class CheckinEntry(BaseModel):
    """One key result's check-in for one week."""

    model_config = ConfigDict(extra="forbid")

    confidence: Annotated[int, Field(ge=1, le=10, strict=True)] | None = None
    comment: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT)] | None = None
    by: str | None = None

    @model_validator(mode="after")
    def _says_something(self) -> CheckinEntry:
        if self.confidence is None and self.comment is None:
            raise ValueError("a check-in needs a confidence, a comment, or both")
        return self


def week_start(value: date | str) -> date:
    """The Monday of `value`: an ISO week `2026-W48` or that week's Monday."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        text = value.strip()
        try:
            if "-W" in text.upper():
                year, week = text.upper().split("-W")
                return date.fromisocalendar(int(year), int(week), 1)
            value = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"`{printable(text)}` is not an ISO week or a date") from None
    if value.weekday() != 0:
        monday = value - timedelta(days=value.weekday())
        raise ValueError(
            f"{value} is a {value:%A}; weeks start on Monday ({monday}, ISO week "
            f"{iso_week(monday)})"
        )
    return value


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


class CheckinFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    week: date
    key_results: dict[str, CheckinEntry]

    @field_validator("week", mode="before")
    @classmethod
    def _week(cls, value: Any) -> date:
        if not isinstance(value, date | str):
            raise ValueError("expected an ISO week (2026-W48) or a date")
        return week_start(value)


@dataclass(frozen=True)
class Checkin:
    week_start: date
    kr_id: str
    confidence: int | None
    comment: str | None
    by: str | None
    file: Path
    line: int | None


def _problem(doc: YamlDocument, loc: tuple[Any, ...], message: str, fix: str) -> Problem:
    path = tuple(str(p) if not isinstance(p, int) else p for p in loc)
    return Problem("error", doc.file, doc.line_of(path), format_path(path), message, fix)


def _shown_input(value: Any, message: str) -> str:
    """What was written, when the message does not already say it (text in quotes, so
    `"7"` is visibly not the number 7)."""
    if value is None or isinstance(value, dict | list) or str(value) in message:
        return ""
    if isinstance(value, str):
        return f' (got the text "{printable(value)}")'
    return f" (got `{printable(value)}`)"


def _validation_problems(doc: YamlDocument, exc: ValidationError) -> list[Problem]:

    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = next((str(p) for p in reversed(loc) if str(p) in FIXES), "key_results")
        if error["type"] == "extra_forbidden":
            key = str(loc[-1])
            hint = did_you_mean(key, KEYS)
            message = f"unknown key `{printable(key)}`" + (
                f" (did you mean `{hint}`?)" if hint else ""
            )
            fix = "use `week` and `key_results`; under a key result `confidence`, `comment`, `by`"
        elif error["type"] == "missing":
            message, fix = f"`{loc[-1]}` is missing", FIXES.get(str(loc[-1]), FIXES[field])
        else:
            text = error["msg"].removeprefix("Value error, ")
            message, fix = text + _shown_input(error.get("input"), text), FIXES[field]
        problems.append(_problem(doc, loc, message, fix))
    return problems


def _read_file(file: Path) -> tuple[YamlDocument | None, CheckinFile | None, list[Problem]]:
    doc, problems = read_yaml(file)
    # read_yaml's "mapping of sections" hint is about definition files; say it for check-ins
    problems = [p for p in problems if "mapping of sections" not in p.message]
    if doc is None or doc.data is None or problems:
        return doc, None, problems
    if not isinstance(doc.data, dict):
        return (
            doc,
            None,
            [
                Problem(
                    "error",
                    file,
                    1,
                    "",
                    "a check-in file is a mapping",
                    "start with `week: 2026-W48` and `key_results:`",
                )
            ],
        )
    try:
        return doc, CheckinFile.model_validate(doc.data), []
    except ValidationError as exc:
        return doc, None, _validation_problems(doc, exc)


def checkin_files(definitions_dir: Path) -> list[Path]:
    folder = Path(definitions_dir) / CHECKINS_DIR
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_checkins(
    definitions_dir: Path, known_key_results: set[str] | None = None
) -> tuple[list[Checkin], list[Problem]]:
    """Every check-in under `definitions_dir/checkins/`, and every located problem.

    With `known_key_results`, a key-result id the warehouse does not know is an error (with
    a did-you-mean): a typo would otherwise drop the note from the report without a word.
    """

    checkins: list[Checkin] = []
    problems: list[Problem] = []
    seen: dict[tuple[date, str], Checkin] = {}
    for file in checkin_files(definitions_dir):
        doc, parsed, file_problems = _read_file(file)
        problems += file_problems
        if doc is None or parsed is None:
            continue
        for kr_id, entry in parsed.key_results.items():
            line = doc.line_of(("key_results", kr_id))
            if known_key_results is not None and kr_id not in known_key_results:
                hint = did_you_mean(kr_id, known_key_results)
                problems.append(
                    _problem(
                        doc,
                        ("key_results", kr_id),
                        f"no key result `{printable(kr_id)}` is defined"
                        + (f" (did you mean `{hint}`?)" if hint else ""),
                        "use the id of a key result from the definitions (`okr status` lists them)",
                    )
                )
                continue
            checkin = Checkin(
                parsed.week, kr_id, entry.confidence, entry.comment, entry.by, file, line
            )
            first = seen.get((parsed.week, kr_id))
            if first is not None:
                problems.append(
                    _problem(
                        doc,
                        ("key_results", kr_id),
                        f"`{kr_id}` already has a check-in for {iso_week(parsed.week)} in "
                        f"{first.file.name}:{first.line}",
                        "keep one check-in per key result and week",
                    )
                )
                continue
            seen[(parsed.week, kr_id)] = checkin
            checkins.append(checkin)
    return checkins, problems
