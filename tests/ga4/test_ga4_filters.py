"""Every filter type becomes a GA4 dimensionFilter and selects exactly the right rows.

On the flat Berlin property a full day has 2,400 sessions, split over channels by the
sandbox's default mix: Organic Search 35 % (840), Direct 40 % (960), Paid Search 10 % (240),
Email, Organic Social and Referral 5 % each (120). Expected values are sums of those.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from ga4_testkit import BERLIN_FLAT, NOW, SHOP, metric, series

from connectors.ga4 import dimension_filter, fetch_ga4
from okr_definitions.sources.ga4 import GA4Query

CHANNEL = "sessionDefaultChannelGroup"
DAYS = (date(2026, 10, 6), date(2026, 10, 7))


def ch(**match: object) -> dict:
    return {"dimension": CHANNEL, **match}


CASES = [
    ("exact", ch(exact="Email"), 120),
    ("exact_ignores_case_by_default", ch(exact="email"), 120),
    ("exact_case_sensitive", ch(exact="email", case_sensitive=True), 0),
    ("begins_with", ch(begins_with="Organic"), 840 + 120),
    ("ends_with", ch(ends_with="Search"), 840 + 240),
    ("contains", ch(contains="al"), 120 + 120),  # Organic Soci-al, Referr-al
    ("full_regexp_must_match_whole_value", ch(full_regexp="Paid"), 0),
    ("full_regexp", ch(full_regexp="Paid.*"), 240),
    ("partial_regexp", ch(partial_regexp="Paid"), 240),
    ("partial_regexp_anchored", ch(partial_regexp="^(Direct|Email)$"), 960 + 120),
    ("in_list", ch(in_list=["Email", "Referral", "Carrier pigeon"]), 240),
    ("in_list_case_sensitive", ch(in_list=["email", "Referral"], case_sensitive=True), 120),
    ("not", {"not": ch(exact="Direct")}, 2400 - 960),
    ("and", {"and": [ch(begins_with="Organic"), {"not": ch(contains="Social")}]}, 840),
    ("or", {"or": [ch(exact="Email"), ch(ends_with="Search")]}, 120 + 840 + 240),
    (
        "nested",
        {"and": [{"or": [ch(exact="Email"), ch(exact="Direct")]}, {"not": ch(in_list=["Direct"])}]},
        120,
    ),
    # Two dimensions: Email's 120 split over devices 52/44/4 % is 62.4/52.8/4.8; largest
    # remainders give 62/53/5.
    (
        "and_two_dimensions",
        {"and": [ch(exact="Email"), {"dimension": "deviceCategory", "exact": "mobile"}]},
        53,
    ),
    ("filter_on_page", {"dimension": "pagePath", "exact": "/"}, 2400),
]


@pytest.mark.parametrize(("name", "filt", "expected"), CASES, ids=[c[0] for c in CASES])
def test_filter_selects_the_right_sessions(settings_for, name, filt, expected):
    result = fetch_ga4(settings_for(BERLIN_FLAT), [metric(name, "sessions", filt)], *DAYS, now=NOW)
    assert series(result.daily, name) == dict.fromkeys(DAYS, float(expected))


def test_all_filters_of_one_fetch_share_one_batch_per_five(ga4_server, settings_for):
    metrics = [metric(name, "sessions", filt) for name, filt, _ in CASES]
    result = fetch_ga4(settings_for(BERLIN_FLAT), metrics, *DAYS, now=NOW)
    # 18 different filters are 18 reports: 4 batchRunReports (5 + 5 + 5 + 3).
    assert result.request_count == 4
    assert ga4_server.request_counts[f"/v1beta/properties/{BERLIN_FLAT}:batchRunReports"] == 4
    for name, _, expected in CASES:
        assert series(result.daily, name)[DAYS[0]] == expected


def test_filters_in_rest_json():
    query = GA4Query.model_validate(
        {
            "metric": "sessions",
            "filter": {
                "and": [
                    {"not": {"dimension": "eventName", "begins_with": "add"}},
                    {
                        "or": [
                            {"dimension": "sessionSourceMedium", "exact": "google / cpc"},
                            {
                                "dimension": "eventName",
                                "in_list": ["first_visit", "purchase"],
                                "case_sensitive": True,
                            },
                        ]
                    },
                ]
            },
        }
    )
    assert dimension_filter(query.filter) == {
        "andGroup": {
            "expressions": [
                {
                    "notExpression": {
                        "filter": {
                            "fieldName": "eventName",
                            "stringFilter": {
                                "matchType": "BEGINS_WITH",
                                "value": "add",
                                "caseSensitive": False,
                            },
                        }
                    }
                },
                {
                    "orGroup": {
                        "expressions": [
                            {
                                "filter": {
                                    "fieldName": "sessionSourceMedium",
                                    "stringFilter": {
                                        "matchType": "EXACT",
                                        "value": "google / cpc",
                                        "caseSensitive": False,
                                    },
                                }
                            },
                            {
                                "filter": {
                                    "fieldName": "eventName",
                                    "inListFilter": {
                                        "values": ["first_visit", "purchase"],
                                        "caseSensitive": True,
                                    },
                                }
                            },
                        ]
                    }
                },
            ]
        }
    }


def test_page_filters_partition_the_shop_traffic(settings_for):
    blog = {"dimension": "pagePath", "begins_with": "/blog/"}
    metrics = [
        metric("all", "sessions"),
        metric("blog", "sessions", blog),
        metric("not_blog", "sessions", {"not": blog}),
        metric("organic_blog", "sessions", {"and": [blog, ch(exact="Organic Search")]}),
    ]
    result = fetch_ga4(settings_for(SHOP), metrics, date(2026, 10, 1), date(2026, 10, 14), now=NOW)
    total, part, rest = (series(result.daily, m) for m in ("all", "blog", "not_blog"))
    organic = series(result.daily, "organic_blog")
    for day in total:
        assert part[day] + rest[day] == total[day]
        assert 0 < organic[day] < part[day]
    raw = {r["metric_ids"][0]: json.loads(r["request_json"]) for r in result.raw.to_pylist()}
    assert "dimensionFilter" not in raw["all"]
    assert raw["not_blog"]["dimensionFilter"]["notExpression"]["filter"]["fieldName"] == "pagePath"


def test_a_filter_needs_exactly_one_match():
    with pytest.raises(ValueError, match="exactly one of"):
        GA4Query.model_validate({"metric": "sessions", "filter": ch(exact="Email", contains="E")})
    with pytest.raises(ValueError, match="not a valid regular expression"):
        GA4Query.model_validate({"metric": "sessions", "filter": ch(full_regexp="(")})
