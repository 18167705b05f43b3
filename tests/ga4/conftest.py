"""GA4 test fixtures: a real GA4 sandbox server on 127.0.0.1 and settings pointing at it.

The connector talks to it through the official client library (REST transport); only the
endpoint differs from production. One server serves the whole session (stopping a server
waits out its poll interval); each test gets it reset, with the clock fixed at `NOW`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ga4_testkit import NOW, sandbox_properties

from connectors.ga4 import GA4Settings
from sandbox.base import SandboxServer
from sandbox.ga4.server import GA4Sandbox


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKR_RETRY_WAIT_SCALE", "0")


@pytest.fixture(scope="session")
def _running() -> Iterator[tuple[SandboxServer, GA4Sandbox]]:
    handler = GA4Sandbox(sandbox_properties(), now=NOW)
    server = handler.serve()
    yield server, handler
    server.stop()


@pytest.fixture
def ga4_sandbox(_running: tuple[SandboxServer, GA4Sandbox]) -> GA4Sandbox:
    server, handler = _running
    handler.reset(sandbox_properties(), now=NOW)
    server.clear_faults()
    server.reset_counts()
    return handler


@pytest.fixture
def ga4_server(
    _running: tuple[SandboxServer, GA4Sandbox], ga4_sandbox: GA4Sandbox
) -> SandboxServer:
    return _running[0]


@pytest.fixture
def settings_for(ga4_server: SandboxServer) -> Callable[..., GA4Settings]:
    def make(property_id: str, **kwargs: Any) -> GA4Settings:
        return GA4Settings.for_sandbox(ga4_server.base_url, property_id, **kwargs)

    return make
