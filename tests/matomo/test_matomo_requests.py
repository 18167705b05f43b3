"""The real Matomo connector against the sandbox: bulk requests, limits, tokens, errors, retries."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from connectors.base import MetricRequest
from connectors.errors import AuthError, RetryableSourceError, SourceError
from connectors.matomo import MatomoSettings, fetch_matomo, validate_matomo_metrics
from connectors.retry import MAX_ATTEMPTS
from okr_definitions.sources.matomo import MatomoQuery
from sandbox.base import Fault, SandboxServer
from sandbox.matomo.server import DEFAULT_SITES, DEFAULT_TOKEN, MatomoSandbox, generated_day

HOME = "https://shop.example/"
START, END = date(2026, 11, 2), date(2026, 11, 8)


def metric(metric_id: str, **query: object) -> MetricRequest:
    return MetricRequest(metric_id, MatomoQuery(**query))


SEVERAL_METHODS = [
    metric("visits", method="VisitsSummary.get", column="nb_visits"),
    metric("signup_rate", method="Goals.get", column="conversion_rate", id_goal=1),
    metric("home_load", method="PagePerformance.get", column="avg_page_load_time", page_url=HOME),
    metric("search_visits", method="Referrers.getReferrerType", column="nb_visits", label="search"),
    metric(
        "pricing_views",
        method="Actions.getPageUrls",
        column="nb_hits",
        page_url="https://shop.example/pricing",
    ),
]


def post(server: SandboxServer, url: str = "/index.php", **form: str) -> httpx.Response:
    return httpx.post(server.base_url + url, data=form)


def test_one_bulk_request_carries_every_method(
    settings: MatomoSettings, server: SandboxServer, sandbox: MatomoSandbox
) -> None:
    result = fetch_matomo(settings, SEVERAL_METHODS, START, END)

    assert result.request_count == 1
    assert server.total_requests == 1
    (received,) = sandbox.received
    methods = [sub["method"] for sub in received.sub_requests]
    # nb_visits and the conversion rate's denominator share one VisitsSummary.get; the page
    # load time is weighted by Actions.get pageviews of the same segment.
    assert sorted(methods) == sorted(
        [
            "SitesManager.getSiteFromId",
            "VisitsSummary.get",
            "Goals.get",
            "PagePerformance.get",
            "Actions.get",
            "Referrers.getReferrerType",
            "Actions.getPageUrls",
        ]
    )
    for sub in received.sub_requests:
        if sub["method"] != "SitesManager.getSiteFromId":
            assert (sub["period"], sub["date"]) == ("day", "2026-11-02,2026-11-08")
    assert result.daily.num_rows == 5 * 7

    # The values are the sandbox's own day data, read back through the wire format.
    site = DEFAULT_SITES[0]
    visits = {r["date"]: r["value"] for r in result.daily.to_pylist() if r["metric_id"] == "visits"}
    for day, value in visits.items():
        assert value == sum(c.visits for c in generated_day(site, day).cells)


def test_bulk_limit_splits_into_several_requests_with_identical_results(
    settings: MatomoSettings, server: SandboxServer, sandbox: MatomoSandbox
) -> None:
    whole = fetch_matomo(settings, SEVERAL_METHODS, START, END)
    sandbox.received.clear()
    server.reset_counts()
    sandbox.bulk_limit = 2

    split = fetch_matomo(settings.model_copy(update={"bulk_limit": 2}), SEVERAL_METHODS, START, END)

    # 7 sub-requests, at most 2 per bulk request: 4 HTTP requests.
    assert split.request_count == 4
    assert server.total_requests == 4
    assert [len(r.sub_requests) for r in sandbox.received] == [2, 2, 2, 1]
    assert split.daily.equals(whole.daily)
    assert split.flags.equals(whole.flags)


def test_a_bulk_limit_above_the_servers_is_a_clear_error(
    settings: MatomoSettings, server: SandboxServer, sandbox: MatomoSandbox
) -> None:
    sandbox.bulk_limit = 3

    with pytest.raises(SourceError) as caught:
        fetch_matomo(settings, SEVERAL_METHODS, START, END)

    message = str(caught.value)
    assert "The maximum number of bulk request URLs is 3." in message
    assert "bulk_limit" in message and "API_bulk_request_limit" in message
    assert server.total_requests == 1  # a 400 is final, not retried


def test_page_rows_beyond_the_default_filter_limit_are_found(
    settings: MatomoSettings, server: SandboxServer, sandbox: MatomoSandbox
) -> None:
    tail_page = "https://shop.example/blog/post-150"  # the least-read of 155 pages

    result = fetch_matomo(
        settings,
        [metric("tail", method="Actions.getPageUrls", column="nb_hits", page_url=tail_page)],
        START,
        END,
    )

    site = DEFAULT_SITES[0]
    expected = [
        next(p.hits for p in generated_day(site, r["date"]).pages if p.url == tail_page)
        for r in result.daily.to_pylist()
    ]
    assert [r["value"] for r in result.daily.to_pylist()] == expected
    assert all(value >= 1 for value in expected) and len(expected) == 7
    (sub,) = [s for s in sandbox.received[0].sub_requests if s["method"] == "Actions.getPageUrls"]
    assert sub["filter_limit"] == "-1" and sub["flat"] == "1"

    # The same request with Matomo's default filter_limit silently loses the page.
    common = {
        "module": "API",
        "format": "JSON",
        "token_auth": DEFAULT_TOKEN,
        "idSite": "1",
        "method": "Actions.getPageUrls",
        "period": "day",
        "flat": "1",
        "date": "2026-11-02,2026-11-08",
    }
    truncated = post(server, **common).json()
    complete = post(server, **common, filter_limit="-1").json()
    for day in truncated:
        assert len(truncated[day]) == 100
        assert tail_page not in {row["url"] for row in truncated[day]}
        assert len(complete[day]) == 155
        assert tail_page in {row["url"] for row in complete[day]}


def test_an_error_inside_the_bulk_list_names_the_method_and_metric(
    settings: MatomoSettings, server: SandboxServer
) -> None:
    metrics = [
        metric("visits", method="VisitsSummary.get", column="nb_visits"),
        metric(
            "odd_segment",
            method="Goals.get",
            column="nb_conversions",
            id_goal=1,
            segment="fooBar==1",
        ),
    ]

    with pytest.raises(SourceError) as caught:
        fetch_matomo(settings, metrics, START, END)

    message = str(caught.value)
    assert "Goals.get" in message and "odd_segment" in message
    assert "Segment 'fooBar==1' is not a supported segment." in message
    assert DEFAULT_TOKEN not in message
    assert server.total_requests == 1  # an application error is final

    # What the sandbox sent: HTTP 200, a list with a good answer and an error item.
    answer = post(
        server,
        module="API",
        method="API.getBulkRequest",
        format="JSON",
        token_auth=DEFAULT_TOKEN,
        **{
            "urls[0]": "method=VisitsSummary.get&idSite=1&period=day&date=2026-11-02",
            "urls[1]": "method=Goals.get&idSite=1&period=day&date=2026-11-02&segment=fooBar%3D%3D1",
        },
    )
    assert answer.status_code == 200
    good, bad = answer.json()
    assert good["nb_visits"] > 0
    assert bad == {"result": "error", "message": "Segment 'fooBar==1' is not a supported segment."}


def test_matomo_debug_suffix_is_dropped_from_error_messages(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    sandbox.fail_method(
        "Goals.get",
        "Visits log is deactivated globally.    --> To temporarily debug this error further, "
        "set const PIWIK_PRINT_ERROR_BACKTRACE=true; in index.php",
    )

    with pytest.raises(SourceError) as caught:
        fetch_matomo(settings, SEVERAL_METHODS[1:2], START, END)

    assert str(caught.value).endswith("failed: Visits log is deactivated globally.")


def test_a_top_level_error_with_http_200_is_a_clear_final_error(
    settings: MatomoSettings, server: SandboxServer
) -> None:
    message = (
        "Database Upgrade Required. Your Matomo database is out-of-date, and must be upgraded "
        "before you can continue."
    )
    body = json.dumps({"result": "error", "message": message}).encode()
    server.inject(Fault("status", status=200, body=body))

    with pytest.raises(SourceError) as caught:
        fetch_matomo(settings, SEVERAL_METHODS, START, END)

    assert "API.getBulkRequest failed: Database Upgrade Required." in str(caught.value)
    assert server.total_requests == 1


def test_the_sandbox_refuses_a_token_in_the_url_like_matomo_5(server: SandboxServer) -> None:
    query = f"?module=API&method=API.getMatomoVersion&format=JSON&token_auth={DEFAULT_TOKEN}"

    for response in (
        httpx.get(server.base_url + "/index.php" + query),
        httpx.post(server.base_url + "/index.php" + query),
    ):
        assert response.status_code == 401
        assert response.json() == {
            "result": "error",
            "message": "Unable to authenticate with the provided token. It is either invalid, "
            "expired or is required to be sent as a POST parameter.",
        }

    in_body = post(
        server, module="API", method="API.getMatomoVersion", format="JSON", token_auth=DEFAULT_TOKEN
    )
    assert in_body.status_code == 200 and in_body.json() == {"value": "5.2.0"}


def test_the_connector_sends_the_token_only_in_the_post_body(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    result = fetch_matomo(settings, SEVERAL_METHODS, START, END)
    assert validate_matomo_metrics(settings, SEVERAL_METHODS) == []

    assert len(sandbox.received) == 2
    for received in sandbox.received:
        assert received.http_method == "POST" and received.path == "/index.php"
        assert received.url_params == {}  # nothing at all in the URL
        assert received.form["token_auth"] == [DEFAULT_TOKEN]
        assert received.form["module"] == ["API"] and received.form["format"] == ["JSON"]
        assert all("token_auth" not in sub for sub in received.sub_requests)
    for table in (result.daily, result.flags, result.raw):
        assert DEFAULT_TOKEN not in json.dumps(table.to_pylist(), default=str)


def test_a_refused_token_is_an_auth_error_without_the_token(
    settings: MatomoSettings, server: SandboxServer
) -> None:
    wrong = MatomoSettings(base_url=settings.base_url, site_id=1, token="wrong-secret-4711")

    with pytest.raises(AuthError) as caught:
        fetch_matomo(wrong, SEVERAL_METHODS, START, END)

    message = str(caught.value)
    assert "wrong-secret-4711" not in message and "wrong-secret-4711" not in repr(wrong)
    assert "It is either invalid or expired." in message
    assert "token" in message and "view access" in message
    assert server.total_requests == 1  # not retried


def test_429_and_503_are_retried_and_give_identical_tables(
    settings: MatomoSettings, server: SandboxServer
) -> None:
    clean = fetch_matomo(settings, SEVERAL_METHODS, START, END)
    server.reset_counts()
    server.inject(
        Fault(
            "status",
            status=429,
            headers={"Retry-After": "3"},
            body=b'{"result":"error","message":"Too many requests"}',
        ),
        Fault("status", status=503, body=b"<html>maintenance</html>"),
    )

    retried = fetch_matomo(settings, SEVERAL_METHODS, START, END)

    assert server.total_requests == 3
    assert retried.request_count == 3
    assert retried.daily.equals(clean.daily)
    assert retried.flags.equals(clean.flags)
    assert retried.raw.drop(["fetched_at"]).equals(clean.raw.drop(["fetched_at"]))


def test_a_truncated_answer_is_retried(settings: MatomoSettings, server: SandboxServer) -> None:
    clean = fetch_matomo(settings, SEVERAL_METHODS[:2], START, END)
    server.inject(Fault("truncate"))

    retried = fetch_matomo(settings, SEVERAL_METHODS[:2], START, END)

    assert retried.request_count == 2
    assert retried.daily.equals(clean.daily)


def _without_day(day: date) -> Fault:
    """A bulk answer whose first per-day sub-answer lacks one of the days it was asked for."""

    def rewrite(request: object, answers: object) -> object:
        for answer in answers if isinstance(answers, list) else []:
            if isinstance(answer, dict) and day.isoformat() in answer:
                del answer[day.isoformat()]
                break
        return answers

    return Fault("rewrite", rewrite=rewrite)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("html"),
        Fault("empty"),
        Fault("rewrite", rewrite=lambda request, answers: {}),
        Fault("rewrite", rewrite=lambda request, answers: answers[:-1]),
        _without_day(date(2026, 11, 5)),
    ],
    ids=["html_200", "empty_200", "empty_object", "one_answer_short", "a_day_short"],
)
def test_an_answer_that_does_not_answer_the_bulk_request_is_retried(
    settings: MatomoSettings, server: SandboxServer, fault: Fault
) -> None:
    """A proxy's HTML page or empty body with 200, `{}`, a list one answer short, a day left
    out: retried under the shared policy like a cut-off body, to the identical tables."""
    clean = fetch_matomo(settings, SEVERAL_METHODS, START, END)
    server.reset_counts()
    server.inject(fault)

    retried = fetch_matomo(settings, SEVERAL_METHODS, START, END)

    assert server.pending_faults == 0
    assert retried.request_count == server.total_requests == 2
    assert retried.daily.equals(clean.daily)
    assert retried.raw.drop(["fetched_at"]).equals(clean.raw.drop(["fetched_at"]))


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (Fault("html", times=MAX_ATTEMPTS), "answered HTML, not the API's JSON"),
        (_without_day(date(2026, 11, 5)), "VisitsSummary.get (idSite=1, period=day) for 6 of"),
    ],
    ids=["html_200", "a_day_short"],
)
def test_a_lasting_wrong_answer_gives_up_after_the_shared_budget_naming_it(
    settings: MatomoSettings, server: SandboxServer, fault: Fault, says: str
) -> None:
    fault.times = MAX_ATTEMPTS
    server.inject(fault)

    with pytest.raises(RetryableSourceError) as caught:
        fetch_matomo(settings, SEVERAL_METHODS, START, END)

    assert says in str(caught.value)
    assert f"gave up after {MAX_ATTEMPTS} attempts" in str(caught.value)
    assert server.total_requests == MAX_ATTEMPTS


def test_a_lasting_outage_gives_up_after_the_shared_retry_budget(
    settings: MatomoSettings, server: SandboxServer
) -> None:
    server.inject(Fault("status", status=502, times=MAX_ATTEMPTS))

    with pytest.raises(RetryableSourceError) as caught:
        fetch_matomo(settings, SEVERAL_METHODS, START, END)

    assert "HTTP 502" in str(caught.value)
    assert server.total_requests == MAX_ATTEMPTS


def test_a_query_the_connector_cannot_answer_fails_before_any_request(
    settings: MatomoSettings, server: SandboxServer
) -> None:
    with pytest.raises(SourceError) as caught:
        fetch_matomo(
            settings, [metric("rows", method="Actions.getPageUrls", column="nb_hit")], START, END
        )

    message = str(caught.value)
    assert "metric rows" in message
    assert "query.column" in message and "Did you mean 'nb_hits'" in message
    assert "query.page_url" in message
    assert server.total_requests == 0


def test_settings_keep_the_token_secret_and_clean_the_url() -> None:
    settings = MatomoSettings(
        base_url="https://matomo.example.org/index.php/", site_id=3, token="s3cr3t"
    )

    assert settings.endpoint == "https://matomo.example.org/index.php"
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings.model_dump())
    with pytest.raises(ValueError, match="query string"):
        MatomoSettings(base_url="https://m.example/?token_auth=x", site_id=1, token="t")
    with pytest.raises(ValueError, match="not an http"):
        MatomoSettings(base_url="matomo.example", site_id=1, token="t")


def test_an_answer_without_the_asked_column_is_an_error_not_a_zero(
    settings: MatomoSettings, server: SandboxServer
) -> None:
    site = {"idsite": "1", "timezone": "UTC", "ts_created": "2020-01-01 00:00:00"}
    server.inject(
        Fault(
            "status",
            status=200,
            body=json.dumps([site, {"2026-11-02": {"nb_visits": 10, "nb_actions": 30}}]).encode(),
        )
    )

    with pytest.raises(SourceError) as caught:
        fetch_matomo(
            settings, [metric("b", method="VisitsSummary.get", column="bounce_count")], START, START
        )

    assert "without column 'bounce_count'" in str(caught.value)
    assert "nb_actions, nb_visits" in str(caught.value)
