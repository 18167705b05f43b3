"""Fixtures: a HubSpot sandbox on 127.0.0.1 and settings that point the real client at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from connectors.hubspot import HubSpotSettings
from sandbox.base import Response, SandboxServer
from sandbox.hubspot.server import HubSpotSandbox

# The project's reference "today" (2026-Q4 runs 2026-10-01..2026-12-31).
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKR_RETRY_WAIT_SCALE", "0")


def _settings_for(
    server: SandboxServer, sandbox: HubSpotSandbox, **overrides: object
) -> HubSpotSettings:
    """Settings for the sandbox. The rate limits are lifted: tests would otherwise wait 1/4 s
    per search page (the limiter itself is tested with a fake clock)."""
    values: dict[str, object] = {
        "access_token": SecretStr(sandbox.token),
        "host": server.base_url,
        "search_requests_per_second": 10_000,
        "requests_per_second": 10_000,
    }
    values.update(overrides)
    return HubSpotSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings_for() -> Callable[..., HubSpotSettings]:
    return _settings_for


@pytest.fixture(scope="session")
def hubspot_server() -> Iterator[SandboxServer]:
    """One server for the session; each test plugs in its own sandbox (stopping a server
    costs half a second of shutdown polling, per test that would add up)."""
    server = SandboxServer(
        lambda request: Response.json({"message": "no sandbox yet"}, 503), name="hubspot"
    ).start()
    yield server
    server.stop()


@pytest.fixture
def start_sandbox(
    hubspot_server: SandboxServer,
) -> Iterator[Callable[..., tuple[HubSpotSandbox, SandboxServer]]]:
    """Serve a new HubSpotSandbox (any of its arguments) with fresh counts and no faults."""

    def start(**kwargs: object) -> tuple[HubSpotSandbox, SandboxServer]:
        kwargs.setdefault("now", NOW)
        sandbox = HubSpotSandbox(**kwargs)  # type: ignore[arg-type]
        hubspot_server.handler = sandbox.handle
        hubspot_server.clear_faults()
        hubspot_server.reset_counts()
        return sandbox, hubspot_server

    yield start
    hubspot_server.clear_faults()


@pytest.fixture
def empty_crm(
    start_sandbox: Callable[..., tuple[HubSpotSandbox, SandboxServer]],
) -> tuple[HubSpotSandbox, SandboxServer, HubSpotSettings]:
    """A CRM with no generated objects, for tests that script every deal by hand."""
    sandbox, server = start_sandbox(deals=0, contacts=0)
    return sandbox, server, _settings_for(server, sandbox)
