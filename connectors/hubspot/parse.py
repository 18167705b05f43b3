"""HubSpot's answers read: deals, contacts and deal pipelines as Arrow tables (the raw layer's
rows: each object's properties exactly as HubSpot sent them, strings, in a map column, plus the
request hash of the answer it came from), and the daily metric values computed from them:
counts and sums placed on the day of a date property, ratios as numerator and denominator.

Vectorised: the map column of properties is flattened once and each property pulled out with
pyarrow compute, days are grouped with an in-memory DuckDB over Arrow (no warehouse involved).
200k deals take a few tenths of a second for three metrics, with no Python loop over objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import MetricRequest, request_hash
from connectors.hubspot.requests import AMOUNT_PROPERTIES, DEAL_CURRENCY_PROPERTY, hubspot_query
from connectors.results import DAILY_SCHEMA, with_currency
from connectors.scratch import scratch_connection
from okr_definitions.sources.hubspot import HubSpotQuery, HubSpotSelection


@dataclass
class HubSpotAnswer:
    """One answer with the hash of the request that produced it (provenance for raw rows)."""

    data: dict[str, Any]
    request_hash: str


TIMESTAMP_UTC = pa.timestamp("us", tz="UTC")

# One row per object version read: its current state as of `fetched_at`.
OBJECTS_SCHEMA = pa.schema(
    [
        pa.field("object_type", pa.string(), nullable=False),  # deals | contacts
        pa.field("object_id", pa.string(), nullable=False),  # HubSpot's id (digits, up to 64-bit)
        pa.field("archived", pa.bool_(), nullable=False),
        pa.field("created_at", TIMESTAMP_UTC),
        pa.field("updated_at", TIMESTAMP_UTC, nullable=False),  # = hs_lastmodifieddate
        pa.field("archived_at", TIMESTAMP_UTC),
        pa.field("properties", pa.map_(pa.string(), pa.string())),  # as sent: strings or null
        pa.field("fetched_at", TIMESTAMP_UTC, nullable=False),
        pa.field("request_hash", pa.string(), nullable=False),
    ]
)

# One row per deal stage, with the outcome read from the stage's metadata.
PIPELINE_STAGES_SCHEMA = pa.schema(
    [
        pa.field("object_type", pa.string(), nullable=False),
        pa.field("pipeline_id", pa.string(), nullable=False),
        pa.field("pipeline_label", pa.string()),
        pa.field("pipeline_display_order", pa.int32()),
        pa.field("pipeline_archived", pa.bool_(), nullable=False),
        pa.field("stage_id", pa.string(), nullable=False),
        pa.field("stage_label", pa.string()),
        pa.field("stage_display_order", pa.int32()),
        pa.field("is_closed", pa.bool_()),
        pa.field("probability", pa.float64()),
        pa.field("outcome", pa.string(), nullable=False),  # won | lost | open
        pa.field("stage_archived", pa.bool_(), nullable=False),
        pa.field("fetched_at", TIMESTAMP_UTC, nullable=False),
        pa.field("request_hash", pa.string(), nullable=False),
    ]
)


# One search or list result as HubSpot sends it: the fields the raw rows keep.
_RESULT = pa.struct(
    [
        pa.field("id", pa.string()),
        pa.field("archived", pa.bool_()),
        pa.field("createdAt", pa.string()),
        pa.field("updatedAt", pa.string()),
        pa.field("archivedAt", pa.string()),
        pa.field("properties", pa.map_(pa.string(), pa.string())),
    ]
)


def _as_sent(result: dict[str, Any]) -> dict[str, Any]:
    """One result in _RESULT's types, value by value, for the pages pyarrow cannot convert
    as they are."""
    properties = result.get("properties") or {}
    return {
        "id": str(result["id"]),
        "archived": bool(result.get("archived", False)),
        "createdAt": result.get("createdAt"),
        "updatedAt": result.get("updatedAt"),
        "archivedAt": result.get("archivedAt"),
        # HubSpot sends every property value as a string; keep anything else as its text.
        "properties": {
            k: v if v is None or isinstance(v, str) else str(v) for k, v in properties.items()
        },
    }


def _result_rows(results: list[dict[str, Any]]) -> pa.StructArray:
    """A page's results (as the client parsed them) as one Arrow array of _RESULT, converted
    by pyarrow in one call.

    Each object's properties become a map with exactly the keys HubSpot sent, so a property
    sent as null stays apart from one not sent at all (`properties_never_read` relies on it).
    This is why the answers are not read with pyarrow's JSON reader as GA4's are: it gives
    null for both, and it has no map type. A page with a value of another type (an id or a
    property value as a JSON number), an object without properties or without an id goes
    through `_as_sent`.
    """
    try:
        rows = pa.array(results, _RESULT)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([_as_sent(r) for r in results], _RESULT)
    if rows.null_count or rows.field("id").null_count or rows.field("properties").null_count:
        return pa.array([_as_sent(r) for r in results], _RESULT)
    return rows


class ObjectRows:
    """OBJECTS_SCHEMA rows collected page by page: each page becomes Arrow as it arrives, so
    its Python objects are freed at once (per-value Python lists of 200,000 deals' properties
    held ~100 MB more until the end), and the table is put together once."""

    def __init__(self, object_type: str) -> None:
        self.object_type = object_type
        self.pages: list[pa.StructArray] = []
        self.hashes: list[pa.Array] = []

    def add(self, page: HubSpotAnswer) -> int:
        rows = _result_rows(page.data.get("results") or [])
        self.pages.append(rows)
        self.hashes.append(pa.repeat(pa.scalar(page.request_hash, pa.string()), len(rows)))
        return len(rows)

    def table(self, fetched_at: datetime) -> pa.Table:
        rows = pa.chunked_array(self.pages, _RESULT).combine_chunks()
        n = len(rows)
        return pa.Table.from_arrays(
            [
                pa.repeat(pa.scalar(self.object_type, pa.string()), n),
                rows.field("id"),
                pc.fill_null(rows.field("archived"), False),
                pc.cast(rows.field("createdAt"), TIMESTAMP_UTC),
                pc.cast(rows.field("updatedAt"), TIMESTAMP_UTC),
                pc.cast(rows.field("archivedAt"), TIMESTAMP_UTC),
                rows.field("properties"),
                pa.repeat(pa.scalar(fetched_at, TIMESTAMP_UTC), n),
                pa.chunked_array(self.hashes, pa.string()).combine_chunks(),
            ],
            schema=OBJECTS_SCHEMA,
        )


def stage_outcome(metadata: dict[str, Any]) -> tuple[bool | None, float | None, str]:
    """(is_closed, probability, outcome) of a deal stage from its metadata.

    HubSpot marks closed stages `isClosed: "true"`; a closed stage with probability 1.0 is won,
    any other closed stage lost. Where `isClosed` is missing (older portals), probability
    1.0 / 0.0 are taken as closed won / lost.
    """
    raw_prob = metadata.get("probability")
    try:
        probability = float(raw_prob) if raw_prob not in (None, "") else None
    except ValueError:
        probability = None
    raw_closed = metadata.get("isClosed")
    if raw_closed is None:
        is_closed = None
        closed = probability in (0.0, 1.0)
    else:
        is_closed = closed = str(raw_closed).lower() == "true"
    if not closed:
        return is_closed, probability, "open"
    return is_closed, probability, "won" if (probability or 0.0) >= 1.0 else "lost"


def pipelines_table(
    page: HubSpotAnswer, fetched_at: datetime, object_type: str = "deals"
) -> pa.Table:
    rows = []
    for p in page.data.get("results") or []:
        for s in p.get("stages") or []:
            is_closed, probability, outcome = stage_outcome(s.get("metadata") or {})
            rows.append(
                {
                    "object_type": object_type,
                    "pipeline_id": str(p["id"]),
                    "pipeline_label": p.get("label"),
                    "pipeline_display_order": p.get("displayOrder"),
                    "pipeline_archived": bool(p.get("archived", False)),
                    "stage_id": str(s["id"]),
                    "stage_label": s.get("label"),
                    "stage_display_order": s.get("displayOrder"),
                    "is_closed": is_closed,
                    "probability": probability,
                    "outcome": outcome,
                    "stage_archived": bool(s.get("archived", False)),
                    "fetched_at": fetched_at,
                    "request_hash": page.request_hash,
                }
            )
    return pa.Table.from_pylist(rows, schema=PIPELINE_STAGES_SCHEMA)


_OUTCOME_SETS = {"won": ("won",), "lost": ("lost",), "closed": ("won", "lost"), "open": ("open",)}


_ENTRIES = pa.list_(pa.struct([pa.field("key", pa.string()), pa.field("value", pa.string())]))


class _Properties:
    """A map column of properties, flattened once, to pull single properties out of.

    pc.map_lookup walks every map for each property it is asked for (~0.1 s a property on
    200k deals); comparing the flat keys with one name is a single vectorised pass.
    """

    def __init__(self, maps: pa.ChunkedArray) -> None:
        lists = pa.concat_arrays([chunk.cast(_ENTRIES) for chunk in maps.chunks] or [_EMPTY])
        entries = lists.flatten()
        self.keys = entries.field("key")
        self.values = entries.field("value")
        self.rows = pc.list_parent_indices(lists)  # the row each entry belongs to
        self.row_numbers = _row_numbers(len(lists))

    def lookup(self, name: str) -> pa.Array:
        """Each row's value of `name`, as map_lookup(..., "first") gives it: null where the
        row has no such key or its value is null."""
        where = pc.indices_nonzero(pc.equal(self.keys, name))
        values = self.values.take(where)
        rows = self.rows.take(where)
        if rows.equals(self.row_numbers):
            return values  # every row has the key exactly once: already in row order
        # Where each row's first entry with that key is among the matches (null: none).
        return values.take(pc.index_in(self.row_numbers, value_set=rows))


_EMPTY = pa.array([], _ENTRIES)


def _row_numbers(n: int) -> pa.Array:
    """0, 1, ..., n - 1 (int64), built by Arrow rather than from a Python range."""
    return pc.cast(pc.indices_nonzero(pa.repeat(pa.scalar(True), n)), pa.int64())


class _Columns:
    """Properties of the current, non-archived objects of one type as flat Arrow columns.

    Extracted once per (object type, property) from the flattened map column of all objects
    (_Properties, shared by the object types), then narrowed to the current rows.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        objects: pa.Table,
        properties: _Properties,
        pipelines: pa.Table,
        object_type: str,
        time_zone: str,
        one_version_each: bool = False,
    ) -> None:
        self.time_zone = time_zone
        self.rows = (
            _live(objects, object_type) if one_version_each else _current(con, objects, object_type)
        )
        self.num_rows = len(self.rows)
        # A day's value counts objects from many answers: its rows name the set of them (the
        # hashes of raw.hubspot_objects' rows counted), the same set giving the same hash.
        answers = pc.unique(objects["request_hash"].take(self.rows)).to_pylist()
        self.read_hash = request_hash({"object_type": object_type, "answers": sorted(answers)})
        self._properties = properties
        self._strings: dict[str, pa.Array] = {}
        self._dates: dict[str, pa.ChunkedArray] = {}
        self.outcome = (
            _outcomes(self, pipelines)
            if object_type == "deals"
            else self.constant(None, pa.string())
        )

    def constant(self, value: object, type_: pa.DataType) -> pa.ChunkedArray:
        return pa.chunked_array([pa.repeat(pa.scalar(value, type_), self.num_rows)])

    def strings(self, name: str) -> pa.Array:
        if name not in self._strings:
            values = self._properties.lookup(name).take(self.rows)
            # HubSpot sends "" for a cleared property: the same as no value.
            self._strings[name] = pc.if_else(pc.equal(values, ""), None, values)
        return self._strings[name]

    def dates(self, name: str) -> pa.ChunkedArray:
        if name not in self._dates:
            self._dates[name] = local_dates(self.strings(name), self.time_zone)
        return self._dates[name]

    def values(self, q: HubSpotQuery) -> pa.ChunkedArray:
        if q.aggregate == "count":
            return self.constant(1.0, pa.float64())
        if q.property in AMOUNT_PROPERTIES:
            return _numbers(
                pc.coalesce(self.strings("amount_in_home_currency"), self.strings("amount"))
            )
        return _numbers(self.strings(str(q.property)))

    def currencies(self, q: HubSpotQuery, company_currency: str | None) -> pa.ChunkedArray:
        """Each object's currency of `values(q)`: the company currency where HubSpot gave the
        amount in it, the deal's own currency where only `amount` was there; NULL for counts
        and properties that are not amounts."""
        if q.aggregate == "count" or q.property not in AMOUNT_PROPERTIES:
            return self.constant(None, pa.string())
        company = self.constant(company_currency, pa.string())
        own = pc.coalesce(self.strings(DEAL_CURRENCY_PROPERTY), company)
        converted = pc.is_valid(self.strings("amount_in_home_currency"))
        return pc.if_else(converted, company, own)


def _live(objects: pa.Table, object_type: str) -> pa.Array:
    """`_current` where each object of `objects` is there once (the stored objects, whose key
    is (object_type, object_id)): its rows of this type that are not archived, in table order.
    Arrow's filter instead of DuckDB's window over every object (~6 ms a type on the demo's
    13,600 objects, mostly the query's fixed cost)."""
    live = pc.and_(pc.equal(objects["object_type"], object_type), pc.invert(objects["archived"]))
    return pc.cast(pc.indices_nonzero(pc.fill_null(live, False)), pa.int64())


def _current(con: duckdb.DuckDBPyConnection, objects: pa.Table, object_type: str) -> pa.Array:
    """The rows of `objects` holding the newest version of each object of this type, archived
    ones dropped (in table order).

    `objects` may hold several versions of an object (a full and an incremental read); the
    newest `updated_at` wins and an archive beats an edit with the same timestamp.
    """
    keys = objects.select(["object_type", "object_id", "updated_at", "archived"])
    keys = keys.append_column("row", _row_numbers(objects.num_rows))
    con.register("keys", keys)
    try:
        rows = con.sql(
            """
            SELECT row FROM keys
            WHERE object_type = $object_type
            QUALIFY row_number() OVER (
                PARTITION BY object_id ORDER BY updated_at DESC, archived DESC) = 1
                AND NOT archived
            ORDER BY row
            """,
            params={"object_type": object_type},
        ).to_arrow_table()
    finally:
        con.unregister("keys")
    return rows["row"].combine_chunks()


def local_dates(values: pa.ChunkedArray | pa.Array, time_zone: str) -> pa.ChunkedArray:
    """HubSpot date values as calendar days in the account's zone.

    Datetimes come as ISO 8601 in UTC (converted to the zone), date-only properties as
    YYYY-MM-DD (midnight UTC by HubSpot's convention: kept as that calendar day), and older
    answers as epoch milliseconds.
    """
    values = pa.chunked_array([values]) if isinstance(values, pa.Array) else values
    digits = pc.match_substring_regex(values, r"^[0-9]+$")
    plain = pc.match_substring_regex(values, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    iso = pc.if_else(pc.or_kleene(digits, plain), None, values)
    utc = pa.timestamp("us", tz="UTC")
    moments = pc.coalesce(
        _timestamps(iso, utc),
        pc.cast(
            pc.cast(pc.if_else(digits, values, None), pa.int64()), pa.timestamp("ms", tz="UTC")
        ).cast(utc),
    )
    # A zoned timestamp casts to the zone's calendar day.
    zoned = moments.cast(pa.timestamp("us", tz=time_zone)).cast(pa.date32())
    return pc.coalesce(zoned, pc.cast(pc.if_else(plain, values, None), pa.date32()))


def _timestamps(values: pa.ChunkedArray, unit: pa.DataType) -> pa.ChunkedArray:
    try:
        return pc.cast(values, unit)
    except pa.ArrowInvalid:
        # Some value is not ISO 8601: parse one by one and leave the odd ones unplaced.
        def parse(text: str | None) -> datetime | None:
            try:
                return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
            except ValueError:
                return None

        return pa.chunked_array([pa.array([parse(v) for v in values.to_pylist()], unit)])


def _numbers(values: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return pc.cast(values, pa.float64())
    except pa.ArrowInvalid:

        def parse(text: str | None) -> float | None:
            try:
                return float(text) if text is not None else None
            except ValueError:
                return None

        return pa.chunked_array([pa.array([parse(v) for v in values.to_pylist()], pa.float64())])


def _selected(
    cols: _Columns, sel: HubSpotQuery | HubSpotSelection | None, keep: pa.ChunkedArray
) -> pa.ChunkedArray:
    """Which of the kept objects `sel` takes (deal outcome, current lifecycle stage)."""
    if sel is None:
        return cols.constant(False, pa.bool_())
    mask = keep
    if sel.stage != "any":
        wanted = pa.array(_OUTCOME_SETS[sel.stage])
        mask = pc.and_(mask, pc.fill_null(pc.is_in(cols.outcome, wanted), False))
    if sel.lifecycle_stage:
        mask = pc.and_(
            mask, pc.fill_null(pc.equal(cols.strings("lifecyclestage"), sel.lifecycle_stage), False)
        )
    return mask


def _outcomes(cols: _Columns, pipelines: pa.Table) -> pa.ChunkedArray:
    """Each deal's stage outcome (won/lost/open) from the pipelines' stage metadata: the
    outcome of the stage with the deal's pipeline and dealstage ids (the newest read of it,
    if several are given), NULL where there is none.

    Matched in Arrow by numbering the stages' pipeline and stage ids: a DuckDB join cost
    ~6 ms of fixed cost for the demo's few stages."""
    n = cols.num_rows
    if n == 0 or pipelines.num_rows == 0:
        return cols.constant(None, pa.string())
    stages = pipelines.select(["pipeline_id", "stage_id", "outcome", "fetched_at"])
    # The newest read first, so a stage read twice keeps its newest outcome below.
    stages = stages.take(pc.sort_indices(stages, [("fetched_at", "descending")]))
    pipeline_ids = pc.unique(stages["pipeline_id"].drop_null())
    stage_ids = pc.unique(stages["stage_id"].drop_null())

    def code(pipeline: pa.ChunkedArray | pa.Array, stage: pa.ChunkedArray | pa.Array) -> pa.Array:
        """(pipeline, stage) as one number; NULL where either id is not a stage's."""
        p = pc.index_in(pipeline, value_set=pipeline_ids)
        s = pc.index_in(stage, value_set=stage_ids)
        return pc.add(pc.multiply(pc.cast(p, pa.int64()), len(stage_ids)), pc.cast(s, pa.int64()))

    stage_codes = code(stages["pipeline_id"], stages["stage_id"])
    # index_in finds each code's first occurrence: the newest read of the stage.
    at = pc.index_in(
        code(cols.strings("pipeline"), cols.strings("dealstage")), stage_codes, skip_nulls=True
    )
    return stages["outcome"].take(at)


# Sums go through DECIMAL: a double sum depends on the order rows are added (which changes
# with the stored table's order and DuckDB's parallelism), and a day that differs in its last
# bit would be recorded as a restated value in staging.metric_revisions.
# Every metric in one statement (`placed` holds each metric's rows under its number, `metrics`
# what it is): a statement's fixed cost is most of a small account's run.
_DAILY_SQL = """
WITH per_day AS (
    SELECT metric, day,
           CAST(sum(CAST(CASE WHEN in_num THEN v END AS DECIMAL(38, 6))) AS DOUBLE) AS num,
           CAST(sum(CAST(CASE WHEN in_den THEN v END AS DECIMAL(38, 6))) AS DOUBLE) AS den,
           nullif(array_to_string(list_sort(
               list(DISTINCT cur) FILTER (WHERE (in_num OR in_den) AND v IS NOT NULL)), '+'), '')
               AS cur
    FROM placed
    WHERE day BETWEEN $start AND $end
    GROUP BY metric, day
),
days AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP), INTERVAL 1 DAY)
)
SELECT
    m.metric_id,
    d.day AS date,
    CASE WHEN m.ratio THEN coalesce(p.num, 0) / nullif(coalesce(p.den, 0), 0)
         ELSE coalesce(p.num, 0) END AS value,
    CASE WHEN m.ratio THEN coalesce(p.num, 0) END AS numerator,
    CASE WHEN m.ratio THEN coalesce(p.den, 0) END AS denominator,
    m.request_hash,
    CASE WHEN m.money THEN coalesce(p.cur, $company_currency) END AS currency
FROM metrics AS m
CROSS JOIN days AS d
LEFT JOIN per_day AS p ON p.metric = m.metric AND p.day = d.day
ORDER BY m.metric, d.day
"""

_METRICS_SCHEMA = pa.schema(
    [
        pa.field("metric", pa.int32()),
        pa.field("metric_id", pa.string()),
        pa.field("ratio", pa.bool_()),
        pa.field("money", pa.bool_()),
        pa.field("request_hash", pa.string()),
    ]
)


def daily_metrics_from_objects(
    objects: pa.Table,
    pipelines: pa.Table,
    metrics: Sequence[MetricRequest],
    start: date,
    end: date,
    *,
    time_zone: str = "UTC",
    company_currency: str | None = None,
    one_version_each: bool = False,
) -> pa.Table:
    """DAILY_SCHEMA rows for every metric and every day in [start, end] (0 on days without
    objects; a ratio's value is NULL when its denominator is 0).

    objects: OBJECTS_SCHEMA rows (from fetch_hubspot_objects or the raw table); several
      versions of an object may be present, the newest counts; archived objects never count.
      one_version_each: the caller knows each object is there once (the raw table's rows),
      so no newest version need be picked.
    pipelines: PIPELINE_STAGES_SCHEMA rows; won/lost/open come from their `outcome`.
    time_zone: the account's zone, where a datetime falls on its day.
    company_currency: the account's company currency (`fetch_company_currency`); sums of
      amounts get a `currency` column: it, the deals' own currencies where HubSpot had no
      company-currency amount, several joined by `+` on a day that mixed them.
    """
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    columns: dict[str, _Columns] = {}
    properties = _Properties(objects["properties"])
    placed: list[pa.Table] = []
    described: list[dict[str, Any]] = []
    # One scratch database for every step of the call (connectors/scratch.py: a DuckDB
    # instance of its own would cost ~20 ms, a fixed cost a small account's run would feel).
    con = scratch_connection()
    try:
        for number, metric in enumerate(metrics):
            q = hubspot_query(metric)
            if q.object not in columns:
                columns[q.object] = _Columns(
                    con, objects, properties, pipelines, q.object, time_zone, one_version_each
                )
            cols = columns[q.object]
            keep = cols.constant(True, pa.bool_())
            if q.pipeline:
                keep = pc.fill_null(pc.equal(cols.strings("pipeline"), q.pipeline), False)
            placed.append(
                pa.table(
                    {
                        "metric": cols.constant(number, pa.int32()),
                        "day": cols.dates(q.date_property),
                        "v": cols.values(q),
                        "in_num": _selected(cols, q, keep),
                        "in_den": _selected(cols, q.denominator, keep),
                        "cur": cols.currencies(q, company_currency),
                    }
                )
            )
            described.append(
                {
                    "metric": number,
                    "metric_id": metric.metric_id,
                    "ratio": q.denominator is not None,
                    "money": q.aggregate == "sum" and q.property in AMOUNT_PROPERTIES,
                    "request_hash": cols.read_hash,
                }
            )
        if not described:
            return with_currency(DAILY_SCHEMA.empty_table(), {})
        con.register("placed", pa.concat_tables(placed))
        con.register("metrics", pa.Table.from_pylist(described, schema=_METRICS_SCHEMA))
        daily = con.sql(
            _DAILY_SQL,
            params={"start": start, "end": end, "company_currency": company_currency},
        ).to_arrow_table()
    finally:
        con.close()
    currency = daily["currency"].cast(pa.string())
    daily = daily.select(DAILY_SCHEMA.names).cast(DAILY_SCHEMA)
    return daily.append_column(pa.field("currency", pa.string()), currency)
