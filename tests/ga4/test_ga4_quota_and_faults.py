"""Quota and faults: what is retried, what stops cleanly, and that retries change nothing."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest
from ga4_testkit import LA_FLAT, NOW, SHOP, metric

from connectors.errors import AuthError, QuotaExhaustedError, RetryableSourceError, SourceError
from connectors.ga4 import GA4Settings, fetch_ga4
from connectors.retry import MAX_ATTEMPTS
from sandbox.base import Fault
from sandbox.ga4.server import QUOTA_MESSAGES, QuotaLimits, quota_fault, server_error_fault

WINDOW = (date(2026, 10, 1), date(2026, 10, 31))
METRICS = [
    metric("sessions", "sessions"),
    metric("users", "totalUsers"),
    metric("product_sessions", "sessions", {"dimension": "pagePath", "begins_with": "/products/"}),
]


def _fetch(settings):
    return fetch_ga4(settings, METRICS, *WINDOW, now=NOW)


def _same_answers(a, b) -> None:
    assert a.daily.equals(b.daily)
    assert a.flags.equals(b.flags)
    drop = ["fetched_at", "property_quota_json"]  # when, and how much quota was left
    assert a.raw.drop_columns(drop).equals(b.raw.drop_columns(drop))


@pytest.mark.parametrize(
    "bucket",
    [
        "tokensPerHour",
        "tokensPerProjectPerHour",
        "concurrentRequests",
        "potentiallyThresholdedRequestsPerHour",
    ],
)
def test_hourly_and_concurrent_exhaustion_is_retried_to_identical_tables(
    ga4_sandbox, ga4_server, settings_for, bucket
):
    clean = _fetch(settings_for(SHOP))
    ga4_sandbox.reset_quota()
    ga4_server.reset_counts()
    ga4_server.inject(quota_fault(bucket))
    retried = _fetch(settings_for(SHOP))
    _same_answers(retried, clean)
    assert retried.request_count == clean.request_count + 1 == ga4_server.total_requests


def test_server_errors_are_retried(ga4_server, settings_for):
    clean = _fetch(settings_for(SHOP))
    ga4_server.reset_counts()
    ga4_server.inject(server_error_fault(503), server_error_fault(500))
    retried = _fetch(settings_for(SHOP))
    _same_answers(retried, clean)
    assert ga4_server.total_requests == clean.request_count + 2


@pytest.mark.parametrize("kind", ["reset", "malformed", "truncate"])
def test_broken_answers_are_retried(ga4_server, settings_for, kind):
    clean = _fetch(settings_for(SHOP))
    ga4_server.inject(Fault(kind))
    _same_answers(_fetch(settings_for(SHOP)), clean)


def test_daily_quota_exhausted_stops_at_once_with_a_clear_message(ga4_server, settings_for):
    ga4_server.inject(quota_fault("tokensPerDay"))
    with pytest.raises(QuotaExhaustedError) as info:
        _fetch(settings_for(SHOP))
    message = str(info.value)
    assert message.startswith("ga4: daily quota exhausted for property 314159265")
    assert QUOTA_MESSAGES["tokensPerDay"] in message
    assert "next scheduled run" in message
    assert ga4_server.total_requests == 1  # no retry: the tokens return within 24 hours


def test_daily_quota_running_out_mid_fetch(ga4_sandbox, ga4_server, settings_for):
    # Two tokens a day; the report has three pages (12 + 12 + 7 rows): the first page costs a
    # token, the other two would come in one batch costing two.
    ga4_sandbox.configure(LA_FLAT, quota=QuotaLimits(tokens_per_day=2))
    settings = settings_for(LA_FLAT, page_size=12)
    with pytest.raises(QuotaExhaustedError, match="1 tokens left today.*needs at least 2"):
        fetch_ga4(settings, [metric("s", "sessions")], *WINDOW, now=NOW)
    # The first answer said how many tokens were left: no doomed call was made.
    assert ga4_server.total_requests == 1


def test_sandbox_answers_daily_exhaustion_with_googles_error(ga4_sandbox, ga4_server, settings_for):
    ga4_sandbox.configure(LA_FLAT, quota=QuotaLimits(tokens_per_day=1))
    settings = settings_for(LA_FLAT)
    fetch_ga4(settings, [metric("s", "sessions")], *WINDOW, now=NOW)
    import requests

    answer = requests.post(
        f"{ga4_server.base_url}/v1beta/properties/{LA_FLAT}:runReport",
        json={
            "metrics": [{"name": "sessions"}],
            "dateRanges": [{"startDate": "2026-10-01", "endDate": "2026-10-02"}],
        },
        timeout=10,
    )
    assert answer.status_code == 429
    assert answer.json() == {
        "error": {
            "code": 429,
            "message": QUOTA_MESSAGES["tokensPerDay"],
            "status": "RESOURCE_EXHAUSTED",
        }
    }


def test_low_hourly_tokens_slow_the_fetch_down(ga4_sandbox, settings_for, caplog):
    # 500 tokens an hour: after the first request 499 are left, below the pacing threshold.
    ga4_sandbox.configure(LA_FLAT, quota=QuotaLimits(tokens_per_hour=500))
    settings = settings_for(LA_FLAT, page_size=12)
    with caplog.at_level(logging.WARNING, logger="connectors.ga4.client"):
        result = fetch_ga4(settings, [metric("s", "sessions")], *WINDOW, now=NOW)
    pauses = [r.getMessage() for r in caplog.records if "quota running low" in r.getMessage()]
    assert len(pauses) == 1  # before the second request (the first had no quota to read)
    assert "tokensPerHour=499" in pauses[0]
    assert result.daily.num_rows == 31


def test_persistent_hourly_exhaustion_gives_up_after_the_shared_attempts(ga4_server, settings_for):
    ga4_server.inject(quota_fault("tokensPerHour", times=MAX_ATTEMPTS))
    with pytest.raises(RetryableSourceError, match="hourly/concurrent quota"):
        _fetch(settings_for(SHOP))
    assert ga4_server.total_requests == MAX_ATTEMPTS


def test_unknown_property_is_an_access_problem(settings_for):
    with pytest.raises(AuthError) as info:
        _fetch(settings_for("123"))
    assert "property 123" in str(info.value) and "Viewer" in str(info.value)


def test_unknown_metric_at_fetch_names_it_and_points_to_validate(ga4_server, settings_for):
    with pytest.raises(SourceError) as info:
        fetch_ga4(settings_for(SHOP), [metric("pv", "pageViews")], *WINDOW, now=NOW)
    assert "Field pageViews is not a valid metric" in str(info.value)
    assert "okr validate" in str(info.value)
    assert ga4_server.total_requests == 1  # a bad request is not retried


def test_key_file_contents_never_reach_the_error(tmp_path):
    key = tmp_path / "key.json"
    secret = "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----\n"
    key.write_text(json.dumps({"type": "service_account", "private_key": secret}))
    settings = GA4Settings(property_id="123", credentials_path=str(key))
    with pytest.raises(AuthError) as info:
        _fetch(settings)
    assert "TOPSECRETMATERIAL" not in str(info.value)
    assert "GA4_CREDENTIALS_PATH" in str(info.value)


def test_missing_key_file_names_the_setting(tmp_path):
    settings = GA4Settings(property_id="123", credentials_path=str(tmp_path / "nope.json"))
    with pytest.raises(AuthError, match="does not exist"):
        _fetch(settings)


def test_anonymous_is_for_the_sandbox_only():
    with pytest.raises(ValueError, match="sandbox only"):
        GA4Settings(property_id="123", anonymous=True)
    with pytest.raises(ValueError, match="numeric property id"):
        GA4Settings(property_id="UA-1234-1")
    assert GA4Settings(property_id="properties/42").property_id == "42"
