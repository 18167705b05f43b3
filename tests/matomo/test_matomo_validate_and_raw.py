"""`okr validate` for Matomo metrics, and the raw answers with provenance in DuckDB."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb

from connectors.base import MetricRequest, request_hash
from connectors.matomo import (
    RAW_SCHEMA,
    MatomoProblem,
    MatomoSettings,
    fetch_matomo,
    fetch_matomo_ranges,
    validate_matomo_metrics,
)
from okr_definitions.sources.matomo import MatomoQuery
from sandbox.base import SandboxServer
from sandbox.matomo.server import MatomoSandbox

MIGRATION = Path(__file__).parents[2] / "warehouse" / "migrations" / "0004_matomo_raw.sql"


def metric(metric_id: str, **query: object) -> MetricRequest:
    return MetricRequest(metric_id, MatomoQuery(**query))


GOOD = [
    metric("visits", method="VisitsSummary.get", column="nb_visits"),
    metric(
        "signups",
        method="Goals.get",
        column="conversion_rate",
        id_goal=1,
        segment="visitorType==new;referrerType==search",
    ),
    metric(
        "home_load",
        method="PagePerformance.get",
        column="avg_page_load_time",
        page_url="https://shop.example/",
    ),
    metric("nz_bounce", method="VisitsSummary.get", column="bounce_rate", site_id=2),
]


def test_known_metrics_validate_cleanly(settings: MatomoSettings, server: SandboxServer) -> None:
    assert validate_matomo_metrics(settings, GOOD) == []
    assert server.total_requests == 2  # one bulk request per site


def test_validation_names_each_problem_with_a_suggestion(settings: MatomoSettings) -> None:
    problems = validate_matomo_metrics(
        settings,
        [
            metric("typo_column", method="VisitsSummary.get", column="nb_visit"),
            metric("typo_report", method="VisitSummary.get", column="nb_visits"),
            metric("no_goal", method="Goals.get", column="nb_conversions", id_goal=7),
            metric(
                "typo_segment",
                method="VisitsSummary.get",
                column="nb_visits",
                segment="visitorTyp==new",
            ),
            metric("no_site", method="VisitsSummary.get", column="nb_visits", site_id=99),
            metric("no_row", method="Referrers.getReferrerType", column="nb_visits"),
            metric(
                "offered_but_not_additive",
                method="Actions.getPageUrls",
                column="avg_time_on_page",
                page_url="https://shop.example/",
            ),
        ],
    )

    by_metric = {p.metric_id: p for p in problems}
    assert len(problems) == 7
    assert by_metric["typo_column"].field == "query.column"
    assert "Did you mean 'nb_visits'" in by_metric["typo_column"].message
    assert by_metric["typo_report"].field == "query.method"
    assert "Did you mean 'VisitsSummary.get'" in by_metric["typo_report"].message
    assert by_metric["no_goal"] == MatomoProblem(
        "no_goal",
        "query.id_goal",
        "site has no goal 7; its goals: 1 (Goal Newsletter signup), 2 (Goal Trial started)",
    )
    assert "Did you mean 'visitorType'" in by_metric["typo_segment"].message
    assert by_metric["no_site"].field == "query.site_id"
    assert "site 99 does not exist" in by_metric["no_site"].message
    assert by_metric["no_row"].field == "query.label"
    assert "Matomo offers Actions.getPageUrls 'avg_time_on_page'" in (
        by_metric["offered_but_not_additive"].message
    )


def test_a_refused_token_is_one_problem_without_the_token(settings: MatomoSettings) -> None:
    wrong = MatomoSettings(base_url=settings.base_url, site_id=1, token="nope-12345")

    problems = validate_matomo_metrics(wrong, GOOD)

    assert [(p.metric_id, p.field) for p in problems] == [(None, "token")]
    assert "nope-12345" not in problems[0].message


def test_raw_answers_keep_provenance_and_load_into_the_migrated_table(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    start, end = date(2026, 11, 20), date(2026, 11, 26)
    # the sandbox's clock (2026-11-26 09:00 UTC: the 25th and 26th are provisional in both
    # sites' zones), not the machine's, which reaches the 27th in Auckland at 11:00 UTC
    daily = fetch_matomo(settings, GOOD, start, end, now=sandbox.now)
    window = fetch_matomo_ranges(settings, [])
    assert window.raw is None  # nothing asked, nothing fetched

    raw = daily.raw
    assert raw.schema == RAW_SCHEMA
    records = raw.to_pylist()
    # 6 report sub-requests x 7 days: VisitsSummary.get for site 1, for site 2 and for the
    # signup segment (the rate's denominator), Goals.get, PagePerformance.get, Actions.get.
    assert len(records) == 6 * 7
    for record in records:
        params = json.loads(record["params"])
        assert "token_auth" not in params
        assert record["request_hash"] == request_hash(params)
        assert params["method"] == record["method"]
        assert record["range_start"] == record["partition_date"] == record["range_end"]
        assert record["provisional"] == (record["partition_date"] >= date(2026, 11, 25))
    goals = [r for r in records if r["method"] == "Goals.get"]
    assert json.loads(goals[0]["params"])["segment"] == "visitorType==new;referrerType==search"
    assert "nb_conversions" in json.loads(goals[0]["answer"])

    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    for statement in MIGRATION.read_text().split(";"):
        if statement.strip():
            con.execute(statement)
    con.register("fetched", raw)
    con.execute("INSERT INTO raw.matomo_answers SELECT * FROM fetched")
    loaded = con.execute(
        "SELECT count(*), count(DISTINCT request_hash), "
        "sum((answer->>'nb_visits')::INTEGER) FILTER (WHERE method = 'VisitsSummary.get' "
        "AND site_id = 1 AND params::JSON->>'segment' IS NULL) FROM raw.matomo_answers"
    ).fetchone()
    visits = sum(r["value"] for r in daily.daily.to_pylist() if r["metric_id"] == "visits")
    assert loaded == (42, 6, visits)
