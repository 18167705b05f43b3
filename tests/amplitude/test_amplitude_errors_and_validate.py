"""What goes wrong with Amplitude, and what `okr validate` checks: the wrong data region, wrong
keys, Amplitude's 400 envelope, 429s through the retry policy, malformed answers; event and
property names against the project."""

from __future__ import annotations

import json
from datetime import date

import pytest
from amplitude_testkit import D1, D2, settings_for

from connectors.amplitude import fetch_amplitude, validate_amplitude_metrics
from connectors.amplitude.settings import COST_PER_FIVE_MINUTES
from connectors.base import MetricRequest
from connectors.errors import AuthError, RetryableSourceError, SourceError
from okr_definitions.loader import load_definitions
from okr_definitions.sources.amplitude import AmplitudeQuery
from sandbox.base import Fault

OPENS = [MetricRequest("opens", AmplitudeQuery(event="Editor Opened"))]


def test_the_wrong_data_region_says_so(amplitude) -> None:
    server, _ = amplitude
    with pytest.raises(AuthError) as caught:
        fetch_amplitude(settings_for(server, region="eu"), OPENS, D1, D2)
    message = str(caught.value)
    assert "HTTP 403" in message and "another data region" in message
    assert "region: us" in message and "sources.amplitude.region is 'eu'" in message
    assert server.total_requests == 1  # an auth error is not retried


def test_refused_keys_name_the_variables_never_the_values(amplitude) -> None:
    server, _ = amplitude
    secret = "canary-amplitude-secret-0f3b9c"
    with pytest.raises(AuthError) as caught:
        fetch_amplitude(settings_for(server, secret_key=secret), OPENS, D1, D2)
    message = str(caught.value)
    assert "HTTP 401" in message and "AMPLITUDE_SECRET_KEY" in message
    assert secret not in message


def test_amplitude_400_details_reach_the_error(amplitude) -> None:
    server, _ = amplitude
    query = AmplitudeQuery(
        event="Editor Opened", group_by={"property": "shoe", "user": True, "value": "x"}
    )
    with pytest.raises(
        SourceError, match="Invalid chart definition: Invalid user property gp:shoe"
    ):
        fetch_amplitude(settings_for(server), [MetricRequest("m", query)], D1, D2)


def test_429_and_5xx_are_retried_with_retry_after(amplitude) -> None:
    server, _ = amplitude
    body = json.dumps({"error": {"http_code": 429, "type": "rate_limit", "message": "cost"}})
    server.inject(
        Fault("status", status=429, body=body.encode(), headers={"Retry-After": "1"}),
        Fault("status", status=503),
        Fault("malformed"),
    )
    result = fetch_amplitude(settings_for(server), OPENS, D1, D2)
    assert [r["value"] for r in result.daily.to_pylist()] == [3.0, 3.0]
    assert server.pending_faults == 0
    assert result.request_count == 4  # three failures, then the answer


@pytest.mark.parametrize(
    "fault",
    [
        Fault("html"),
        Fault("empty"),
        Fault("truncate", times=2),
        Fault("status", status=429, body=b'{"error": {"http_code": 429}}'),
        Fault("reset"),
    ],
    ids=["html_200", "empty_200", "truncated", "429_without_retry_after", "reset"],
)
def test_answers_that_are_not_amplitude_json_are_retried(amplitude, fault: Fault) -> None:
    server, _ = amplitude
    failures = fault.times
    server.inject(fault)
    result = fetch_amplitude(settings_for(server), OPENS, D1, D2)
    assert [r["value"] for r in result.daily.to_pylist()] == [3.0, 3.0]
    assert server.pending_faults == 0 and result.request_count == 1 + failures


def test_the_sandbox_cost_budget_answers_429_until_the_window_frees(amplitude) -> None:
    server, sandbox = amplitude
    sandbox.cost_budget = 3  # the next 2-day query (cost 2) fits once, not twice
    fetch_amplitude(settings_for(server), OPENS, D1, D2)
    with pytest.raises(RetryableSourceError, match="HTTP 429.*cost limit.*gave up after"):
        fetch_amplitude(settings_for(server), OPENS, D1, D2)
    assert COST_PER_FIVE_MINUTES == 1_000


def test_answers_for_other_days_are_not_taken(amplitude) -> None:
    server, _ = amplitude

    def shift(_request, payload):
        payload["data"]["xValues"] = ["2026-09-30", "2026-10-01"]
        return payload

    server.inject(Fault("rewrite", rewrite=shift, times=6))
    with pytest.raises(RetryableSourceError, match="answered days"):
        fetch_amplitude(settings_for(server), OPENS, D1, D2)


@pytest.mark.parametrize(
    ("first", "read"),
    [({"value": 3}, 3.0), (-2, -2.0), (2.5, 2.5)],
    ids=["value_object", "negative", "fraction"],
)
def test_a_series_entry_is_read_as_a_number(amplitude, first: object, read: float) -> None:
    """Amplitude's `{"value": n}` entries are numbers too; a negative value is passed on as
    it is (the warehouse flags it, README "Bad data")."""
    server, _ = amplitude

    def replace_first(_request, payload):
        payload["data"]["series"][0][0] = first
        return payload

    server.inject(Fault("rewrite", rewrite=replace_first))
    result = fetch_amplitude(settings_for(server), OPENS, D1, D2)
    assert [r["value"] for r in result.daily.to_pylist()] == [read, 3.0]


@pytest.mark.parametrize(
    "bad", ["3", True, None, float("nan")], ids=["text", "bool", "null", "nan"]
)
def test_a_series_entry_that_is_not_a_number_is_never_loaded(amplitude, bad: object) -> None:
    server, _ = amplitude

    def replace_second(_request, payload):
        payload["data"]["series"][0][1] = bad
        return payload

    server.inject(Fault("rewrite", rewrite=replace_second, times=6))
    with pytest.raises(RetryableSourceError, match="is not a number"):
        fetch_amplitude(settings_for(server), OPENS, D1, D2)


def test_validate_checks_events_and_filter_properties(amplitude) -> None:
    server, _ = amplitude

    def q(**query: object) -> AmplitudeQuery:
        return AmplitudeQuery.model_validate(query)

    metrics = [
        MetricRequest("ok", q(event="Editor Opened", where={"property": "plan", "is": "pro"})),
        MetricRequest("any", q(event="_active")),
        MetricRequest("typo", q(event="Editor Opend")),
        MetricRequest("step", q(funnel={"steps": ["Sign Up", "Project Creatd"]})),
        MetricRequest("prop", q(event="Editor Opened", where={"property": "plann", "is": "pro"})),
        MetricRequest(
            "user", q(event="Editor Opened", where={"property": "tier", "user": True, "is": "x"})
        ),
        MetricRequest(
            "builtin",
            q(event="Editor Opened", where={"property": "country", "user": True, "is": "France"}),
        ),
    ]
    problems = validate_amplitude_metrics(settings_for(server), metrics)
    found = {(p.metric_id, p.field, p.message, p.suggestions) for p in problems}
    assert found == {
        (
            "typo",
            "query.event",
            "Amplitude project has no event 'Editor Opend'",
            ("Editor Opened",),
        ),
        (
            "step",
            "query.funnel.steps",
            "Amplitude project has no event 'Project Creatd'",
            ("Project Created",),
        ),
        (
            "prop",
            "query.where",
            "Amplitude project has no event property 'plann' on Editor Opened",
            ("plan",),
        ),
        ("user", "query.where", "Amplitude project has no user property 'tier'", ()),
    }


def test_offline_lint_is_located(tmp_path) -> None:
    (tmp_path / "okr.yaml").write_text(
        """
organisation: {name: Shop, timezone: Europe/Berlin}
sources:
  amplitude: {region: eu, timezone: Europe/Paris}
teams: [{id: product, name: Product, owner: p@example.com}]
metrics:
  - id: steps
    source: amplitude
    query: {funnel: {steps: [Sign Up, Sign Up, Project Created]}}
  - id: twice
    source: amplitude
    query: {event: Editor Opened, where: [{property: plan, is: pro}, {property: plan, is: team}]}
objectives:
  - id: o
    title: Activation
    team: product
    period: 2026-Q4
    key_results:
      - {id: a, title: Sign-ups, metric: steps, measure: total, target: 10}
      - {id: b, title: Openings, metric: twice, measure: total, target: 10}
"""
    )
    definitions, problems = load_definitions(tmp_path)
    assert definitions is None
    errors = {(p.line, p.field, p.message) for p in problems if p.severity == "error"}
    assert (9, "metrics[0].query.funnel.steps", "step 2 repeats step 1 ('Sign Up')") in errors
    assert (12, "metrics[1].query.where", "two `is` conditions on property 'plan'") in errors

    (tmp_path / "okr.yaml").write_text(
        (tmp_path / "okr.yaml")
        .read_text()
        .replace("{event: Editor Opened, where:", "{event: Editor Opened, count: sums, where:")
    )
    _, problems = load_definitions(tmp_path)
    assert [(p.line, p.field) for p in problems if "needs `property`" in p.message] == [
        (12, "metrics[1].query")
    ]


def test_region_and_timezone_are_checked_offline(tmp_path) -> None:
    (tmp_path / "okr.yaml").write_text(
        "organisation: {name: Shop}\nsources:\n  amplitude: {region: asia, timezone: Mars/Base}\n"
    )
    _, problems = load_definitions(tmp_path)
    fields = {p.field for p in problems if p.severity == "error"}
    assert {"sources.amplitude.region", "sources.amplitude.timezone"} <= fields, problems


def test_a_year_and_a_day_is_two_requests(amplitude) -> None:
    server, _ = amplitude
    result = fetch_amplitude(settings_for(server), OPENS, date(2025, 10, 1), date(2026, 10, 1))
    assert result.request_count == 2 and result.daily.num_rows == 366


def test_the_connector_paces_itself_within_the_cost_budget(amplitude, caplog) -> None:
    server, _ = amplitude
    settings = settings_for(server).model_copy(update={"cost_budget": 4})
    two = [
        MetricRequest("opens", AmplitudeQuery(event="Editor Opened")),
        MetricRequest("sign_ups", AmplitudeQuery(event="Sign Up")),
        MetricRequest("projects", AmplitudeQuery(event="Project Created")),
    ]
    # Two 2-day queries spend the 4; the third waits for the five minutes to pass (scaled to
    # 0 s in tests) instead of running into a 429.
    result = fetch_amplitude(settings, two, D1, D2)
    assert result.request_count == 3
    assert any(
        "of the 4 cost per five minutes spent; pausing" in r.getMessage() for r in caplog.records
    )
