"""Mixpanel through the whole pipeline: the real connector against the sandbox, real Dagster
materialisations, a real DuckDB file; a late event restates a past day on the lookback run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from pipeline_testkit import add_source, warehouse_rows

from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import run_range
from sandbox.base import SandboxServer
from sandbox.mixpanel.server import DEFAULT_SECRET, DEFAULT_USERNAME, Event, MixpanelSandbox

ZONE = "America/Los_Angeles"
PROJECT = 3141592


def at(day: int, hour: int) -> int:
    return int(datetime(2026, 10, day, hour, tzinfo=ZoneInfo(ZONE)).timestamp())


EVENTS = [
    Event("Editor Opened", "ann", at(1, 9)),
    Event("Editor Opened", "ann", at(1, 10)),
    Event("Editor Opened", "ben", at(1, 23)),  # 06:00 UTC on 2 Oct: still 1 Oct in the project
    Event("Editor Opened", "ann", at(2, 9)),
    Event("Editor Opened", "cid", at(3, 9)),
    Event("Editor Opened", "ben", at(3, 11), arrives=at(5, 8)),  # late
    Event("Sign Up", "dee", at(1, 9)),
    Event("Project Created", "dee", at(1, 12)),
    Event("Sign Up", "eve", at(2, 9)),
]

METRICS = """
  - {id: opens, source: mixpanel, query: {event: "Editor Opened"}}
  - {id: editors, source: mixpanel, query: {event: "Editor Opened", count: uniques}}
  - id: activation
    unit: "%"
    source: mixpanel
    query: {funnel: {steps: ["Sign Up", "Project Created"], window_days: 7}}
"""
OBJECTIVE = """
  - id: product-activation
    title: New users get to work
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: opens-total, title: "Editor opens reach 20", metric: opens, measure: total,
         target: 20}
      - {id: editors-reached, title: "10 people use the editor", metric: editors,
         measure: total, target: 10}
      - {id: activation-rate, title: "Half of sign-ups create a project", metric: activation,
         measure: total, baseline: 0%, target: 50%}
"""


@pytest.fixture
def mixpanel(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MixpanelSandbox, SandboxServer]]:
    sandbox = MixpanelSandbox(
        list(EVENTS),
        project_id=PROJECT,
        timezone=ZONE,
        now=datetime(2026, 10, 4, 12, tzinfo=ZoneInfo(ZONE)),
    )
    server = sandbox.serve()
    monkeypatch.setenv("MIXPANEL_ENDPOINT", server.base_url)
    monkeypatch.setenv("MIXPANEL_SERVICE_ACCOUNT_USERNAME", DEFAULT_USERNAME)
    monkeypatch.setenv("MIXPANEL_SERVICE_ACCOUNT_SECRET", DEFAULT_SECRET)
    yield sandbox, server
    server.stop()


@pytest.fixture
def mixpanel_project(project: Path) -> Path:
    options = f"mixpanel: {{project_id: {PROJECT}, timezone: {ZONE}, allowed_lag_days: 2}}"
    return add_source(project, options, METRICS, OBJECTIVE)


def kr(kr_id: str, day: str) -> tuple:
    (row,) = warehouse_rows(
        "SELECT value, flags FROM okr.kr_progress_daily WHERE kr_id = ? AND as_of_date = ?",
        kr_id,
        day,
    )
    return row


def test_mixpanel_key_results_and_a_restated_day(
    mixpanel_project: Path,
    mixpanel: tuple[MixpanelSandbox, SandboxServer],
    instance: dg.DagsterInstance,
) -> None:
    sandbox, server = mixpanel
    defs = build_definitions(load_valid_definitions(mixpanel_project))
    outcome = run_range(defs, date(2026, 9, 28), date(2026, 10, 3), instance)
    assert outcome.succeeded, outcome.errors
    # one export request (one filter set) for the window and the uniques' exact ranges
    assert server.request_counts["/api/2.0/export"] == 1
    assert warehouse_rows(
        "SELECT date, value FROM staging.metric_daily WHERE metric_id = 'opens' "
        "AND date >= '2026-10-01' ORDER BY date"
    ) == [(date(2026, 10, 1), 3.0), (date(2026, 10, 2), 1.0), (date(2026, 10, 3), 1.0)]
    assert kr("opens-total", "2026-10-03")[0] == 5.0
    # ann, ben, cid over 1..3 Oct: 3 people (the days' uniques sum to 2 + 1 + 1 = 4)
    assert kr("editors-reached", "2026-10-03")[0] == 3.0
    # dee converted, eve not yet: 1 / 2
    assert kr("activation-rate", "2026-10-03")[0] == pytest.approx(0.5)
    # every staged row points at the request that delivered it
    assert warehouse_rows(
        "SELECT count(*) FROM staging.metric_daily AS s WHERE s.source = 'mixpanel' AND NOT "
        "EXISTS (SELECT 1 FROM raw.mixpanel_requests AS r WHERE r.request_hash = s.request_hash)"
    ) == [(0,)]
    event = instance.get_latest_materialization_event(dg.AssetKey(["raw", "mixpanel"]))
    metadata = event.asset_materialization.metadata
    assert metadata["export_requests"].value == 1
    assert metadata["export_requests_per_hour_limit"].value == 60

    # ben's open of 3 Oct arrives on 5 Oct; the next morning's lookback re-fetches 2..5 Oct
    sandbox.now = datetime(2026, 10, 6, 8, tzinfo=ZoneInfo(ZONE))
    assert run_range(defs, date(2026, 10, 2), date(2026, 10, 5), instance).succeeded
    assert warehouse_rows(
        "SELECT metric_id, date, old_value, new_value, source FROM staging.metric_revisions "
        "ORDER BY metric_id"
    ) == [
        ("editors", date(2026, 10, 3), 1.0, 2.0, "mixpanel"),  # that day's users: cid, ben
        ("opens", date(2026, 10, 3), 1.0, 2.0, "mixpanel"),
    ]
    value, flags = kr("opens-total", "2026-10-05")
    assert value == 6.0 and "restated" in flags
    assert kr("editors-reached", "2026-10-05")[0] == 3.0  # ben was counted already
