"""`okr validate` for Mixpanel: located shape errors, the run's request count against the hourly
limits (with or without credentials), event names and filter properties against the project."""

from __future__ import annotations

from pathlib import Path

import pytest
from mixpanel_testkit import PROJECT_ID, SECRET, USERNAME, ZONE
from typer.testing import CliRunner

from okr_cli.main import app
from sandbox.base import SandboxServer

ORGANISATION = f"""
organisation: {{name: Product Co, timezone: Europe/Berlin}}
sources:
  mixpanel: {{project_id: {PROJECT_ID}, region: us, timezone: {ZONE}}}
teams:
  - {{id: product, name: Product, owner: product@example.com}}
objectives:
  - id: product-activation
    title: New users get to work
    team: product
    period: 2026-Q4
    key_results:
      - {{id: opens, title: "Editor opens reach 500", metric: m0, measure: total, target: 500}}
"""


def project(folder: Path, metrics: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "okr.yaml").write_text(ORGANISATION + "metrics:\n" + metrics)
    return folder


def validate(folder: Path):
    return CliRunner().invoke(app, ["validate", str(folder)])


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MIXPANEL_SERVICE_ACCOUNT_USERNAME", "MIXPANEL_SERVICE_ACCOUNT_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, server: SandboxServer) -> None:
    monkeypatch.setenv("MIXPANEL_SERVICE_ACCOUNT_USERNAME", USERNAME)
    monkeypatch.setenv("MIXPANEL_SERVICE_ACCOUNT_SECRET", SECRET)
    monkeypatch.setenv("MIXPANEL_ENDPOINT", server.base_url)


def test_a_query_with_event_and_funnel_is_located(tmp_path: Path, no_credentials: None) -> None:
    metrics = (
        "  - id: m0\n    source: mixpanel\n"
        '    query: {event: "Editor Opened", funnel: {steps: [a, b]}}\n'
    )
    result = validate(project(tmp_path / "p", metrics))
    assert result.exit_code == 1
    assert "okr.yaml:17: error: metrics[0].query" in result.stderr
    assert "exactly one of report" in result.stderr


def test_a_filter_needs_one_comparison(tmp_path: Path, no_credentials: None) -> None:
    metrics = (
        "  - id: m0\n    source: mixpanel\n"
        '    query: {event: "Editor Opened", where: {property: plan, equals: pro, in: [team]}}\n'
    )
    result = validate(project(tmp_path / "p", metrics))
    assert result.exit_code == 1
    assert "exactly one of equals, in, not_in" in result.stderr


def test_validate_prints_the_runs_requests_offline(tmp_path: Path, no_credentials: None) -> None:
    metrics = (
        "".join(
            f"  - id: m{i}\n    source: mixpanel\n"
            f'    query: {{event: "Editor Opened", where: {{property: plan, equals: p{i % 2}}}}}\n'
            for i in range(4)
        )
        + "  - {id: r, source: mixpanel, query: {report: 4113521}}\n"
    )
    result = validate(project(tmp_path / "p", metrics))
    assert result.exit_code == 0, result.output
    # two filter sets → two export requests; one saved report → one Query API request
    assert "2 Raw Event Export request(s)" in result.stderr
    assert "1 Query API request(s)" in result.stderr


def test_definitions_that_cannot_fit_the_hourly_limit_are_refused(
    tmp_path: Path, no_credentials: None
) -> None:
    metrics = "".join(
        f"  - {{id: m{i}, source: mixpanel, query: {{report: {1000 + i}}}}}\n" for i in range(61)
    )
    result = validate(project(tmp_path / "p", metrics))
    assert result.exit_code == 1
    assert "61 saved reports per run" in result.stderr and "60 queries an hour" in result.stderr


def test_with_credentials_unknown_events_and_properties_are_errors(
    tmp_path: Path, credentials: None
) -> None:
    metrics = (
        '  - {id: m0, source: mixpanel, query: {event: "Editor Opend"}}\n'
        "  - id: m1\n    source: mixpanel\n"
        '    query: {event: "Editor Opened", where: {property: plna, equals: pro}}\n'
        '  - {id: m2, source: mixpanel, query: {funnel: {steps: ["Sign Up", "Project Created"]}}}\n'
    )
    result = validate(project(tmp_path / "p", metrics))
    assert result.exit_code == 1
    assert "'Editor Opend' is not among the project's events" in result.stderr
    assert "did you mean 'Editor Opened'?" in result.stderr
    assert "has no property 'plna'; did you mean 'plan'?" in result.stderr
    assert "metrics[0].query.event" in result.stderr and "metrics[1].query.where" in result.stderr
    assert "metrics[2]" not in result.stderr  # both funnel steps exist
    assert SECRET not in result.output
