"""Sandboxes of the OKR tools, started once per session and reset for each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from push_testkit import (
    CONVERSION_ID,
    OKR_TRACKER_CLIENT_ID,
    OKR_TRACKER_KEY,
    OKR_TRACKER_SECRET,
    SESSIONS_ID,
    WEBHOOK_SECRET,
    write_definitions,
)

from sandbox.base import SandboxServer
from sandbox.okr_tracker.server import OkrTrackerSandbox
from sandbox.perdoo.server import PerdooSandbox
from sandbox.quantive.server import QuantiveSandbox
from sandbox.tability.server import TabilitySandbox
from sandbox.webhook.server import WebhookSandbox


@dataclass
class Tools:
    okr_tracker: OkrTrackerSandbox
    okr_tracker_server: SandboxServer
    webhook: WebhookSandbox
    webhook_server: SandboxServer

    def reset(self) -> None:
        tracker = self.okr_tracker
        tracker.key_results.clear()
        tracker.add(SESSIONS_ID, "Sessions")
        tracker.add(CONVERSION_ID, "Conversion")
        tracker.api_key, tracker.client_id = OKR_TRACKER_KEY, OKR_TRACKER_CLIENT_ID
        tracker.client_secret = OKR_TRACKER_SECRET
        tracker.rate_limit = 1000
        tracker.clear_received()
        self.webhook.secret = WEBHOOK_SECRET
        self.webhook.caught.clear()
        for server in (self.okr_tracker_server, self.webhook_server):
            server.clear_faults()
            server.reset_counts()


@pytest.fixture(scope="session")
def tool_servers() -> Iterator[Tools]:
    tracker, hook = OkrTrackerSandbox(), WebhookSandbox()
    tracker_server, hook_server = tracker.serve(), hook.serve()
    yield Tools(tracker, tracker_server, hook, hook_server)
    tracker_server.stop()
    hook_server.stop()


@pytest.fixture
def tools(tool_servers: Tools, monkeypatch: pytest.MonkeyPatch) -> Tools:
    tool_servers.reset()
    monkeypatch.setenv("TEST_OKR_TRACKER_KEY", OKR_TRACKER_KEY)
    monkeypatch.setenv("TEST_OKR_TRACKER_CLIENT_ID", OKR_TRACKER_CLIENT_ID)
    monkeypatch.setenv("TEST_OKR_TRACKER_SECRET", OKR_TRACKER_SECRET)
    monkeypatch.setenv("TEST_WEBHOOK_URL", tool_servers.webhook.url(tool_servers.webhook_server))
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return tool_servers


@pytest.fixture
def push_definitions(tools: Tools, tmp_path: Path) -> Path:
    return write_definitions(tmp_path / "defs", tools.okr_tracker_server.base_url)


# Quantive's, Perdoo's and Tability's sandboxes, each with its server; each tool's test module
# resets its own between tests.
@pytest.fixture(scope="session")
def quantive_server() -> Iterator[tuple[QuantiveSandbox, SandboxServer]]:
    sandbox = QuantiveSandbox()
    with sandbox.serve() as server:
        yield sandbox, server


@pytest.fixture(scope="session")
def perdoo_server() -> Iterator[tuple[PerdooSandbox, SandboxServer]]:
    sandbox = PerdooSandbox()
    with sandbox.serve() as server:
        yield sandbox, server


@pytest.fixture(scope="session")
def tability_server() -> Iterator[tuple[TabilitySandbox, SandboxServer]]:
    sandbox = TabilitySandbox()
    with sandbox.serve() as server:
        yield sandbox, server
