"""Daily metric values from HubSpot objects: counts and sums placed on the day of a date
property, ratios as numerator and denominator.

Vectorised: the map column of properties is flattened once and each property pulled out with
pyarrow compute, days are grouped with an in-memory DuckDB over Arrow (no warehouse involved).
200k deals take a few tenths of a second for three metrics, with no Python loop over objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import DAILY_SCHEMA, MetricRequest
from okr_definitions.sources.hubspot import HubSpotQuery, HubSpotSelection

# `amount` is in the deal's own currency; HubSpot also keeps it converted to the company
# currency (`amount_in_home_currency`, a calculated property) for multi-currency accounts.
# Sums of either read the company currency where HubSpot has it, the deal's amount otherwise.
AMOUNT_PROPERTIES = ("amount", "amount_in_home_currency")
_OUTCOME_SETS = {"won": ("won",), "lost": ("lost",), "closed": ("won", "lost"), "open": ("open",)}


def hubspot_query(metric: MetricRequest) -> HubSpotQuery:
    """The metric's query as a HubSpotQuery (accepts the model or its dict form)."""
    q = metric.query
    return q if isinstance(q, HubSpotQuery) else HubSpotQuery.model_validate(q)


def is_additive(query: HubSpotQuery) -> bool:
    # Counts and sums add up across days; a ratio (win rate) is returned as daily numerator
    # and denominator, whose sums give any range's exact value.
    return True


def properties_for_metrics(metrics: Sequence[MetricRequest]) -> dict[str, list[str]]:
    """The properties to read per object type so these metrics can be computed."""
    needed: dict[str, set[str]] = {}
    for m in metrics:
        q = hubspot_query(m)
        names = needed.setdefault(q.object, set())
        names.add(q.date_property)
        if q.property in AMOUNT_PROPERTIES:
            names.update(AMOUNT_PROPERTIES)
        elif q.property:
            names.add(q.property)
        if q.lifecycle_stage or (q.denominator and q.denominator.lifecycle_stage):
            names.add("lifecyclestage")
    return {obj: sorted(names) for obj, names in needed.items()}


def date_properties_for_metrics(metrics: Sequence[MetricRequest]) -> dict[str, list[str]]:
    """The date properties that place objects on days, per object type."""
    dates: dict[str, set[str]] = {}
    for m in metrics:
        q = hubspot_query(m)
        dates.setdefault(q.object, set()).add(q.date_property)
    return {obj: sorted(d) for obj, d in dates.items()}


# A map column as the list of its (key, value) entries, which pyarrow can flatten.
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
        objects: pa.Table,
        properties: _Properties,
        pipelines: pa.Table,
        object_type: str,
        time_zone: str,
    ) -> None:
        self.time_zone = time_zone
        self.rows = _current(objects, object_type)
        self.num_rows = len(self.rows)
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


def _current(objects: pa.Table, object_type: str) -> pa.Array:
    """The rows of `objects` holding the newest version of each object of this type, archived
    ones dropped (in table order).

    `objects` may hold several versions of an object (a full and an incremental read); the
    newest `updated_at` wins and an archive beats an edit with the same timestamp.
    """
    keys = objects.select(["object_type", "object_id", "updated_at", "archived"])
    keys = keys.append_column("row", _row_numbers(objects.num_rows))
    con = duckdb.connect()
    try:
        con.register("keys", keys)
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
        con.close()
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
    """Each deal's stage outcome (won/lost/open) from the pipelines' stage metadata."""
    n = cols.num_rows
    if n == 0 or pipelines.num_rows == 0:
        return cols.constant(None, pa.string())
    deals = pa.table(
        {
            "row": _row_numbers(n),
            "pipeline": cols.strings("pipeline"),
            "dealstage": cols.strings("dealstage"),
        }
    )
    con = duckdb.connect()
    try:
        con.register("deals", deals)
        con.register(
            "pipelines", pipelines.select(["pipeline_id", "stage_id", "outcome", "fetched_at"])
        )
        joined = con.sql(
            """
            WITH stages AS (
                -- the newest read of each stage, if several are given
                SELECT pipeline_id, stage_id, outcome FROM pipelines
                QUALIFY row_number() OVER (
                    PARTITION BY pipeline_id, stage_id ORDER BY fetched_at DESC) = 1
            )
            SELECT s.outcome
            FROM deals AS d
            LEFT JOIN stages AS s ON s.pipeline_id = d.pipeline AND s.stage_id = d.dealstage
            ORDER BY d.row
            """
        ).to_arrow_table()
    finally:
        con.close()
    return joined["outcome"]


# Sums go through DECIMAL: a double sum depends on the order rows are added (which changes
# with the stored table's order and DuckDB's parallelism), and a day that differs in its last
# bit would be recorded as a restated value in staging.metric_revisions.
_DAILY_SQL = """
WITH per_day AS (
    SELECT day,
           CAST(sum(CAST(CASE WHEN in_num THEN v END AS DECIMAL(38, 6))) AS DOUBLE) AS num,
           CAST(sum(CAST(CASE WHEN in_den THEN v END AS DECIMAL(38, 6))) AS DOUBLE) AS den
    FROM placed
    WHERE day BETWEEN $start AND $end
    GROUP BY day
),
days AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP), INTERVAL 1 DAY)
)
SELECT
    $metric_id AS metric_id,
    d.day AS date,
    CASE WHEN $ratio THEN coalesce(p.num, 0) / nullif(coalesce(p.den, 0), 0)
         ELSE coalesce(p.num, 0) END AS value,
    CASE WHEN $ratio THEN coalesce(p.num, 0) END AS numerator,
    CASE WHEN $ratio THEN coalesce(p.den, 0) END AS denominator
FROM days AS d
LEFT JOIN per_day AS p ON p.day = d.day
ORDER BY d.day
"""


def daily_metrics_from_objects(
    objects: pa.Table,
    pipelines: pa.Table,
    metrics: Sequence[MetricRequest],
    start: date,
    end: date,
    *,
    time_zone: str = "UTC",
) -> pa.Table:
    """DAILY_SCHEMA rows for every metric and every day in [start, end] (0 on days without
    objects; a ratio's value is NULL when its denominator is 0).

    objects: OBJECTS_SCHEMA rows (from fetch_hubspot_objects or the raw table); several
      versions of an object may be present, the newest counts; archived objects never count.
    pipelines: PIPELINE_STAGES_SCHEMA rows; won/lost/open come from their `outcome`.
    time_zone: the account's zone, where a datetime falls on its day.
    """
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    columns: dict[str, _Columns] = {}
    properties = _Properties(objects["properties"])
    tables = []
    con = duckdb.connect()
    try:
        for metric in metrics:
            q = hubspot_query(metric)
            if q.object not in columns:
                columns[q.object] = _Columns(objects, properties, pipelines, q.object, time_zone)
            cols = columns[q.object]
            keep = cols.constant(True, pa.bool_())
            if q.pipeline:
                keep = pc.fill_null(pc.equal(cols.strings("pipeline"), q.pipeline), False)
            placed = pa.table(
                {
                    "day": cols.dates(q.date_property),
                    "v": cols.values(q),
                    "in_num": _selected(cols, q, keep),
                    "in_den": _selected(cols, q.denominator, keep),
                }
            )
            con.register("placed", placed)
            daily = con.sql(
                _DAILY_SQL,
                params={
                    "metric_id": metric.metric_id,
                    "start": start,
                    "end": end,
                    "ratio": q.denominator is not None,
                },
            ).to_arrow_table()
            con.unregister("placed")
            tables.append(daily.cast(DAILY_SCHEMA))
    finally:
        con.close()
    return pa.concat_tables(tables) if tables else DAILY_SCHEMA.empty_table()
