"""One Amplitude sandbox for the module's tests, serving a small event log whose numbers are
easy to hand-compute (see amplitude_testkit.EVENTS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from amplitude_testkit import NOW, make_sandbox

from sandbox.amplitude.server import AmplitudeSandbox, serve
from sandbox.base import SandboxServer


@pytest.fixture(scope="session")
def served() -> Iterator[tuple[SandboxServer, AmplitudeSandbox]]:
    server, sandbox = serve(make_sandbox())
    yield server, sandbox
    server.stop()


@pytest.fixture
def amplitude(
    served: tuple[SandboxServer, AmplitudeSandbox], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SandboxServer, AmplitudeSandbox]]:
    """The shared sandbox, clean for each test: no faults, counts from 0, the clock at NOW."""
    server, sandbox = served
    monkeypatch.setenv("OKR_RETRY_WAIT_SCALE", "0")
    server.clear_faults()
    server.reset_counts()
    sandbox.now, sandbox.cost_budget = NOW, None
    sandbox.reset_costs()
    yield server, sandbox
    server.clear_faults()
    sandbox.now, sandbox.cost_budget = NOW, None
