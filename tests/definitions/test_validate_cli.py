"""`okr validate [PATH] [--strict]`: exit 0 clean, 1 invalid, 2 usage; problems on stderr."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from okr_cli.main import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "okr_definitions"
CASES_DIR = Path(__file__).parent / "cases"

WARNING_CASES = [
    "four_objectives_in_a_team",
    "five_key_results_in_an_objective",
    "one_key_result_in_an_objective",
    "output_style_kr_english",
    "output_style_kr_german",
    "output_style_kr_launch",
]


@pytest.fixture
def in_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the corpus folder, so printed paths read `<case>/okr.yaml:<line>`."""
    monkeypatch.chdir(CASES_DIR)


def validate(*args: str):
    return CliRunner().invoke(app, ["validate", *args])


def test_bundled_examples_are_valid() -> None:
    result = validate(str(EXAMPLES))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: 5 objectives, ")
    # stderr may carry notes (a source not checked without credentials), never a problem
    assert ": error: " not in result.stderr and ": warning: " not in result.stderr


def test_bundled_examples_through_the_real_command() -> None:
    """The installed entry point, as a user runs it (real process, real exit code)."""
    env = {**os.environ, "NO_COLOR": "1", "OKR_DEFINITIONS": str(EXAMPLES)}
    ok = subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "validate"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "OK:" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "validate", "--no-such-option"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "No such option" in bad.stderr


def test_invalid_case_exits_1_naming_file_line_field_and_fix(in_cases: None) -> None:
    result = validate("target_equals_baseline")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "target_equals_baseline/okr.yaml:33: error: objectives[0].key_results[1].target: "
        "target 3.2% equals the baseline 3.2%. Fix: set a target that differs from the "
        "baseline, or use direction at_least/at_most to keep a level"
    )
    assert lines[-1] == "1 error(s), 0 warning(s) in target_equals_baseline"


def test_every_problem_is_printed_in_line_order(in_cases: None) -> None:
    result = validate("two_mistakes_both_reported")
    assert result.exit_code == 1
    located = [line.split(": error: ")[0] for line in result.stderr.splitlines()[:-1]]
    assert located == [
        "two_mistakes_both_reported/okr.yaml:20",
        "two_mistakes_both_reported/okr.yaml:34",
    ]
    assert "2 error(s)" in result.stderr


def test_a_single_file_can_be_validated(in_cases: None) -> None:
    assert validate("valid_minimal/okr.yaml").exit_code == 0
    result = validate("metric_undeclared/okr.yaml")
    assert result.exit_code == 1
    assert "metric_undeclared/okr.yaml:26:" in result.stderr
    assert "did you mean `sessions`?" in result.stderr


def test_cross_file_duplicate_names_both_places(in_cases: None) -> None:
    result = validate("duplicate_metric_across_files")
    assert result.exit_code == 1
    assert "duplicate_metric_across_files/more-metrics.yaml:2: error: metrics[0].id:" in (
        result.stderr
    )
    assert "(first declared in metrics.yaml:2)" in result.stderr


@pytest.mark.parametrize(
    "args, says",
    [
        (["--no-such-option"], "No such option"),
        (["valid_minimal", "second-path"], "unexpected extra argument"),
        (["--strict=maybe"], "does not take a value"),
        (["no_such_folder"], "no_such_folder does not exist"),
    ],
    ids=["unknown-option", "extra-argument", "flag-with-value", "missing-path"],
)
def test_usage_errors_exit_2(args: list[str], says: str, in_cases: None) -> None:
    result = validate(*args)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.stderr.split())  # typer draws a box around it


@pytest.mark.parametrize("case", WARNING_CASES)
def test_method_warnings_pass_unless_strict(case: str, in_cases: None) -> None:
    relaxed = validate(case)
    assert relaxed.exit_code == 0, relaxed.output
    assert relaxed.stdout.startswith("OK:") and "1 warning(s)" in relaxed.stdout
    assert f"{case}/okr.yaml:" in relaxed.stderr and ": warning: " in relaxed.stderr

    strict = validate(case, "--strict")
    assert strict.exit_code == 1, strict.output
    assert strict.stdout == ""
    first = strict.stderr.splitlines()[0]
    assert ": error: " in first and ": warning: " not in first
    # the same problem, only its severity raised
    assert first.split(": error: ")[1] == relaxed.stderr.splitlines()[0].split(": warning: ")[1]
    assert "1 error(s), 0 warning(s)" in strict.stderr


def test_strict_changes_nothing_for_clean_definitions() -> None:
    assert validate(str(EXAMPLES), "--strict").exit_code == 0


def test_terminal_escapes_from_a_file_are_printed_escaped(in_cases: None) -> None:
    result = validate("hostile_terminal_escape_in_key")
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr
    assert r"unknown key `\x1b[2J\x1b[31mboom`" in result.stderr


def test_markup_in_a_title_is_printed_as_written(in_cases: None) -> None:
    result = validate("hostile_markup_in_title")
    assert result.exit_code == 0, repr(result.exception)
    assert '"Publish 10 posts [/] [red]now[/red]"' in result.stderr


HOSTILE_CASES = sorted(p.name for p in CASES_DIR.iterdir() if p.name.startswith("hostile_"))
# Hostile text that is only odd, not wrong: a warning, and the definitions stay usable.
HOSTILE_BUT_VALID = {"hostile_markup_in_title"}


@pytest.mark.parametrize("case", ["valid_minimal", *HOSTILE_CASES])
def test_validate_writes_nothing(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation only reads: no warehouse, no file, whatever the definitions say; and `okr
    run` refuses hostile definitions before it opens the warehouse or calls any source."""
    folder = tmp_path / "project" / "defs"
    shutil.copytree(CASES_DIR / case, folder)
    warehouse = tmp_path / "project" / "okr_sync.duckdb"
    monkeypatch.setenv("OKR_WAREHOUSE", str(warehouse))
    # `okr run` points these at its arguments; monkeypatch puts them back afterwards.
    monkeypatch.setenv("OKR_DEFINITIONS", str(folder))
    monkeypatch.chdir(tmp_path / "project")

    def snapshot() -> dict[str, bytes]:
        return {
            str(p.relative_to(tmp_path)): p.read_bytes()
            for p in sorted(tmp_path.rglob("*"))
            if p.is_file()
        }

    before = snapshot()
    result = validate("defs")
    valid = case == "valid_minimal" or case in HOSTILE_BUT_VALID
    assert result.exit_code == (0 if valid else 1), result.output
    assert not warehouse.exists()
    assert snapshot() == before
    if valid:
        return
    run = CliRunner().invoke(
        app, ["run", "--date", "2026-07-01", "-d", "defs", "-w", str(warehouse)]
    )
    assert run.exit_code == 1, run.output
    assert "invalid definitions" in run.stderr
    for marker in ("Traceback", "STEP_FAILURE", "RUN_FAILURE", "Stack Trace:"):
        assert marker not in run.output
    assert not warehouse.exists()
    assert snapshot() == before
