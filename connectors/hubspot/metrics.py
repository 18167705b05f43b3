"""Daily metric values from HubSpot objects: counts and sums placed on the day of a date
property, ratios as numerator and denominator.

Computed set-based with an in-memory DuckDB over the Arrow tables (no warehouse involved), so
200k deals cost one scan per metric, not a Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import pyarrow as pa

from connectors.base import DAILY_SCHEMA, MetricRequest
from okr_definitions.queries.hubspot import HubSpotQuery, HubSpotSelection

# `amount` is in the deal's own currency; HubSpot also keeps it converted to the company
# currency (`amount_in_home_currency`, a calculated property) for multi-currency accounts.
# Sums of either read the company currency where HubSpot has it, the deal's amount otherwise.
AMOUNT_PROPERTIES = ("amount", "amount_in_home_currency")

_OUTCOMES = {
    "won": "s.outcome = 'won'",
    "lost": "s.outcome = 'lost'",
    "closed": "s.outcome IN ('won', 'lost')",
    "open": "s.outcome = 'open'",
    "any": "TRUE",
}


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


def _selection_sql(sel: HubSpotQuery | HubSpotSelection, param: str) -> str:
    parts = [_OUTCOMES[sel.stage]]
    if sel.lifecycle_stage:
        parts.append(f"o.properties['lifecyclestage'] = ${param}")
    return " AND ".join(parts)


def _value_sql(q: HubSpotQuery) -> str:
    if q.aggregate == "count":
        return "1.0"
    if q.property in AMOUNT_PROPERTIES:
        return ("TRY_CAST(coalesce(nullif(o.properties['amount_in_home_currency'], ''), "
                "nullif(o.properties['amount'], '')) AS DOUBLE)")
    return "TRY_CAST(nullif(o.properties[$value_property], '') AS DOUBLE)"


def _metric_sql(q: HubSpotQuery) -> str:
    """One metric's daily rows. Parameters: $metric_id, $object_type, $date_property, $tz,
    $start, $end and, when used, $pipeline, $value_property, $num_lifecycle, $den_lifecycle."""
    stages_join = (
        "LEFT JOIN stages AS s ON s.pipeline_id = o.properties['pipeline'] "
        "AND s.stage_id = o.properties['dealstage']"
        if q.object == "deals" else
        "LEFT JOIN (SELECT NULL::VARCHAR AS outcome) AS s ON TRUE"
    )
    pipeline = "o.properties['pipeline'] = $pipeline" if q.pipeline else "TRUE"
    numerator = _selection_sql(q, "num_lifecycle")
    denominator = _selection_sql(q.denominator, "den_lifecycle") if q.denominator else "FALSE"
    if q.denominator:
        result = """
        coalesce(p.num, 0) / nullif(coalesce(p.den, 0), 0) AS value,
        coalesce(p.num, 0) AS numerator,
        coalesce(p.den, 0) AS denominator"""
    else:
        result = """
        coalesce(p.num, 0) AS value,
        NULL::DOUBLE AS numerator,
        NULL::DOUBLE AS denominator"""
    # Date values: epoch milliseconds (legacy), a bare date (date properties, midnight UTC:
    # kept as that calendar day) or an ISO datetime in UTC (converted to the account's zone).
    return f"""
    WITH latest AS (
        -- objects may hold several versions of an object (e.g. a full and an incremental
        -- fetch); the newest wins, an archive beats an edit with the same timestamp
        SELECT object_id, archived, properties
        FROM objects
        WHERE object_type = $object_type
        QUALIFY row_number() OVER (
            PARTITION BY object_id ORDER BY updated_at DESC, archived DESC) = 1
    ),
    stages AS (
        SELECT pipeline_id, stage_id, outcome
        FROM pipelines
        QUALIFY row_number() OVER (
            PARTITION BY pipeline_id, stage_id ORDER BY fetched_at DESC) = 1
    ),
    placed AS (
        SELECT
            o.properties[$date_property] AS raw_date,
            {_value_sql(q)} AS v,
            coalesce({numerator}, FALSE) AS in_num,
            coalesce({denominator}, FALSE) AS in_den
        FROM latest AS o
        {stages_join}
        WHERE NOT o.archived AND {pipeline}
    ),
    dated AS (
        SELECT
            CASE
                WHEN raw_date IS NULL OR raw_date = '' THEN NULL
                WHEN regexp_full_match(raw_date, '[0-9]+')
                    THEN CAST(timezone($tz, to_timestamp(CAST(raw_date AS BIGINT) / 1000.0))
                              AS DATE)
                WHEN regexp_full_match(raw_date, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')
                    THEN CAST(raw_date AS DATE)
                ELSE CAST(timezone($tz, TRY_CAST(raw_date AS TIMESTAMPTZ)) AS DATE)
            END AS day,
            v, in_num, in_den
        FROM placed
    ),
    per_day AS (
        SELECT day,
               sum(CASE WHEN in_num THEN v END) AS num,
               sum(CASE WHEN in_den THEN v END) AS den
        FROM dated
        WHERE day BETWEEN $start AND $end
        GROUP BY day
    ),
    days AS (
        SELECT CAST(generate_series AS DATE) AS day
        FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP),
                             INTERVAL 1 DAY)
    )
    SELECT $metric_id AS metric_id, d.day AS date, {result}
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
    con = duckdb.connect()
    try:
        con.register("objects", objects)
        con.register("pipelines", pipelines)
        tables = []
        for metric in metrics:
            q = hubspot_query(metric)
            sql = _metric_sql(q)
            params: dict[str, object] = {
                "metric_id": metric.metric_id, "object_type": q.object,
                "date_property": q.date_property, "tz": time_zone, "start": start, "end": end,
            }
            if q.pipeline:
                params["pipeline"] = q.pipeline
            if q.aggregate == "sum" and q.property not in AMOUNT_PROPERTIES:
                params["value_property"] = q.property
            if q.lifecycle_stage:
                params["num_lifecycle"] = q.lifecycle_stage
            if q.denominator and q.denominator.lifecycle_stage:
                params["den_lifecycle"] = q.denominator.lifecycle_stage
            tables.append(con.sql(sql, params=params).to_arrow_table().cast(DAILY_SCHEMA))
    finally:
        con.close()
    return pa.concat_tables(tables) if tables else DAILY_SCHEMA.empty_table()
