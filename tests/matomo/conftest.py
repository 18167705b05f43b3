"""Fixtures: one Matomo sandbox server on 127.0.0.1 for the session, reset before each test,
with a fixed clock; and connector settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.matomo import MatomoSettings
from sandbox.base import SandboxServer
from sandbox.matomo.server import DEFAULT_TOKEN, MatomoSandbox

# 10:00 in Berlin, 22:00 in Auckland: "today" is 2026-11-26 for both sites.
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKR_RETRY_WAIT_SCALE", "0")


@pytest.fixture(scope="session")
def _running() -> Iterator[tuple[SandboxServer, MatomoSandbox]]:
    # One server for all tests: stopping a server waits out its 0.5 s poll interval.
    handler = MatomoSandbox(now=NOW)
    with handler.server() as running:
        yield running, handler


@pytest.fixture
def sandbox(_running: tuple[SandboxServer, MatomoSandbox]) -> MatomoSandbox:
    server, handler = _running
    handler.reset(now=NOW)
    server.clear_faults()
    server.reset_counts()
    return handler


@pytest.fixture
def server(_running: tuple[SandboxServer, MatomoSandbox], sandbox: MatomoSandbox) -> SandboxServer:
    return _running[0]


@pytest.fixture
def settings(server: SandboxServer) -> MatomoSettings:
    return MatomoSettings(base_url=server.base_url, site_id=1, token=DEFAULT_TOKEN)
