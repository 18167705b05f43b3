"""notify/messages as a real Dagster materialisation, and `okr notify [--dry-run]` as people
run it (a subprocess talking to the sandboxes and the relay over loopback)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from notify_kit import DEFINITIONS, NOW, STATUSES, sent_rows, write_project, write_warehouse

from destinations.notify import plan_messages
from pipelines.build import build_definitions
from pipelines.destinations.notify.assets import NOTIFY
from pipelines.destinations.notify.definitions import NOTIFY_JOB
from pipelines.resources import load_valid_definitions
from pipelines.schedules import PROGRESS_JOB, SOURCES_JOB, STAGING_JOB
from sandbox.base import Fault

REPO = Path(__file__).resolve().parents[2]
BEFORE_DIGEST = "2026-11-30T07:59+01:00"


def _current_project(root: Path) -> tuple[Path, Path]:
    """The test project in the current quarter with yesterday (Berlin) as its newest day, so
    the asset — which reads the real clock — hears the newest day speak; no digest rule."""
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    text = DEFINITIONS.replace("2026-Q4", quarter).replace(
        '    - {digest: weekly, day: monday, time: "08:00", to: [growth-slack, leads-mail]}\n', ""
    )
    folder = write_project(root, text)
    warehouse = root / "okr_sync.duckdb"
    write_warehouse(
        warehouse, load_valid_definitions(folder), STATUSES, today - dt.timedelta(days=1)
    )
    return folder, warehouse


def test_the_asset_sends_records_and_reports_in_its_metadata(
    tmp_path: Path, channels, slack, teams, smtp_relay, monkeypatch
) -> None:
    folder, warehouse = _current_project(tmp_path)
    monkeypatch.setenv("OKR_DEFINITIONS", str(folder))
    monkeypatch.setenv("OKR_WAREHOUSE", str(warehouse))
    teams.inject(Fault("status", 500, times=100))  # Teams is down for the whole run
    defs = build_definitions(load_valid_definitions(folder))
    assert defs.resolve_assets_def(NOTIFY).group_names_by_key[NOTIFY] == "notify"
    assert defs.resolve_sensor_def("notify_after_models") is not None

    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(NOTIFY_JOB).execute_in_process(instance=instance)
        teams.clear_faults()
        (materialisation,) = result.asset_materializations_for_node("notify__messages")
        warnings = [
            e.message
            for e in instance.all_logs(result.run_id)
            if e.level == 30 and "not sent to" in (e.message or "")
        ]

    # a failed channel never fails the asset: recorded, reported, the others sent
    assert result.success
    meta = {k: v.value for k, v in materialisation.metadata.items()}
    assert (meta["sent"], meta["failed"], meta["alerts"], meta["digests"]) == (2, 1, 3, 0)
    assert "| sales-teams | alert | deals-total | at_risk -> off_track |" in meta["deliveries"]
    assert "| failed | 6 | sales-teams: the webhook answered HTTP 500" in meta["deliveries"]
    assert len(slack.messages()) == 1 and len(smtp_relay.handler.mails) == 1
    assert len(warnings) == 1 and "sales-teams" in warnings[0]
    assert [r["status"] for r in sent_rows(warehouse)] == ["sent", "sent", "failed"]


def _okr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "notify", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ),
        timeout=300,
    )


def test_okr_notify_dry_run_prints_and_sends_nothing_then_sends_once(
    project, channels, slack, teams, smtp_relay
) -> None:
    where = ["-d", str(project.definitions_dir), "-w", str(project.warehouse)]

    dry = _okr("--dry-run", "--at", BEFORE_DIGEST, *where)

    assert dry.returncode == 0, dry.stderr
    assert "would send to growth-slack (slack): alert signups-total on_track -> at_risk" in (
        dry.stdout
    )
    assert "Value → target: 40 → 1,500" in dry.stdout
    # printed as it will be sent: a title's ":rocket:" is not made an emoji by the console
    assert "Key result: 1500 signups :rocket: (signups-total)" in dry.stdout
    assert "3 message(s) due; --dry-run sent nothing" in dry.stdout
    assert slack.total_requests == teams.total_requests == 0 and not smtp_relay.handler.mails
    assert sent_rows(project.warehouse) == []

    sent = _okr("--at", BEFORE_DIGEST, *where)
    assert sent.returncode == 0, sent.stderr
    assert "3 sent, 0 failed" in sent.stdout
    assert plan_messages(project.warehouse, project.load(), NOW - dt.timedelta(hours=2)) == []
    assert len(slack.messages()) == len(teams.messages()) == 1


def test_okr_notify_says_which_variable_is_missing_and_exits_1(
    project, channels, monkeypatch
) -> None:
    monkeypatch.delenv("TEAMS_WEBHOOK_SALES")

    result = _okr(
        "--at", BEFORE_DIGEST, "-d", str(project.definitions_dir), "-w", str(project.warehouse)
    )

    assert result.returncode == 1
    assert "TEAMS_WEBHOOK_SALES is not set" in result.stderr
    assert "2 sent, 1 failed" in result.stdout


def test_the_sensor_answers_successful_progress_runs_only(tmp_path: Path) -> None:
    defs = build_definitions(load_valid_definitions(write_project(tmp_path)))
    sensor = defs.resolve_sensor_def("notify_after_models")
    requests = {}
    with dg.DagsterInstance.ephemeral() as instance:
        for job in (PROGRESS_JOB, STAGING_JOB, SOURCES_JOB, NOTIFY_JOB):
            context = dg.build_run_status_sensor_context(
                sensor_name="notify_after_models",
                dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=job),
                dagster_instance=instance,
                dagster_run=dg.DagsterRun(job_name=job, run_id=f"run-of-{job}"),
            )
            requests[job] = [r.run_key for r in sensor(context)]

    assert requests == {
        PROGRESS_JOB: [f"notify-after-run-of-{PROGRESS_JOB}"],
        STAGING_JOB: [],
        SOURCES_JOB: [],
        NOTIFY_JOB: [],
    }
