"""A tiny Mixpanel project whose numbers are easy to hand-compute (imported as a module).

Days are the project's, America/Los_Angeles (UTC-7 in October): bob's 23:30 open of 1 Oct is
06:30 UTC on 2 Oct and still counts on 1 Oct.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sandbox.mixpanel.server import Event

ZONE = "America/Los_Angeles"
PROJECT_ID = 3141592
USERNAME = "okr-test.mp-service-account"
SECRET = "canary-mixpanel-secret-7d2e9b41c0a6"


def at(day: int, hour: int, minute: int = 0) -> int:
    """Epoch seconds of October `day`, 2026, hour:minute in the project's zone."""
    return int(datetime(2026, 10, day, hour, minute, tzinfo=ZoneInfo(ZONE)).timestamp())


def opened(user: str, day: int, hour: int, plan: str, minute: int = 0, arrives=None) -> Event:
    return Event("Editor Opened", user, at(day, hour, minute), {"plan": plan}, arrives)


EVENTS = [
    # 1 Oct: 4 opens by alice (2), bob (1, at 23:30), carol (1); pro/team: 3; users: 3
    opened("alice", 1, 10, "pro"),
    opened("alice", 1, 11, "pro"),
    opened("bob", 1, 23, "free", minute=30),
    opened("carol", 1, 9, "team"),
    # 2 Oct: alice, and dave's open sent twice (same $insert_id): 2 opens; pro/team: 1; users: 2
    opened("alice", 2, 8, "pro"),
    opened("dave", 2, 12, "free"),
    opened("dave", 2, 12, "free"),
    # 3 Oct: bob; carol's open arrives only on 6 Oct (a late event)
    opened("bob", 3, 10, "free"),
    opened("carol", 3, 10, "team", arrives=at(6, 9)),
    # Funnel Sign Up → Project Created.
    # 1 Oct: erin converts after 6 h; frank after 26 h (outside a 1-day window, inside 7 days);
    # gina created her project *before* signing up (not a conversion)
    Event("Sign Up", "erin", at(1, 9)),
    Event("Project Created", "erin", at(1, 15)),
    Event("Sign Up", "frank", at(1, 10)),
    Event("Project Created", "frank", at(2, 12)),
    Event("Sign Up", "gina", at(1, 11)),
    Event("Project Created", "gina", at(1, 8)),
    # 2 Oct: henry converts after 30 min
    Event("Sign Up", "henry", at(2, 9)),
    Event("Project Created", "henry", at(2, 9, 30)),
]
