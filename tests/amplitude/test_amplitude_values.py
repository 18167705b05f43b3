"""The connector against the sandbox: daily totals, filters, sums, a group's series, uniques
over a range and funnel conversion, each hand-computed from amplitude_testkit.EVENTS."""

from __future__ import annotations

import json
from datetime import date

import pytest
from amplitude_testkit import D1, D2, D3, settings_for

from connectors.amplitude import fetch_amplitude, fetch_amplitude_ranges, run_cost
from connectors.base import MetricRequest, RangeRequest
from okr_definitions.sources.amplitude import AmplitudeQuery


def _q(**query: object) -> AmplitudeQuery:
    return AmplitudeQuery.model_validate(query)


def _daily(result, metric_id: str) -> list[tuple[date, float | None, float | None, float | None]]:
    return [
        (r["date"], r["value"], r["numerator"], r["denominator"])
        for r in result.daily.to_pylist()
        if r["metric_id"] == metric_id
    ]


def _values(result, metric_id: str) -> list[float | None]:
    return [value for _, value, _, _ in _daily(result, metric_id)]


def test_daily_totals_filters_sums_and_a_group(amplitude) -> None:
    server, sandbox = amplitude
    metrics = [
        MetricRequest("opens", _q(event="Editor Opened")),
        # event property `plan`: u1 twice on 10-01; u1 and u3 on 10-02
        MetricRequest(
            "paid_opens",
            _q(event="Editor Opened", where={"property": "plan", "in": ["pro", "team"]}),
        ),
        # user property platform (built in, no gp:): u1 ×2 on 10-01; u1, u3 on 10-02
        MetricRequest(
            "ios_opens",
            _q(event="Editor Opened", where={"property": "platform", "user": True, "is": "iOS"}),
        ),
        # a quote and an ampersand stay a value: only u4's opening on 10-02 carries it
        MetricRequest(
            "noted", _q(event="Editor Opened", where={"property": "note", "is": 'a"b&c'})
        ),
        MetricRequest("revenue", _q(event="Purchase Completed", count="sums", property="price")),
        MetricRequest(
            "android",
            _q(
                event="Editor Opened",
                group_by={"property": "platform", "user": True, "value": "Android"},
            ),
        ),
        MetricRequest(
            "web",
            _q(
                event="Editor Opened",
                group_by={"property": "platform", "user": True, "value": "Web"},
            ),
        ),
        MetricRequest("daily_users", _q(event="Editor Opened", count="uniques")),
    ]
    result = fetch_amplitude(settings_for(server), metrics, D1, D3)
    assert _values(result, "opens") == [3, 3, 0]  # u2's 10-03 event has not arrived
    assert _values(result, "paid_opens") == [2, 2, 0]
    assert _values(result, "ios_opens") == [2, 2, 0]
    assert _values(result, "noted") == [0, 1, 0]
    assert _values(result, "revenue") == [10, 25, 0]
    assert _values(result, "android") == [1, 0, 0]
    assert _values(result, "web") == [0, 1, 0]
    # a day's unique users (a window's come from the collapsed series, see below)
    assert _values(result, "daily_users") == [2, 3, 0]
    # one request per event and filter set for all three days; both groups share one
    assert result.request_count == 7 == server.total_requests
    assert len(set(result.daily["request_hash"].to_pylist())) == 7
    # every daily row names the answer it came from
    raw_hashes = set(result.raw["request_hash"].to_pylist())
    assert set(result.daily["request_hash"].to_pylist()) == raw_hashes
    # cost: 3 days × (1 per event; +4 for a group-by, and sums name their property as one)
    assert run_cost(result) == 3 * (1 + 1 + 1 + 1 + 5 + 5 + 1) == sum(sandbox.costs)


def test_the_filter_travels_as_amplitude_event_json(amplitude) -> None:
    server, _ = amplitude
    query = _q(
        event="Editor Opened", where=[{"property": "tier", "user": True, "not_in": ["x", 1.0]}]
    )
    result = fetch_amplitude(settings_for(server), [MetricRequest("m", query)], D1, D1)
    params = dict(json.loads(result.raw["params"][0].as_py()))
    assert json.loads(params["e"]) == {
        "event_type": "Editor Opened",
        "filters": [
            {
                "subprop_type": "user",
                "subprop_key": "gp:tier",
                "subprop_op": "is not",
                "subprop_value": ["x", "1"],
            }
        ],
    }
    assert (params["m"], params["i"], params["start"], params["end"]) == (
        "totals",
        "1",
        "20261001",
        "20261001",
    )


def test_uniques_over_a_range_come_from_the_collapsed_series(amplitude) -> None:
    server, _ = amplitude
    query = _q(event="Editor Opened", count="uniques")
    result = fetch_amplitude_ranges(
        settings_for(server),
        [RangeRequest("users", query, D1, D2), RangeRequest("users", query, D2, D2)],
    )
    # daily uniques are 2 (u1, u2) and 3 (u1, u3, u4): their sum 5 counts u1 twice; the
    # distinct users of 10-01..10-02 are 4
    assert [(r["range_start"], r["range_end"], r["value"]) for r in result.ranges.to_pylist()] == [
        (D1, D2, 4.0),
        (D2, D2, 3.0),
    ]
    assert result.request_count == 2
    assert sorted(result.raw["request_kind"].to_pylist()) == ["range", "range"]


def test_funnel_conversion_per_day_is_a_ratio_of_sums(amplitude) -> None:
    server, _ = amplitude
    week = _q(funnel={"steps": ["Sign Up", "Project Created"], "window_days": 7})
    eight = _q(funnel={"steps": ["Sign Up", "Project Created"], "window_days": 8})
    result = fetch_amplitude(
        settings_for(server), [MetricRequest("week", week), MetricRequest("eight", eight)], D1, D2
    )
    # 10-01: u1 and u2 sign up; u1 creates a project the same day, u2 on 10-09 — 8 days on,
    # outside a 7-day window. 10-02: u3 and u4; u3 creates one on 10-03, u4's came before.
    assert _daily(result, "week") == [(D1, 0.5, 1.0, 2.0), (D2, 0.5, 1.0, 2.0)]
    assert _daily(result, "eight") == [(D1, 1.0, 2.0, 2.0), (D2, 0.5, 1.0, 2.0)]
    params = json.loads(result.raw["params"][0].as_py())
    assert [v for k, v in params if k == "e"] == [
        '{"event_type":"Sign Up"}',
        '{"event_type":"Project Created"}',
    ]
    assert dict(params)["cs"] == str(7 * 86_400)
    # cost: 2 days × 2 per step × 2 steps, per funnel
    assert run_cost(result) == 2 * (2 * 2 * 2)


def test_a_late_event_grows_its_day_on_a_later_run(amplitude) -> None:
    server, sandbox = amplitude
    metrics = [MetricRequest("opens", _q(event="Editor Opened"))]
    assert _values(fetch_amplitude(settings_for(server), metrics, D3, D3), "opens") == [0]
    sandbox.advance()  # 10-13: u2's opening of 10-03 arrives
    assert _values(fetch_amplitude(settings_for(server), metrics, D3, D3), "opens") == [1]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"event": "a", "funnel": {"steps": ["a", "b"]}}, "exactly one of `event`"),
        ({"event": "a", "count": "sums"}, "needs `property`"),
        ({"event": "a", "property": "price"}, "only for count: sums"),
        ({"event": "a", "where": {"property": "plan"}}, "needs exactly one of"),
        ({"event": "a", "where": {"property": "plan", "is": "x", "in": ["y"]}}, "found: is, in"),
        ({"funnel": {"steps": ["a"]}}, "at least 2"),
        (
            {
                "event": "a",
                "count": "sums",
                "property": "p",
                "group_by": {"property": "g", "value": "v"},
            },
            "cannot be combined",
        ),
        ({"event": " a"}, "starts or ends with a space"),
    ],
)
def test_queries_that_cannot_be_asked_are_refused(query: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AmplitudeQuery.model_validate(query)
