"""When the daily schedule ticks is deployment configuration (README, "Deploy"):
OKR_SCHEDULE_CRON and OKR_SCHEDULE_TIMEZONE, checked when the code location loads."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines.build import build_definitions
from pipelines.resources import load_valid_definitions


def _schedule(project: Path) -> dg.ScheduleDefinition:
    return build_definitions(load_valid_definitions(project)).resolve_schedule_def("daily_okr_sync")


def test_cron_and_time_zone_come_from_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKR_SCHEDULE_CRON", "30 7 * * 1-5")
    monkeypatch.setenv("OKR_SCHEDULE_TIMEZONE", "America/New_York")
    schedule = _schedule(project)
    assert (schedule.cron_schedule, schedule.execution_timezone) == (
        "30 7 * * 1-5",
        "America/New_York",
    )
    # 2026-10-08 07:30 in New York is 13:30 in Berlin: the days are still counted in the
    # organisation's zone (Europe/Berlin, lookback 2): 10-05..10-07
    when = datetime(2026, 10, 8, 7, 30, tzinfo=ZoneInfo("America/New_York"))
    with dg.build_schedule_context(scheduled_execution_time=when) as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.tags["dagster/asset_partition_range_start"] == "2026-10-05"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-10-07"
    # one run per tick: the tick's time is the key, so a second tick the same day runs again
    assert request.run_key == f"daily-{when.isoformat()}"


def test_defaults_are_six_in_the_morning_in_the_organisations_zone(project: Path) -> None:
    schedule = _schedule(project)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "Europe/Berlin")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("OKR_SCHEDULE_CRON", "0 25 * * *", "OKR_SCHEDULE_CRON='0 25 * * *' is not a cron"),
        ("OKR_SCHEDULE_TIMEZONE", "Europe/Atlantis", "'Europe/Atlantis' is not an IANA time zone"),
        ("OKR_SENSOR_INTERVAL_SECONDS", "0", "OKR_SENSOR_INTERVAL_SECONDS='0' must be a whole"),
    ],
)
def test_a_bad_setting_stops_the_code_location_naming_the_variable(
    project: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("*", r"\*")):
        _schedule(project)
