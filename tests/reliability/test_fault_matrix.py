"""The fault matrix: every API source × every way its API misbehaves, through a real run.

Each run starts from a copy of the same base warehouse, switches faults on in the sources'
sandboxes, and runs the later days (sources job, then models job) exactly as `okr run` does.
A transient fault is switched on in every source it makes sense for at once (whole runs are the
suite's most expensive tests): each source must meet it and retry it through the shared policy
(connectors/retry.py), and the tables must equal a clean run's, row for row. A lasting fault is
switched on in one source alone: it must fail that source's asset alone, with a message that
says what to do and carries no credential, while every other source loads, nothing of the
failed source's days reaches the warehouse, its HubSpot cursor stays where it was, and its key
results turn `stale`. Faults that are well-formed answers to another question (a page
without `paging`, `{}`, an unrequested dimension, headers in another order) are rows too: each
source gets the ones that make sense for its API.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pydantic import SecretStr
from reliability_kit import (
    API_SOURCES,
    LATER_END,
    LATER_START,
    MIXPANEL_PROJECT_ID,
    SOURCE_KRS,
    SOURCE_STEP,
    Sandboxes,
    checksums,
    copy_warehouse,
    query,
    statuses,
)

from connectors.amplitude import AmplitudeSettings, fetch_amplitude
from connectors.base import MetricRequest
from connectors.errors import RetryableSourceError
from connectors.ga4 import GA4Settings, fetch_ga4
from connectors.hubspot import HubSpotClient, HubSpotSettings
from connectors.matomo import MatomoSettings, fetch_matomo
from connectors.mixpanel import MixpanelSettings, fetch_mixpanel
from connectors.retry import MAX_ATTEMPTS, READ_ATTEMPTS
from connectors.salesforce import SalesforceClient, SalesforceSettings
from okr_definitions.sources.amplitude import AmplitudeQuery
from okr_definitions.sources.ga4 import GA4Query
from okr_definitions.sources.matomo import MatomoQuery
from okr_definitions.sources.mixpanel import MixpanelQuery
from sandbox.base import Fault
from sandbox.ga4.server import (
    DEMO_PROPERTY_ID,
    QUOTA_MESSAGES,
    answer_with_extra_dimension,
    answer_with_metrics_reversed,
    answer_with_ranges_reversed,
    answer_with_zero_row_per_range,
    answer_without_last_metric,
    asks_for_several_ranges,
    error_body,
    report_fault,
)
from sandbox.hubspot.server import ending_early, rate_limit_fault, search_answer_fault
from sandbox.mixpanel.server import MixpanelSandbox

WRONG_MATOMO_TOKEN = "canary-matomo-wrong-0d4e8f2b6a"
WRONG_HUBSPOT_TOKEN = "pat-na1-canary-wrong-hubspot-77c1d9e3"
WRONG_AMPLITUDE_SECRET = "canary-amplitude-wrong-secret-3c8e1f"
WRONG_SALESFORCE_SECRET = "canary-wrong-salesforce-secret-2f8a"
# Salesforce's answer to an access token that expired or was revoked.
INVALID_SESSION = b'[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]'
WRONG_MIXPANEL_SECRET = "canary-mixpanel-wrong-secret-1f7a3c"
# Google's answer to a bearer token it does not accept (a revoked or deleted key).
GOOGLE_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential."
)
# How long a "slow" answer takes; OKR_REQUEST_TIMEOUT_S (0.5 s in the suite) gives up first.
SLOW_ANSWER_S = 1.5


def _json(
    status: int, payload: bytes, headers: dict[str, str] | None = None, times: int = 1
) -> Fault:
    return Fault(
        "status",
        status=status,
        body=payload,
        headers={"Content-Type": "application/json", **(headers or {})},
        times=times,
    )


def _too_many(source: str, retry_after: float | None, times: int) -> Fault:
    """A 429 as each API words it (GA4: the hourly bucket; HubSpot: its ten-second window)."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    if source == "ga4":
        return _json(429, error_body(429, QUOTA_MESSAGES["tokensPerHour"]), headers, times)
    if source == "hubspot":
        return rate_limit_fault("TEN_SECONDLY_ROLLING", retry_after=retry_after, times=times)
    if source == "amplitude":
        body = {"error": {"http_code": 429, "type": "rate_limit", "message": "Exceeded cost"}}
        return _json(429, json.dumps(body).encode(), headers, times)
    if source == "mixpanel":
        return _json(429, _mixpanel_rate_limit(), headers, times)
    return _json(429, b'{"result": "error", "message": "Too many requests"}', headers, times)


def _mixpanel_rate_limit() -> bytes:
    # Mixpanel's own 429 body (airbytehq/airbyte#9410); it sends no Retry-After.
    return MixpanelSandbox(project_id=MIXPANEL_PROJECT_ID).rate_limited().body


def _burst_of_5xx(source: str) -> list[Fault]:
    # One short of the retry budget: the last attempt gets through.
    codes = [500, 502, 503, 504, 500][: MAX_ATTEMPTS - 1]
    if source == "ga4":
        return [_json(c, error_body(c, "The service is currently unavailable.")) for c in codes]
    return [_json(c, b'{"message": "upstream unavailable"}') for c in codes]


@dataclass(frozen=True)
class Case:
    """One fault. `apply` switches it on and returns environment overrides; `says` are words
    the error must contain when the case is expected to fail (empty: it must recover).
    `sources`: where the fault makes sense; `needs_no_retry`: sources that recover without a
    retry (GA4 matches a range answer's rows to its ranges by label, whatever their order)."""

    name: str
    apply: Callable[[str, Sandboxes], dict[str, str]]
    says: dict[str, tuple[str, ...]]
    retry_after: float | None = None
    sources: tuple[str, ...] = API_SOURCES
    needs_no_retry: tuple[str, ...] = ()

    def expects_failure(self, source: str) -> bool:
        return source in self.says


def _inject(*make: Callable[[str], Fault | list[Fault]]) -> Callable[[str, Sandboxes], dict]:
    def apply(source: str, sb: Sandboxes) -> dict[str, str]:
        for build in make:
            faults = build(source)
            sb.server(source).inject(*(faults if isinstance(faults, list) else [faults]))
        return {}

    return apply


def _short_and_truncated(source: str, sb: Sandboxes) -> dict[str, str]:
    # Two answers cut in half mid-body; HubSpot also serves short pages that still say
    # "there is more" (it does so when it filters indexed objects out of a page).
    sb.server(source).inject(Fault("truncate", times=2))
    if source == "hubspot":
        sb.hubspot_sandbox.short_pages(every=2, size=3)
    return {}


def _quota_exhausted(source: str, sb: Sandboxes) -> dict[str, str]:
    if source == "ga4":
        sb.ga4.inject(_json(429, error_body(429, QUOTA_MESSAGES["tokensPerDay"]), times=50))
    elif source == "hubspot":
        sb.hubspot.inject(rate_limit_fault("DAILY", times=50))
    elif source == "amplitude":
        # Amplitude's hourly cost budget, used up: 429s outlast the retry budget.
        sb.amplitude.inject(_too_many("amplitude", None, times=50))
    elif source == "salesforce":
        # The org's rolling 24-hour API budget is spent: every REST call answers 403.
        sb.salesforce_sandbox.daily_api_limit = 0
    elif source == "mixpanel":
        # The hourly query limit, spent for longer than the retry budget waits.
        sb.mixpanel.inject(_too_many("mixpanel", None, times=50))
    else:
        # Matomo has no quota API; a proxy or rate limiter that keeps answering 429 is the
        # same situation: it outlasts the retry budget.
        sb.matomo.inject(_too_many("matomo", None, times=50))
    return {}


def _bad_token(source: str, sb: Sandboxes) -> dict[str, str]:
    if source == "ga4":
        # The client signs its own JWT from the key file; Google refuses it at the API.
        sb.ga4.inject(
            _json(401, error_body(401, GOOGLE_UNAUTHENTICATED, "UNAUTHENTICATED"), times=50)
        )
        return {}
    if source == "hubspot":
        return {"HUBSPOT_ACCESS_TOKEN": WRONG_HUBSPOT_TOKEN}
    if source == "amplitude":
        return {"AMPLITUDE_SECRET_KEY": WRONG_AMPLITUDE_SECRET}
    if source == "salesforce":
        return {"SALESFORCE_CLIENT_SECRET": WRONG_SALESFORCE_SECRET}
    if source == "mixpanel":
        return {"MIXPANEL_SERVICE_ACCOUNT_SECRET": WRONG_MIXPANEL_SECRET}
    return {"MATOMO_TOKEN": WRONG_MATOMO_TOKEN}


# A well-formed answer to another question, through the sandboxes' "rewrite" fault: GA4's
# report answers (runReport and batchRunReports, not the metadata), HubSpot's first deals
# search page, Matomo's bulk answer.
GA4_REPORTS = "unReport"
LASTING = 50  # more answers than a run asks for: the fault outlasts every retry


def _empty_object(source: str) -> Fault:
    if source == "hubspot":
        return search_answer_fault("deals", after=0, rewrite=lambda answer: {})
    # Salesforce: a query answer (the token answer's `{}` is the login's own case).
    path = {"ga4": GA4_REPORTS, "salesforce": "/query"}.get(source, "")
    return Fault("rewrite", rewrite=lambda request, answer: {}, path_contains=path)


def _ga4_reports(rewrite: Callable[[dict], dict], times: int) -> Callable[[str], Fault]:
    return lambda source: report_fault(rewrite, times=times, path_contains=GA4_REPORTS)


# The range answers the GA4 case turned round (rows, as sent and as served): proof that it
# met a multi-range answer, not a one-row one where the order cannot matter.
RANGES_REVERSED: list[tuple[list, list]] = []


def _ranges_reversed_and_recorded(report: dict) -> dict:
    turned = answer_with_ranges_reversed(report)
    if turned is not report:
        RANGES_REVERSED.append((report.get("rows", []), turned["rows"]))
    return turned


def _answers_in_another_order(source: str) -> Fault:
    if source == "ga4":
        return report_fault(
            _ranges_reversed_and_recorded,
            path_contains=GA4_REPORTS,
            when=asks_for_several_ranges,
        )
    # Matomo's bulk answers come in the order of the sub-requests and echo none of them: the
    # site record where a day map was asked for shows as days missing, and is asked again.
    return Fault("rewrite", rewrite=lambda request, answers: answers[::-1])


def _page_without_paging(times: int) -> Callable[[str], Fault]:
    return lambda source: search_answer_fault("deals", after=0, rewrite=ending_early, times=times)


# Amplitude reads every answer through one decoder: a 200 that is not JSON (HTML, empty, cut
# off) takes the path malformed_json already runs end to end, and a 429 without Retry-After
# the one of 429_with_retry_after. Those rows are left out for Amplitude (whole runs are
# the suite's most expensive tests); tests/amplitude meets each of them at the connector.
# Amplitude's answers share one decoder: these faults are met at its connector (README).
WITHOUT_AMPLITUDE = tuple(source for source in API_SOURCES if source != "amplitude")
# Mixpanel's run in this project reads the export only (JSONL): no JSON answer to rewrite.
JSON_ANSWER_SOURCES = tuple(source for source in API_SOURCES if source != "mixpanel")

CASES = [
    Case("429_with_retry_after", _inject(lambda s: _too_many(s, 1.0, times=2)), {}, 1.0),
    Case(
        "429_without_retry_after",
        _inject(lambda s: _too_many(s, None, times=2)),
        {},
        sources=WITHOUT_AMPLITUDE,
    ),
    Case("burst_of_5xx", _inject(_burst_of_5xx), {}),
    Case("read_timeout", _inject(lambda s: Fault("slow", delay=SLOW_ANSWER_S)), {}),
    Case("connection_reset", _inject(lambda s: Fault("reset", times=2)), {}),
    Case("malformed_json", _inject(lambda s: Fault("malformed", times=2)), {}),
    Case("short_or_truncated_page", _short_and_truncated, {}, sources=WITHOUT_AMPLITUDE),
    Case("html_200", _inject(lambda s: Fault("html")), {}, sources=WITHOUT_AMPLITUDE),
    Case("empty_200", _inject(lambda s: Fault("empty")), {}, sources=WITHOUT_AMPLITUDE),
    Case("empty_object_200", _inject(_empty_object), {}, sources=JSON_ANSWER_SOURCES),
    Case("page_without_paging", _inject(_page_without_paging(1)), {}, sources=("hubspot",)),
    Case(
        "page_without_paging_twice",
        _inject(_page_without_paging(READ_ATTEMPTS)),
        {"hubspot": ("search for deals ended after", f"gave up after {READ_ATTEMPTS} attempts")},
        sources=("hubspot",),
    ),
    Case(
        "extra_dimension",
        _inject(_ga4_reports(answer_with_extra_dimension, LASTING)),
        {"ga4": ("does not match the request", "not asked for `country`")},
        sources=("ga4",),
    ),
    Case(
        "metric_header_missing",
        _inject(_ga4_reports(answer_without_last_metric, LASTING)),
        {"ga4": ("does not match the request", "missing `")},
        sources=("ga4",),
    ),
    Case(
        "metric_headers_reordered",
        _inject(_ga4_reports(answer_with_metrics_reversed, LASTING)),
        {"ga4": ("does not match the request", "in another order")},
        sources=("ga4",),
    ),
    Case(
        "answers_in_another_order",
        _inject(_answers_in_another_order),
        {},
        sources=("ga4", "matomo"),
        needs_no_retry=("ga4",),
    ),
    Case(
        "range_answered_twice",
        _inject(_ga4_reports(answer_with_zero_row_per_range, LASTING)),
        {"ga4": ("more than one row for the date range",)},
        sources=("ga4",),
    ),
    Case(
        # A token that expires mid-read: simple-salesforce mints one new token and sends the
        # same request again, so no retry of the shared policy is needed.
        "session_expired",
        _inject(
            lambda s: Fault("status", status=401, body=INVALID_SESSION, path_contains="/query")
        ),
        {},
        sources=("salesforce",),
        needs_no_retry=("salesforce",),
    ),
    Case(
        "quota_exhausted",
        _quota_exhausted,
        {
            "ga4": ("daily quota exhausted", "next scheduled run"),
            "matomo": ("HTTP 429", f"gave up after {MAX_ATTEMPTS} attempts"),
            "hubspot": ("daily API limit", "resets at midnight"),
            "amplitude": ("HTTP 429", f"gave up after {MAX_ATTEMPTS} attempts"),
            "salesforce": ("daily API limit is used up", "rolling 24 hours"),
            "mixpanel": ("Query rate limit exceeded", f"gave up after {MAX_ATTEMPTS} attempts"),
        },
    ),
    Case(
        "bad_token",
        _bad_token,
        {
            "ga4": ("credentials refused", "GA4_CREDENTIALS_PATH"),
            "matomo": ("refused the token", "view access"),
            "hubspot": ("refused the access token", "HUBSPOT_ACCESS_TOKEN"),
            "amplitude": ("HTTP 401", "AMPLITUDE_SECRET_KEY"),
            "salesforce": ("refused the login", "SALESFORCE_CLIENT_SECRET"),
            "mixpanel": ("HTTP 401", "MIXPANEL_SERVICE_ACCOUNT_SECRET"),
        },
    ),
]


def _step_failures(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """step key → everything the event log keeps about its failure (message, causes, stack)."""
    failures = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = record.get_dagster_event()
        error = event.step_failure_data.error
        text = []
        while error is not None:
            text += [error.message, *error.stack]
            error = error.cause
        failures[event.step_key or "?"] = "\n".join(text)
    return failures


def _materialised(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    return {
        record.get_dagster_event().asset_key.to_user_string()
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    }


CURSORS = "SELECT * FROM raw.hubspot_sync_state ORDER BY ALL"
# A fault every source recovers from is met by all of them in one run (its tables must still
# equal a clean run's, so each source recovered); a fault a source fails on is met by that
# source alone, so the run shows every other source loading beside it.
RECOVERED = [case for case in CASES if any(not case.expects_failure(s) for s in case.sources)]
FAILED = [
    (case, source) for case in CASES for source in case.sources if case.expects_failure(source)
]


def _secrets(sb: Sandboxes) -> list[str]:
    return [
        *sb.secrets(),
        WRONG_MATOMO_TOKEN,
        WRONG_HUBSPOT_TOKEN,
        WRONG_AMPLITUDE_SECRET,
        WRONG_SALESFORCE_SECRET,
        WRONG_MIXPANEL_SECRET,
    ]


@pytest.mark.parametrize("case", RECOVERED, ids=[case.name for case in RECOVERED])
def test_fault_recovered(
    case: Case, suite, reference, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sb = suite.sandboxes
    sources = [source for source in case.sources if not case.expects_failure(source)]
    warehouse = copy_warehouse(suite.base, tmp_path / "faulted.duckdb")
    short_pages = sb.hubspot_sandbox.short_pages_served
    caplog.set_level(logging.WARNING, logger="connectors.retry")
    try:
        overrides: dict[str, str] = {}
        for source in sources:
            overrides |= case.apply(source, sb)
        outcome = suite.run(warehouse, env=overrides)
        pending = {source: sb.server(source).pending_faults for source in sources}
        short_pages = sb.hubspot_sandbox.short_pages_served - short_pages
    finally:
        sb.clear()
    secrets = _secrets(sb)

    assert outcome.succeeded, outcome.errors
    assert checksums(warehouse) == reference.checksums
    # Every injected failure was met, and retried past.
    assert pending == dict.fromkeys(sources, 0)
    if "hubspot" in sources and case.name == "short_or_truncated_page":
        assert short_pages > 0
    if "ga4" in sources and case.name == "answers_in_another_order":
        assert any(len(sent) > 1 and sent != served for sent, served in RANGES_REVERSED)
    retries = [r.getMessage() for r in caplog.records if r.name == "connectors.retry"]
    # Retry messages start with the source's name (connectors/errors.py): each source's own.
    for source in sources:
        own = [m for m in retries if m.startswith(f"{source}: ")]
        assert bool(own) != (source in case.needs_no_retry), (source, retries)
        if case.retry_after is not None:
            assert any(f"Retry-After: {case.retry_after:g} s" in m for m in own), (source, own)
    assert not any(secret in m for m in retries for secret in secrets)


@pytest.mark.parametrize(
    ("case", "source"), FAILED, ids=[f"{case.name}-{source}" for case, source in FAILED]
)
def test_fault_failed(case: Case, source: str, suite, reference, tmp_path: Path) -> None:
    sb = suite.sandboxes
    warehouse = copy_warehouse(suite.base, tmp_path / "faulted.duckdb")
    cursors_before = query(warehouse, CURSORS)
    try:
        overrides = case.apply(source, sb)
        with dg.DagsterInstance.ephemeral() as instance:
            outcome = suite.run(warehouse, instance=instance, env=overrides)
            failures = _step_failures(instance, outcome.run_ids[0])
            loaded = _materialised(instance, outcome.run_ids[0])
    finally:
        sb.clear()
    secrets = _secrets(sb)

    step = SOURCE_STEP[source]
    assert outcome.failed_steps == [step], outcome.errors
    (message,) = outcome.errors
    assert message.startswith(f"{step}: {source}: ")
    for words in case.says[source]:
        assert words in message, message
    for text in (message, failures[step]):
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"credential in the error: {text}"
    # Every other source delivered; the models ran for every day anyway.
    others = {f"raw/{s}" for s in SOURCE_STEP if s != source}
    assert others <= loaded and f"raw/{source}" not in loaded
    # Nothing of the failed source's later days reached the warehouse, least of all zeros, and
    # HubSpot's cursor stayed where it was: the next clean run reads the same changes again.
    assert query(
        warehouse,
        "SELECT count(*) FROM raw.metric_rows WHERE source = ? AND date >= ?",
        [source, LATER_START],
    ) == [(0,)]
    if source == "hubspot":
        assert query(warehouse, CURSORS) == cursors_before
    today = statuses(warehouse, LATER_END)
    assert {kr: today[kr] for kr in SOURCE_KRS[source]} == dict.fromkeys(
        SOURCE_KRS[source], "stale"
    )
    fresh = {kr: s for kr, s in today.items() if kr not in SOURCE_KRS[source]}
    assert not {kr: s for kr, s in fresh.items() if s in ("stale", "no_data")}, today
    if source == "hubspot":
        # The cursor stayed where it was, so the next clean run repairs everything: the
        # tables of a clean run, exactly.
        assert suite.run(warehouse).succeeded
        assert checksums(warehouse) == reference.checksums


def _settings(source: str, env: dict[str, str]) -> Any:
    """The connector settings a run builds from the suite's environment."""
    if source == "ga4":
        return GA4Settings(
            property_id=DEMO_PROPERTY_ID,
            endpoint=env["GA4_ENDPOINT"],
            credentials_path=env["GA4_CREDENTIALS_PATH"],
        )
    if source == "matomo":
        return MatomoSettings(
            base_url=env["MATOMO_URL"], site_id=1, token=SecretStr(env["MATOMO_TOKEN"])
        )
    if source == "amplitude":
        return AmplitudeSettings(
            api_key=SecretStr(env["AMPLITUDE_API_KEY"]),
            secret_key=SecretStr(env["AMPLITUDE_SECRET_KEY"]),
            region="eu",
            eu_host=env["AMPLITUDE_EU_HOST"],
        )
    if source == "salesforce":
        return SalesforceSettings.from_env(env)
    if source == "mixpanel":
        return MixpanelSettings(
            project_id=MIXPANEL_PROJECT_ID,
            username=env["MIXPANEL_SERVICE_ACCOUNT_USERNAME"],
            secret=SecretStr(env["MIXPANEL_SERVICE_ACCOUNT_SECRET"]),
            endpoint=env["MIXPANEL_ENDPOINT"],
        )
    return HubSpotSettings.from_env(env)


def _call_source(source: str, env: dict[str, str]) -> None:
    """One small fetch of `source` through its connector."""
    settings = _settings(source, env)
    day = date(2026, 10, 6)
    if source == "ga4":
        fetch_ga4(settings, [MetricRequest("s", GA4Query(metric="sessions"))], day, day)
    elif source == "matomo":
        query = MatomoQuery(method="VisitsSummary.get", column="nb_visits")
        fetch_matomo(settings, [MetricRequest("v", query)], day, day)
    elif source == "amplitude":
        fetch_amplitude(
            settings, [MetricRequest("o", AmplitudeQuery(event="Editor Opened"))], day, day
        )
    elif source == "salesforce":
        SalesforceClient(settings).limits()
    elif source == "mixpanel":
        opens = MixpanelQuery(event="Editor Opened")
        fetch_mixpanel(settings, [MetricRequest("o", opens)], day, day)
    else:
        HubSpotClient(settings).pipelines()


@pytest.mark.parametrize("source", API_SOURCES)
def test_every_connector_retries_through_the_one_shared_policy(
    source: str, suite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """connectors/retry.py is the only retry layer: each connector spends exactly its budget
    (the client libraries' own retries are off) and gives up in the policy's own words; and
    the suite's short read timeout reaches every connector's settings."""
    sb = suite.sandboxes
    for name, value in sb.env.items():
        monkeypatch.setenv(name, value)
    assert _settings(source, sb.env).timeout_s == float(sb.env["OKR_REQUEST_TIMEOUT_S"])
    server = sb.server(source)
    before = server.total_requests
    server.inject(Fault("status", status=503, body=b"{}", times=MAX_ATTEMPTS))
    try:
        with pytest.raises(RetryableSourceError) as caught:
            _call_source(source, sb.env)
    finally:
        sb.clear()
    assert server.total_requests - before == MAX_ATTEMPTS
    assert f"gave up after {MAX_ATTEMPTS} attempts" in str(caught.value)
