"""CRM search through the real client against the sandbox: paging, the 10,000 cap, operators,
rate limits and transient faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from connectors.errors import QuotaExhaustedError, RetryableSourceError, SourceError
from connectors.hubspot import HubSpotClient, fetch_hubspot_objects, fetch_hubspot_pipelines
from connectors.hubspot.client import translate_error
from sandbox.base import Fault
from sandbox.hubspot.server import rate_limit_fault, search_answer_fault, without_paging

SEARCH = "/crm/v3/objects/deals/search"


def _ids(table: pa.Table) -> list[str]:
    return table.column("object_id").to_pylist()


def _without_fetch_time(table: pa.Table) -> pa.Table:
    return table.drop_columns(["fetched_at"])


def test_more_than_10000_matching_deals_are_read_completely_without_duplicates(
    start_sandbox, settings_for
):
    sandbox, server = start_sandbox(deals=11_400, contacts=0)
    truth = {d["id"] for d in sandbox.objects("deals")}
    assert len(truth) > 10_000  # otherwise the test would not reach the cap

    table = fetch_hubspot_objects(settings_for(server, sandbox), "deals", None, ["amount"])

    live = table.filter(pa.compute.invert(table["archived"]))
    assert len(_ids(live)) == len(set(_ids(live)))
    assert set(_ids(live)) == truth
    # Without the keyset restart the 51st page would have been HubSpot's 400.
    assert server.request_counts[SEARCH] >= 51


def test_the_sandbox_answers_paging_past_10000_with_400(start_sandbox, settings_for):
    sandbox, server = start_sandbox(deals=300, contacts=0)
    client = HubSpotClient(settings_for(server, sandbox))

    with pytest.raises(SourceError, match="400"):
        client.search_page("deals", {"limit": 200, "after": "10000"})
    with pytest.raises(SourceError, match="400"):
        client.search_page("deals", {"limit": 201})


def test_a_short_page_with_after_is_not_the_end(start_sandbox, settings_for):
    sandbox, server = start_sandbox(deals=1_500, contacts=0)
    settings = settings_for(server, sandbox)
    full = fetch_hubspot_objects(settings, "deals", None, ["amount"])

    sandbox.short_pages(every=2, size=37)
    shortened = fetch_hubspot_objects(settings, "deals", None, ["amount"])

    assert sandbox.short_pages_served >= 3
    assert _ids(shortened) == _ids(full)
    assert len(set(_ids(shortened))) == shortened.num_rows


def _scripted_deals(sandbox) -> dict[str, str]:
    created = datetime(2026, 9, 1, 9, tzinfo=UTC)
    return {
        "d1": sandbox.add_deal(
            created,
            {
                "amount": 1000,
                "dealstage": "closedwon",
                "pipeline": "default",
                "closedate": datetime(2026, 10, 1, 12, tzinfo=UTC),
            },
        ),
        "d2": sandbox.add_deal(
            created,
            {
                "amount": 2000,
                "dealstage": "closedlost",
                "pipeline": "default",
                "closedate": datetime(2026, 10, 2, 12, tzinfo=UTC),
            },
        ),
        "d3": sandbox.add_deal(
            created,
            {
                "amount": 3000,
                "dealstage": "appointmentscheduled",
                "pipeline": "default",
                "closedate": datetime(2026, 10, 3, 12, tzinfo=UTC),
            },
        ),
        "d4": sandbox.add_deal(
            created,
            {
                "dealstage": "closedwon",
                "pipeline": "default",
                "closedate": datetime(2026, 10, 4, 12, tzinfo=UTC),
            },
        ),
    }


def _ms(day: int) -> str:
    return str(int(datetime(2026, 10, day, tzinfo=UTC).timestamp() * 1000))


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ([[("dealstage", "EQ", "closedwon")]], ["d1", "d4"]),
        ([[("dealstage", "NEQ", "closedwon")]], ["d2", "d3"]),
        ([[("amount", "GT", "1000")]], ["d2", "d3"]),
        ([[("amount", "GTE", "1000")]], ["d1", "d2", "d3"]),
        ([[("amount", "LT", "2000")]], ["d1"]),
        ([[("amount", "LTE", "2000")]], ["d1", "d2"]),
        ([[("closedate", "BETWEEN", (_ms(2), _ms(4)))]], ["d2", "d3"]),
        ([[("dealstage", "IN", ["closedlost", "appointmentscheduled"])]], ["d2", "d3"]),
        ([[("amount", "HAS_PROPERTY", None)]], ["d1", "d2", "d3"]),
        ([[("amount", "NOT_HAS_PROPERTY", None)]], ["d4"]),
        # OR of two groups; AND inside a group.
        ([[("amount", "EQ", "1000")], [("amount", "EQ", "3000")]], ["d1", "d3"]),
        ([[("dealstage", "EQ", "closedwon"), ("closedate", "GTE", "2026-10-02")]], ["d4"]),
    ],
)
def test_search_operators(empty_crm, groups, expected):
    sandbox, _, settings = empty_crm
    names = _scripted_deals(sandbox)
    by_id = {v: k for k, v in names.items()}

    def build(prop, op, value):
        f = {"propertyName": prop, "operator": op}
        if op == "BETWEEN":
            f["value"], f["highValue"] = value
        elif op == "IN":
            f["values"] = value
        elif value is not None:
            f["value"] = value
        return f

    body = {"filterGroups": [{"filters": [build(*f) for f in g]} for g in groups], "limit": 10}
    page = HubSpotClient(settings).search_page("deals", body).data

    assert [by_id[r["id"]] for r in page["results"]] == expected
    assert page["total"] == len(expected)


def test_search_sorts_descending_with_empty_values_last(empty_crm):
    sandbox, _, settings = empty_crm
    names = _scripted_deals(sandbox)
    by_id = {v: k for k, v in names.items()}
    body = {
        "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}],
        "properties": ["amount"],
        "limit": 10,
    }

    page = HubSpotClient(settings).search_page("deals", body).data

    assert [by_id[r["id"]] for r in page["results"]] == ["d3", "d2", "d1", "d4"]
    assert page["results"][0]["properties"]["amount"] == "3000"


@pytest.mark.parametrize(
    "fault",
    [
        rate_limit_fault("TEN_SECONDLY_ROLLING", retry_after=None, path_contains=SEARCH, times=2),
        rate_limit_fault("TEN_SECONDLY_ROLLING", retry_after=2, path_contains=SEARCH, times=2),
        rate_limit_fault("SECONDLY", retry_after=None, path_contains=SEARCH, times=2),
        rate_limit_fault("SECONDLY", retry_after=1, path_contains=SEARCH, times=2),
        Fault(kind="status", status=502, path_contains=SEARCH, times=2),
        Fault(kind="reset", path_contains=SEARCH, times=2),
        Fault(kind="truncate", path_contains=SEARCH, times=2),
    ],
    ids=[
        "10s-no-retry-after",
        "10s-retry-after",
        "secondly-no-retry-after",
        "secondly-retry-after",
        "502",
        "reset",
        "truncated",
    ],
)
def test_transient_failures_of_post_search_give_identical_tables(
    start_sandbox, settings_for, fault
):
    sandbox, server = start_sandbox(deals=700, contacts=0)
    settings = settings_for(server, sandbox)
    clean = fetch_hubspot_objects(settings, "deals", None, ["amount"])
    clean_requests = server.request_counts[SEARCH]

    server.inject(fault)
    retried = fetch_hubspot_objects(settings, "deals", None, ["amount"])

    assert _without_fetch_time(retried).equals(_without_fetch_time(clean))
    # Two failed attempts, then the same pages again.
    assert server.request_counts[SEARCH] == 2 * clean_requests + 2


@pytest.mark.parametrize("retry_after", [None, 3])
def test_rate_limited_pipelines_give_the_identical_table(empty_crm, retry_after):
    sandbox, server, settings = empty_crm
    clean = fetch_hubspot_pipelines(settings)

    server.inject(
        rate_limit_fault(
            "TEN_SECONDLY_ROLLING", retry_after=retry_after, path_contains="/crm/v3/pipelines/deals"
        )
    )
    retried = fetch_hubspot_pipelines(settings)

    assert _without_fetch_time(retried).equals(_without_fetch_time(clean))
    assert server.request_counts["/crm/v3/pipelines/deals"] == 3


def test_the_daily_limit_stops_at_once(start_sandbox, settings_for):
    sandbox, server = start_sandbox(deals=100, contacts=0)
    server.inject(rate_limit_fault("DAILY", path_contains=SEARCH))

    with pytest.raises(QuotaExhaustedError, match="daily"):
        fetch_hubspot_objects(settings_for(server, sandbox), "deals", None, [])
    assert server.request_counts[SEARCH] == 1


class _FakeApiError:
    def __init__(self, status: int, body: dict, headers: dict) -> None:
        self.status, self.reason, self.headers = status, "reason", headers
        self.body = json.dumps(body)


@pytest.mark.parametrize(("headers", "expected"), [({}, None), ({"Retry-After": "3"}, 3.0)])
def test_429_carries_retry_after_when_sent(headers, expected):
    body = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
    }

    error = translate_error(_FakeApiError(429, body, headers), "POST /x", "tok")

    assert isinstance(error, RetryableSourceError)
    assert error.retry_after == expected
    assert "TEN_SECONDLY_ROLLING" in str(error)


def test_a_deal_archived_while_search_still_shows_it_is_read_once_as_archived(
    start_sandbox, settings_for
):
    now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    sandbox, server = start_sandbox(
        deals=0, contacts=0, now=now, search_index_lag=timedelta(hours=1)
    )
    deal = sandbox.add_deal(
        datetime(2026, 10, 1, tzinfo=UTC), {"amount": 10}, archived_at=now - timedelta(minutes=30)
    )
    client = HubSpotClient(settings_for(server, sandbox))
    assert [r["id"] for r in client.search_page("deals", {}).data["results"]] == [deal]

    table = fetch_hubspot_objects(settings_for(server, sandbox), "deals", None, [])

    assert table.select(["object_id", "archived"]).to_pylist() == [
        {"object_id": deal, "archived": True}
    ]


# -- completeness: what a read collected is checked against HubSpot's `total` -----------------


def test_a_page_without_paging_before_the_end_is_read_again_not_taken_as_the_end(
    start_sandbox, settings_for
):
    """Issue 23, finding 1: a well-formed page without `paging` ended the read early, silently.
    Now the read counts fewer results than `total`, and the whole search is read once more."""
    sandbox, server = start_sandbox(deals=1_500, contacts=0)
    settings = settings_for(server, sandbox)
    clean = fetch_hubspot_objects(settings, "deals", None, ["amount"])
    clean_pages = server.request_counts[SEARCH]
    assert clean_pages > 3  # the fault lands on the third page, well before the end

    server.inject(search_answer_fault("deals", after=400, rewrite=without_paging))
    reread = fetch_hubspot_objects(settings, "deals", None, ["amount"])

    assert _without_fetch_time(reread).equals(_without_fetch_time(clean))
    assert server.pending_faults == 0
    # Three pages of the cut-short read, then every page again.
    assert server.request_counts[SEARCH] == 2 * clean_pages + 3


def test_a_read_short_twice_fails_naming_what_was_read_and_what_was_counted(
    start_sandbox, settings_for
):
    sandbox, server = start_sandbox(deals=1_500, contacts=0)
    settings = settings_for(server, sandbox)
    expected = len(
        fetch_hubspot_objects(settings, "deals", None, ["amount"]).filter(
            pa.compute.invert(pa.compute.field("archived"))
        )
    )

    server.inject(search_answer_fault("deals", after=400, rewrite=without_paging, times=2))
    with pytest.raises(RetryableSourceError) as caught:
        fetch_hubspot_objects(settings, "deals", None, ["amount"])

    message = str(caught.value)
    assert f"search for deals ended after 600 results where its last page counted {expected}" in (
        message
    )
    assert "gave up after 2 attempts" in message
    assert server.pending_faults == 0


@pytest.mark.parametrize(
    "answer", [{}, {"results": []}, {"total": 3}], ids=["empty", "no_total", "no_results"]
)
def test_a_search_answer_that_is_not_one_is_retried_like_a_cut_off_body(
    start_sandbox, settings_for, answer
):
    sandbox, server = start_sandbox(deals=700, contacts=0)
    settings = settings_for(server, sandbox)
    clean = fetch_hubspot_objects(settings, "deals", None, ["amount"])
    clean_pages = server.request_counts[SEARCH]

    server.inject(search_answer_fault("deals", after=200, rewrite=lambda page: answer))
    retried = fetch_hubspot_objects(settings, "deals", None, ["amount"])

    assert _without_fetch_time(retried).equals(_without_fetch_time(clean))
    # Only the one page is asked again.
    assert server.request_counts[SEARCH] == 2 * clean_pages + 1


def test_a_deal_deleted_while_the_pages_are_read_is_allowed_for_by_reading_again(
    start_sandbox, settings_for
):
    """Offset paging: a deal that leaves the results after its page was read moves every later
    deal one place forward, so one of them is never on any page — yet the read's count equals
    the last page's `total`. The falling `total` gives it away: the search is read again."""
    sandbox, server = start_sandbox(deals=0, contacts=0)
    settings = settings_for(server, sandbox, search_page_size=2)
    now = sandbox.now
    first = sandbox.add_deal(
        now - timedelta(days=10), {"amount": 1}, archived_at=now + timedelta(hours=1)
    )
    others = [sandbox.add_deal(now - timedelta(days=9 - d), {"amount": 1}) for d in range(4)]

    def delete_the_first(answer: dict) -> dict:
        sandbox.set_now(now + timedelta(hours=2))
        return answer

    server.inject(search_answer_fault("deals", after=2, rewrite=delete_the_first))
    table = fetch_hubspot_objects(settings, "deals", None, [])

    live = table.filter(pa.compute.invert(table["archived"]))
    assert sorted(_ids(live)) == sorted(others)
    assert _ids(table.filter(table["archived"])) == [first]
    assert server.pending_faults == 0


@pytest.mark.parametrize("where", ["within_a_page", "across_pages"])
def test_results_out_of_id_order_stop_the_read_naming_the_two_ids(
    start_sandbox, settings_for, where
):
    """Keyset paging is only exact when ids come strictly ascending: a page that breaks the
    order, inside itself or against the page before, is refused, never loaded."""
    sandbox, server = start_sandbox(deals=0, contacts=0)
    settings = settings_for(server, sandbox, search_page_size=3)
    ids = [sandbox.add_deal(sandbox.now - timedelta(days=1), {"amount": 1}) for _ in range(6)]

    def swapped(answer: dict) -> dict:
        results = list(answer["results"])
        if where == "within_a_page":
            results[0], results[1] = results[1], results[0]
        else:  # the second page starts with the first page's last object again
            results[0] = {**results[0], "id": str(ids[2])}
        return {**answer, "results": results}

    server.inject(search_answer_fault("deals", after=3, rewrite=swapped))
    with pytest.raises(SourceError) as caught:
        fetch_hubspot_objects(settings, "deals", None, ["amount"])

    before, after = (ids[4], ids[3]) if where == "within_a_page" else (ids[2], ids[2])
    assert f"search returned deals id {after} after {before}: results are not in " in str(
        caught.value
    )
