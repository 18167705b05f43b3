"""What the Matomo connector returns: ratio parts, site days and time zones, ranges, parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from connectors.base import MetricRequest, RangeRequest
from connectors.errors import SourceError
from connectors.matomo import (
    MatomoSettings,
    fetch_matomo,
    fetch_matomo_ranges,
    is_additive,
    parse_matomo_number,
    site_timezone,
)
from okr_definitions.sources.matomo import MatomoQuery
from sandbox.base import SandboxServer
from sandbox.matomo.server import Day, MatomoSandbox, page

HOME = "https://shop.example/"
D1, D2 = date(2026, 11, 10), date(2026, 11, 11)


def query(**fields: object) -> MatomoQuery:
    return MatomoQuery(**fields)


def rows(table: pa.Table, metric_id: str | None = None) -> list[tuple]:
    """(date, value, numerator, denominator) per day, optionally of one metric."""
    return [
        (r["date"], r["value"], r["numerator"], r["denominator"])
        for r in table.to_pylist()
        if metric_id is None or r["metric_id"] == metric_id
    ]


def test_conversion_rate_is_a_ratio_of_sums_not_a_mean_of_daily_rates(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    sandbox.set_day(1, D1, Day.simple(100, conversions={1: 10}))  # 10 %
    sandbox.set_day(1, D2, Day.simple(900, conversions={1: 9}))  # 1 %
    rate = query(method="Goals.get", column="conversion_rate", id_goal=1)

    daily = fetch_matomo(settings, [MetricRequest("signup_rate", rate)], D1, D2).daily

    assert rows(daily) == [(D1, 0.10, 10.0, 100.0), (D2, 0.01, 9.0, 900.0)]
    numerators = sum(r["numerator"] for r in daily.to_pylist())
    denominators = sum(r["denominator"] for r in daily.to_pylist())
    assert numerators / denominators == pytest.approx(0.019)  # 19 / 1000
    assert sum(r["value"] for r in daily.to_pylist()) / 2 == pytest.approx(0.055)  # not this

    # Matomo's own answer for the exact window agrees with the ratio of sums.
    window = fetch_matomo_ranges(settings, [RangeRequest("signup_rate", rate, D1, D2)]).ranges
    assert window.to_pylist() == [
        {
            "metric_id": "signup_rate",
            "range_start": D1,
            "range_end": D2,
            "value": 0.019,
            "numerator": 19.0,
            "denominator": 1000.0,
        }
    ]


def test_bounce_rate_comes_as_bounces_over_visits(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    sandbox.set_day(1, D1, Day.simple(200, bounces=50))
    sandbox.set_day(1, D2, Day.simple(50, bounces=40))

    daily = fetch_matomo(
        settings,
        [MetricRequest("bounce", query(method="VisitsSummary.get", column="bounce_rate"))],
        D1,
        D2,
    ).daily

    assert rows(daily) == [(D1, 0.25, 50.0, 200.0), (D2, 0.8, 40.0, 50.0)]


def test_homepage_load_time_is_total_time_over_pageviews(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    # 100 loads at 3.0 s, then 300 loads at 1.0 s: (300 + 300) s / 400 = 1.5 s, not (3 + 1) / 2.
    sandbox.set_day(
        1,
        D1,
        Day.simple(
            100,
            pages=[
                page(HOME, 100, hits=100, load_time=3.0),
                page(HOME + "pricing", 40, load_time=9.0),
            ],
        ),
    )
    sandbox.set_day(1, D2, Day.simple(300, pages=[page(HOME, 300, hits=300, load_time=1.0)]))
    load = query(method="PagePerformance.get", column="avg_page_load_time", page_url=HOME)
    row_load = query(method="Actions.getPageUrls", column="avg_page_load_time", page_url=HOME)

    result = fetch_matomo(
        settings,
        [MetricRequest("home_load", load), MetricRequest("home_row_load", row_load)],
        D1,
        D2,
    )

    for metric in (rows(result.daily, "home_load"), rows(result.daily, "home_row_load")):
        assert [day for day, *_ in metric] == [D1, D2]
        assert [v for _, v, _, _ in metric] == pytest.approx([3.0, 1.0])
        assert [n for _, _, n, _ in metric] == pytest.approx([300.0, 300.0])
        assert [d for _, _, _, d in metric] == [100.0, 300.0]
        assert sum(n for _, _, n, _ in metric) / sum(d for *_, d in metric) == pytest.approx(1.5)


def test_a_site_far_from_the_organisation_keeps_its_own_days(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    # 12:00 UTC on 26 Nov is 13:00 in Berlin but 01:00 on 27 Nov in Auckland (UTC+13).
    sandbox.now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    sandbox.set_day(2, date(2026, 11, 26), Day.simple(480))
    sandbox.set_day(2, date(2026, 11, 27), Day.simple(480))  # one hour of it seen so far
    visits_nz = query(method="VisitsSummary.get", column="nb_visits", site_id=2)
    visits_de = query(method="VisitsSummary.get", column="nb_visits")

    result = fetch_matomo(
        settings,
        [MetricRequest("nz", visits_nz), MetricRequest("de", visits_de)],
        date(2026, 11, 24),
        date(2026, 11, 27),
        now=sandbox.now,
    )

    daily = result.daily.to_pylist()
    nz = {r["date"]: r["value"] for r in daily if r["metric_id"] == "nz"}
    de = {r["date"]: r["value"] for r in daily if r["metric_id"] == "de"}
    assert sorted(nz) == [date(2026, 11, d) for d in (24, 25, 26, 27)]
    assert sorted(de) == [date(2026, 11, d) for d in (24, 25, 26)]  # 27 Nov hasn't begun
    assert nz[date(2026, 11, 26)] == 480  # a whole day, on its own date
    assert nz[date(2026, 11, 27)] == 20  # 480 * 1/24: Auckland's day is one hour old
    flags = {(f["metric_id"], f["date"]) for f in result.flags.to_pylist()}
    assert flags == {
        ("nz", date(2026, 11, 26)),
        ("nz", date(2026, 11, 27)),
        ("de", date(2026, 11, 25)),
        ("de", date(2026, 11, 26)),
    }
    reasons = {f["reason"] for f in result.flags.to_pylist() if f["metric_id"] == "nz"}
    assert all("Pacific/Auckland" in reason for reason in reasons)


def test_days_before_the_site_existed_are_left_out(
    settings: MatomoSettings, server: SandboxServer
) -> None:
    # Site 1 was created on 2024-01-15 (ts_created in UTC, 10:30 in Berlin).
    result = fetch_matomo(
        settings,
        [MetricRequest("visits", query(method="VisitsSummary.get", column="nb_visits"))],
        date(2024, 1, 13),
        date(2024, 1, 16),
    )

    assert [r["date"] for r in result.daily.to_pylist()] == [date(2024, 1, 15), date(2024, 1, 16)]
    assert result.flags.num_rows == 0


def test_unique_visitors_are_asked_for_the_exact_range(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    uniques = query(method="VisitsSummary.get", column="nb_uniq_visitors")
    assert not is_additive(uniques)
    assert is_additive(query(method="Goals.get", column="conversion_rate", id_goal=1))
    start, end = date(2026, 11, 1), date(2026, 11, 14)

    daily = fetch_matomo(settings, [MetricRequest("u", uniques)], start, end).daily
    window = fetch_matomo_ranges(settings, [RangeRequest("u", uniques, start, end)])

    (sub,) = [s for s in sandbox.received[-1].sub_requests if s["method"] == "VisitsSummary.get"]
    assert (sub["period"], sub["date"]) == ("range", "2026-11-01,2026-11-14")
    (value,) = window.ranges["value"].to_pylist()
    daily_sum = sum(daily["value"].to_pylist())
    assert 0 < value < daily_sum  # returning visitors are counted once in the window
    assert window.flags.num_rows == 0  # the window ends well before yesterday


def test_range_uniques_disabled_on_the_server_is_a_clear_error(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    sandbox.unique_visitors_range = False  # Matomo's default configuration
    uniques = query(method="VisitsSummary.get", column="nb_uniq_visitors")

    with pytest.raises(SourceError, match="enable_processing_unique_visitors_range = 1"):
        fetch_matomo_ranges(settings, [RangeRequest("u", uniques, D1, D2)])


def test_a_window_touching_today_is_flagged_provisional(settings: MatomoSettings) -> None:
    today = date(2026, 11, 26)
    window = fetch_matomo_ranges(
        settings,
        [
            RangeRequest(
                "v",
                query(method="VisitsSummary.get", column="nb_visits"),
                today - timedelta(days=6),
                today,
            )
        ],
        now=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
    )

    assert [f["date"] for f in window.flags.to_pylist()] == [date(2026, 11, 25), today]
    assert window.raw["provisional"].to_pylist() == [True]


def test_referrer_rows_are_picked_by_type_or_label(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    by_code = query(method="Referrers.getReferrerType", column="nb_visits", label="search")
    by_label = query(method="Referrers.getReferrerType", column="nb_visits", label="Search Engines")
    segment = query(method="VisitsSummary.get", column="nb_visits", segment="referrerType==search")

    result = fetch_matomo(
        settings,
        [MetricRequest("a", by_code), MetricRequest("b", by_label), MetricRequest("c", segment)],
        D1,
        D2,
    )

    values = {m: [value for _, value, _, _ in rows(result.daily, m)] for m in "abc"}
    assert values["a"] == values["b"] == values["c"]
    assert all(v > 0 for v in values["a"])


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (12, 12.0),
        ("12", 12.0),
        ("0.0620", 0.062),
        (2.5, 2.5),
        ("3.2%", 0.032),
        ("100%", 1.0),
        ("0%", 0.0),
        ("00:01:05", 65.0),
        ("1:02:03", 3723.0),
        ("1.23s", 1.23),
        ("5 min 13s", 313.0),
        ("2 hours 3 min", 7380.0),
        (None, None),
        ("", None),
        (False, None),
    ],
)
def test_matomo_cells_parse(cell: object, expected: float | None) -> None:
    assert parse_matomo_number(cell) == (pytest.approx(expected) if expected else expected)


def test_an_unparseable_cell_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_matomo_number("n/a")


def test_site_time_zones_include_matomos_manual_offsets() -> None:
    instant = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    assert instant.astimezone(site_timezone("UTC+5.5")).isoformat() == "2026-11-27T01:30:00+05:30"
    assert instant.astimezone(site_timezone("UTC-4")).date() == date(2026, 11, 26)
    assert instant.astimezone(site_timezone("Pacific/Auckland")).date() == date(2026, 11, 27)
    with pytest.raises(SourceError, match="'Mars/Olympus' is not a known time zone"):
        site_timezone("Mars/Olympus")
