"""What every OKR-tool client offers, and the registry of tools: one entry per tool.

A tool's folder `destinations/<tool>/` holds its settings (limits with their sources), and a
client built from the YAML settings by `make_client`. Clients raise the connectors' errors
(connectors/errors.py) so the one retry policy and the secret-free messages apply alike.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from importlib import import_module
from typing import Any, Protocol

from connectors.errors import AuthError, SourceError
from connectors.urls import url_secrets


@dataclass(frozen=True)
class CheckIn:
    """One value for one key result on one day, as a tool will receive it."""

    tool: str
    kr_id: str
    target_id: str  # the tool's id of the key result
    day: date
    value: float  # in the tool's unit (a percentage as 3.2, a currency amount as a number)
    comment: str


class UnknownTargetError(SourceError):
    """The tool has no key result with this id (only that key result fails)."""


class RejectedValueError(SourceError):
    """The tool refuses this one value (e.g. okr-tracker's values must be ≥ 0)."""


class PushClient(Protocol):
    # Whether the tool takes a check-in date: only such tools get past days on a backfill.
    dated: bool

    def send(self, checkin: CheckIn) -> str:
        """Write one check-in; returns the tool's answer id (or its answer message)."""
        ...

    def missing_ids(self, target_ids: list[str]) -> list[str]:
        """The ids the tool does not know (for `okr validate` with credentials)."""
        ...

    def close(self) -> None: ...


# The one entry per tool: its name in YAML → the module with `make_client(settings)`.
TOOL_MODULES = {
    "okr_tracker": "destinations.okr_tracker",
    "quantive": "destinations.quantive",
    "perdoo": "destinations.perdoo",
    "tability": "destinations.tability",
    "webhook": "destinations.webhook",
}


def make_client(tool: str, settings: Any) -> PushClient:
    """The tool's client, reading its credentials from the environment variables named in
    `settings` (raises AuthError naming the variable when one is unset)."""
    return import_module(TOOL_MODULES[tool]).make_client(settings)


def is_dated(tool: str) -> bool:
    """Whether the tool takes a check-in date (and so gets past days on a backfill)."""
    return bool(import_module(TOOL_MODULES[tool]).DATED)


# Every credential a push client has read in this process: each tool's messages are scrubbed
# of all of them, since a proxy or a misrouted request may quote another tool's token.
KNOWN_SECRETS: set[str] = set()
# Settings that name an identifier, not a credential: kept readable in messages.
NOT_SECRET = {"client_id_env", "account_id_env"}


def know_secrets(push_settings: Any) -> None:
    """Learn the credentials of every configured tool (each `*_env` variable that is set)
    before any tool is called, so each tool's messages are scrubbed of all of them."""
    for settings in push_settings.configured().values():
        for name, value in settings:
            if name.endswith("_env") and name not in NOT_SECRET and os.environ.get(value or ""):
                KNOWN_SECRETS.add(os.environ[value])
                KNOWN_SECRETS.update(_json_strings(os.environ[value]))
                if name == "url_env":
                    KNOWN_SECRETS.update(url_secrets(os.environ[value]))


def _json_strings(text: str) -> list[str]:
    """The string values of a JSON object held in a variable (Tability's per-outcome tokens)."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    return [v for v in data.values() if isinstance(v, str) and v] if isinstance(data, dict) else []


def read_env(tool: str, name: str, setting: str) -> str:
    """A credential from the environment variable the YAML names; AuthError naming the
    variable (never a value) when it is unset."""
    value = os.environ.get(name, "")
    if not value:
        raise AuthError(tool, f"set the environment variable {name} (push.{tool}.{setting})")
    if setting not in NOT_SECRET:
        KNOWN_SECRETS.add(value)
    return value
