"""The `notify:` section: channels (Slack, Microsoft Teams, e-mail) and the rules that say what
goes where.

Only the *names* of environment variables are written here; webhook URLs and the SMTP
password are secrets and come from the environment when a message is sent.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, field_validator, model_validator

from okr_definitions.problems import Problem, did_you_mean, suggest_declared
from okr_definitions.strict import StrictModel
from okr_definitions.yaml_source import format_path
from warehouse.status import STATUS_ORDER

if TYPE_CHECKING:
    from okr_definitions.resolve import Definitions

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def _env_name(value: str) -> str:
    if not ENV_NAME.match(value):
        shown = "a URL" if "://" in value else f"`{value[:40]}`"
        raise ValueError(
            f"{shown} is not the name of an environment variable (secrets never go in YAML); "
            "write a name such as SLACK_WEBHOOK_GROWTH and export the secret under it"
        )
    return value


def _email(value: str) -> str:
    # A deliberately plain check: the SMTP server is the authority on addresses; this catches
    # the typos (a missing @, a space, a list written as one string).
    if not EMAIL.match(value):
        raise ValueError(
            f"`{value[:60]}` is not an e-mail address; write one address per list entry"
        )
    return value


EnvName = Annotated[
    str, AfterValidator(_env_name), Field(description="Name of an environment variable.")
]
ChannelId = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="lowercase letters, digits")
]
EmailAddress = Annotated[str, AfterValidator(_email)]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = Weekday.__args__  # type: ignore[attr-defined]


class SlackChannel(StrictModel):
    slack_webhook_env: EnvName = Field(
        description="Environment variable holding the Slack incoming-webhook URL."
    )


class TeamsChannel(StrictModel):
    teams_webhook_env: EnvName = Field(
        description="Environment variable holding the Teams Workflows webhook URL."
    )


class EmailChannel(StrictModel):
    email: list[EmailAddress] = Field(min_length=1, description="Recipients.")
    smtp_env_prefix: EnvName = Field(
        "OKR_SMTP",
        description="Prefix of the SMTP settings in the environment: <PREFIX>_HOST, _PORT, "
        "_USER, _PASSWORD, _FROM, _CA_FILE.",
    )


_CHANNEL_KEYS = {"slack_webhook_env": "slack", "teams_webhook_env": "teams", "email": "email"}


def _channel_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in value:
            # a near miss (`slack_webhook:`) picks its kind, so the error says "did you mean"
            close = difflib.get_close_matches(str(key), list(_CHANNEL_KEYS), n=1, cutoff=0.7)
            if close:
                return f"{_CHANNEL_KEYS[close[0]]} channel"
        return "missing"
    for cls, kind in ((SlackChannel, "slack"), (TeamsChannel, "teams"), (EmailChannel, "email")):
        if isinstance(value, cls):
            return f"{kind} channel"
    return None


Channel = Annotated[
    Annotated[SlackChannel, Tag("slack channel")]
    | Annotated[TeamsChannel, Tag("teams channel")]
    | Annotated[EmailChannel, Tag("email channel")],
    Discriminator(
        _channel_kind,
        custom_error_type="channel_kind",
        custom_error_message="a channel needs `slack_webhook_env:`, `teams_webhook_env:` or "
        "`email:` (a list of addresses)",
    ),
]


def channel_kind(channel: SlackChannel | TeamsChannel | EmailChannel) -> str:
    """slack, teams or email."""
    return (_channel_kind(channel) or "missing").removesuffix(" channel")


class AlertRule(StrictModel):
    """Send a key result's status change to `to` when its new status is one of `on`."""

    teams: list[ChannelId] | None = Field(None, description="Team ids; omitted: every team.")
    on: list[str] = Field(min_length=1, description="New statuses that send an alert.")
    to: list[ChannelId] = Field(min_length=1, description="Channel names.")

    @model_validator(mode="before")
    @classmethod
    def _on_read_as_true(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean true.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data


class DigestRule(StrictModel):
    """Send the weekly check-in digest to `to` once a week, from `day` at `time` on."""

    digest: Literal["weekly"]
    day: Weekday = "monday"
    time: str = Field("08:00", description="HH:MM in the organisation's time zone.")
    to: list[ChannelId] = Field(min_length=1, description="Channel names.")

    @field_validator("time", mode="before")
    @classmethod
    def _hh_mm(cls, value: Any) -> Any:
        if isinstance(value, int):  # YAML 1.1 reads an unquoted 08:00 as 480 (sexagesimal)
            raise ValueError('an unquoted time is read as a number by YAML; write "08:00"')
        if not isinstance(value, str) or not TIME.match(value):
            raise ValueError(f'`{value}` is not a time; write HH:MM, e.g. "08:00"')
        return value


def _rule_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "digest rule" if "digest" in value else "alert rule"
    return "digest rule" if isinstance(value, DigestRule) else "alert rule"


Rule = Annotated[
    Annotated[AlertRule, Tag("alert rule")] | Annotated[DigestRule, Tag("digest rule")],
    Discriminator(_rule_kind),
]


class Notify(StrictModel):
    """Where status changes and the weekly digest are sent."""

    channels: dict[ChannelId, Channel] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)


def lint_notify(d: Definitions) -> list[Problem]:
    """Every rule names declared teams, channels and known statuses; every channel is used."""
    if d.notify is None:
        return []
    loc = d.notify
    notify: Notify = loc.item
    problems: list[Problem] = []

    def _problem(severity: str, _: Any, sub: tuple[Any, ...], message: str, fix: str) -> Problem:
        # like lint._problem, but list indexes (0 included) stay in the field path
        line = loc.line(*sub)
        return Problem(severity, loc.file, line, format_path((*loc.path, *sub)), message, fix)  # type: ignore[arg-type]

    channels, teams = list(notify.channels), list(d.teams)
    used: set[str] = set()
    for i, rule in enumerate(notify.rules):
        for j, name in enumerate(rule.to):
            used.add(name)
            if name not in notify.channels:
                problems.append(
                    _problem(
                        "error",
                        loc,
                        ("rules", i, "to", j),
                        f"channel `{name}` is not declared",
                        suggest_declared(name, channels, "notify.channels"),
                    )
                )
        if not isinstance(rule, AlertRule):
            continue
        for j, team in enumerate(rule.teams or []):
            if team not in d.teams:
                problems.append(
                    _problem(
                        "error",
                        loc,
                        ("rules", i, "teams", j),
                        f"team `{team}` is not declared",
                        suggest_declared(team, teams, "teams"),
                    )
                )
        for status in rule.on:
            if status not in STATUS_ORDER:
                problems.append(
                    _problem(
                        "error",
                        loc,
                        ("rules", i),
                        f"`{status}` is not a key-result status",
                        (
                            f"did you mean `{guess}`? "
                            if (guess := did_you_mean(status, STATUS_ORDER))
                            else ""
                        )
                        + f"use one of {', '.join(STATUS_ORDER)}",
                    )
                )
    for name in notify.channels:
        if name not in used:
            problems.append(
                _problem(
                    "warning",
                    loc,
                    ("channels", name),
                    f"channel `{name}` is declared but no rule sends to it",
                    "add it to a rule's `to:` or remove it",
                )
            )
    return problems
