"""The event log the Amplitude tests hand-compute against, and settings pointing at a server.

Users (user properties): 1 pro/iOS, 2 free/Android, 3 team/iOS, 4 free/Web. Project days:

| day   | Editor Opened              | Purchase Completed (price) | Sign Up | Project Created   |
|-------|----------------------------|----------------------------|---------|-------------------|
| 10-01 | u1, u1, u2                 | u1 (10)                    | u1, u2  | u1 (after), u4    |
| 10-02 | u1, u3, u4 (note: a"b&c)   | u1 (5), u3 (20)            | u3, u4  |                   |
| 10-03 | u2 (arrives 10-13: late)   |                            |         | u3                |
| 10-09 |                            |                            |         | u2 (00:00:50)     |

The sandbox's clock stands at 10-12: u2's 10-03 editor opening has not arrived yet.
"""

from __future__ import annotations

from datetime import date

from pydantic import SecretStr

from connectors.amplitude import AmplitudeSettings
from sandbox.amplitude.server import (
    DEFAULT_API_KEY,
    DEFAULT_SECRET_KEY,
    AmplitudeEvent,
    AmplitudeSandbox,
    hosts,
)
from sandbox.base import SandboxServer

NOW = date(2026, 10, 12)
D1, D2, D3 = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)
USERS = {
    1: {"plan": "pro", "platform": "iOS", "country": "Germany"},
    2: {"plan": "free", "platform": "Android", "country": "France"},
    3: {"plan": "team", "platform": "iOS", "country": "Germany"},
    4: {"plan": "free", "platform": "Web", "country": "France"},
}


def _e(user: int, event: str, day: date, second: int = 0, **props: object) -> AmplitudeEvent:
    return AmplitudeEvent(user, event, day, second, {"plan": USERS[user]["plan"], **props})


EVENTS = [
    _e(1, "Editor Opened", D1, 10),
    _e(1, "Editor Opened", D1, 20),
    _e(2, "Editor Opened", D1, 30),
    _e(1, "Editor Opened", D2),
    _e(3, "Editor Opened", D2),
    _e(4, "Editor Opened", D2, note='a"b&c'),
    AmplitudeEvent(2, "Editor Opened", D3, 0, {"plan": "free"}, arrives=date(2026, 10, 13)),
    _e(1, "Purchase Completed", D1, price=10),
    _e(1, "Purchase Completed", D2, price=5),
    _e(3, "Purchase Completed", D2, price=20),
    _e(1, "Sign Up", D1, 100),
    _e(2, "Sign Up", D1, 100),
    _e(3, "Sign Up", D2, 100),
    _e(4, "Sign Up", D2, 100),
    _e(1, "Project Created", D1, 200),
    _e(4, "Project Created", D1, 50),
    _e(3, "Project Created", D3, 0),
    _e(2, "Project Created", date(2026, 10, 9), 50),
]


def make_sandbox() -> AmplitudeSandbox:
    sandbox = AmplitudeSandbox(
        EVENTS,
        now=NOW,
        event_types=("Editor Opened", "Purchase Completed", "Sign Up", "Project Created"),
    )
    for user, properties in USERS.items():
        sandbox.set_user(user, properties)
    return sandbox


def settings_for(server: SandboxServer, region: str = "us", **keys: str) -> AmplitudeSettings:
    urls = hosts(server)
    return AmplitudeSettings(
        api_key=SecretStr(keys.get("api_key", DEFAULT_API_KEY)),
        secret_key=SecretStr(keys.get("secret_key", DEFAULT_SECRET_KEY)),
        region=region,  # type: ignore[arg-type]
        us_host=urls["AMPLITUDE_HOST"],
        eu_host=urls["AMPLITUDE_EU_HOST"],
        timezone="Europe/Berlin",
    )
