"""Metric and dimension names are checked against the property's getMetadata."""

from __future__ import annotations

import pytest
from ga4_testkit import LA_FLAT, SHOP, metric

from connectors.ga4 import validate_ga4_metrics


def test_known_names_have_no_problems(ga4_server, settings_for):
    metrics = [
        metric("sessions", "sessions"),
        metric("purchases", "keyEvents:purchase", {"dimension": "pagePath", "begins_with": "/p"}),
        metric("load", "customEvent:page_load_ms"),
        metric("by_page", "sessions", dimensions=["pagePath", "deviceCategory"]),
    ]
    assert validate_ga4_metrics(settings_for(SHOP), metrics) == []
    # One getMetadata call for the property, whatever the number of metrics.
    assert dict(ga4_server.request_counts) == {f"/v1beta/properties/{SHOP}/metadata": 1}


def test_unknown_metric_gets_a_suggestion(settings_for):
    (problem,) = validate_ga4_metrics(settings_for(SHOP), [metric("views", "pageViews")])
    assert problem.metric_id == "views"
    assert problem.field == "metric"
    assert problem.suggestions[0] == "screenPageViews"
    assert problem.message == (
        f"`pageViews` is not a metric of GA4 property {SHOP}. Did you mean `screenPageViews`?"
    )


def test_wrong_case_is_suggested_first(settings_for):
    (problem,) = validate_ga4_metrics(settings_for(SHOP), [metric("s", "Sessions")])
    assert problem.suggestions == ("sessions",)


def test_key_event_metrics_follow_the_propertys_key_events(ga4_sandbox, settings_for):
    ga4_sandbox.configure(LA_FLAT, key_events=("sign_up",))
    problems = validate_ga4_metrics(
        settings_for(SHOP), [metric("p", "keyEvents:purchse"), metric("ok", "keyEvents:purchase")]
    )
    (problem,) = problems
    assert problem.metric_id == "p"
    assert "`purchse` is not a key event" in problem.message
    assert "keyEvents:purchase" in problem.suggestions
    # Another property where `purchase` is not a key event.
    (problem,) = validate_ga4_metrics(settings_for(LA_FLAT), [metric("p", "keyEvents:purchase")])
    assert "its key-event metrics: keyEvents:sign_up" in problem.message


def test_filter_and_breakdown_dimensions_are_checked(settings_for):
    problems = validate_ga4_metrics(
        settings_for(SHOP),
        [
            metric("a", "sessions", {"dimension": "pagepath", "begins_with": "/blog/"}),
            metric("b", "sessions", {"not": {"dimension": "sessions", "exact": "1"}}),
            metric("c", "sessions", dimensions=["devicecategory"]),
        ],
    )
    by_id = {p.metric_id: p for p in problems}
    assert by_id["a"].field == "filter.dimension"
    assert by_id["a"].suggestions == ("pagePath",)
    assert by_id["b"].message == "`sessions` is a metric; filter.dimension takes dimensions."
    assert by_id["c"].field == "dimensions"
    assert by_id["c"].suggestions == ("deviceCategory",)


def test_dimension_used_as_metric_and_non_additive_breakdown(settings_for):
    problems = validate_ga4_metrics(
        settings_for(SHOP),
        [metric("a", "pagePath"), metric("b", "totalUsers", dimensions=["pagePath"])],
    )
    messages = {p.metric_id: p.message for p in problems}
    assert messages["a"] == "`pagePath` is a GA4 dimension, not a metric."
    assert "cannot have breakdown dimensions" in messages["b"]


def test_a_metrics_own_property_is_checked(ga4_server, settings_for):
    problems = validate_ga4_metrics(
        settings_for(SHOP),
        [
            metric("here", "sessions"),
            metric("there", "customEvent:page_load_ms", property_id=LA_FLAT),
        ],
    )
    assert problems == []
    assert ga4_server.request_counts[f"/v1beta/properties/{LA_FLAT}/metadata"] == 1


@pytest.mark.parametrize("name", ['sess"ions', "total Users", "x';drop", "keyEvents:"])
def test_metric_names_outside_the_api_shape_are_refused_offline(name: str) -> None:
    from pydantic import ValidationError

    from okr_definitions.sources.ga4 import GA4Query

    with pytest.raises(ValidationError, match="not a GA4 metric API name"):
        GA4Query(metric=name)
    assert GA4Query(metric="customEvent:basket_value").metric == "customEvent:basket_value"
