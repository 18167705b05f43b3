"""The Mixpanel connector against its sandbox: hand-computed totals, uniques over a range,
funnels with a conversion window, saved reports, late events, errors (mixpanel_testkit)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from mixpanel_testkit import PROJECT_ID, SECRET, USERNAME, ZONE
from pydantic import SecretStr

from connectors.base import MetricRequest, RangeRequest
from connectors.errors import AuthError, SourceError
from connectors.mixpanel import MixpanelSettings, fetch_mixpanel, is_additive
from okr_definitions.sources.mixpanel import MixpanelQuery
from sandbox.base import Fault, SandboxServer
from sandbox.mixpanel.server import MixpanelSandbox

OCT = [date(2026, 10, d) for d in range(1, 4)]


def settings(server: SandboxServer, **kwargs: object) -> MixpanelSettings:
    values = {
        "project_id": PROJECT_ID,
        "username": USERNAME,
        "secret": SecretStr(SECRET),
        "timezone": ZONE,
        "endpoint": server.base_url,
        **kwargs,
    }
    return MixpanelSettings(**values)


def query(**fields: object) -> MixpanelQuery:
    return MixpanelQuery.model_validate(fields)


def daily(result, metric_id: str, column: str = "value") -> list:
    rows = [r for r in result.daily.to_pylist() if r["metric_id"] == metric_id]
    return [r[column] for r in sorted(rows, key=lambda r: r["date"])]


def fetch(server: SandboxServer, metrics: dict[str, MixpanelQuery], ranges=(), **kwargs):
    requests = [MetricRequest(m, q) for m, q in metrics.items()]
    return fetch_mixpanel(
        settings(server, **kwargs), requests, OCT[0], OCT[-1], list(ranges), today=date(2026, 10, 4)
    )


def test_daily_totals_and_filters_in_the_projects_days(server: SandboxServer) -> None:
    result, usage = fetch(
        server,
        {
            "opens": query(event="Editor Opened"),
            "paid_opens": query(
                event="Editor Opened", where={"property": "plan", "in": ["pro", "team"]}
            ),
            "free_opens": query(
                event="Editor Opened", where=[{"property": "plan", "not_in": ["pro", "team"]}]
            ),
        },
    )
    # bob's 23:30 open counts on 1 Oct (project day), dave's repeated event once
    assert daily(result, "opens") == [4.0, 2.0, 1.0]
    assert daily(result, "paid_opens") == [3.0, 1.0, 0.0]
    assert daily(result, "free_opens") == [1.0, 1.0, 1.0]
    # one export request per filter set, all days in it; each row names its request
    assert usage.export_requests == 3 and usage.query_requests == 0
    assert server.request_counts["/api/2.0/export"] == 3
    hashes = {r["metric_id"]: r["request_hash"] for r in result.daily.to_pylist()}
    assert len(set(hashes.values())) == 3
    assert set(result.raw["request_hash"].to_pylist()) == set(hashes.values())
    assert result.metadata["export_requests_per_hour_limit"] == 60


def test_unique_users_over_a_range_are_not_a_sum_of_days(server: SandboxServer) -> None:
    users = query(event="Editor Opened", count="uniques")
    assert not is_additive(users)
    result, usage = fetch(
        server,
        {"users": users, "opens": query(event="Editor Opened")},
        [
            RangeRequest("users", users, OCT[0], OCT[-1]),
            RangeRequest("users", users, OCT[1], OCT[1]),
        ],
    )
    assert daily(result, "users") == [3.0, 2.0, 1.0]
    # alice, bob, carol, dave: 4, where the days sum to 6
    ranges = {(r["range_start"], r["range_end"]): r["value"] for r in result.ranges.to_pylist()}
    assert ranges == {(OCT[0], OCT[-1]): 4.0, (OCT[1], OCT[1]): 2.0}
    assert usage.export_requests == 1  # same filter set as `opens`: one request


def test_funnel_conversion_counts_the_window(server: SandboxServer) -> None:
    steps = ["Sign Up", "Project Created"]
    result, usage = fetch(
        server,
        {
            "one_day": query(funnel={"steps": steps, "window_days": 1}),
            "two_days": query(funnel={"steps": steps, "window_days": 2}),
            # counted beside the funnels from the same answer: the steps' events are kept
            # for the funnels, the opens only counted
            "sign_ups": query(event="Sign Up"),
            "opens": query(event="Editor Opened"),
        },
    )
    assert usage.export_requests == 1
    assert daily(result, "sign_ups") == [3.0, 1.0, 0.0]
    assert daily(result, "opens") == [4.0, 2.0, 1.0]
    # 1 Oct: erin, frank, gina start; erin converts in 6 h, frank in 26 h, gina never (her
    # project came first). 2 Oct: henry converts. 3 Oct: nobody starts.
    assert daily(result, "one_day", "numerator") == [1.0, 1.0, 0.0]
    assert daily(result, "one_day", "denominator") == [3.0, 1.0, 0.0]
    assert daily(result, "one_day") == [pytest.approx(1 / 3), 1.0, None]
    assert daily(result, "two_days", "numerator") == [2.0, 1.0, 0.0]
    assert is_additive(query(funnel={"steps": steps}))  # a ratio of sums: 2 / 4 over 1..2 Oct


def test_saved_reports_as_the_team_sees_them(server: SandboxServer) -> None:
    result, usage = fetch(
        server,
        {
            "report_opens": query(report=4113521),
            "report_funnel": query(report=7509, report_type="funnel"),
        },
    )
    assert daily(result, "report_opens") == [4.0, 2.0, 1.0]
    # the saved funnel's 7-day window: erin and frank of three on 1 Oct
    assert daily(result, "report_funnel", "numerator") == [2.0, 1.0, 0.0]
    assert daily(result, "report_funnel", "denominator") == [3.0, 1.0, 0.0]
    assert usage.query_requests == 2 and usage.export_requests == 0
    kinds = result.raw["request_kind"].to_pylist()
    assert sorted(kinds) == ["funnels", "insights"]
    assert all('"series"' in a or '"steps"' in a for a in result.raw["answer"].to_pylist())


def test_a_report_in_another_time_zone_fails_loudly(server: SandboxServer) -> None:
    with pytest.raises(SourceError, match="UTC offset -0700.*sources.mixpanel.timezone"):
        fetch(server, {"r": query(report=4113521)}, timezone="Europe/Berlin")


def test_late_events_grow_a_past_day(sandbox: MixpanelSandbox, server: SandboxServer) -> None:
    first, _ = fetch(server, {"opens": query(event="Editor Opened")})
    sandbox.now = datetime(2026, 10, 6, 12, tzinfo=ZoneInfo(ZONE))
    later, _ = fetch(server, {"opens": query(event="Editor Opened")})
    assert daily(first, "opens")[2] == 1.0
    assert daily(later, "opens")[2] == 2.0  # carol's open of 3 Oct arrived on 6 Oct


@pytest.mark.parametrize(
    ("region", "query_base", "export_base"),
    [
        ("us", "https://mixpanel.com/api/query", "https://data.mixpanel.com/api/2.0"),
        ("eu", "https://eu.mixpanel.com/api/query", "https://data-eu.mixpanel.com/api/2.0"),
        ("in", "https://in.mixpanel.com/api/query", "https://data-in.mixpanel.com/api/2.0"),
    ],
)
def test_the_region_picks_the_data_residencys_hosts(
    region: str, query_base: str, export_base: str
) -> None:
    chosen = MixpanelSettings(
        project_id=PROJECT_ID, region=region, username=USERNAME, secret=SecretStr(SECRET)
    )
    assert (chosen.query_base, chosen.export_base) == (query_base, export_base)


def test_a_refused_secret_names_the_variables_never_the_value(server: SandboxServer) -> None:
    wrong = "canary-wrong-secret-55c1e0"
    with pytest.raises(AuthError) as caught:
        fetch(server, {"opens": query(event="Editor Opened")}, secret=SecretStr(wrong))
    message = str(caught.value)
    assert "MIXPANEL_SERVICE_ACCOUNT_SECRET" in message and "HTTP 401" in message
    assert wrong not in message and SECRET not in message


def test_a_rate_limited_export_is_retried(sandbox: MixpanelSandbox, server: SandboxServer) -> None:
    limited = sandbox.rate_limited()
    server.inject(Fault("status", status=429, body=limited.body, path_contains="/export"))
    result, usage = fetch(server, {"opens": query(event="Editor Opened")})
    assert server.pending_faults == 0
    assert daily(result, "opens") == [4.0, 2.0, 1.0]
    assert server.request_counts["/api/2.0/export"] == 2 and usage.export_requests == 1


def test_beyond_the_volume_bound_the_run_fails_clearly(server: SandboxServer) -> None:
    with pytest.raises(SourceError, match="more than 5 events.*saved report"):
        fetch(server, {"opens": query(event="Editor Opened")}, max_events_per_request=5)


def test_a_filter_value_cannot_break_out_of_its_string(server: SandboxServer) -> None:
    sneaky = 'x" or properties["plan"] == "pro'
    result, _ = fetch(
        server,
        {"opens": query(event="Editor Opened", where={"property": "plan", "equals": sneaky})},
    )
    assert daily(result, "opens") == [0.0, 0.0, 0.0]
