"""Located problems found in definition files: what is wrong, where, and how to fix it."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest of `choices` to a misspelt `word`, or None."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def suggest_declared(word: str, choices: list[str], kind: str) -> str:
    """The fix for a reference to something not declared under `kind:`."""
    guess = did_you_mean(word, choices)
    if guess:
        return f"did you mean `{guess}`?"
    return f"declare it under `{kind}:`" + (
        f" (declared: {', '.join(sorted(choices)[:8])})" if choices else ""
    )


@dataclass(frozen=True)
class Problem:
    severity: Severity
    file: Path
    line: int | None
    field: str
    message: str
    fix: str

    def format(self, relative_to: Path | None = None) -> str:
        path = self.file
        if relative_to is not None:
            with contextlib.suppress(ValueError):  # outside the folder: keep the full path
                path = self.file.resolve().relative_to(relative_to.resolve())
        where = f"{path}:{self.line}" if self.line else f"{path}"
        field = f" {self.field}:" if self.field else ""
        # Sources' own messages may already end a sentence ("Did you mean `x`?").
        message = self.message if self.message.endswith((".", "?", "!")) else f"{self.message}."
        return f"{where}: {self.severity}:{field} {message} Fix: {self.fix}"


class DefinitionError(Exception):
    """Raised when definitions are loaded for a run and any error-level problem exists."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [p.format() for p in problems if p.severity == "error"]
        super().__init__("invalid OKR definitions:\n" + "\n".join(lines))
