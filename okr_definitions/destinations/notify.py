"""The `notify:` section: channels (Slack, Microsoft Teams, e-mail) and the rules that say what
goes where.

Only the *names* of environment variables are written here; webhook URLs and the SMTP
password are secrets and come from the environment when a message is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from okr_definitions.strict import StrictModel

if TYPE_CHECKING:
    from okr_definitions.problems import Problem
    from okr_definitions.resolve import Definitions

ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]{0,127}$"
EnvName = Annotated[
    str, Field(pattern=ENV_NAME_PATTERN, description="Name of an environment variable.")
]
ChannelId = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="lowercase letters, digits")
]
# A deliberately plain check: the SMTP server is the authority on addresses; this catches
# the typos (a missing @, a space, a list written as one string).
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")]
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


def _channel_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, kind in (
            ("slack_webhook_env", "slack"),
            ("teams_webhook_env", "teams"),
            ("email", "email"),
        ):
            if key in value:
                return kind
        return "missing"
    for cls, kind in ((SlackChannel, "slack"), (TeamsChannel, "teams"), (EmailChannel, "email")):
        if isinstance(value, cls):
            return kind
    return None


Channel = Annotated[
    Annotated[SlackChannel, Tag("slack")]
    | Annotated[TeamsChannel, Tag("teams")]
    | Annotated[EmailChannel, Tag("email")],
    Discriminator(
        _channel_kind,
        custom_error_type="channel_kind",
        custom_error_message="a channel needs `slack_webhook_env:`, `teams_webhook_env:` or "
        "`email:` (a list of addresses)",
    ),
]


def channel_kind(channel: SlackChannel | TeamsChannel | EmailChannel) -> str:
    """slack, teams or email."""
    return _channel_kind(channel) or "missing"


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
    time: str = Field(
        "08:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM in the organisation's time zone.",
    )
    to: list[ChannelId] = Field(min_length=1, description="Channel names.")


def _rule_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "digest" if "digest" in value else "alert"
    return "digest" if isinstance(value, DigestRule) else "alert"


Rule = Annotated[
    Annotated[AlertRule, Tag("alert")] | Annotated[DigestRule, Tag("digest")],
    Discriminator(_rule_kind),
]


class Notify(StrictModel):
    """Where status changes and the weekly digest are sent."""

    channels: dict[ChannelId, Channel] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)


def lint_notify(d: Definitions) -> list[Problem]:
    """Every rule names declared teams, channels and known statuses; every channel is used."""
    from okr_definitions.lint import _problem, _suggest
    from okr_definitions.loader import did_you_mean
    from reports.formatting import STATUS_ORDER

    if d.notify is None:
        return []
    loc = d.notify
    notify: Notify = loc.item
    problems: list[Problem] = []
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
                        _suggest(name, channels, "notify.channels"),
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
                        _suggest(team, teams, "teams"),
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
