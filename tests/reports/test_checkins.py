"""The check-in file format: what it accepts, and located errors for what it does not."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from okr_definitions.checkins import load_checkins, week_start
from okr_definitions.loader import DEFAULT_DIR, load_definitions

KNOWN = {"won-revenue", "product-page-conversion"}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / "checkins" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def messages(folder: Path) -> list[str]:
    _, problems = load_checkins(folder, KNOWN)
    return [p.format() for p in problems]


def test_a_valid_file_with_iso_week_or_monday(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "week: 2026-W48\nkey_results:\n  won-revenue:\n    confidence: 7\n"
        "    comment: Three deals in legal review.\n    by: sales-lead@example.com\n",
    )
    write(tmp_path, "b.yaml", "week: 2026-11-30\nkey_results:\n  won-revenue: {confidence: 6}\n")
    checkins, problems = load_checkins(tmp_path, KNOWN)
    assert problems == []
    assert [(c.week_start, c.kr_id, c.confidence) for c in checkins] == [
        (date(2026, 11, 23), "won-revenue", 7),
        (date(2026, 11, 30), "won-revenue", 6),
    ]
    assert checkins[0].comment == "Three deals in legal review."
    assert checkins[0].line == 3


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("week: 2026-W48\nkey_results:\n  won-revenue:\n    confidence: 11\n", ":4:", "10"),
        ('week: 2026-W48\nkey_results:\n  won-revenue: {confidence: "7"}\n', ":3:", 'text "7"'),
        ("week: 2026-W48\nkey_results:\n  won-revenue: {}\n", ":3:", "a confidence, a comment"),
        ("week: 2026-11-25\nkey_results:\n  won-revenue: {confidence: 5}\n", ":1:", "Wednesday"),
        ("week: soon\nkey_results:\n  won-revenue: {confidence: 5}\n", ":1:", "ISO week"),
        ("key_results:\n  won-revenue: {confidence: 5}\n", ":1:", "`week` is missing"),
        (
            "week: 2026-W48\nkey_results:\n  won-revenue: {confidense: 5}\n",
            ":3:",
            "did you mean `confidence`",
        ),
        (
            "week: 2026-W48\nkey_results:\n  won-revenu: {confidence: 5}\n",
            ":3:",
            "did you mean `won-revenue`",
        ),
        ("- a list\n", ":1:", "mapping"),
        ("week: [2026-W48\n", ":1:", "invalid YAML"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, where: str, says: str) -> None:
    write(tmp_path, "bad.yaml", text)
    found = messages(tmp_path)
    assert len(found) == 1, found
    assert f"bad.yaml{where}" in found[0] and says in found[0], found[0]
    assert "Fix:" in found[0]


def test_one_check_in_per_key_result_and_week(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "week: 2026-W48\nkey_results:\n  won-revenue: {confidence: 5}\n")
    write(tmp_path, "b.yaml", "week: 2026-11-23\nkey_results:\n  won-revenue: {confidence: 6}\n")
    found = messages(tmp_path)
    assert len(found) == 1
    assert "b.yaml:3" in found[0] and "a.yaml:3" in found[0]


def test_week_start_accepts_the_iso_forms() -> None:
    assert week_start("2026-W01") == date(2025, 12, 29)
    assert week_start(date(2026, 11, 23)) == date(2026, 11, 23)
    with pytest.raises(ValueError, match="Sunday"):
        week_start("2026-11-29")


def test_the_bundled_example_is_valid_and_ignored_by_the_definitions_loader() -> None:
    definitions, problems = load_definitions(DEFAULT_DIR)
    assert definitions is not None, [p.format() for p in problems]
    checkins, problems = load_checkins(DEFAULT_DIR, set(definitions.key_results))
    assert problems == []
    assert checkins and all(c.comment or c.confidence for c in checkins)
