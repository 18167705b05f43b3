"""The Dagster side: `push/<tool>` assets in their own group, downstream of the progress
table, partitioned like it; a failing tool fails only its own asset."""

from __future__ import annotations

from datetime import date

import dagster as dg
from push_testkit import load, set_progress

from pipelines.build import build_definitions
from pipelines.destinations.push.assets import build_push_asset
from pipelines.destinations.push.definitions import PUSH_JOB
from pipelines.okr.assets import KR_PROGRESS
from pipelines.partitions import daily_partitions
from pipelines.resources import OkrDefinitionsResource, WarehouseResource
from warehouse.db import connection

DAY = date(2026, 9, 14)
TRACKER = dg.AssetKey(["push", "okr_tracker"])
WEBHOOK = dg.AssetKey(["push", "webhook"])


def test_one_asset_per_configured_tool_downstream_of_progress(tools, push_definitions) -> None:
    defs = build_definitions(load(push_definitions))
    graph = defs.resolve_asset_graph()
    for key in (TRACKER, WEBHOOK):
        node = graph.get(key)
        assert node.group_name == "push"
        assert KR_PROGRESS in node.parent_keys
        assert node.partitions_def == graph.get(KR_PROGRESS).partitions_def
    assert defs.resolve_job_def(PUSH_JOB) is not None
    assert {s.name for s in defs.sensors} >= {"push_after_models"}


def test_a_refused_tool_fails_only_its_asset(tools, push_definitions, warehouse_file) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    tools.okr_tracker.api_key = "the gateway rotated its key"
    partitions = daily_partitions(load(push_definitions))
    assets = [build_push_asset(tool, partitions) for tool in ("okr_tracker", "webhook")]
    result = dg.materialize(
        assets,
        partition_key=DAY.isoformat(),
        resources={
            "okr_definitions": OkrDefinitionsResource(path=str(push_definitions)),
            "warehouse": WarehouseResource(path=str(warehouse_file)),
        },
        raise_on_error=False,
    )
    assert not result.success
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialised == {WEBHOOK}
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert failure.step_key == "push__okr_tracker"
    assert "HTTP 403: PERMISSION_DENIED: API key not valid." in message
    assert "0 of 2 check-ins sent" in message
    assert "TEST_OKR_TRACKER_KEY" in message and tools.okr_tracker.api_key not in message
    with connection(warehouse_file) as con:
        rows = con.execute("SELECT tool, kr_id FROM push.sent").fetchall()
    assert rows == [("webhook", "sessions-up")]
    # The progress table is untouched by either.
    with connection(warehouse_file) as con:
        (count,) = con.execute("SELECT count(*) FROM okr.kr_progress_daily").fetchone()
    assert count == 2
