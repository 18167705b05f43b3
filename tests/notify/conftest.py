"""Fixtures of the notify tests: the Slack and Teams webhook sandboxes and the SMTP relay run
once per session; each test gets its own project, warehouse and webhook URLs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from notify_kit import Project, SmtpRelay, write_project, write_warehouse  # noqa: E402

from pipelines.resources import load_valid_definitions  # noqa: E402
from sandbox.slack.server import SlackSandbox  # noqa: E402
from sandbox.teams.server import TeamsSandbox  # noqa: E402


@pytest.fixture(scope="session")
def slack() -> Iterator[SlackSandbox]:
    with SlackSandbox() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="session")
def teams() -> Iterator[TeamsSandbox]:
    with TeamsSandbox() as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="session")
def smtp_relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpRelay]:
    relay = SmtpRelay(tmp_path_factory.mktemp("smtp")).start()
    yield relay
    relay.stop()


@pytest.fixture
def channels(
    slack: SlackSandbox,
    teams: TeamsSandbox,
    smtp_relay: SmtpRelay,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Fresh webhook URLs and the relay's settings in the environment; sandboxes emptied."""
    for server in (slack, teams):
        server.clear()
        server.clear_faults()
        server.reset_counts()
    smtp_relay.handler.clear()
    env = {
        "SLACK_WEBHOOK_GROWTH": slack.new_webhook(),
        "TEAMS_WEBHOOK_SALES": teams.new_webhook(),
        **smtp_relay.env(),
        "OKR_REQUEST_TIMEOUT_S": "0.5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def project(tmp_path: Path) -> Project:
    from notify_kit import STATUSES

    folder = write_project(tmp_path)
    definitions = load_valid_definitions(folder)
    warehouse = tmp_path / "okr_sync.duckdb"
    write_warehouse(warehouse, definitions, STATUSES)
    return Project(folder, warehouse, definitions)
