"""A finished period: okr.kr_final_grades, the retro section, and what the Dagster UI shows
(the summary on okr/kr_progress_daily, the weekly report asset after the progress tables)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from report_helpers import PERIOD_END, FinishedProject, okr

from pipelines.okr.assets import KR_PROGRESS, OBJECTIVE_PROGRESS
from pipelines.reports.assets import REPORT, REPORTS_JOB, is_the_assets_report
from pipelines.reports.summary import progress_summary_metadata
from pipelines.schedules import PROGRESS_JOB
from reports.weekly import build_weekly_report
from warehouse.db import connect

WEEK_OF_PERIOD_END = "2026-10-05"  # Monday; the period ends Saturday 2026-10-10


def grades(warehouse: Path) -> dict[str, dict]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = con.execute("SELECT * FROM okr.kr_final_grades ORDER BY kr_id")
        columns = [d[0] for d in cursor.description]
        return {r[0]: dict(zip(columns, r, strict=True)) for r in cursor.fetchall()}
    finally:
        con.close()


def test_final_grades_read_the_last_day_of_the_period(finished_project: FinishedProject) -> None:
    found = grades(finished_project.warehouse)
    assert set(found) == {"signups-total", "visits-total"}
    signups, visits = found["signups-total"], found["visits-total"]
    # 10 days × 12 signups = 120 of 150: a committed key result that missed
    assert signups["graded_on"] == PERIOD_END
    assert signups["value"] == 120 and signups["final_score"] == pytest.approx(0.8)
    assert signups["expected_score"] == pytest.approx(1.0)
    assert (signups["met"], signups["committed_miss"]) == (False, True)
    # 10 × 70 visits = 700 of 900 = 0.78: aspirational, its bar is the 0.7 pace
    assert visits["final_score"] == pytest.approx(700 / 900)
    assert visits["expected_score"] == pytest.approx(0.7)
    assert (visits["met"], visits["committed_miss"]) == (True, False)


def test_report_of_the_last_week_has_the_retro(
    finished_project: FinishedProject, tmp_path: Path
) -> None:
    out = tmp_path / "retro.html"
    args = ["-w", str(finished_project.warehouse), "-d", str(finished_project.definitions)]
    result = okr("report", "--week", "2026-W41", "--out", str(out), *args)
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert 'id="retro"' in page
    # the committed miss comes first and is marked as such
    rows = page[page.index('id="retro"') :]
    assert rows.index('data-grade-kr="signups-total"') < rows.index('data-grade-kr="visits-total"')
    assert "committed miss" in rows and "0.80" in rows
    md = out.with_suffix(".md").read_text()
    assert "## Quarter retro" in md and "**1 committed misses**" in md
    # a week before the period ended has no retro
    earlier = build_weekly_report(finished_project.warehouse, date(2026, 9, 28))
    assert earlier.retro == [] and earlier.key_results


def test_progress_materialisation_carries_summary_and_report_path(
    finished_project: FinishedProject,
) -> None:
    event = finished_project.instance.get_latest_materialization_event(KR_PROGRESS)
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    summary = metadata["summary"].value
    # on the last day: signups 120/150 = 0.8 is behind the full pace → off_track
    assert f"**2 key results on {PERIOD_END}**" in summary
    assert "At risk or off track" in summary and "signups-total" in summary
    # the report of that week is rendered after the models (reports/weekly_checkin): no file
    # to link yet, so no path; the summary names the asset and week that render it
    assert not (finished_project.reports / "okr-checkin-2026-W41.html").exists()
    assert "report_path" not in metadata
    assert metadata["weekly_report"] == dg.MetadataValue.asset(REPORT)
    assert metadata["weekly_report_partition"].value == WEEK_OF_PERIOD_END
    assert f"reports/weekly_checkin (partition {WEEK_OF_PERIOD_END})" in summary


def test_report_asset_follows_the_progress_tables_and_writes_the_path(
    finished_project: FinishedProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = finished_project.defs
    graph = defs.resolve_asset_graph()
    node = graph.get(REPORT)
    assert {KR_PROGRESS, OBJECTIVE_PROGRESS} <= set(node.parent_keys)
    assert node.group_name == "reports"
    partitions = node.partitions_def
    assert isinstance(partitions, dg.WeeklyPartitionsDefinition)
    assert partitions.timezone == "Europe/Berlin"
    assert partitions.get_first_partition_key() == "2026-09-28"  # Monday before 2026-10-01

    monkeypatch.setenv("OKR_DEFINITIONS", str(finished_project.definitions))
    monkeypatch.setenv("OKR_WAREHOUSE", str(finished_project.warehouse))
    monkeypatch.setenv("OKR_REPORTS", str(finished_project.reports))
    result = defs.resolve_job_def(REPORTS_JOB).execute_in_process(
        partition_key=WEEK_OF_PERIOD_END, instance=finished_project.instance
    )
    assert result.success
    event = finished_project.instance.get_latest_materialization_event(REPORT)
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    written = Path(metadata["path"].value)
    progress_event = finished_project.instance.get_latest_materialization_event(KR_PROGRESS)
    assert progress_event is not None and progress_event.asset_materialization is not None
    # the week the progress table announced is the one the report asset wrote
    announced = progress_event.asset_materialization.metadata["weekly_report_partition"].value
    assert event.asset_materialization.partition == announced == WEEK_OF_PERIOD_END
    assert written == finished_project.reports / "okr-checkin-2026-W41.html"
    assert written.exists() and Path(metadata["markdown_path"].value).exists()
    # once the file exists, the progress summary links it
    with connect(finished_project.warehouse, read_only=True) as con:
        linked = progress_summary_metadata(con, PERIOD_END, finished_project.warehouse)
    assert linked["report_path"].value == str(written)
    assert str(written) in linked["summary"].value
    assert metadata["retro_key_results"].value == 2
    assert "Quarter retro" in metadata["preview"].value


def test_sensor_requests_the_weeks_a_progress_run_rebuilt(
    finished_project: FinishedProject,
) -> None:
    instance = finished_project.instance
    # run_range's model runs: staging over every day, then the progress tables over the
    # period's (the sensor watches the progress job only)
    (progress_run,) = instance.get_runs(filters=dg.RunsFilter(job_name=PROGRESS_JOB))
    sensor = finished_project.defs.resolve_sensor_def("reports_after_models")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    def requests_after(run: dg.DagsterRun) -> list[dg.RunRequest]:
        context = dg.build_run_status_sensor_context(
            sensor_name="reports_after_models",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=instance.all_logs(run.run_id)[-1].get_dagster_event(),
        )
        return list(sensor(context) or [])

    requests = requests_after(progress_run)
    # the run covered 2026-10-01..2026-10-10: the weeks of 09-28 and 10-05
    assert progress_run.tags["dagster/asset_partition_range_start"] == "2026-10-01"
    assert [r.partition_key for r in requests] == ["2026-09-28", "2026-10-05"]
    assert all(r.job_name in (None, REPORTS_JOB) for r in requests)


def test_okr_report_records_the_week_in_the_dagster_instance(
    finished_project: FinishedProject, tmp_path: Path
) -> None:
    """`okr report` with DAGSTER_HOME set: the report it writes where reports/weekly_checkin
    writes is recorded as that week's materialisation (a runless event, no run); one written
    elsewhere with --out is not."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    reports = tmp_path / "reports"
    env = {"DAGSTER_HOME": str(home), "OKR_REPORTS": str(reports)}
    common = ("-w", str(finished_project.warehouse), "-d", str(finished_project.definitions))
    result = okr("report", "--week", "2026-W41", *common, env=env)
    assert result.returncode == 0, result.stderr
    assert "recorded as reports/weekly_checkin 2026-10-05" in result.stdout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(REPORT)
        assert event is not None and event.asset_materialization is not None
        assert event.run_id == ""  # runless: okr report started no run
        assert event.asset_materialization.partition == WEEK_OF_PERIOD_END
        path = Path(event.asset_materialization.metadata["path"].value)
    assert path == reports / "okr-checkin-2026-W41.html" and path.exists()
    # a report written elsewhere (--out) is not the asset's: not recorded
    monday = date(2026, 10, 5)
    warehouse = finished_project.warehouse
    assert not is_the_assets_report(tmp_path / "x.html", monday, warehouse)
    assert is_the_assets_report(warehouse.parent / "reports" / path.name, monday, warehouse)
