"""Daily metrics from deals and contacts read through the real client: won revenue, win rate,
MQLs, custom pipelines, incremental reads of edited and archived deals. Expected values are
worked out by hand from the scripted objects."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import MetricRequest
from connectors.hubspot import (
    daily_metrics_from_objects,
    fetch_hubspot_daily,
    fetch_hubspot_objects,
    fetch_hubspot_pipelines,
    next_cursor,
)
from connectors.hubspot.parse import local_dates
from connectors.results import DAILY_SCHEMA
from okr_definitions.sources.hubspot import HubSpotQuery
from sandbox.hubspot.server import (
    ENTERPRISE_LOST_STAGE_ID,
    ENTERPRISE_PIPELINE_ID,
    ENTERPRISE_WON_STAGE_ID,
)

BERLIN = "Europe/Berlin"


def _t(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _series(daily: pa.Table, metric_id: str, column: str = "value") -> dict[date, float | None]:
    rows = daily.filter(pc.equal(daily["metric_id"], metric_id)).to_pylist()
    return {r["date"]: r[column] for r in rows}


WON_REVENUE = MetricRequest(
    "won_revenue",
    HubSpotQuery(
        object="deals", aggregate="sum", property="amount", date_property="closedate", stage="won"
    ),
)
ENTERPRISE_WON = MetricRequest(
    "enterprise_won",
    HubSpotQuery(
        object="deals",
        aggregate="sum",
        property="amount",
        date_property="closedate",
        stage="won",
        pipeline=ENTERPRISE_PIPELINE_ID,
    ),
)
WIN_RATE = MetricRequest(
    "win_rate",
    HubSpotQuery(
        object="deals", date_property="closedate", stage="won", denominator={"stage": "closed"}
    ),
)
ENTERPRISE_WIN_RATE = MetricRequest(
    "enterprise_win_rate",
    HubSpotQuery(
        object="deals",
        date_property="closedate",
        stage="won",
        denominator={"stage": "closed"},
        pipeline=ENTERPRISE_PIPELINE_ID,
    ),
)
DEALS_CREATED = MetricRequest(
    "deals_created", HubSpotQuery(object="deals", date_property="createdate")
)
NEW_MQLS = MetricRequest(
    "new_mqls",
    HubSpotQuery(object="contacts", date_property="hs_v2_date_entered_marketingqualifiedlead"),
)


def _pipeline_deals(sandbox) -> None:
    # Enterprise won 12,000 and default won 3,000 on Oct 5; Enterprise lost on Oct 6;
    # an open Enterprise deal whose forecast date is Oct 7 (never counted as won or closed);
    # a USD deal won 23:30 UTC on Oct 6 = 01:30 Oct 7 in Berlin, 920 in company currency;
    # a deal with no company-currency amount (its amount counts) won Oct 7.
    ent, won, lost = ENTERPRISE_PIPELINE_ID, ENTERPRISE_WON_STAGE_ID, ENTERPRISE_LOST_STAGE_ID
    sandbox.add_deal(
        _t(9, 1),
        {
            "pipeline": ent,
            "dealstage": won,
            "closedate": _t(10, 5, 10),
            "amount": 12000,
            "amount_in_home_currency": 12000,
        },
    )
    sandbox.add_deal(
        _t(9, 2),
        {
            "pipeline": "default",
            "dealstage": "closedwon",
            "closedate": _t(10, 5, 15),
            "amount": 3000,
            "amount_in_home_currency": 3000,
        },
    )
    sandbox.add_deal(
        _t(9, 3),
        {
            "pipeline": ent,
            "dealstage": lost,
            "closedate": _t(10, 6),
            "amount": 5000,
            "amount_in_home_currency": 5000,
        },
    )
    sandbox.add_deal(
        _t(9, 4),
        {
            "pipeline": ent,
            "dealstage": "81234570",
            "closedate": _t(10, 7),
            "amount": 7000,
            "amount_in_home_currency": 7000,
        },
    )
    sandbox.add_deal(
        _t(9, 5),
        {
            "pipeline": "default",
            "dealstage": "closedwon",
            "closedate": _t(10, 6, 23, 30),
            "amount": 1000,
            "deal_currency_code": "USD",
            "amount_in_home_currency": 920,
        },
    )
    sandbox.add_deal(
        _t(10, 6),
        {
            "pipeline": "default",
            "dealstage": "closedwon",
            "closedate": _t(10, 7, 8),
            "amount": 2000,
        },
    )


def test_won_revenue_and_win_rate_follow_stage_metadata_of_a_custom_pipeline(empty_crm):
    sandbox, _, settings = empty_crm
    settings = settings.model_copy(update={"time_zone": BERLIN})
    _pipeline_deals(sandbox)
    metrics = [WON_REVENUE, ENTERPRISE_WON, WIN_RATE, ENTERPRISE_WIN_RATE, DEALS_CREATED]

    result = fetch_hubspot_daily(settings, metrics, date(2026, 10, 5), date(2026, 10, 7))

    oct5, oct6, oct7 = date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)
    assert result.daily.schema.equals(DAILY_SCHEMA.append(pa.field("currency", pa.string())))
    assert _series(result.daily, "won_revenue") == {oct5: 15000.0, oct6: 0.0, oct7: 2920.0}
    # The USD deal counts with its company-currency amount, the deal without a currency code in
    # the company currency (HubSpot's default): the sums are in EUR, counts have no currency.
    assert _series(result.daily, "won_revenue", "currency") == dict.fromkeys(
        (oct5, oct6, oct7), "EUR"
    )
    assert set(_series(result.daily, "win_rate", "currency").values()) == {None}
    assert _series(result.daily, "enterprise_won") == {oct5: 12000.0, oct6: 0.0, oct7: 0.0}
    assert _series(result.daily, "win_rate", "numerator") == {oct5: 2.0, oct6: 0.0, oct7: 2.0}
    assert _series(result.daily, "win_rate", "denominator") == {oct5: 2.0, oct6: 1.0, oct7: 2.0}
    assert _series(result.daily, "enterprise_win_rate") == {oct5: 1.0, oct6: 0.0, oct7: None}
    assert _series(result.daily, "deals_created") == {oct5: 0.0, oct6: 1.0, oct7: 0.0}
    assert result.request_count >= 3  # search, recycle bin, pipelines


def test_amounts_in_another_currency_are_never_silently_added(empty_crm):
    # Oct 5: a EUR deal (1,000) and a USD deal HubSpot converted (500 USD = 460 EUR): one sum
    # in EUR. Oct 6: a EUR deal (2,000) and a USD deal without a company-currency amount
    # (300 USD): HubSpot gave no conversion, so the day says EUR+USD (the warehouse flags it).
    sandbox, _, settings = empty_crm
    won = {"pipeline": "default", "dealstage": "closedwon"}
    sandbox.add_deal(
        _t(9, 1),
        {**won, "closedate": _t(10, 5), "amount": 1000, "amount_in_home_currency": 1000},
    )
    sandbox.add_deal(
        _t(9, 2),
        {
            **won,
            "closedate": _t(10, 5),
            "amount": 500,
            "deal_currency_code": "USD",
            "amount_in_home_currency": 460,
        },
    )
    sandbox.add_deal(
        _t(9, 3),
        {**won, "closedate": _t(10, 6), "amount": 2000, "deal_currency_code": "EUR"},
    )
    sandbox.add_deal(
        _t(9, 4), {**won, "closedate": _t(10, 6), "amount": 300, "deal_currency_code": "USD"}
    )
    oct5, oct6, oct7 = date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)

    result = fetch_hubspot_daily(settings, [WON_REVENUE], oct5, oct7)

    assert _series(result.daily, "won_revenue") == {oct5: 1460.0, oct6: 2300.0, oct7: 0.0}
    assert _series(result.daily, "won_revenue", "currency") == {
        oct5: "EUR",
        oct6: "EUR+USD",
        oct7: "EUR",
    }

    # The switch: an account whose company currency is USD names USD for every sum.
    sandbox.company_currency = "USD"
    result = fetch_hubspot_daily(settings, [WON_REVENUE], oct5, oct7)
    assert _series(result.daily, "won_revenue", "currency") == {
        oct5: "USD",
        oct6: "EUR+USD",
        oct7: "USD",
    }


def test_pipelines_name_the_custom_won_stage_by_its_metadata(empty_crm):
    _, _, settings = empty_crm

    stages = fetch_hubspot_pipelines(settings).to_pylist()

    outcome = {(s["pipeline_id"], s["stage_id"]): s["outcome"] for s in stages}
    assert outcome[(ENTERPRISE_PIPELINE_ID, ENTERPRISE_WON_STAGE_ID)] == "won"
    assert outcome[(ENTERPRISE_PIPELINE_ID, ENTERPRISE_LOST_STAGE_ID)] == "lost"
    assert outcome[(ENTERPRISE_PIPELINE_ID, "81234570")] == "open"
    assert outcome[("default", "closedwon")] == "won"
    assert sorted(o for (p, _), o in outcome.items() if p == ENTERPRISE_PIPELINE_ID) == [
        "lost",
        "open",
        "open",
        "open",
        "won",
    ]


def test_new_mqls_count_by_entry_day_in_the_account_zone(empty_crm):
    sandbox, _, settings = empty_crm
    # Entered MQL 21:30 UTC Oct 5 (23:30 Berlin) and has moved on to SQL since: still counts.
    sandbox.add_contact(
        _t(10, 1),
        {
            "lifecyclestage": "salesqualifiedlead",
            "hs_v2_date_entered_marketingqualifiedlead": _t(10, 5, 21, 30),
            "hs_v2_date_entered_salesqualifiedlead": _t(10, 8),
        },
    )
    # 22:30 UTC Oct 5 is 00:30 Oct 6 in Berlin.
    sandbox.add_contact(
        _t(10, 1),
        {
            "lifecyclestage": "marketingqualifiedlead",
            "hs_v2_date_entered_marketingqualifiedlead": _t(10, 5, 22, 30),
        },
    )
    sandbox.add_contact(_t(10, 2), {"lifecyclestage": "lead"})
    # Archived contacts stop counting.
    sandbox.add_contact(
        _t(10, 1),
        {
            "lifecyclestage": "marketingqualifiedlead",
            "hs_v2_date_entered_marketingqualifiedlead": _t(10, 6, 9),
        },
        archived_at=_t(10, 10),
    )

    berlin = fetch_hubspot_daily(
        settings.model_copy(update={"time_zone": BERLIN}),
        [NEW_MQLS],
        date(2026, 10, 5),
        date(2026, 10, 6),
    )
    utc = fetch_hubspot_daily(settings, [NEW_MQLS], date(2026, 10, 5), date(2026, 10, 6))

    assert _series(berlin.daily, "new_mqls") == {date(2026, 10, 5): 1.0, date(2026, 10, 6): 1.0}
    assert _series(utc.daily, "new_mqls") == {date(2026, 10, 5): 2.0, date(2026, 10, 6): 0.0}
    assert berlin.raw.filter(berlin.raw["archived"]).num_rows == 1


def test_an_edited_past_deal_comes_back_in_the_next_incremental_fetch(empty_crm):
    sandbox, _, settings = empty_crm
    sandbox.set_now(_t(10, 12))
    untouched_early = sandbox.add_deal(
        _t(9, 20, 9),
        {"pipeline": "default", "dealstage": "closedwon", "closedate": _t(10, 9), "amount": 1000},
    )
    edited = sandbox.add_deal(
        _t(10, 1, 9),
        {
            "pipeline": "default",
            "dealstage": "closedwon",
            "closedate": _t(10, 10, 10),
            "amount": 5000,
        },
        changes=[(_t(10, 15, 9), {"amount": 4200, "closedate": _t(10, 8, 10)})],
    )
    archived = sandbox.add_deal(
        _t(10, 2, 9),
        {"pipeline": "default", "dealstage": "closedwon", "closedate": _t(10, 9), "amount": 800},
        archived_at=_t(10, 14, 8),
    )
    at_cursor = sandbox.add_deal(
        _t(10, 3, 9), {"pipeline": "default", "dealstage": "closedlost", "closedate": _t(10, 3, 9)}
    )
    pipelines = fetch_hubspot_pipelines(settings)
    days = (date(2026, 10, 8), date(2026, 10, 10))

    first = fetch_hubspot_objects(settings, "deals", None, ["amount"])
    cursor = next_cursor(first, None)
    before = daily_metrics_from_objects(first, pipelines, [WON_REVENUE], *days)
    sandbox.set_now(_t(10, 20))
    second = fetch_hubspot_objects(settings, "deals", cursor, ["amount"])
    after = daily_metrics_from_objects(
        pa.concat_tables([first, second]), pipelines, [WON_REVENUE], *days
    )

    assert cursor == _t(10, 3, 9)  # the newest change seen by the first run
    # Changed since the cursor, plus the deal at the cursor itself (re-read by the overlap);
    # the deal last changed on Sep 20 is not read again.
    assert sorted(second["object_id"].to_pylist()) == sorted([edited, archived, at_cursor])
    assert untouched_early not in second["object_id"].to_pylist()
    row = {r["object_id"]: r for r in second.to_pylist()}
    assert dict(row[edited]["properties"])["amount"] == "4200"
    assert dict(row[edited]["properties"])["closedate"] == "2026-10-08T10:00:00.000Z"
    assert row[archived]["archived"] is True
    assert _series(before, "won_revenue") == {
        date(2026, 10, 8): 0.0,
        date(2026, 10, 9): 1800.0,
        date(2026, 10, 10): 5000.0,
    }
    assert _series(after, "won_revenue") == {
        date(2026, 10, 8): 4200.0,
        date(2026, 10, 9): 1000.0,
        date(2026, 10, 10): 0.0,
    }


def test_an_archived_deal_stops_counting(empty_crm):
    sandbox, _, settings = empty_crm
    sandbox.set_now(_t(10, 12))
    sandbox.add_deal(
        _t(10, 1),
        {"pipeline": "default", "dealstage": "closedwon", "closedate": _t(10, 5), "amount": 700},
    )
    sandbox.add_deal(
        _t(10, 1),
        {"pipeline": "default", "dealstage": "closedwon", "closedate": _t(10, 5), "amount": 300},
        archived_at=_t(10, 14),
    )
    window = (date(2026, 10, 5), date(2026, 10, 5))

    before = fetch_hubspot_daily(settings, [WON_REVENUE], *window)
    sandbox.set_now(_t(10, 20))
    after = fetch_hubspot_daily(settings, [WON_REVENUE], *window)

    assert _series(before.daily, "won_revenue") == {date(2026, 10, 5): 1000.0}
    assert _series(after.daily, "won_revenue") == {date(2026, 10, 5): 700.0}
    assert after.raw.filter(after.raw["archived"]).num_rows == 1


def test_generated_deals_change_and_an_incremental_read_sees_exactly_the_changes(
    start_sandbox, settings_for
):
    sandbox, server = start_sandbox(deals=3_000, contacts=0, now=_t(10, 15))
    settings = settings_for(server, sandbox)
    first = fetch_hubspot_objects(settings, "deals", None, ["amount"])
    cursor = next_cursor(first, None)

    sandbox.set_now(_t(10, 22))
    second = fetch_hubspot_objects(settings, "deals", cursor, ["amount"])

    since = cursor - settings.modified_overlap
    changed = {
        d["id"]
        for d in sandbox.objects("deals", archived=None)
        if datetime.fromisoformat(d["updatedAt"]) >= since
    }
    assert set(second["object_id"].to_pylist()) == changed
    old = {r["object_id"]: dict(r["properties"]) for r in first.to_pylist()}
    new = {r["object_id"]: dict(r["properties"]) for r in second.to_pylist()}
    moved = [i for i in new if i in old and new[i]["dealstage"] != old[i]["dealstage"]]
    assert moved  # a week of a CRM's life moves some deals along


def test_hubspot_date_values_fall_on_the_account_zone_day():
    values = pa.array(
        [
            "2026-10-06T21:59:59.999Z",  # 23:59:59 in Berlin (CEST, UTC+2)
            "2026-10-06T22:00:00.000Z",  # midnight in Berlin: the next day
            "1791324600000",  # epoch ms of 2026-10-06T22:10:00Z (older answers)
            "2026-10-06",  # a date-only property: that calendar day everywhere
            None,
        ]
    )

    berlin = local_dates(values, BERLIN).to_pylist()
    utc = local_dates(values, "UTC").to_pylist()

    oct6, oct7 = date(2026, 10, 6), date(2026, 10, 7)
    assert berlin == [oct6, oct7, oct7, oct6, None]
    assert utc == [oct6, oct6, oct6, oct6, None]
