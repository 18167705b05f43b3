"""Following a key result back to its source in the Dagster UI.

Three means, all computed without giving up set-based SQL:
- one asset per objective (`okr/objective/<id>`), all materialised by one multi-asset from
  the progress tables, whose upstream edges go to exactly the source assets its key results
  read, with the key result → metric → source query mapping in its metadata;
- column lineage on `okr/kr_progress_daily` (value ← staging.metric_daily, target ←
  okr.key_results, …);
- code versions from the definitions' hashes, so editing a key result's target or metric
  marks what it feeds as changed in the UI.
"""

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from datetime import date

import dagster as dg
import duckdb

from okr_definitions.resolve import Definitions, parse_period
from pipelines.metadata import definition_metadata, materialize_result, table_metadata
from pipelines.partitions import window_dates
from pipelines.resources import WarehouseResource
from reports.formatting import format_value
from warehouse.definitions import kr_lineage_rows

KR_PROGRESS = dg.AssetKey(["okr", "kr_progress_daily"])
OBJECTIVE_PROGRESS = dg.AssetKey(["okr", "objective_progress_daily"])
STAGING = dg.AssetKey(["staging", "metric_daily"])
KEY_RESULTS = dg.AssetKey(["okr", "key_results"])
OBJECTIVES = dg.AssetKey(["okr", "objectives"])


def objective_key(objective_id: str) -> dg.AssetKey:
    return dg.AssetKey(["okr", "objective", objective_id])


def version_of(hashes: list[str]) -> str:
    """A stable code version from definition hashes (Python's hash() changes per process)."""
    return hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()[:12]


def kr_progress_column_lineage() -> dg.TableColumnLineage:
    staged = [dg.TableColumnDep(STAGING, c) for c in ("value", "numerator", "denominator")]
    definition = lambda *cols: [dg.TableColumnDep(KEY_RESULTS, c) for c in cols]  # noqa: E731
    return dg.TableColumnLineage(
        deps_by_column={
            "value": staged,
            "data_through": [dg.TableColumnDep(STAGING, "date")],
            "baseline": [*definition("baseline_kind", "baseline_value"), *staged],
            "target": [*definition("target_kind", "target_value"), *staged],
            "direction": definition("direction"),
            "progress": [*staged, *definition("baseline_value", "target_value", "direction")],
            "expected_progress": definition("period_start", "period_end", "commitment"),
            "status": [*staged, *definition("target_value")],
        }
    )


def staging_column_lineage(source_keys: Sequence[dg.AssetKey]) -> dg.TableColumnLineage:
    """staging.metric_daily: each column from the same column of raw.metric_rows, which every
    source asset writes (the newest fetch of a metric and day wins); `<x>_exact` from <x>."""
    columns = (
        "metric_id",
        "date",
        "value",
        "numerator",
        "denominator",
        "source",
        "request_hash",
        "fetched_at",
        "currency",
    )
    deps = {c: [dg.TableColumnDep(k, c) for k in source_keys] for c in columns}
    # The exact decimals are the same values, converted once when staged.
    for part in ("value", "numerator", "denominator"):
        deps[f"{part}_exact"] = deps[part]
    return dg.TableColumnLineage(deps_by_column=deps)


def objective_progress_column_lineage() -> dg.TableColumnLineage:
    """okr.objective_progress_daily: an aggregate of its key results' rows of the day."""
    kr = lambda *cols: [dg.TableColumnDep(KR_PROGRESS, c) for c in cols]  # noqa: E731
    objective = lambda *cols: [dg.TableColumnDep(OBJECTIVES, c) for c in cols]  # noqa: E731
    return dg.TableColumnLineage(
        deps_by_column={
            "as_of_date": kr("as_of_date"),
            "objective_id": objective("objective_id"),
            "team": objective("team"),
            "period_start": objective("period_start"),
            "period_end": objective("period_end"),
            "score": kr("score", "weight"),
            "expected_progress": kr("expected_progress"),
            "status": kr("status"),
            "kr_count": kr("kr_id"),
            "krs_off_track": kr("status"),
            "krs_at_risk": kr("status"),
        }
    )


def percent(share: float | None) -> str:
    """A score or progress as people read it: 0.7350173386098773 → `73.5 %`."""
    return "—" if share is None or not math.isfinite(share) else f"{share * 100:.1f} %"


def asset_url(path: str) -> str:
    """Where the Dagster UI shows an asset (`raw/ga4` → `/assets/raw/ga4`), relative to the
    webserver's root."""
    return f"/assets/{path}"


_LINEAGE_COLUMNS = [
    ("key_result", "string", "The key result's id."),
    ("metric", "string", "The metric it measures."),
    ("reads", "string", "value, numerator or denominator, and the source metric it reads."),
    ("source_asset", "string", "The asset that fetches it."),
    ("source_asset_url", "string", "Where the UI shows that asset."),
    ("source_query", "string", "The exact source query (no secrets)."),
]
_NUMBER_COLUMNS = [
    ("status", "string", "Its status on the day."),
    ("value", "string", "Its value, in its unit."),
    ("target", "string", "Its target, in its unit."),
    ("score", "string", "Progress clamped to [0, 1], in percent."),
    ("data_through", "string", "The newest day with data behind the value."),
]


def key_result_numbers(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, dict[str, str]]:
    """Each key result's status, value, target, score and data_through on `day`, formatted."""
    rows = con.execute(
        "SELECT kr_id, status, value, target, unit, score, data_through "
        "FROM okr.kr_progress_daily WHERE as_of_date = ?",
        [day],
    ).fetchall()
    return {
        kr_id: {
            "status": status,
            "value": format_value(value, unit),
            "target": format_value(target, unit),
            "score": percent(score),
            "data_through": str(through) if through else "—",
        }
        for kr_id, status, value, target, unit, score, through in rows
    }


def lineage_table(
    rows: list[dict[str, str]], numbers: dict[str, dict[str, str]] | None = None
) -> dg.TableMetadataValue:
    """key result → metric → source asset → exact query, a native table in the UI; with
    `numbers` (key_result_numbers) each row also carries the key result's numbers."""
    columns = _LINEAGE_COLUMNS + (_NUMBER_COLUMNS if numbers is not None else [])
    records = []
    for r in rows:
        query = json.dumps(json.loads(r["query_json"]), sort_keys=True)
        record = {
            "key_result": r["kr_id"],
            "metric": r["metric_id"],
            "reads": f"{r['role']}: {r['source_metric_id']}",
            "source_asset": r["source_asset"],
            "source_asset_url": asset_url(r["source_asset"]),
            "source_query": query,
        }
        if numbers is not None:
            empty = dict.fromkeys(("status", "value", "target", "score", "data_through"), "—")
            record.update(numbers.get(r["kr_id"], empty))
        records.append(dg.TableRecord(record))
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name, kind, description=text) for name, kind, text in columns]
    )
    return dg.MetadataValue.table(records=records, schema=schema)


def source_asset_links(rows: list[dict[str, str]]) -> dict[str, dg.MetadataValue]:
    """One clickable entry per source asset the rows read (a table cell cannot link)."""
    paths = sorted({r["source_asset"] for r in rows})
    return {f"source {p}": dg.MetadataValue.asset(dg.AssetKey(p.split("/"))) for p in paths}


def build_objective_assets(
    definitions: Definitions, partitions: dg.PartitionsDefinition, source_keys: set[dg.AssetKey]
) -> list:
    lineage = kr_lineage_rows(definitions)
    resolved = definitions.resolved_key_results()
    specs = []
    for objective_id, loc in definitions.objectives.items():
        objective = loc.item
        start, end = parse_period(objective.period)
        rows = [r for r in lineage if r["objective_id"] == objective_id]
        sources = sorted({r["source_asset"] for r in rows})
        upstream = [dg.AssetKey(s.split("/")) for s in sources]
        titles = "; ".join(kr.title for kr in objective.key_results)
        specs.append(
            dg.AssetSpec(
                objective_key(objective_id),
                deps=[OBJECTIVE_PROGRESS, KR_PROGRESS, *[k for k in upstream if k in source_keys]],
                group_name="okr",
                kinds={"duckdb"},
                owners=[f"team:{objective.team}"],
                code_version=version_of(
                    [kr.definition_hash for kr in resolved if kr.objective_id == objective_id]
                ),
                description=(
                    f"Objective of team {objective.team} for {start}..{end}: "
                    f"“{objective.title}”. Key results: {titles}. Reads {', '.join(sources)}; "
                    "its rows live in okr.objective_progress_daily and okr.kr_progress_daily."
                ),
                metadata={
                    # its rows are a slice of okr.objective_progress_daily: the same columns
                    **definition_metadata(
                        "okr.objective_progress_daily", objective_progress_column_lineage()
                    ),
                    "team": objective.team,
                    "period": f"{start}..{end}",
                    "key_result_lineage": lineage_table(rows),
                    **source_asset_links(rows),
                },
            )
        )

    @dg.multi_asset(
        name="okr_objectives",
        specs=specs,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
    )
    def okr_objectives(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        _, day = window_dates(context)
        with warehouse.connection() as con:
            objectives = {
                row[0]: row[1:]
                for row in con.execute(
                    "SELECT objective_id, score, status, expected_progress, pace_status, "
                    "weakest_kr_id "
                    "FROM okr.objective_progress_daily WHERE as_of_date = ?",
                    [day],
                ).fetchall()
            }
            numbers = key_result_numbers(con, day)
            # The objective's rows are a slice of okr.objective_progress_daily: same schema.
            schema = table_metadata(con, "okr.objective_progress_daily")["dagster/column_schema"]
            counts = dict(
                (row[0], row[1:])
                for row in con.execute(
                    "SELECT objective_id, count(*), max(as_of_date) "
                    "FROM okr.objective_progress_daily GROUP BY objective_id"
                ).fetchall()
            )
        for key in context.selected_asset_keys:
            objective_id = key.path[-1]
            score, status, expected, pace, weakest = objectives.get(
                objective_id, (None, "no_rows", None, None, None)
            )
            rows = [r for r in lineage if r["objective_id"] == objective_id]
            row_count, last_day = counts.get(objective_id, (0, None))
            yield materialize_result(
                context,
                asset_key=key,
                metadata={
                    "dagster/column_schema": schema,
                    "dagster/row_count": dg.MetadataValue.int(int(row_count)),
                    "last_data_date": str(last_day) if last_day else "none",
                    "as_of_date": str(day),
                    "score": percent(score),
                    "expected_progress": percent(expected),
                    # Two facts under their own names (README, "The weekly check-in
                    # report"): how the objective itself keeps pace, and where it is weakest.
                    "pace": pace or "unknown",
                    "weakest_key_result": f"{weakest} ({status})" if weakest else status,
                    "status": status,
                    "key_result_lineage": lineage_table(rows, numbers),
                },
            )

    return [okr_objectives]
