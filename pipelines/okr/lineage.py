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
from collections.abc import Iterator

import dagster as dg

from okr_definitions.resolve import Definitions, parse_period
from pipelines.metadata import materialize_result, table_metadata
from pipelines.partitions import window_dates
from pipelines.resources import WarehouseResource
from warehouse.definitions import kr_lineage_rows

KR_PROGRESS = dg.AssetKey(["okr", "kr_progress_daily"])
OBJECTIVE_PROGRESS = dg.AssetKey(["okr", "objective_progress_daily"])
STAGING = dg.AssetKey(["staging", "metric_daily"])
KEY_RESULTS = dg.AssetKey(["okr", "key_results"])


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


def lineage_markdown(rows: list[dict[str, str]]) -> str:
    """key result → metric → source asset → exact query, as a Markdown table."""
    lines = [
        "| key result | metric | reads | source asset | source query |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        query = json.loads(r["query_json"])
        lines.append(
            f"| {r['kr_id']} | {r['metric_id']} | {r['role']}: {r['source_metric_id']} "
            f"| {r['source_asset']} | `{json.dumps(query, sort_keys=True)}` |"
        )
    return "\n".join(lines)


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
                    "team": objective.team,
                    "period": f"{start}..{end}",
                    "key_result_lineage": dg.MetadataValue.md(lineage_markdown(rows)),
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
            krs = con.execute(
                "SELECT objective_id, kr_id, status, progress, value, target, data_through "
                "FROM okr.kr_progress_daily WHERE as_of_date = ? ORDER BY kr_id",
                [day],
            ).fetchall()
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
            table = "| key result | status | progress | value | target | data through |\n"
            table += "|---|---|---|---|---|---|\n"
            table += "\n".join(
                f"| {k[1]} | {k[2]} | {_num(k[3])} | {_num(k[4])} | {_num(k[5])} | {k[6]} |"
                for k in krs
                if k[0] == objective_id
            )
            row_count, last_day = counts.get(objective_id, (0, None))
            yield materialize_result(
                context,
                asset_key=key,
                metadata={
                    "dagster/column_schema": schema,
                    "dagster/row_count": dg.MetadataValue.int(int(row_count)),
                    "last_data_date": str(last_day) if last_day else "none",
                    "as_of_date": str(day),
                    "score": dg.MetadataValue.float(float(score)) if score is not None else None,
                    "expected_progress": (
                        dg.MetadataValue.float(float(expected)) if expected is not None else None
                    ),
                    # Two facts under their own names (README, "The weekly check-in
                    # report"): how the objective itself keeps pace, and where it is weakest.
                    "pace": pace or "unknown",
                    "weakest_key_result": f"{weakest} ({status})" if weakest else status,
                    "status": status,
                    "key_results": dg.MetadataValue.md(table),
                },
            )

    return [okr_objectives]


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"
