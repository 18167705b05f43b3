"""Write the validated OKR definitions into okr.teams / objectives / metrics / key_results."""

from __future__ import annotations

import dataclasses
import json
import math

import duckdb
import pyarrow as pa

from okr_definitions import model as m
from okr_definitions.currency import unit_currency
from okr_definitions.resolve import Definitions, parse_period
from registry.sources import source_layer
from warehouse.db import transaction
from warehouse.load import insert_arrow


def definition_tables(d: Definitions) -> dict[str, pa.Table]:
    teams = [
        {"team_id": t.item.id, "name": t.item.name, "owner": t.item.owner} for t in d.teams.values()
    ]
    objectives = []
    for loc in d.objectives.values():
        o: m.Objective = loc.item
        start, end = parse_period(o.period)
        objectives.append(
            {
                "objective_id": o.id,
                "team": o.team,
                "title": o.title,
                "description": o.description,
                "period_start": start,
                "period_end": end,
                "source_file": str(loc.file.name),
            }
        )
    metrics = []
    for metric_id, loc in d.metrics.items():
        metric = loc.item
        is_ratio = isinstance(metric, m.RatioMetric)
        metrics.append(
            {
                "metric_id": metric_id,
                "kind": "ratio" if is_ratio else "source",
                "source": None if is_ratio else metric.source,
                "query_json": None if is_ratio else query_json(metric),
                "numerator_metric_id": metric.ratio.numerator if is_ratio else None,
                "denominator_metric_id": metric.ratio.denominator if is_ratio else None,
                # A ratio of sums is computed from additive parts, so the ratio itself is fine.
                "additive": True
                if is_ratio
                else source_layer(metric.source, "connector").CONNECTOR.is_additive(metric.query),
                "allowed_lag_days": d.allowed_lag_days(metric_id),
                "unit": metric.unit,
                "description": metric.description,
                "definition_hash": d.metric_hash(metric_id),
            }
        )
    key_results = []
    for kr in d.resolved_key_results():
        row = dataclasses.asdict(kr)
        row["kr_id"] = row.pop("id")
        row["source_file"] = kr.source_file.rsplit("/", 1)[-1]
        row["currency"] = unit_currency(kr.unit)
        key_results.append(row)
    return {
        "okr.kr_lineage": kr_lineage_table(d),
        "okr.teams": pa.Table.from_pylist(teams),
        "okr.objectives": pa.Table.from_pylist(objectives),
        "okr.metrics": pa.Table.from_pylist(metrics),
        "okr.key_results": pa.Table.from_pylist(key_results),
    }


def source_asset_path(source: str) -> str:
    """The Dagster asset that fetches a source (pipelines/sources/<source>)."""
    return f"raw/{source}"


def query_json(metric: m.MetricBase) -> str:
    return json.dumps(
        metric.query.model_dump(mode="json", by_alias=True, exclude_none=True), sort_keys=True
    )


def kr_lineage_rows(d: Definitions) -> list[dict[str, str]]:
    """One row per (key result, source metric it reads): the path from a number to a query."""
    rows = []
    for kr in d.resolved_key_results():
        metric = d.metric(kr.metric_id)
        parts = (
            [("numerator", metric.ratio.numerator), ("denominator", metric.ratio.denominator)]
            if isinstance(metric, m.RatioMetric)
            else [("value", kr.metric_id)]
        )
        for role, part_id in parts:
            part = d.metric(part_id)
            rows.append(
                {
                    "kr_id": kr.id,
                    "objective_id": kr.objective_id,
                    "team": kr.team,
                    "metric_id": kr.metric_id,
                    "role": role,
                    "source_metric_id": part_id,
                    "source": part.source,
                    "source_asset": source_asset_path(part.source),
                    "query_json": query_json(part),
                }
            )
    return rows


def kr_lineage_table(d: Definitions) -> pa.Table:
    schema = pa.schema(
        [
            (name, pa.string())
            for name in (
                "kr_id",
                "objective_id",
                "team",
                "metric_id",
                "role",
                "source_metric_id",
                "source",
                "source_asset",
                "query_json",
            )
        ]
    )
    return pa.Table.from_pylist(kr_lineage_rows(d), schema=schema)


def write_definitions(con: duckdb.DuckDBPyConnection, d: Definitions) -> dict[str, int]:
    """Replace all definition tables in one transaction; returns row counts per table.

    Tables that already hold exactly these rows, in this order, are left as they are: a
    daily run's definitions are nearly always the stored ones, and rewriting five tables
    (and checkpointing them when the file is let go) cost ~10 ms CPU more than reading them."""
    tables = definition_tables(d)
    counts = {}
    with transaction(con):
        for name, rows in tables.items():
            if not _holds(con, name, rows):
                con.execute(f"DELETE FROM {name}")
                insert_arrow(con, name, rows)
            counts[name] = rows.num_rows
    return counts


def _holds(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> bool:
    """Whether `table` holds exactly `rows`: the same columns and, row by row in order, the
    same values (a float's sign of zero too). Anything else is written again."""
    stored = con.sql(f"SELECT * FROM {table}").to_arrow_table()
    if stored.num_rows != rows.num_rows or set(stored.column_names) != set(rows.column_names):
        return False
    return _same(stored.select(rows.column_names).to_pylist(), rows.to_pylist())


def _same(a: object, b: object) -> bool:
    """Python equality, except that floats must also agree in the sign of zero (0.0 == -0.0,
    but they are different values to store) and NaN never matches."""
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, int | float) and isinstance(b, int | float)):
            return False
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
