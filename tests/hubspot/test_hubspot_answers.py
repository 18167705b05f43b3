"""Search and list answers read into the raw rows exactly as HubSpot sent them: a property sent
as null is not a property left out, text stays text (unicode included), odd values keep their
text, and an empty CRM is an empty table. The real client reads the sandbox's answers, some
rewritten on the way out the way HubSpot could send them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from connectors.base import MetricRequest
from connectors.hubspot import (
    OBJECTS_SCHEMA,
    daily_metrics_from_objects,
    fetch_hubspot_objects,
    fetch_hubspot_pipelines,
)
from connectors.hubspot.parse import _Properties
from okr_definitions.sources.hubspot import HubSpotQuery
from sandbox.base import Request, Response
from warehouse.db import connect, connection
from warehouse.sources.hubspot import (
    current_objects,
    load_object_read,
    properties_never_read,
    sync,
)

CREATED = datetime(2026, 9, 1, 9, tzinfo=UTC)
SEARCH = "/crm/v3/objects/deals/search"


def _rewrite_results(
    handler: Callable[[Request], Response], change: Callable[[dict[str, Any]], None]
) -> Callable[[Request], Response]:
    """The sandbox's handler, with `change` applied to every object of its search answers."""

    def handle(request: Request) -> Response:
        response = handler(request)
        if request.path != SEARCH or response.status != 200:
            return response
        payload = json.loads(response.body)
        for result in payload["results"]:
            change(result)
        return Response.json(payload)

    return handle


def _properties(table: pa.Table) -> dict[str, dict[str, str | None]]:
    return {r["object_id"]: dict(r["properties"]) for r in table.to_pylist()}


def _deals(sandbox, n: int) -> list[str]:
    return [
        sandbox.add_deal(
            CREATED,
            {"amount": 100 * (i + 1), "dealstage": "closedwon", "pipeline": "default"},
        )
        for i in range(n)
    ]


def test_a_property_sent_as_null_stays_apart_from_one_not_sent(
    start_sandbox, settings_for, tmp_path: Path
):
    sandbox, server = start_sandbox(deals=0, contacts=0)
    sent_null, left_out, sent = _deals(sandbox, 3)

    def change(result: dict[str, Any]) -> None:
        # All three in one answer: the difference must survive per object, not per page.
        if result["id"] == sent_null:
            result["properties"]["amount"] = None
        elif result["id"] == left_out:
            del result["properties"]["amount"]

    server.handler = _rewrite_results(sandbox.handle, change)
    settings = settings_for(server, sandbox)
    table = fetch_hubspot_objects(settings, "deals", None, ["amount"])

    props = _properties(table)
    assert "amount" in props[sent_null] and props[sent_null]["amount"] is None
    assert "amount" not in props[left_out]
    assert props[sent]["amount"] == "300"
    assert props[left_out]["dealstage"] == "closedwon"  # the rest of that object is whole

    # The warehouse sees the object read without `amount`, so the next run reads everything
    # again; an amount sent as null is a value (none), not a property never read.
    con = connect(tmp_path / "answers.duckdb")
    try:
        load_object_read(
            con,
            "deals",
            table,
            full_read=True,
            previous_cursor=None,
            fetched_at=datetime.now(UTC),
            run_id="test",
            pipelines=fetch_hubspot_pipelines(settings),
        )
        assert properties_never_read(con, "deals", ["amount", "dealstage"]) == ["amount"]
        stored = _properties(current_objects(con))
    finally:
        con.close()
    assert stored == props

    # For the numbers null and left out are alike: only the deal with an amount adds up.
    won_revenue = MetricRequest(
        "won_revenue",
        HubSpotQuery(
            object="deals",
            aggregate="sum",
            property="amount",
            date_property="createdate",
            stage="won",
        ),
    )
    day = CREATED.date()
    daily = daily_metrics_from_objects(
        table, fetch_hubspot_pipelines(settings), [won_revenue], day, day
    )
    assert daily["value"].to_pylist() == [300.0]


def test_text_comes_through_as_sent_and_other_values_keep_their_text(start_sandbox, settings_for):
    sandbox, server = start_sandbox(deals=0, contacts=0)
    plain, numbers = _deals(sandbox, 2)
    name = 'Größe – 東京 ☃ 😀 "quoted" \\ back'

    def change(result: dict[str, Any]) -> None:
        if result["id"] == plain:
            result["properties"]["dealname"] = name
        else:
            # Not HubSpot's format (it sends strings), kept as text rather than failing.
            result["properties"]["amount"] = 1250.5
            result["properties"]["hs_is_closed"] = True

    server.handler = _rewrite_results(sandbox.handle, change)
    table = fetch_hubspot_objects(settings_for(server, sandbox), "deals", None, ["amount"])

    props = _properties(table)
    assert props[plain]["dealname"] == name
    assert props[plain]["amount"] == "100"
    assert props[numbers]["amount"] == "1250.5"
    assert props[numbers]["hs_is_closed"] == "True"
    assert table.schema.equals(OBJECTS_SCHEMA)


def test_objects_without_properties_or_archived_flag_read_as_empty_and_live(
    start_sandbox, settings_for
):
    sandbox, server = start_sandbox(deals=0, contacts=0)
    bare, normal = _deals(sandbox, 2)

    def change(result: dict[str, Any]) -> None:
        if result["id"] == bare:
            del result["properties"]
            del result["archived"]

    server.handler = _rewrite_results(sandbox.handle, change)
    table = fetch_hubspot_objects(settings_for(server, sandbox), "deals", None, ["amount"])

    rows = {r["object_id"]: r for r in table.to_pylist()}
    assert rows[bare]["properties"] == [] and rows[bare]["archived"] is False
    assert dict(rows[normal]["properties"])["amount"] == "200"
    assert table["properties"].null_count == 0  # the warehouse column is NOT NULL


def test_an_empty_crm_is_an_empty_table(empty_crm):
    _, server, settings = empty_crm

    table = fetch_hubspot_objects(settings, "deals", None, ["amount"])

    assert table.num_rows == 0
    assert table.schema.equals(OBJECTS_SCHEMA)
    assert server.request_counts[SEARCH] == 1


def test_short_pages_give_the_same_rows_as_full_ones(start_sandbox, settings_for):
    # Pages of 37 and of 200 results end up in one table, row for row the same.
    sandbox, server = start_sandbox(deals=900, contacts=0)
    settings = settings_for(server, sandbox)
    full = fetch_hubspot_objects(settings, "deals", None, ["amount", "closedate"])

    sandbox.short_pages(every=2, size=37)
    short = fetch_hubspot_objects(settings, "deals", None, ["amount", "closedate"])

    assert short.drop_columns(["fetched_at", "request_hash"]).equals(
        full.drop_columns(["fetched_at", "request_hash"])
    )
    assert (
        pc.count_distinct(short["request_hash"]).as_py()
        > pc.count_distinct(full["request_hash"]).as_py()
    )


_MAPS = pa.array(
    [
        [("a", "1"), ("b", None)],  # b sent as null
        [],
        None,  # no map at all
        [("b", "2"), ("a", "3"), ("c", "x")],
        [("c", "y")],  # a left out
        [("a", "4"), ("a", "5")],  # a twice: the first counts, as with map_lookup
        [("ä", "ü"), ("a", "")],
    ],
    pa.map_(pa.string(), pa.string()),
)


@pytest.mark.parametrize(
    "maps",
    [
        pa.chunked_array([_MAPS]),
        pa.chunked_array([_MAPS.slice(2), _MAPS.slice(0, 4), _MAPS.slice(5)]),
        pa.chunked_array([], pa.map_(pa.string(), pa.string())),
    ],
    ids=["one chunk", "sliced chunks", "empty"],
)
@pytest.mark.parametrize("name", ["a", "b", "c", "ä", "missing"])
def test_property_lookup_gives_what_map_lookup_gives(maps: pa.ChunkedArray, name: str):
    expected = pc.map_lookup(maps, pa.scalar(name), "first").to_pylist()

    assert _Properties(maps).lookup(name).to_pylist() == expected


def test_property_lookup_when_every_row_has_the_property_once():
    # The fast path (values already in row order) against map_lookup on the same rows.
    maps = pa.chunked_array(
        [pa.array([[("k", str(i)), ("z", None)] for i in range(50)], _MAPS.type)]
    )

    got = _Properties(maps).lookup("k").to_pylist()

    assert got == [str(i) for i in range(50)]
    assert _Properties(maps).lookup("z").to_pylist() == [None] * 50


def test_daily_values_count_the_newest_of_several_versions(start_sandbox, settings_for):
    # Two versions of a deal in one table (a full and an incremental read): the newer one's
    # amount counts, whichever comes first in the table.
    sandbox, server = start_sandbox(deals=0, contacts=0)
    _deals(sandbox, 1)
    settings = settings_for(server, sandbox)
    older = fetch_hubspot_objects(settings, "deals", None, ["amount"])
    (row,) = older.to_pylist()
    newer_row = {
        **row,
        "updated_at": row["updated_at"] + timedelta(days=1),
        "properties": [*[(k, v) for k, v in row["properties"] if k != "amount"], ("amount", "999")],
    }
    newer = pa.Table.from_pylist([newer_row], schema=OBJECTS_SCHEMA)
    amount_by_creation = MetricRequest(
        "amount_created",
        HubSpotQuery(
            object="deals", aggregate="sum", property="amount", date_property="createdate"
        ),
    )
    day = CREATED.date()
    stages = fetch_hubspot_pipelines(settings)
    for both in (pa.concat_tables([newer, older]), pa.concat_tables([older, newer])):
        daily = daily_metrics_from_objects(both, stages, [amount_by_creation], day, day)
        assert daily["value"].to_pylist() == [999.0]


def test_a_read_taken_for_a_first_one_counts_what_the_load_kept(
    start_sandbox, settings_for, tmp_path: Path
):
    # The cursor is gone but a newer version of the deal is stored: the run reads everything
    # as a first read, its daily values start on the rows just read while the load runs, yet
    # the load keeps the stored newer version, so the daily values must come from that.
    sandbox, server = start_sandbox(deals=0, contacts=0)
    _deals(sandbox, 1)
    settings = settings_for(server, sandbox)
    (row,) = fetch_hubspot_objects(settings, "deals", None, ["amount"]).to_pylist()
    newer = {
        **row,
        "updated_at": row["updated_at"] + timedelta(days=1),
        "properties": [*[(k, v) for k, v in row["properties"] if k != "amount"], ("amount", "999")],
    }
    path = tmp_path / "warehouse.duckdb"
    with connection(path) as con:
        load_object_read(
            con,
            "deals",
            pa.Table.from_pylist([newer], schema=OBJECTS_SCHEMA),
            full_read=True,
            previous_cursor=None,
            fetched_at=datetime.now(UTC),
            run_id="before",
        )
        con.execute("DELETE FROM raw.hubspot_sync_state")
    amount_by_creation = MetricRequest(
        "amount_created",
        HubSpotQuery(
            object="deals", aggregate="sum", property="amount", date_property="createdate"
        ),
    )
    day = CREATED.date()
    report = sync(
        lambda: connection(path),
        settings,
        [amount_by_creation],
        day,
        day,
        earliest_needed=day,
        run_id="after",
    )
    assert report.reads[0].how == "full read (first read)"
    assert report.result.daily["value"].to_pylist() == [999.0]  # the sandbox's deal has 100


def test_a_load_counts_the_versions_it_added(tmp_path: Path) -> None:
    """A first read adds every version; a later read only the versions not stored yet: one
    seen before adds none, a changed object read twice (a read's overlap) adds one, a new
    object one, and a later full read without an object archives it and records that too."""
    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    t1 = t0 + timedelta(hours=1)

    def deals(*versions: tuple[str, datetime, str]) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {
                    "object_type": "deals",
                    "object_id": object_id,
                    "archived": False,
                    "created_at": t0,
                    "updated_at": updated,
                    "archived_at": None,
                    "properties": [("amount", amount)],
                    "fetched_at": updated,
                    "request_hash": f"h{amount}",
                }
                for object_id, updated, amount in versions
            ],
            schema=OBJECTS_SCHEMA,
        )

    def load(rows: pa.Table, full_read: bool) -> tuple[bool, int, int]:
        loaded = load_object_read(
            con,
            "deals",
            rows,
            full_read=full_read,
            previous_cursor=None,
            fetched_at=t1,
            run_id="test",
        )
        return loaded.first_read, loaded.new_versions, loaded.archived_missing

    with connection(tmp_path / "versions.duckdb") as con:
        assert load(deals(("1", t0, "10"), ("2", t0, "20")), full_read=True) == (True, 2, 0)
        changed = deals(("1", t0, "10"), ("2", t1, "25"), ("2", t1, "25"), ("3", t1, "30"))
        assert load(changed, full_read=False) == (False, 2, 0)
        assert load(deals(("1", t0, "10"), ("3", t1, "30")), full_read=True) == (False, 0, 1)
        (versions,) = con.execute("SELECT count(*) FROM raw.hubspot_object_history").fetchone()
        live = con.execute(
            "SELECT object_id, properties['amount'] FROM raw.hubspot_objects "
            "WHERE NOT archived ORDER BY object_id"
        ).fetchall()
    assert versions == 5
    assert live == [("1", "10"), ("3", "30")]
