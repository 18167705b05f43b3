"""Amplitude through the whole pipeline: the real connector against the sandbox, real Dagster
materialisations, a real DuckDB file; late events restate a day on the lookback's re-fetch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from pipeline_testkit import add_source, warehouse_rows

from okr_cli.source_checks import check_sources
from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import run_range
from sandbox.amplitude.server import (
    DEFAULT_API_KEY,
    DEFAULT_SECRET_KEY,
    AmplitudeEvent,
    AmplitudeSandbox,
    generate_events,
    hosts,
    serve,
)
from sandbox.base import SandboxServer

AMPLITUDE_METRICS = """
  - {id: editor_opens, source: amplitude, query: {event: Editor Opened}}
  - {id: editors, source: amplitude, query: {event: Editor Opened, count: uniques}}
"""
AMPLITUDE_OBJECTIVE = """
  - id: activation
    title: People use the editor
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: opens, title: Editor opened 200 times, metric: editor_opens, measure: total,
         target: 200}
      - {id: active-editors, title: Ten people use the editor, metric: editors,
         measure: total, target: 10}
"""
EVENT_TYPES = ("Editor Opened",)
FIRST_NOW = date(2026, 10, 5)
# One event of 10-04 that Amplitude only has on 10-07: the day grows after the first run.
LATE = AmplitudeEvent(3, "Editor Opened", date(2026, 10, 4), 0, {}, arrives=date(2026, 10, 7))
LOG = [
    e
    for e in generate_events(EVENT_TYPES, date(2026, 9, 15), date(2026, 10, 10), users=12)
    if (e.arrives or e.day) <= FIRST_NOW  # the late one below is the only late event
] + [LATE]


def visible(now: date, first: date, last: date) -> list[AmplitudeEvent]:
    return [e for e in LOG if first <= e.day <= last and e.arrived_by(now)]


@pytest.fixture
def amplitude(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SandboxServer, AmplitudeSandbox]]:
    server, sandbox = serve(AmplitudeSandbox(LOG, now=FIRST_NOW, event_types=EVENT_TYPES))
    for name, value in hosts(server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMPLITUDE_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("AMPLITUDE_SECRET_KEY", DEFAULT_SECRET_KEY)
    yield server, sandbox
    server.stop()


@pytest.fixture
def amplitude_project(project: Path) -> Path:
    source = "amplitude: {region: us, timezone: Europe/Berlin, allowed_lag_days: 2}"
    return add_source(project, source, AMPLITUDE_METRICS, AMPLITUDE_OBJECTIVE)


def test_amplitude_key_results_and_a_restated_day(
    amplitude_project: Path, amplitude, instance: dg.DagsterInstance
) -> None:
    server, sandbox = amplitude
    defs = build_definitions(load_valid_definitions(amplitude_project))
    assert run_range(defs, date(2026, 9, 21), FIRST_NOW, instance).succeeded
    # totals: the events of 10-01..10-05 Amplitude had on 10-05, counted from the log itself
    opens = len(visible(FIRST_NOW, date(2026, 10, 1), FIRST_NOW))
    users = len({e.user for e in visible(FIRST_NOW, date(2026, 10, 1), FIRST_NOW)})
    daily_sum = sum(
        len({e.user for e in visible(FIRST_NOW, day, day)})
        for day in (date(2026, 10, 1) + timedelta(days=i) for i in range(5))
    )
    assert users < daily_sum  # so a sum of daily uniques would be visibly wrong
    assert warehouse_rows(
        "SELECT kr_id, value FROM okr.kr_progress_daily WHERE as_of_date = '2026-10-05' "
        "AND kr_id IN ('opens', 'active-editors') ORDER BY kr_id"
    ) == [("active-editors", float(users)), ("opens", float(opens))]
    # every staged value names the Amplitude answer it came from
    assert warehouse_rows(
        "SELECT count(*) FROM staging.metric_daily AS s WHERE s.source = 'amplitude' AND NOT "
        "EXISTS (SELECT 1 FROM raw.amplitude_answers AS r WHERE r.request_hash = s.request_hash)"
    ) == [(0,)]
    ((answers, cost),) = warehouse_rows("SELECT count(*), sum(cost) FROM raw.amplitude_answers")
    assert answers >= 2 and cost == sum(sandbox.costs)
    # the run's Amplitude cost is in the asset's metadata, as the sandbox charged it
    event = instance.get_latest_materialization_event(dg.AssetKey(["raw", "amplitude"]))
    assert event.asset_materialization.metadata["amplitude_cost"].value == cost

    # three days on, the lookback re-fetches 10-03..10-07: 10-04 has one more event
    sandbox.advance(3)
    before = dict(
        warehouse_rows(
            "SELECT metric_id, value FROM staging.metric_daily WHERE date = '2026-10-04' "
            "AND source = 'amplitude'"
        )
    )
    server.reset_counts()
    assert run_range(defs, date(2026, 10, 3), date(2026, 10, 7), instance).succeeded
    # one daily request per event and count for the window, one collapsed request per as-of
    # day for the uniques
    assert server.request_counts["/us/api/2/events/segmentation"] == 2 + 5
    # user 3 had not opened the editor on 10-04 before: one more event and one more user
    assert warehouse_rows(
        "SELECT metric_id, date, old_value, new_value, source FROM staging.metric_revisions "
        "ORDER BY metric_id"
    ) == [
        (
            "editor_opens",
            date(2026, 10, 4),
            before["editor_opens"],
            before["editor_opens"] + 1,
            "amplitude",
        ),
        ("editors", date(2026, 10, 4), before["editors"], before["editors"] + 1, "amplitude"),
    ]
    ((value, flags),) = warehouse_rows(
        "SELECT value, flags FROM okr.kr_progress_daily "
        "WHERE kr_id = 'opens' AND as_of_date = '2026-10-05'"
    )
    assert value == opens + 1 and "restated" in flags


def test_validate_locates_an_unknown_event(amplitude_project: Path, amplitude) -> None:
    metrics = amplitude_project / "metrics.yaml"
    metrics.write_text(
        metrics.read_text().replace("{event: Editor Opened}", "{event: Editor Opend}")
    )
    problems, notes = check_sources(load_valid_definitions(amplitude_project))
    (problem,) = [p for p in problems if "Editor Opend" in p.message]
    assert problem.file.name == "metrics.yaml" and problem.line is not None
    assert problem.field.endswith("query.event") and "Editor Opened" in problem.fix
    assert not [n for n in notes if n.startswith("amplitude")]
