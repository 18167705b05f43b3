"""The definition rules of `okr validate`, one malformed definitions folder per rule.

Every folder under `cases/` is a definitions folder. Single-file cases start from
`cases/valid_minimal/okr.yaml` (organisation, one team, three metrics, one objective with two
key results) and change exactly one thing, so a case proves that its rule fires and nothing
else does. The table says, for each case, every problem the loader must report: severity,
file, line (counted by hand in the case file), field, fragments of the message and of the fix.
"""

from __future__ import annotations

import difflib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from okr_definitions.loader import load_definitions
from okr_definitions.problems import Problem
from okr_definitions.yaml_source import MAX_FILE_BYTES

CASES_DIR = Path(__file__).parent / "cases"
MINIMAL = CASES_DIR / "valid_minimal" / "okr.yaml"


@dataclass(frozen=True)
class Expect:
    severity: str
    file: str
    line: int | None
    field: str
    message: tuple[str, ...]
    fix: tuple[str, ...]


def _parts(text: str | tuple[str, ...]) -> tuple[str, ...]:
    return (text,) if isinstance(text, str) else text


def E(
    line: int | None,
    field: str,
    message: str | tuple[str, ...],
    fix: str | tuple[str, ...],
    file: str = "okr.yaml",
) -> Expect:
    return Expect("error", file, line, field, _parts(message), _parts(fix))


def W(
    line: int | None,
    field: str,
    message: str | tuple[str, ...],
    fix: str | tuple[str, ...],
    file: str = "okr.yaml",
) -> Expect:
    return Expect("warning", file, line, field, _parts(message), _parts(fix))


O0 = "objectives[0]"
KR0 = "objectives[0].key_results[0]"
KR1 = "objectives[0].key_results[1]"

# fmt: off
CASES: dict[str, list[Expect]] = {
    # -- valid: no problem at all --------------------------------------------------------------
    "valid_minimal": [],
    "valid_split_across_files": [],
    "valid_file_source": [],
    # anchors and `<<:` merge keys are plain YAML, not duplicate keys
    "valid_yaml_anchors_and_merge_keys": [],
    # -- YAML itself ----------------------------------------------------------------------------
    "yaml_unclosed_flow_mapping": [
        E(12, "", ("invalid YAML", "flow mapping that starts on line 12", "line 13"),
          "close the quote or bracket"),
    ],
    "yaml_unclosed_quote": [
        E(20, "", ("invalid YAML", "quoted scalar that starts on line 20", "end of stream"),
          "close the quote"),
    ],
    "yaml_tab_indentation": [
        E(21, "", ("invalid YAML", r"'\t'"), "indent with spaces"),
    ],
    "yaml_duplicate_key": [
        E(34, f"{KR1}.target", "the key appears twice", ("keep one", "silently use the last")),
    ],
    "yaml_two_documents": [
        E(34, "", ("invalid YAML", "another document"), "remove the `---` line"),
    ],
    "yaml_not_a_mapping": [
        E(1, "", "must be a mapping of sections", "`objectives:`"),
    ],
    "yaml_not_utf8": [
        E(2, "", ("not UTF-8", "0xfc"), "save the file as UTF-8"),
    ],
    "yaml_invalid_calendar_date": [
        E(22, f"{O0}.period.start", ("`2026-13-01` is not a valid date", "month must be in 1..12"),
          "YYYY-MM-DD"),
    ],
    "yaml_undefined_alias": [
        E(8, "", ("invalid YAML", "undefined alias 'growth_name'"), "define the anchor"),
    ],
    # -- the format: keys, types, values --------------------------------------------------------
    "unknown_key_typo_target": [
        E(27, f"{KR0}.targt", ("unknown key `targt`", "`target` is missing"),
          "rename it to `target`"),
    ],
    "unknown_section_typo": [
        E(18, "objectivs", "unknown key `objectivs`", "did you mean `objectives`?"),
    ],
    "unknown_key_in_ga4_query": [
        E(12, "metrics[0].query.dimension", "unknown key `dimension`",
          "did you mean `dimensions`?"),
    ],
    "missing_kr_metric": [
        E(24, f"{KR0}.metric", "missing required key `metric`", "add `metric:`"),
    ],
    "ratio_without_denominator": [
        E(17, "metrics[2].ratio.denominator", "missing required key `denominator`",
          "add `denominator:`"),
    ],
    "metric_without_source": [
        E(13, "metrics[1]", ("a metric needs `source:`", "or a `ratio:`"),
          "add `source:` and `query:`"),
    ],
    "metric_unknown_source": [
        E(14, "metrics[1].source", "unknown source `ga5`", "did you mean `ga4`?"),
    ],
    "metric_not_a_mapping": [
        E(16, "metrics[2]", ("a metric must be a mapping", "`conversion_rate`"), "- id: ..."),
    ],
    "id_with_spaces_and_capitals": [
        E(19, f"{O0}.id", ("id `More Customers`", "'M'", "' '"), "e.g. `more-customers`"),
    ],
    "measure_malformed": [
        E(31, f"{KR1}.measure", "`rolling_28` is not a measure", "rolling_<N>d (e.g. rolling_28d)"),
    ],
    "target_not_a_number": [
        E(33, f"{KR1}.target", "'lots' is not a number", "write 1500, 0.032 or 3.2%"),
    ],
    "target_not_finite": [
        E(33, f"{KR1}.target", "nan is not a finite number", "write a number"),
    ],
    "target_boolean": [
        E(33, f"{KR1}.target", ("boolean true", "not a number"), "write a number"),
    ],
    "team_read_as_boolean": [
        E(21, f"{O0}.team", ("expected text", "`no`", "boolean false"),
          'put the value in quotes: "no"'),
    ],
    "period_read_as_date": [
        E(22, f"{O0}.period", ("`2026-07-01`", "as a date"), 'quotes: "2026-07-01"'),
    ],
    "period_bad_quarter": [
        E(22, f"{O0}.period", "'2026-Q5' is not a quarter", "2026-Q3"),
    ],
    "period_datetime": [
        E(22, f"{O0}.period.start", "zero time", "YYYY-MM-DD, without a time"),
    ],
    "timezone_unknown": [
        E(3, "organisation.timezone", "unknown time zone 'Europe/Berln'", "Europe/Berlin"),
    ],
    "key_results_empty": [
        E(23, f"{O0}.key_results", ("`key_results` is empty", "at least 1 entry"),
          "add at least one entry"),
    ],
    "key_results_not_a_list": [
        E(23, f"{O0}.key_results", ("expected a list", "found a mapping"), "starting with `- `"),
    ],
    "commitment_typo": [
        E(28, f"{KR0}.commitment", ("`comitted` is not one of", "`aspirational`"),
          "did you mean `committed`?"),
    ],
    "weight_zero": [
        E(28, f"{KR0}.weight", ("greater than 0", "found 0"), "larger number"),
    ],
    # two mistakes in different places of one objective: neither hides the other
    "two_mistakes_both_reported": [
        E(20, f"{O0}.title", "`Go` is too short", "at least 3 characters"),
        E(34, f"{KR1}.weight", ("expected a number", "`heavy`"), "write a number"),
    ],
    # -- rules across the merged definitions ----------------------------------------------------
    "metric_undeclared": [
        E(26, f"{KR0}.metric", "metric `sesions` is not declared", "did you mean `sessions`?"),
    ],
    "team_undeclared": [
        E(21, f"{O0}.team", "team `grwoth` is not declared", "did you mean `growth`?"),
    ],
    "target_equals_baseline": [
        E(33, f"{KR1}.target", "target 3.2% equals the baseline 3.2%",
          ("differs from the baseline", "at_least/at_most")),
    ],
    "total_target_zero": [
        E(27, f"{KR0}.target", ("equals the baseline", "a total counts from 0"),
          "differs from the baseline"),
    ],
    "relative_target_zero": [
        E(27, f"{KR0}.target", "relative target of 0% equals the baseline", "e.g. +40%"),
    ],
    "direction_contradicts_target": [
        E(34, f"{KR1}.direction", ("direction `decrease`", "above the baseline 3.2%"),
          "use direction `increase`"),
    ],
    "measured_baseline_on_total": [
        E(27, f"{KR0}.baseline", ("`baseline: measured` is for level measures", "counts from 0"),
          "relative target"),
    ],
    "level_measure_without_baseline": [
        E(28, f"{KR1}.baseline", "`rolling_28d` key result needs a baseline",
          "add `baseline: measured`"),
    ],
    "at_least_without_positive_target": [
        E(32, f"{KR1}.target", "`at_least` needs a positive target", "the level to keep"),
    ],
    "reversed_dates": [
        E(22, f"{O0}.period", "period ends (2026-07-01) on or before it starts (2026-09-30)",
          "swap start and end"),
    ],
    "period_year_typo": [
        E(22, f"{O0}.period", "0206-07-01..0206-09-30 lies outside 2000–2100", "check the year"),
    ],
    "period_longer_than_a_year": [
        E(22, f"{O0}.period", "is 546 days long", "at most a year"),
    ],
    "ratio_numerator_undeclared": [
        E(17, "metrics[2].ratio.numerator", "ratio numerator `purchase` is not a declared metric",
          "did you mean `purchases`?"),
    ],
    "ratio_of_a_ratio": [
        E(19, "metrics[3].ratio.numerator", "`conversion_rate` is itself a ratio",
          "counted metrics"),
    ],
    "ratio_same_metric_twice": [
        E(17, "metrics[2].ratio", "numerator and denominator are the same metric",
          "two different metrics"),
    ],
    "ga4_without_property": [
        E(10, "metrics[0].query", "no GA4 property", "property_id"),
        E(13, "metrics[1].query", "no GA4 property", "property_id"),
    ],
    "file_source_missing_file": [
        E(12, "metrics[0].query.path", "file `data/sessions.csv` does not exist",
          "correct the path"),
    ],
    "file_source_not_csv": [
        E(12, "metrics[0].query.path", "`data/sessions.xls` is not CSV, Parquet or .xlsx/.xlsm",
          "save a legacy .xls as .xlsx"),
    ],
    # a missing section has no line to point at: the problem names the file and the section
    "no_organisation": [
        E(None, "organisation", "no `organisation:` section", "add `organisation:"),
    ],
    "organisation_declared_twice": [
        E(1, "organisation", "declared twice (also in okr.yaml)", "keep one",
          file="second-org.yaml"),
    ],
    "duplicate_metric_across_files": [
        E(2, "metrics[0].id", ("duplicate metric id `sessions`", "metrics.yaml:2"),
          "different id", file="more-metrics.yaml"),
    ],
    "duplicate_objective_across_files": [
        E(2, f"{O0}.id", ("duplicate objective id `more-customers`", "q3-a.yaml:2"),
          "different id", file="q3-b.yaml"),
    ],
    "duplicate_key_result_across_files": [
        E(11, f"{KR1}.id", ("duplicate key result id `sessions-up`", "q3-a.yaml:7"),
          "different id", file="q3-b.yaml"),
    ],
    # -- the method: warnings (errors with --strict, see test_validate_cli.py) -----------------
    "four_objectives_in_a_team": [
        W(58, "objectives[3].id", ("team `growth` has 4 objectives", "at most 3"),
          "until three remain"),
    ],
    "five_key_results_in_an_objective": [
        W(23, f"{O0}.key_results", ("has 5 key results", "2–4"), "keep the few results"),
    ],
    "one_key_result_in_an_objective": [
        W(23, f"{O0}.key_results", ("has 1 key result;", "2–4"), "add a second"),
    ],
    "output_style_kr_english": [
        W(25, f"{KR0}.title", ("reads like an activity", "Publish 10 blog posts a month"),
          "state the result"),
    ],
    "output_style_kr_german": [
        W(25, f"{KR0}.title",
          ("reads like an activity", "carrying out", "Führe 4 Webinare pro Monat durch"),
          "state the result"),
    ],
    "output_style_kr_launch": [
        W(25, f"{KR0}.title", ("activity verb", "Launch the new pricing page"),
          "state the result"),
    ],
    # -- hostile files --------------------------------------------------------------------------
    "hostile_path_traversal": [
        E(12, "metrics[0].query.path", "`../../../../../../../../etc/passwd` leaves the project",
          "relative to the definitions folder"),
    ],
    "hostile_absolute_path": [
        E(12, "metrics[0].query.path", "`/etc/passwd` leaves the project",
          "relative to the definitions folder"),
    ],
    # 9 levels × 9 aliases: ~600,000 values from 81 aliases (under the alias-count limit)
    "hostile_alias_bomb": [
        E(6, "", "expands to more than 100,000 values", "instead of repeating anchors"),
    ],
    "hostile_self_referencing_anchor": [
        E(9, "", "alias *teams refers to the anchor it is inside of", "self-reference"),
    ],
    "hostile_deep_nesting": [
        E(1, "", "nested more than 64 levels deep", "flatten"),
    ],
    "hostile_sql_in_id": [
        E(10, "metrics[0].id", ("sessions'; DROP TABLE okr.metrics; --", "\"'\"", "';'"),
          "e.g. `sessions-drop-table-okr-metrics`"),
    ],
    # a Cyrillic "о" that looks like a Latin "o"
    "hostile_unicode_lookalike_id": [
        E(7, "teams[0].id", "CYRILLIC SMALL LETTER O", "plain ASCII letters"),
    ],
    "hostile_python_object_tag": [
        E(2, "", ("invalid YAML", "python/object/apply:os.system"), "remove the `!!` tag"),
    ],
    "hostile_quotes_in_ga4_metric": [
        E(12, "metrics[0].query.metric", ("DROP TABLE raw.ga4", "not a GA4 metric API name"),
          "correct the value"),
    ],
    # an ANSI "clear screen" in a key is shown escaped, never sent to the terminal
    "hostile_terminal_escape_in_key": [
        E(28, f"{KR0}." + r"\x1b[2J\x1b[31mboom", r"unknown key `\x1b[2J\x1b[31mboom`",
          ("keys allowed here", "target")),
    ],
    # rich-markup-looking text stays text (see test_validate_cli.py for the terminal)
    "hostile_markup_in_title": [
        W(25, f"{KR0}.title", "Publish 10 posts [/] [red]now[/red]", "state the result"),
    ],
    # the issue's own example, as a key result id
    "hostile_sql_in_kr_id": [
        E(24, f"{KR0}.id", ("x'; drop table okr.key_results; --", "\"'\"", "';'"),
          "e.g. `x-drop-table-okr-key_results`"),
    ],
    # an invisible character: `grow\u200bth` looks exactly like `growth`
    "hostile_zero_width_space_in_id": [
        E(7, "teams[0].id", "ZERO WIDTH SPACE", "plain ASCII letters"),
    ],
    # quotes in the names a request is built from, for the sources without a name pattern
    "hostile_quotes_in_matomo_column": [
        E(12, "metrics[0].query.column", ("DROP TABLE raw.matomo_answers", "not a Matomo report "
          "column"), "correct the value"),
    ],
    "hostile_quotes_in_hubspot_property": [
        E(12, "metrics[0].query.property", ("amount' OR '1'='1", "not a HubSpot property's "
          "internal name"), "correct the value"),
    ],
}
# fmt: on

# Cases that are not "valid_minimal plus one edit": whole files, or one mistake that has to
# touch two places.
NOT_ONE_EDIT = {
    "yaml_not_a_mapping",
    "hostile_alias_bomb",
    "hostile_deep_nesting",
    "hostile_self_referencing_anchor",  # the anchor and the alias
    "key_results_not_a_list",  # both entries become mapping entries
    "two_mistakes_both_reported",
    "valid_yaml_anchors_and_merge_keys",
    "four_objectives_in_a_team",
    "five_key_results_in_an_objective",
    "one_key_result_in_an_objective",
}


def _relative(problem: Problem, folder: Path) -> str:
    return problem.file.resolve().relative_to(folder.resolve()).as_posix()


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_reports_exactly_its_problems(case: str) -> None:
    folder = CASES_DIR / case
    expected = CASES[case]
    definitions, problems = load_definitions(folder)

    got = [(p.severity, _relative(p, folder), p.line, p.field) for p in problems]
    assert got == [(e.severity, e.file, e.line, e.field) for e in expected], "\n".join(
        p.format() for p in problems
    )
    for problem, want in zip(problems, expected, strict=True):
        for fragment in want.message:
            assert fragment in problem.message, problem.format()
        for fragment in want.fix:
            assert fragment in problem.fix, problem.format()
    # definitions are usable exactly when no error was found (warnings do not block a run)
    assert (definitions is None) == any(e.severity == "error" for e in expected)


def test_every_case_folder_is_in_the_table() -> None:
    folders = {p.name for p in CASES_DIR.iterdir() if p.is_dir()}
    assert folders == set(CASES)


def test_the_corpus_covers_what_the_issue_asks_for() -> None:
    invalid = [c for c, e in CASES.items() if any(x.severity == "error" for x in e)]
    warned = [c for c, e in CASES.items() if e and all(x.severity == "warning" for x in e)]
    hostile = [c for c in CASES if c.startswith("hostile_")]
    assert len(invalid) >= 25
    assert len(warned) >= 5
    assert len(hostile) >= 10


@pytest.mark.parametrize(
    "case",
    sorted(
        c
        for c in CASES
        if c not in NOT_ONE_EDIT and [p.name for p in (CASES_DIR / c).iterdir()] == ["okr.yaml"]
    ),
)
def test_single_file_case_is_the_minimal_definition_with_one_edit(case: str) -> None:
    minimal = MINIMAL.read_bytes().splitlines()
    text = (CASES_DIR / case / "okr.yaml").read_bytes().splitlines()
    edits = [
        op for op in difflib.SequenceMatcher(a=minimal, b=text).get_opcodes() if op[0] != "equal"
    ]
    assert len(edits) == (0 if case == "valid_minimal" else 1), edits


def test_every_problem_is_located_and_says_how_to_fix_it() -> None:
    for case, expected in CASES.items():
        folder = CASES_DIR / case
        _, problems = load_definitions(folder)
        for problem in problems:
            assert problem.file.is_file(), problem.format()
            assert problem.fix and problem.message, problem.format()
            if case != "no_organisation":
                assert isinstance(problem.line, int) and problem.line >= 1, problem.format()
            text = problem.format(relative_to=folder)
            where = f"{_relative(problem, folder)}:{problem.line}" if problem.line else ""
            assert text.startswith(where or _relative(problem, folder)), text
            assert f": {problem.severity}:" in text and ". Fix: " in text, text
            # nothing from a file can reach the terminal as a control sequence
            assert all(c.isprintable() for c in text), repr(text)
        assert len(problems) == len(expected), case


# -- hostile inputs that are generated rather than committed -----------------------------------


def _minimal_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "okr.yaml").write_bytes(MINIMAL.read_bytes())
    return folder


def test_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    folder = _minimal_copy(tmp_path)
    huge = folder / "huge.yaml"
    huge.write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    started = time.perf_counter()
    definitions, problems = load_definitions(folder)
    assert time.perf_counter() - started < 2
    assert definitions is None
    assert [(p.file.name, p.line) for p in problems] == [("huge.yaml", None)]
    assert "over the 1,000,000-byte limit" in problems[0].message
    assert "smaller files" in problems[0].fix


def test_alias_bomb_is_refused_quickly() -> None:
    started = time.perf_counter()
    definitions, problems = load_definitions(CASES_DIR / "hostile_alias_bomb")
    assert definitions is None and len(problems) == 1
    assert time.perf_counter() - started < 5  # expanded, it would be ~600,000 values


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    folder = _minimal_copy(tmp_path)
    (folder / "data").mkdir()
    (folder / "data" / "sessions.csv").symlink_to("/etc/passwd")
    text = (folder / "okr.yaml").read_text()
    (folder / "okr.yaml").write_text(
        text.replace(
            "    source: ga4\n    query: {metric: sessions}\n",
            "    source: file\n    query: {path: data/sessions.csv}\n",
            1,
        )
    )
    definitions, problems = load_definitions(folder)
    assert definitions is None
    assert [(p.line, p.field) for p in problems] == [(12, "metrics[0].query.path")]
    assert "leaves the project" in problems[0].message


def test_python_tag_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    definitions, _ = load_definitions(CASES_DIR / "hostile_python_object_tag")
    assert definitions is None
    assert not (tmp_path / "hostile-pwned").exists()
    assert not (CASES_DIR / "hostile_python_object_tag" / "hostile-pwned").exists()
