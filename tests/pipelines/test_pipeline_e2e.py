"""The whole pipeline in process: real Dagster materialisations into a real DuckDB file."""

from __future__ import annotations

import hashlib
import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest
from pipeline_testkit import warehouse_rows

from pipelines.definitions import build_definitions
from pipelines.resources import load_valid_definitions
from pipelines.runner import run_range
from pipelines.schedules import daily_window

PUBLIC_TABLES = [
    "okr.kr_progress_daily",
    "okr.objective_progress_daily",
    "okr.kr_progress_latest",
    "okr.key_results",
    "okr.objectives",
    "okr.metrics",
    "okr.teams",
    "staging.metric_daily",
]


def _defs(project: Path) -> dg.Definitions:
    return build_definitions(load_valid_definitions(project))


def checksum(table: str) -> str:
    """Order-independent digest of a table's data columns (fetch times excluded)."""
    con = duckdb.connect(os.environ["OKR_WAREHOUSE"], read_only=True)
    try:
        columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema || '.' || table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if c != "fetched_at"
        ]
        rows = sorted(
            repr(r) for r in con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        )
    finally:
        con.close()
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def test_end_to_end_matches_hand_computed_rows(project: Path, instance: dg.DagsterInstance) -> None:
    defs = _defs(project)
    outcome = run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance)
    assert outcome.succeeded, outcome.errors

    rows = warehouse_rows(
        "SELECT kr_id, value, baseline, target, progress, score, expected_progress, status, "
        "data_through FROM okr.kr_progress_daily WHERE as_of_date = '2026-10-05' ORDER BY kr_id"
    )
    # conversion, rolling_3d on 10-05 over 10-03..10-05: orders 3+1+3 = 7, visits
    # 20+10+20 = 50 → 0.14; (0.14 − 0.10) / (0.20 − 0.10) = 0.4; expected 5/10 = 0.5;
    # 0.4 ≥ 0.5 − 0.10 → on_track.
    # signups-total: previous 10 days (09-21..09-30) 10 × 10 = 100 → target 150;
    # 10-01..10-05 = 5 × 12 = 60 → 60 / 150 = 0.4 → on_track.
    assert rows == [
        (
            "conversion",
            pytest.approx(0.14),
            0.1,
            0.2,
            pytest.approx(0.4),
            pytest.approx(0.4),
            0.5,
            "on_track",
            date(2026, 10, 5),
        ),
        (
            "signups-total",
            60.0,
            0.0,
            pytest.approx(150.0),
            pytest.approx(0.4),
            pytest.approx(0.4),
            0.5,
            "on_track",
            date(2026, 10, 5),
        ),
    ]
    objective = warehouse_rows(
        "SELECT objective_id, score, status, kr_count FROM okr.objective_progress_daily "
        "WHERE as_of_date = '2026-10-05'"
    )
    assert objective == [("grow", pytest.approx(0.4), "on_track", 2)]
    # every day of the period so far has a row per key result
    assert warehouse_rows("SELECT count(*) FROM okr.kr_progress_daily") == [(10,)]
    # the latest view has the newest day
    assert warehouse_rows("SELECT DISTINCT as_of_date FROM okr.kr_progress_latest") == [
        (date(2026, 10, 5),)
    ]


def test_rematerialising_a_partition_leaves_identical_tables(
    project: Path, instance: dg.DagsterInstance
) -> None:
    defs = _defs(project)
    assert run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    before = {t: checksum(t) for t in PUBLIC_TABLES}
    assert run_range(defs, date(2026, 10, 3), date(2026, 10, 3), instance).succeeded
    assert run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    assert {t: checksum(t) for t in PUBLIC_TABLES} == before


def test_asset_checks_pass_and_metadata_is_published(
    project: Path, instance: dg.DagsterInstance
) -> None:
    defs = _defs(project)
    assert run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    key = dg.AssetKey(["okr", "kr_progress_daily"])
    event = instance.get_latest_materialization_event(key)
    assert event is not None
    metadata = event.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 10
    columns = {c.name for c in metadata["dagster/column_schema"].schema.columns}
    assert {
        "as_of_date",
        "kr_id",
        "objective_id",
        "team",
        "period_start",
        "period_end",
        "value",
        "baseline",
        "target",
        "direction",
        "progress",
        "score",
        "expected_progress",
        "status",
        "data_through",
    } <= columns
    assert "on_track" in metadata["status_preview"].value
    outcome = run_range(defs, date(2026, 10, 5), date(2026, 10, 5), instance)
    evaluations = [
        event.dagster_event.event_specific_data
        for event in instance.all_logs(
            outcome.run_ids[-1], of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
    ]
    checks = {e.check_name: e.passed for e in evaluations}
    assert checks == {
        "every_key_result_has_a_row": True,
        "values_and_progress_are_finite": True,
        "no_key_result_built_on_flagged_data": True,
    }


def test_a_failing_source_still_lets_models_run_and_turns_krs_stale(
    project: Path, instance: dg.DagsterInstance
) -> None:
    defs = _defs(project)
    assert run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    # The export becomes unreadable; the next days' source run fails...
    (project / "data" / "signups.csv").write_text("when,how_many\n2026-10-06,1\n")
    outcome = run_range(defs, date(2026, 10, 6), date(2026, 10, 9), instance)
    assert not outcome.succeeded
    assert any("signups.csv" in e and "date" in e for e in outcome.errors), outcome.errors
    # ...but the models ran: rows exist for 10-09, built on data through 10-05 → stale
    rows = warehouse_rows(
        "SELECT kr_id, status, data_through FROM okr.kr_progress_daily "
        "WHERE as_of_date = '2026-10-09' ORDER BY kr_id"
    )
    assert rows == [
        ("conversion", "stale", date(2026, 10, 5)),
        ("signups-total", "stale", date(2026, 10, 5)),
    ]


def test_definitions_object_loads_with_the_designed_graph() -> None:
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {
        "raw/file",
        "staging/metric_daily",
        "okr/kr_progress_daily",
        "okr/objective_progress_daily",
        "okr/key_results",
        "okr/metrics",
        "okr/objectives",
        "okr/teams",
    } <= keys
    kr = graph.get(dg.AssetKey(["okr", "kr_progress_daily"]))
    assert {p.to_user_string() for p in kr.parent_keys} >= {
        "staging/metric_daily",
        "okr/key_results",
        "okr/metrics",
    }
    staging = graph.get(dg.AssetKey(["staging", "metric_daily"]))
    assert dg.AssetKey(["raw", "file"]) in staging.parent_keys
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, f"{key} has no description"
        assert node.owners, f"{key} has no owners"
        assert node.group_name in {"sources", "staging", "okr", "reports"}
        assert node.kinds, f"{key} has no kinds"
    assert kr.partitions_def.timezone == "Europe/Berlin"


def test_schedule_tick_asks_for_yesterday_and_the_lookback_days(project: Path) -> None:
    defs = _defs(project)
    schedule = defs.resolve_schedule_def("daily_okr_sync")
    when = datetime(2026, 10, 8, 6, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with dg.build_schedule_context(scheduled_execution_time=when) as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    # lookback_days: 2 → 10-05, 10-06 and yesterday 10-07
    assert request.tags["dagster/asset_partition_range_start"] == "2026-10-05"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-10-07"
    assert schedule.execution_timezone == "Europe/Berlin"


def test_daily_window_never_starts_before_the_first_partition() -> None:
    assert daily_window(date(2026, 10, 8), 3, date(2026, 10, 6)) == (
        date(2026, 10, 6),
        date(2026, 10, 7),
    )


def test_a_restated_day_is_recorded_as_a_revision(
    project: Path, instance: dg.DagsterInstance
) -> None:
    defs = _defs(project)
    assert run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    assert warehouse_rows("SELECT count(*) FROM staging.metric_revisions") == [(0,)]
    csv_file = project / "data" / "signups.csv"
    csv_file.write_text(csv_file.read_text().replace("2026-10-02,12", "2026-10-02,42"))
    assert run_range(defs, date(2026, 10, 2), date(2026, 10, 5), instance).succeeded
    assert warehouse_rows(
        "SELECT metric_id, date, old_value, new_value, source FROM staging.metric_revisions"
    ) == [("signups", date(2026, 10, 2), 12.0, 42.0, "file")]
    # the corrected value flows into the key result, flagged as restated: 60 − 12 + 42 = 90
    assert warehouse_rows(
        "SELECT value, flags FROM okr.kr_progress_daily "
        "WHERE kr_id = 'signups-total' AND as_of_date = '2026-10-05'"
    ) == [(90.0, ["restated"])]


def test_every_table_asset_publishes_schema_row_count_and_last_date(
    project: Path, instance: dg.DagsterInstance
) -> None:
    defs = _defs(project)
    assert run_range(defs, date(2026, 9, 21), date(2026, 10, 5), instance).succeeded
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if key.path[0] == "reports":  # a file, not a table; it links the report instead
            continue
        event = instance.get_latest_materialization_event(key)
        assert event is not None, f"{key} was not materialised"
        metadata = event.asset_materialization.metadata
        assert metadata["dagster/column_schema"].schema.columns, key
        assert metadata["dagster/row_count"].value >= 0, key
        if graph.get(key).partitions_def is not None:
            assert metadata["last_data_date"].value not in ("", None), key
        elif key.path[0] == "okr" and len(key.path) == 2:  # a definition table: its rows
            (rows,) = warehouse_rows(f"SELECT count(*) FROM okr.{key.path[1]}")
            assert metadata["dagster/row_count"].value == rows[0] > 0, key
