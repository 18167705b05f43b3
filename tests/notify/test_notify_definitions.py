"""The `notify:` section: located errors for what `okr validate` must catch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from notify_kit import DEFINITIONS, write_project

from okr_definitions.destinations.notify import AlertRule, EmailChannel, SlackChannel
from okr_definitions.loader import load_definitions

REPO = Path(__file__).resolve().parents[2]


def _errors(tmp_path: Path, text: str) -> list[str]:
    folder = write_project(tmp_path, text)
    definitions, problems = load_definitions(folder)
    assert definitions is None
    return [p.format(relative_to=folder) for p in problems if p.severity == "error"]


def test_the_example_section_parses(tmp_path: Path) -> None:
    definitions, problems = load_definitions(write_project(tmp_path))
    assert definitions is not None, problems
    notify = definitions.notify.item
    assert notify.channels["growth-slack"] == SlackChannel(slack_webhook_env="SLACK_WEBHOOK_GROWTH")
    assert notify.channels["leads-mail"] == EmailChannel(
        email=["growth-lead@example.com", "ceo@example.com"], smtp_env_prefix="OKR_SMTP"
    )
    # YAML 1.1 reads the bare key `on` as true; the rule still gets its statuses
    assert notify.rules[0] == AlertRule(
        teams=["growth"], on=["at_risk", "off_track", "stale", "achieved"], to=["growth-slack"]
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "to: [sales-teams, leads-mail]",
            "to: [sales-team, leads-mail]",
            "okr.yaml:33: error: notify.rules[1].to[0]: channel `sales-team` is not declared. "
            "Fix: did you mean `sales-teams`?",
        ),
        (
            "{teams: [sales], on",
            "{teams: [sale], on",
            "okr.yaml:33: error: notify.rules[1].teams[0]: team `sale` is not declared. "
            "Fix: did you mean `sales`?",
        ),
        (
            "on: [off_track], to",
            "on: [off-track], to",
            "okr.yaml:33: error: notify.rules[1]: `off-track` is not a key-result status. "
            "Fix: did you mean `off_track`? use one of off_track, at_risk,",
        ),
        (
            "{slack_webhook_env: SLACK_WEBHOOK_GROWTH}",
            "{slack_webhook: SLACK_WEBHOOK_GROWTH}",
            "okr.yaml:28: error: notify.channels.growth-slack.slack_webhook: unknown key "
            "`slack_webhook` (and `slack_webhook_env` is missing). Fix: rename it to "
            "`slack_webhook_env`",
        ),
        (
            "{slack_webhook_env: SLACK_WEBHOOK_GROWTH}",
            "{slack_webhook_env: https://hooks.slack.com/services/T/B/x}",
            # a secret pasted into YAML is refused without being echoed
            "okr.yaml:28: error: notify.channels.growth-slack.slack_webhook_env: a URL is not "
            "the name of an environment variable (secrets never go in YAML). Fix: write a name "
            "such as SLACK_WEBHOOK_GROWTH",
        ),
        (
            'time: "08:00"',
            'time: "8am"',
            "okr.yaml:34: error: notify.rules[2].time: `8am` is not a time. Fix: write HH:MM",
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in DEFINITIONS
    errors = _errors(tmp_path, DEFINITIONS.replace(old, new, 1))
    assert len(errors) == 1, errors
    assert errors[0].startswith(expected), errors[0]


def test_okr_validate_exits_1_naming_file_field_and_fix(tmp_path: Path) -> None:
    folder = write_project(tmp_path, DEFINITIONS.replace("to: [growth-slack]}", "to: [growth]}"))
    result = subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "validate", str(folder), "--offline"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 1
    assert "notify.rules[0].to[0]: channel `growth` is not declared" in result.stdout + (
        result.stderr
    )


def test_a_channel_no_rule_uses_is_a_warning(tmp_path: Path) -> None:
    text = DEFINITIONS.replace(
        "    leads-mail:", "    spare-slack: {slack_webhook_env: SLACK_SPARE}\n    leads-mail:"
    )
    folder = write_project(tmp_path, text)
    definitions, problems = load_definitions(folder)

    assert definitions is not None
    assert [p.format(relative_to=folder) for p in problems if p.severity == "warning"] == [
        "okr.yaml:30: warning: notify.channels.spare-slack: channel `spare-slack` is declared "
        "but no rule sends to it. Fix: add it to a rule's `to:` or remove it"
    ]
