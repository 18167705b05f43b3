"""Token handling, metric validation against the account, the query model and the limiter."""

from __future__ import annotations

import http.client
import logging
import traceback

import pytest
from log_checks import heard
from pydantic import SecretStr, ValidationError

from connectors.base import MetricRequest
from connectors.errors import AuthError
from connectors.hubspot import (
    HubSpotSettings,
    RateLimiter,
    fetch_hubspot_objects,
    fetch_hubspot_pipelines,
    validate_hubspot_metrics,
)
from okr_definitions.sources.hubspot import HubSpotQuery
from sandbox.hubspot.server import ENTERPRISE_PIPELINE_ID

SECRET = "pat-eu1-3f9c2a71-0b8e-4d5f-9a61-SECRET"


def test_a_bad_token_gives_a_clear_message_without_the_token(empty_crm):
    _, server, settings = empty_crm
    bad = settings.model_copy(update={"access_token": SecretStr(SECRET)})

    with pytest.raises(AuthError) as caught:
        fetch_hubspot_objects(bad, "deals", None, ["amount"])

    message = str(caught.value)
    assert "HUBSPOT_ACCESS_TOKEN" in message
    assert "401" in message
    everything = "".join(traceback.format_exception(caught.value))
    assert SECRET not in everything
    assert sum(server.request_counts.values()) == 1  # refused credentials are not retried


def test_reading_hubspot_leaves_the_process_logging_as_it_was(
    empty_crm, caplog: pytest.LogCaptureFixture
) -> None:
    """The generated client sets `urllib3` and its own loggers to WARNING each time it builds an
    API: a user's urllib3 DEBUG lines (and any later log check in the same process) went
    silent after the first HubSpot read. The levels are the user's again after the client is
    built, and the request lines of the reads are heard."""
    _, _, settings = empty_crm
    caplog.set_level(logging.INFO, logger="hubspot")
    caplog.set_level(logging.DEBUG, logger="urllib3")  # last: it sets the capture's level too
    unset = logging.getLogger("hubspot.crm.pipelines")  # a logger the user never set
    before = unset.level

    fetch_hubspot_objects(settings, "deals", None, ["amount"])
    fetch_hubspot_pipelines(settings)
    validate_hubspot_metrics(settings, [_metric("n", object="deals", date_property="createdate")])

    assert logging.getLogger("urllib3").level == logging.DEBUG
    assert logging.getLogger("hubspot").level == logging.INFO
    assert unset.level == before == logging.NOTSET
    assert http.client.HTTPConnection.debuglevel == 0
    heard(
        caplog,
        "urllib3",
        "POST /crm/v3/objects/deals/search",
        "GET /crm/v3/pipelines/deals",
        "GET /crm/v3/properties/deals",
    )


def test_settings_never_show_the_token():
    settings = HubSpotSettings(access_token=SecretStr(SECRET))

    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.model_dump())


def test_from_env_names_the_missing_variable():
    with pytest.raises(AuthError, match="HUBSPOT_ACCESS_TOKEN is not set"):
        HubSpotSettings.from_env({})

    settings = HubSpotSettings.from_env(
        {"HUBSPOT_ACCESS_TOKEN": SECRET, "HUBSPOT_HOST": "http://127.0.0.1:9/"}
    )
    assert settings.access_token.get_secret_value() == SECRET
    assert settings.host == "http://127.0.0.1:9"


def test_an_unknown_time_zone_is_refused_with_the_fix():
    with pytest.raises(ValidationError, match="Europe/Berlin"):
        HubSpotSettings(access_token=SecretStr(SECRET), time_zone="CET+1")


def _metric(metric_id: str, **query: object) -> MetricRequest:
    return MetricRequest(metric_id, HubSpotQuery(**query))


def test_valid_metrics_have_no_problems(empty_crm):
    _, _, settings = empty_crm
    metrics = [
        _metric(
            "won",
            object="deals",
            aggregate="sum",
            property="amount",
            date_property="closedate",
            stage="won",
            pipeline=ENTERPRISE_PIPELINE_ID,
        ),
        _metric(
            "mqls", object="contacts", date_property="hs_v2_date_entered_marketingqualifiedlead"
        ),
        _metric(
            "customers", object="contacts", date_property="createdate", lifecycle_stage="customer"
        ),
    ]

    assert validate_hubspot_metrics(settings, metrics) == []


def test_validation_names_each_problem_with_the_closest_names(empty_crm):
    _, _, settings = empty_crm
    metrics = [
        _metric("typo_date", object="deals", date_property="closdate"),
        _metric(
            "typo_amount",
            object="deals",
            aggregate="sum",
            property="amout",
            date_property="closedate",
        ),
        _metric("date_is_number", object="deals", date_property="amount"),
        _metric(
            "pipeline_by_label", object="deals", date_property="closedate", pipeline="Enterprise"
        ),
        _metric("pipeline_typo", object="deals", date_property="closedate", pipeline="8123456"),
        _metric(
            "stage_typo",
            object="contacts",
            date_property="createdate",
            lifecycle_stage="marketingqualifiedleads",
        ),
        _metric(
            "still_mql",
            object="contacts",
            date_property="hs_v2_date_entered_marketingqualifiedlead",
            lifecycle_stage="marketingqualifiedlead",
        ),
    ]

    problems = {p.metric_id: p for p in validate_hubspot_metrics(settings, metrics)}

    assert set(problems) == {m.metric_id for m in metrics}
    assert problems["typo_date"].field == "query.date_property"
    assert "'closedate'" in problems["typo_date"].fix
    assert "'amount'" in problems["typo_amount"].fix
    assert "type number" in problems["date_is_number"].message
    assert f"'{ENTERPRISE_PIPELINE_ID}'" in problems["pipeline_by_label"].fix
    assert f"'{ENTERPRISE_PIPELINE_ID}'" in problems["pipeline_typo"].fix
    assert "'marketingqualifiedlead'" in problems["stage_typo"].fix
    assert problems["still_mql"].severity == "warning"
    assert all(p.severity == "error" for k, p in problems.items() if k != "still_mql")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"object": "deals", "aggregate": "sum", "date_property": "closedate"}, "needs `property`"),
        (
            {"object": "deals", "property": "amount", "date_property": "closedate"},
            "only used with aggregate: sum",
        ),
        ({"object": "contacts", "stage": "won", "date_property": "createdate"}, "apply to deals"),
        (
            {"object": "deals", "lifecycle_stage": "lead", "date_property": "createdate"},
            "applies to contacts",
        ),
        (
            {
                "object": "deals",
                "date_property": "closedate",
                "denominator": {"lifecycle_stage": "lead"},
            },
            "applies to contacts",
        ),
        ({"object": "deals", "date_property": "closedate", "stage": "wonn"}, "won"),
    ],
)
def test_the_query_model_refuses_what_cannot_be_computed(query, message):
    with pytest.raises(ValidationError, match=message):
        HubSpotQuery(**query)


def test_the_rate_limiter_spaces_requests_evenly():
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(4.0, clock=lambda: clock[0], sleep=sleep)
    waits = [limiter.acquire() for _ in range(3)]
    clock[0] += 2.0  # an idle gap: the next request goes at once
    waits.append(limiter.acquire())

    assert waits == [0.0, 0.25, 0.25, 0.0]
    assert slept == [0.25, 0.25]
