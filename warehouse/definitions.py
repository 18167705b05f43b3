"""Write the validated OKR definitions into okr.teams / objectives / metrics / key_results."""

from __future__ import annotations

import dataclasses
import json

import duckdb
import pyarrow as pa

from okr_definitions import model as m
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
    """Replace all definition tables in one transaction; returns row counts per table."""
    tables = definition_tables(d)
    counts = {}
    with transaction(con):
        for name, rows in tables.items():
            con.execute(f"DELETE FROM {name}")
            counts[name] = insert_arrow(con, name, rows)
    return counts
