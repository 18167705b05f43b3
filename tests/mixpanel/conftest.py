"""One Mixpanel sandbox per module with the hand-computable events of mixpanel_testkit and a
fixed clock (4 Oct 2026, noon in the project's zone); each test gets it back as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from mixpanel_testkit import EVENTS, PROJECT_ID, SECRET, USERNAME, ZONE

from sandbox.base import SandboxServer
from sandbox.mixpanel.server import MixpanelSandbox

NOW = datetime(2026, 10, 4, 12, tzinfo=ZoneInfo(ZONE))


@pytest.fixture(scope="module")
def mixpanel() -> Iterator[tuple[MixpanelSandbox, SandboxServer]]:
    sandbox = MixpanelSandbox(
        list(EVENTS),
        username=USERNAME,
        secret=SECRET,
        project_id=PROJECT_ID,
        timezone=ZONE,
        now=NOW,
    )
    server = sandbox.serve()
    yield sandbox, server
    server.stop()


@pytest.fixture
def sandbox(mixpanel: tuple[MixpanelSandbox, SandboxServer]) -> Iterator[MixpanelSandbox]:
    yield mixpanel[0]
    mixpanel[0].now = NOW
    mixpanel[1].clear_faults()
    mixpanel[1].reset_counts()


@pytest.fixture
def server(mixpanel: tuple[MixpanelSandbox, SandboxServer], sandbox: MixpanelSandbox):
    return mixpanel[1]
