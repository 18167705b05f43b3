"""Mixpanel's answers read: export JSONL into DuckDB, totals/uniques/funnels in DuckDB SQL, and
the Query API's saved-report answers (okr_definitions/README.md, "Mixpanel", the exact math).

The export answer is never turned into one Python object per event: DuckDB's `read_json`
reads the downloaded JSONL file, counts every event name's days in one SQL pass, and keeps one
row per event only for what funnels and exact uniques ranges read again.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from connectors.errors import RetryableSourceError, SourceError
from connectors.mixpanel.settings import SOURCE
from okr_definitions.sources.mixpanel import MixpanelQuery

# What one export answer leaves in DuckDB (README "Mixpanel": days in the project's time zone):
# `counted`, the answer's events per event name and project-local day (and distinct users when a
# metric counts them), from which every `event:` metric's daily series is read; and `events`,
# one row per event, only for the events read again afterwards (funnel steps, the events of
# exact uniques ranges), so an answer of many events that are only counted is never kept whole.
STORE_TABLES = (
    """
    CREATE TABLE counted (
        request_no INTEGER NOT NULL,
        event      VARCHAR,  -- NULL event or day: land_export refuses such answers
        day        DATE,
        n          BIGINT NOT NULL,
        users      BIGINT    -- NULL when no metric of the request counts distinct users
    )
    """,
    """
    CREATE TABLE events (
        request_no  INTEGER NOT NULL,
        event       VARCHAR NOT NULL,
        distinct_id VARCHAR,
        time        BIGINT NOT NULL,  -- epoch seconds
        day         DATE NOT NULL
    )
    """,
)

# One raw row per request (table raw.mixpanel_requests, migration 0045).
RAW_SCHEMA = pa.schema(
    [
        pa.field("request_hash", pa.string(), nullable=False),
        pa.field("request_kind", pa.string(), nullable=False),  # export, insights, funnels
        pa.field("project_id", pa.int64(), nullable=False),
        pa.field("project_timezone", pa.string(), nullable=False),
        pa.field("params", pa.string(), nullable=False),  # JSON of the query string, no secret
        pa.field("metric_ids", pa.list_(pa.string())),
        pa.field("event_count", pa.int64()),  # export: events in the answer
        pa.field("answer_bytes", pa.int64(), nullable=False),
        pa.field("answer", pa.string()),  # Query API answers verbatim (exports are summarised)
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("partition_date", pa.date32(), nullable=False),
    ]
)


# Only the properties the counts need are parsed; every other property is skipped by the
# reader (an export carries dozens per event).
EXPORT_COLUMNS = (
    "{event: 'VARCHAR', "
    'properties: \'STRUCT("time" DOUBLE, distinct_id VARCHAR, "$insert_id" VARCHAR)\'}'
)


def _dated_events(only_kept: bool) -> str:
    """SQL for the answer's events ($path) de-duplicated and put on project-local days ($zone);
    with `only_kept`, only the events named in $kept.

    Mixpanel de-duplicates events with the same event name, distinct_id, time and $insert_id
    when it queries them; the same rule applies here, so a repeated event counts once (events
    without an $insert_id are all kept).
    """
    where = "WHERE list_contains($kept, event)" if only_kept else ""
    return f"""
        WITH read AS (
            SELECT event, properties.distinct_id AS distinct_id,
                   CAST(floor(properties."time") AS BIGINT) AS time,
                   properties."$insert_id" AS insert_id
            FROM read_json($path, format = 'newline_delimited', columns = {EXPORT_COLUMNS})
            {where}
        ),
        kept AS (
            SELECT DISTINCT event, distinct_id, time, insert_id FROM read
            WHERE insert_id IS NOT NULL
            UNION ALL
            SELECT event, distinct_id, time, insert_id FROM read WHERE insert_id IS NULL
        ),
        -- Every zone's UTC offset is a multiple of 15 minutes: the local day is looked up
        -- once per quarter hour, not converted once per event.
        quarters AS (
            SELECT q, CAST(timezone($zone, to_timestamp(q * 900)) AS DATE) AS day
            FROM (SELECT DISTINCT time // 900 AS q FROM kept WHERE time IS NOT NULL)
        ),
        dated AS (
            SELECT k.event, k.distinct_id, k.time, quarters.day
            FROM kept AS k LEFT JOIN quarters ON quarters.q = k.time // 900
        )
    """


def land_export(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    request_no: int,
    timezone: str,
    kept_events: list[str],
    count_users: bool,
) -> None:
    """Count one export answer (a JSONL file) into `counted` in one SQL pass, and insert the
    events named in `kept_events` into `events`."""
    if path.stat().st_size == 0:
        return
    # Distinct users cost a hash set per event and day: counted only when a metric asks.
    users = "count(DISTINCT distinct_id)" if count_users else "NULL"
    params: dict[str, Any] = {"path": str(path), "zone": timezone, "req": request_no}
    try:
        con.execute(
            f"""
            INSERT INTO counted
            {_dated_events(only_kept=False)}
            SELECT $req, event, day, count(*), {users} FROM dated GROUP BY event, day
            """,
            params,
        ).fetchall()
        if kept_events:
            con.execute(
                f"""
                INSERT INTO events
                {_dated_events(only_kept=True)}
                SELECT $req, event, distinct_id, time, day FROM dated
                WHERE event IS NOT NULL AND day IS NOT NULL
                """,
                {**params, "kept": kept_events},
            ).fetchall()
    except duckdb.InvalidInputException as exc:
        # A garbled answer: transient (a proxy, a dropped connection)
        raise RetryableSourceError(SOURCE, f"export answer is not JSONL: {exc}") from exc
    except duckdb.ConversionException as exc:
        raise SourceError(SOURCE, f"an exported event's time is not a number: {exc}") from exc
    (missing,) = con.execute(
        "SELECT coalesce(sum(n), 0) FROM counted "
        "WHERE request_no = ? AND (event IS NULL OR day IS NULL)",
        [request_no],
    ).fetchall()[0]
    if missing:
        raise SourceError(
            SOURCE,
            f"{missing} exported events have no event name or time: they cannot be put on a "
            "day, so nothing of this export is counted",
        )


def event_series(
    con: duckdb.DuckDBPyConnection,
    request_no: int,
    metrics: list[tuple[str, MixpanelQuery]],
    start: date,
    end: date,
) -> pa.Table:
    """Every `event:` metric of one export request for every day of [start, end], from
    `counted` in one SQL pass (metric_id, date, value, numerator, denominator): totals or daily
    distinct users, 0 on days without events (the export is complete for its days)."""
    wanted = pa.table(
        {
            "metric_id": [m for m, _ in metrics],
            "event": [q.event for _, q in metrics],
            "uniques": [q.count == "uniques" for _, q in metrics],
        }
    )
    con.register("_wanted", wanted)
    try:
        return con.sql(
            """
            WITH days AS (
                SELECT CAST(unnest(generate_series(CAST(? AS DATE), CAST(? AS DATE),
                                                   INTERVAL 1 DAY)) AS DATE) AS day)
            SELECT w.metric_id, d.day AS date,
                   CAST(coalesce(CASE WHEN w.uniques THEN c.users ELSE c.n END, 0) AS DOUBLE)
                       AS value,
                   CAST(NULL AS DOUBLE) AS numerator, CAST(NULL AS DOUBLE) AS denominator
            FROM _wanted w CROSS JOIN days d
            LEFT JOIN counted c ON c.request_no = ? AND c.event = w.event AND c.day = d.day
            ORDER BY w.metric_id, d.day
            """,
            params=[start, end, request_no],
        ).to_arrow_table()
    finally:
        con.unregister("_wanted")


def range_uniques(
    con: duckdb.DuckDBPyConnection, request_no: int, query: MixpanelQuery, start: date, end: date
) -> float:
    """Distinct users who did the event on any day of [start, end]: one count over the exact
    range, never a sum of daily uniques."""
    (n,) = con.execute(
        "SELECT count(DISTINCT distinct_id) FROM events "
        "WHERE request_no = ? AND event = ? AND day BETWEEN ? AND ?",
        [request_no, query.event, start, end],
    ).fetchall()[0]
    return float(n)


def funnel_counts(
    con: duckdb.DuckDBPyConnection,
    request_no: int,
    query: MixpanelQuery,
    start: date,
    end: date,
) -> list[tuple[date, float | None, float | None, float | None]]:
    """Per entry day: denominator = users who did the first step that day; numerator = those of
    them who then did every later step in order, each at or after the one before, the last
    within `window_days` × 24 h of their first first-step event of that day."""
    assert query.funnel is not None
    steps = query.funnel.steps
    window_s = query.funnel.window_days * 86_400
    ctes = [
        "s0 AS (SELECT distinct_id, day, min(time) AS t_start, min(time) AS t FROM events "
        "WHERE request_no = $req AND event = $step0 AND day BETWEEN $first AND $last "
        "GROUP BY distinct_id, day)"
    ]
    params: dict[str, Any] = {"req": request_no, "first": start, "last": end, "step0": steps[0]}
    for i in range(1, len(steps)):
        params[f"step{i}"] = steps[i]
        ctes.append(
            f"s{i} AS (SELECT p.distinct_id, p.day, p.t_start, min(e.time) AS t "
            f"FROM s{i - 1} p LEFT JOIN events e ON e.request_no = $req "
            f"AND e.event = $step{i} AND e.distinct_id = p.distinct_id "
            f"AND e.time >= p.t AND e.time <= p.t_start + {window_s} "
            f"GROUP BY p.distinct_id, p.day, p.t_start)"
        )
    last = f"s{len(steps) - 1}"
    rows = con.execute(
        f"""
        WITH {", ".join(ctes)}
        SELECT d.day, coalesce(c.num, 0), coalesce(c.den, 0)
        FROM (SELECT CAST(unnest(generate_series(CAST($first AS DATE), CAST($last AS DATE),
                                                 INTERVAL 1 DAY)) AS DATE) AS day) d
        LEFT JOIN (SELECT day, count(t) AS num, count(*) AS den FROM {last} GROUP BY day) c
            USING (day)
        ORDER BY d.day
        """,
        params,
    ).fetchall()
    return [(day, (num / den) if den else None, float(num), float(den)) for day, num, den in rows]


def insights_series(
    answer: dict[str, Any], query: MixpanelQuery, timezone: str, metric_id: str
) -> dict[date, float]:
    """A saved Insights report's daily values by project-local day.

    Series keys are timestamps with the project's UTC offset (`2020-08-31T00:00:00-07:00`); an
    offset that is not the configured zone's means days would be misread, so it fails loudly.
    """
    series = answer.get("series")
    if not isinstance(series, dict):
        raise RetryableSourceError(SOURCE, "insights answer has no `series` object")
    name = query.series
    if name is None:
        if len(series) != 1:
            raise SourceError(
                SOURCE,
                f"metric {metric_id!r}: report {query.report} shows {len(series)} series "
                f"({', '.join(sorted(series)) or 'none'}); set `series:` to one of them",
            )
        name = next(iter(series))
    if name not in series:
        raise SourceError(
            SOURCE,
            f"metric {metric_id!r}: report {query.report} has no series {name!r} "
            f"(it has: {', '.join(sorted(series))})",
        )
    values = series[name]
    if isinstance(values, dict) and "$overall" in values and len(values) > 1:
        values = {k: v for k, v in values.items() if k != "$overall"}
    zone = ZoneInfo(timezone)
    out: dict[date, float] = {}
    for key, value in values.items():
        stamp = datetime.fromisoformat(key)
        if stamp.tzinfo is not None and stamp.utcoffset() != stamp.replace(tzinfo=zone).utcoffset():
            raise SourceError(
                SOURCE,
                f"report {query.report} counts days at UTC offset {stamp.strftime('%z')}, "
                f"not in {timezone}: set sources.mixpanel.timezone to the project's time zone "
                "(Project settings → Overview)",
            )
        out[stamp.date()] = float(value)
    return out


def funnel_report_days(answer: dict[str, Any]) -> dict[date, tuple[float, float]]:
    """A saved funnel's (completed, started) per day: the last and the first step's `count`."""
    data = answer.get("data")
    if not isinstance(data, dict):
        raise RetryableSourceError(SOURCE, "funnels answer has no `data` object")
    out = {}
    for day, entry in data.items():
        steps = entry.get("steps") if isinstance(entry, dict) else None
        if not steps:
            raise RetryableSourceError(SOURCE, f"funnels answer for {day} has no steps")
        out[date.fromisoformat(day)] = (float(steps[-1]["count"]), float(steps[0]["count"]))
    return out
