"""Salesforce answers as Arrow tables, and daily metric values from the stored records.

A read's records keep their fields as Salesforce's text in one struct column (`fields`, a
string per field read): REST JSON pages and Bulk CSV pages give the same rows, built column
by column, no Python object per record. The warehouse stores them as a map field → text
(:func:`fields_map_sql`), so one table holds any object and any set of fields, and the daily
values read them with DuckDB casts, grouped by day in DuckDB, no Python loop over records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import MetricRequest, request_hash
from connectors.results import DAILY_SCHEMA, FLAG_SCHEMA
from connectors.salesforce.requests import RECORD_TYPE_FIELD, salesforce_query
from connectors.scratch import scratch_connection
from okr_definitions.sources.salesforce import SalesforceFilter, SalesforceSelection

_TS = pa.timestamp("us", tz="UTC")
# The columns of a read's records, in order; `fields` holds the fields read (records_schema).
RECORD_COLUMNS = (
    "object",
    "record_id",
    "is_deleted",
    "system_modstamp",
    "fields",
    "fetched_at",
    "request_hash",
)
# Salesforce's datetimes: 2024-03-01T09:30:00.000+0000 (UTC, offset without a colon).
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%g%z"
# Field types whose values are money or numbers (describe's `type`).
NUMBER_TYPES = ("currency", "double", "int", "percent", "long")
DATE_TYPES = ("date", "datetime")


def records_schema(fields: Sequence[str]) -> pa.Schema:
    """The records of a read of `fields`: each field's value as Salesforce's text (NULL when
    empty) in the struct column `fields`."""
    return pa.schema(
        [
            pa.field("object", pa.string(), nullable=False),
            pa.field("record_id", pa.string(), nullable=False),
            pa.field("is_deleted", pa.bool_(), nullable=False),
            pa.field("system_modstamp", _TS, nullable=False),
            pa.field("fields", pa.struct([pa.field(n, pa.string()) for n in fields]), False),
            pa.field("fetched_at", _TS, nullable=False),
            pa.field("request_hash", pa.string(), nullable=False),
        ]
    )


def read_fields(records: pa.Table) -> list[str]:
    """The names of the fields a read's records hold."""
    return [f.name for f in records.schema.field("fields").type]


def fields_map_sql(column: str = "fields") -> str:
    """DuckDB's map field → text of a records struct column (every field, in the struct's
    order), as the warehouse stores it. Cast from the struct, whose names are unique already:
    MAP() of a key list and a value list checks each record's keys again, which took twice
    the time of the cast and the write together (1.4 µs a record)."""
    return f"CAST({column} AS MAP(VARCHAR, VARCHAR))"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _texts(values: list[Any]) -> pa.Array:
    """A field's values as Salesforce's text (JSON's true/false, numbers as written). A field
    holds one JSON type: its column is converted whole where it can be (a value at a time
    cost ~5 ms of a 50,000-record read)."""
    kinds = set(map(type, values)) - {type(None)}
    if kinds <= {str}:
        return pa.array(values, pa.string())
    if kinds == {bool}:
        return pa.array(values, pa.bool_()).cast(pa.string())  # Arrow writes true/false
    if kinds <= {int, float}:
        return pa.array([v if v is None else str(v) for v in values], pa.string())
    return pa.array([v if v is None or type(v) is str else _text(v) for v in values], pa.string())


def _column(records: list[dict[str, Any]], name: str) -> list[Any]:
    """A field of REST records; RecordType.DeveloperName comes nested as
    {"RecordType": {"attributes": …, "DeveloperName": …}} (null without a record type)."""
    if "." not in name:
        return [r.get(name) for r in records]
    parent, child = name.split(".", 1)
    return [n.get(child) if isinstance(n := r.get(parent), dict) else None for r in records]


def records_from_rest_page(
    object_name: str,
    records: list[dict[str, Any]],
    page_hash: str,
    fields: Sequence[str],
    fetched_at: datetime,
) -> pa.Table:
    """One REST query page's records (records_schema), column by column as the decoded JSON
    gives them."""
    n = len(records)
    schema = records_schema(fields)
    return pa.table(
        {
            "object": pa.array([object_name] * n, pa.string()),
            "record_id": pa.array([r["Id"] for r in records], pa.string()),
            "is_deleted": pa.array([bool(r["IsDeleted"]) for r in records], pa.bool_()),
            "system_modstamp": _timestamps(
                pa.array([r["SystemModstamp"] for r in records], pa.string())
            ),
            "fields": pa.StructArray.from_arrays(
                [_texts(_column(records, name)) for name in fields],
                fields=list(schema.field("fields").type),
            ),
            "fetched_at": pa.array([fetched_at] * n, _TS),
            "request_hash": pa.array([page_hash] * n, pa.string()),
        },
        schema=schema,
    )


def _timestamps(texts: pa.Array) -> pa.Array:
    """Salesforce's datetimes (`2026-01-31T09:15:00.000+0000`) as UTC timestamps: Arrow's
    ISO 8601 cast honours the offset (a DuckDB instance for the same cost ~20 ms to open)."""
    return texts.cast(_TS)


def records_from_csv(
    con: duckdb.DuckDBPyConnection,
    object_name: str,
    csv_path: str,
    fields: Sequence[str],
    fetched_at: datetime,
    page_hash: str,
) -> pa.Table:
    """A read's records (records_schema) from one Bulk API 2.0 CSV result page on disk, read
    by DuckDB (no Python object per record). Empty cells are NULL, as REST's nulls."""
    struct = ", ".join(f"'{name}': \"{name}\"" for name in fields)
    table = con.sql(
        f"""
        SELECT $object AS object, "Id" AS record_id,
               lower("IsDeleted") = 'true' AS is_deleted,
               strptime("SystemModstamp", '{DATETIME_FORMAT}') AS system_modstamp,
               {{{struct}}} AS fields,
               CAST($fetched_at AS TIMESTAMPTZ) AS fetched_at, $hash AS request_hash
        FROM read_csv($path, header = true, all_varchar = true, quote = '"', escape = '"')
        """,
        params={
            "object": object_name,
            "fetched_at": fetched_at,
            "hash": page_hash,
            "path": csv_path,
        },
    ).to_arrow_table()
    return table.cast(records_schema(fields))


def next_cursor(records: pa.Table, previous: datetime | None) -> datetime | None:
    """The newest SystemModstamp read (or the previous cursor when nothing newer came)."""
    if records.num_rows == 0:
        return previous
    newest = pc.max(records["system_modstamp"]).as_py()
    return max(newest, previous) if previous else newest


# --- daily values ------------------------------------------------------------------------

_STAGE_SQL = {
    "won": "f['IsWon'] = 'true'",
    "lost": "(f['IsClosed'] = 'true' AND f['IsWon'] = 'false')",
    "closed": "f['IsClosed'] = 'true'",
    "open": "f['IsClosed'] = 'false'",
}


class _Params:
    """Named DuckDB parameters for values taken from the definitions (never spliced)."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def _value_sql(field: str, value: object, p: _Params) -> str:
    """A field equal to one value, compared as Salesforce compares: text without regard to
    case, numbers as numbers, booleans as true/false."""
    v = f"f[{p(field)}]"
    if isinstance(value, bool):
        return f"lower({v}) = {p('true' if value else 'false')}"
    if isinstance(value, int | float):
        return f"TRY_CAST({v} AS DOUBLE) = {p(float(value))}"
    return f"lower({v}) = lower({p(str(value))})"


def _bound_sql(field: str, op: str, value: object, p: _Params) -> str:
    v = f"f[{p(field)}]"
    if isinstance(value, str):  # a date (lint_query): compare the value's calendar date
        return f"TRY_CAST(left({v}, 10) AS DATE) {op} CAST({p(value)} AS DATE)"
    return f"TRY_CAST({v} AS DOUBLE) {op} {p(float(value))}"  # type: ignore[arg-type]


def filter_sql(f: SalesforceFilter, p: _Params) -> str:
    """The filter over a stored record's map `f`, as SOQL evaluates it (`!=`/NOT IN keep
    records where the field is empty)."""
    match f.operator:
        case "equals":
            return _value_sql(f.field, f.operand, p)
        case "in" | "not_in":
            any_of = " OR ".join(_value_sql(f.field, x, p) for x in f.operand)  # type: ignore[attr-defined]
            if f.operator == "in":
                return f"coalesce({any_of}, false)"
            return f"(f[{p(f.field)}] IS NULL OR NOT coalesce({any_of}, false))"
        case "greater_than":
            return f"coalesce({_bound_sql(f.field, '>', f.operand, p)}, false)"
        case "less_than":
            return f"coalesce({_bound_sql(f.field, '<', f.operand, p)}, false)"
        case _:
            return f"(f[{p(f.field)}] IS {'' if f.operand else 'NOT '}NULL)"


def selection_sql(selection: SalesforceSelection | None, p: _Params) -> str:
    if selection is None:
        return "false"
    parts = ["true"]
    if selection.stage != "any":
        parts.append(_STAGE_SQL[selection.stage])
    if selection.record_type:
        parts.append(f"f[{p(RECORD_TYPE_FIELD)}] = {p(selection.record_type)}")
    parts += [filter_sql(f, p) for f in selection.filters]
    return "coalesce(" + " AND ".join(parts) + ", false)"


def _day_sql(date_field: str, p: _Params) -> str:
    """The record's day: a date field as it is (no zone); a datetime on the organisation's
    day ($tz)."""
    v = f"f[{p(date_field)}]"
    return (
        f"CASE WHEN length({v}) = 10 THEN TRY_CAST({v} AS DATE) "
        f"ELSE CAST(timezone($tz, try_strptime({v}, '{DATETIME_FORMAT}')) AS DATE) END"
    )


class DailyValues(NamedTuple):
    """What the stored records make of the metrics: daily values and the days' trust flags."""

    daily: pa.Table  # DAILY_SCHEMA plus `currency`
    flags: pa.Table  # FLAG_SCHEMA


@dataclass(frozen=True)
class Currency:
    """The org's currency: the corporate currency and, in a multi-currency org, each active
    or past currency's conversion rate (units per one corporate unit, CurrencyType)."""

    corporate: str | None
    rates: Mapping[str, float] | None = None  # None: a single-currency org

    @property
    def multi(self) -> bool:
        return self.rates is not None


# Sums go through DECIMAL: a double sum depends on the order rows are added, and a day that
# differs in its last bit would be recorded as a restated value in staging.metric_revisions.
_DAILY_SQL = """
WITH rates AS (
    SELECT unnest(CAST($rate_isos AS VARCHAR[])) AS iso,
           unnest(CAST($rate_values AS DOUBLE[])) AS rate
),
placed AS (
    SELECT {day} AS day, {value} AS v, {num} AS in_num, {den} AS in_den, request_hash,
           fetched_at, {unconverted} AS unconverted
    FROM (SELECT fields AS f, request_hash, fetched_at FROM {records}
          WHERE object = $object AND NOT is_deleted) AS current
    LEFT JOIN rates ON rates.iso = f['CurrencyIsoCode']
),
per_day AS (
    SELECT day,
           CAST(sum(CASE WHEN in_num THEN v END) AS DOUBLE) AS num,
           CAST(sum(CASE WHEN in_den THEN v END) AS DOUBLE) AS den,
           arg_max(request_hash, fetched_at) FILTER (WHERE in_num OR in_den) AS request_hash,
           string_agg(DISTINCT unconverted, ', ' ORDER BY unconverted)
               FILTER (WHERE in_num OR in_den) AS unconverted,
           count(unconverted) FILTER (WHERE in_num OR in_den) AS unconverted_records
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
    CASE WHEN $ratio THEN coalesce(p.den, 0) END AS denominator,
    CASE WHEN $money THEN $currency END AS currency,
    coalesce(p.request_hash, $empty_hash) AS request_hash,
    p.unconverted,
    coalesce(p.unconverted_records, 0) AS unconverted_records
FROM days AS d
LEFT JOIN per_day AS p ON p.day = d.day
ORDER BY d.day
"""


def daily_from_records(
    records: pa.Table,
    metrics: Sequence[MetricRequest],
    start: date,
    end: date,
    *,
    time_zone: str,
    currency: Currency,
    money_fields: set[tuple[str, str]],
) -> DailyValues:
    """:func:`daily_values` of a read's records (records_schema) in hand: of several versions
    of a record the newest counts."""
    con = scratch_connection()
    try:
        con.register("arrow_records", records)
        con.execute(
            f"""
            CREATE TABLE records AS
            SELECT object, record_id, is_deleted, {fields_map_sql()} AS fields,
                   fetched_at, request_hash
            FROM arrow_records
            QUALIFY row_number() OVER (
                PARTITION BY object, record_id ORDER BY system_modstamp DESC, is_deleted DESC) = 1
            """
        )
        con.unregister("arrow_records")
        return daily_values(
            con,
            "records",
            metrics,
            start,
            end,
            time_zone=time_zone,
            currency=currency,
            money_fields=money_fields,
        )
    finally:
        con.close()


def daily_values(
    con: duckdb.DuckDBPyConnection,
    records: str,
    metrics: Sequence[MetricRequest],
    start: date,
    end: date,
    *,
    time_zone: str,
    currency: Currency,
    money_fields: set[tuple[str, str]],
) -> DailyValues:
    """DAILY_SCHEMA rows (plus `currency`) for every metric and every day
    in [start, end]: 0 on days without records, a ratio NULL when its denominator is 0; and
    the days' trust flags (FLAG_SCHEMA).

    records: a table of `con` with one row per record (object, record_id, is_deleted, the
      fields as a map field → text, fetched_at, request_hash), as the warehouse's
      raw.salesforce_records; deleted records never count. The daily values are computed
      where the records are, so the map column is never converted to Arrow and back.
    money_fields: (object, field) pairs of currency type: their sums are in the corporate
      currency (converted with the org's rates in a multi-currency org, see README). An
      amount in a currency the org has no rate for cannot be converted: it is left out of the
      sum and its day flagged `currency_unconverted`, naming the currency, so the key result
      is visibly incomplete rather than silently wrong (README, **Currencies**).
    Each day's `request_hash` is that of the newest request that read a record counted on it
    (a hash of the metric and day for days without records).
    """
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    rates = dict(currency.rates or {})
    tables = []
    flags: list[dict[str, Any]] = []
    for metric in metrics:
        q = salesforce_query(metric)
        p = _Params()
        money = q.field is not None and (q.object, q.field) in money_fields
        unconverted = "CAST(NULL AS VARCHAR)"
        if q.aggregate == "count":
            value = "CAST(1 AS DECIMAL(38, 6))"
        else:
            amount = f"TRY_CAST(f[{p(q.field)}] AS DECIMAL(38, 6))"
            value = amount
            if money and currency.multi:
                # CurrencyType rates are units of a currency per corporate unit.
                value = f"CAST({amount} / rates.rate AS DECIMAL(38, 6))"
                unconverted = (
                    f"CASE WHEN {amount} IS NOT NULL AND rates.rate IS NULL "
                    "THEN coalesce(f['CurrencyIsoCode'], 'no currency') END"
                )
        sql = _DAILY_SQL.format(
            records=records,
            day=_day_sql(q.date_field, p),
            value=value,
            unconverted=unconverted,
            num=selection_sql(q, p),
            den=selection_sql(q.denominator, p),
        )
        daily = con.sql(
            sql,
            params={
                **p.values,
                "rate_isos": list(rates),
                "rate_values": list(rates.values()),
                "object": q.object,
                "tz": time_zone,
                "metric_id": metric.metric_id,
                "start": start,
                "end": end,
                "ratio": q.denominator is not None,
                "money": money,
                "currency": currency.corporate,
                "empty_hash": request_hash({"metric": metric.metric_id, "computed": True}),
            },
        ).to_arrow_table()
        flags += _unconverted_flags(daily, currency.corporate)
        currency_column = daily["currency"].cast(pa.string())
        daily = daily.select(DAILY_SCHEMA.names).cast(DAILY_SCHEMA)
        daily = daily.append_column(pa.field("currency", pa.string()), currency_column)
        tables.append(daily)
    flag_table = pa.Table.from_pylist(flags, schema=FLAG_SCHEMA)
    if tables:
        return DailyValues(pa.concat_tables(tables), flag_table)
    empty = DAILY_SCHEMA.empty_table().append_column("currency", pa.array([], pa.string()))
    return DailyValues(empty, flag_table)


def _unconverted_flags(daily: pa.Table, corporate: str | None) -> list[dict[str, Any]]:
    """`currency_unconverted` for the days that left out amounts the org has no rate for."""
    rows = daily.filter(pc.greater(daily["unconverted_records"], 0))
    return [
        {
            "metric_id": row["metric_id"],
            "date": row["date"],
            "flag": "currency_unconverted",
            "reason": (
                f"{row['unconverted_records']} amount(s) in {row['unconverted']} left out of the "
                f"sum: the org has no conversion rate to {corporate} for it (add the currency "
                "in Setup → Manage Currencies)"
            ),
        }
        for row in rows.select(
            ["metric_id", "date", "unconverted", "unconverted_records"]
        ).to_pylist()
    ]
