"""The warehouse models: definition tables, staging.metric_daily and the progress tables."""

from collections.abc import Iterator, Sequence

import dagster as dg
import duckdb

from okr_definitions.resolve import Definitions
from pipelines.metadata import definition_metadata, materialize_result, table_metadata
from pipelines.okr.lineage import (
    build_objective_assets,
    key_result_numbers,
    kr_progress_column_lineage,
    lineage_table,
    objective_progress_column_lineage,
    source_asset_links,
    staging_column_lineage,
    version_of,
)
from pipelines.partitions import first_progress_day, window_dates
from pipelines.reports.summary import progress_summary_metadata
from pipelines.resources import OkrDefinitionsResource, WarehouseResource
from warehouse.checks import flagged_key_results, row_coverage, rows_not_finite, status_rows
from warehouse.definitions import kr_lineage_rows, write_definitions
from warehouse.progress import (
    ProgressSettings,
    build_staging,
    compute_objective_progress,
    compute_progress,
    delete_rows_before,
)

DEFINITION_TABLES = {
    "teams": "One row per team declared in the OKR YAML.",
    "objectives": "One row per objective: team, title and period.",
    "metrics": "One row per metric: its source and exact source query, or its ratio parts.",
    "key_results": "One row per key result: metric, measure, baseline, target, direction.",
    "kr_lineage": "One row per (key result, source metric it reads): source asset and exact "
    "source query.",
}
# The assets' descriptions, by table: the PostgreSQL destination makes them table comments.
TABLE_DESCRIPTIONS = {
    **{
        f"okr.{table}": f"{text} Replaced whole from okr_definitions/*.yaml."
        for table, text in DEFINITION_TABLES.items()
    },
    "staging.metric_daily": (
        "One row per (metric_id, date): the cleaned daily values of every source "
        "(newest fetch wins; NaN and negative values are not counted as measured)."
    ),
    "okr.kr_progress_daily": (
        "One row per (as_of_date, kr_id): the key result's value, baseline, target, "
        "progress, score, expected pace and status on that day, with data_through and "
        "the sources' trust flags."
    ),
    "okr.objective_progress_daily": (
        "One row per (as_of_date, objective_id): the weighted mean score of its key "
        "results and the worst of their statuses."
    ),
}
# Written by the staging job with staging (unpartitioned, so they fit any job): a run over days
# before the periods, with no progress run after it, still refreshes them for `okr status`.
DEFINITION_TABLE_KEYS = [dg.AssetKey(["okr", table]) for table in DEFINITION_TABLES]
KR_PROGRESS = dg.AssetKey(["okr", "kr_progress_daily"])
OBJECTIVE_PROGRESS = dg.AssetKey(["okr", "objective_progress_daily"])
STAGING = dg.AssetKey(["staging", "metric_daily"])

CHECK_ROWS = "every_key_result_has_a_row"
CHECK_FINITE = "values_and_progress_are_finite"
CHECK_TRUST = "no_key_result_built_on_flagged_data"


def _all_owners(definitions: Definitions) -> list[str]:
    return sorted(f"team:{team}" for team in definitions.teams)


def _definitions_version(definitions: Definitions) -> str:
    return version_of([kr.definition_hash for kr in definitions.resolved_key_results()])


def build_okr_assets(
    definitions: Definitions,
    staging_partitions: dg.PartitionsDefinition,
    progress_partitions: dg.PartitionsDefinition,
    source_keys: Sequence[dg.AssetKey],
) -> list:
    """The definition tables, staging (partitioned like the sources, from the first baseline
    day) and the progress assets (partitioned from the first day of the periods:
    pipelines/partitions.py)."""
    owners = _all_owners(definitions)
    lineage = kr_lineage_rows(definitions)
    # Any edit of the YAML that changes a number changes this version: the UI then marks the
    # definition tables and what they feed as changed.
    definitions_version = _definitions_version(definitions)

    @dg.multi_asset(
        name="okr_definition_tables",
        specs=[
            dg.AssetSpec(
                ["okr", table],
                group_name="okr",
                kinds={"yaml", "duckdb"},
                owners=owners,
                code_version=definitions_version,
                description=TABLE_DESCRIPTIONS[f"okr.{table}"],
                metadata=definition_metadata(f"okr.{table}"),
            )
            for table in DEFINITION_TABLES
        ],
    )
    def okr_definition_tables(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
    ) -> Iterator[dg.MaterializeResult]:
        defs = okr_definitions.load()
        with warehouse.connection() as con:
            counts = write_definitions(con, defs)
            metadata = {
                table: table_metadata(con, f"okr.{table}", row_count=counts[f"okr.{table}"])
                for table in DEFINITION_TABLES
            }
        # Yielded after the connection is closed: Dagster handles each event (event log,
        # loggers) before resuming a generator, and another process may want the file meanwhile.
        # The metadata goes to the materialisations only (pipelines/metadata.py
        # materialize_result says why).
        for table, table_meta in metadata.items():
            key = dg.AssetKey(["okr", table])
            context.add_asset_metadata(table_meta, asset_key=key)
            yield dg.MaterializeResult(asset_key=key)

    @dg.asset(
        key=STAGING,
        deps=list(source_keys),
        group_name="staging",
        kinds={"duckdb"},
        owners=owners,
        partitions_def=staging_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=TABLE_DESCRIPTIONS["staging.metric_daily"],
        metadata=definition_metadata("staging.metric_daily", staging_column_lineage(source_keys)),
    )
    def metric_daily(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        start, end = window_dates(context)
        with warehouse.connection() as con:
            rows = build_staging(con, start, end)
            metadata = table_metadata(con, "staging.metric_daily", date_column="date")
        metadata["rows_in_window"] = dg.MetadataValue.int(rows)
        return materialize_result(context, metadata)

    @dg.asset(
        key=KR_PROGRESS,
        deps=[STAGING, dg.AssetKey(["okr", "key_results"]), dg.AssetKey(["okr", "metrics"])],
        group_name="okr",
        kinds={"duckdb"},
        owners=owners,
        partitions_def=progress_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        code_version=definitions_version,
        description=TABLE_DESCRIPTIONS["okr.kr_progress_daily"],
        metadata={
            **definition_metadata("okr.kr_progress_daily", kr_progress_column_lineage()),
            "key_result_lineage": lineage_table(lineage),
            **source_asset_links(lineage),
        },
        check_specs=[
            dg.AssetCheckSpec(
                CHECK_ROWS,
                asset=KR_PROGRESS,
                description="Every declared key result has a row for each day.",
            ),
            dg.AssetCheckSpec(
                CHECK_FINITE,
                asset=KR_PROGRESS,
                description="No NaN or infinite value, progress or score.",
            ),
            dg.AssetCheckSpec(
                CHECK_TRUST,
                asset=KR_PROGRESS,
                description="Warns when a key result reads sampled, thresholded "
                "or otherwise flagged source data.",
            ),
        ],
    )
    def kr_progress_daily(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        defs = okr_definitions.load()
        org = defs.organisation
        settings = ProgressSettings(
            on_track_margin=org.thresholds.on_track,
            at_risk_margin=org.thresholds.at_risk,
            aspirational_pace=org.aspirational_pace,
        )
        start, end = window_dates(context)
        with warehouse.connection() as con:
            delete_rows_before(con, "okr.kr_progress_daily", first_progress_day(defs))
            rows = compute_progress(con, start, end, settings)
            metadata = table_metadata(con, "okr.kr_progress_daily", date_column="as_of_date")
            metadata.update(_status_metadata(con, end))
            metadata.update(progress_summary_metadata(con, end, warehouse.file))
            metadata["rows_in_window"] = dg.MetadataValue.int(rows)
            checks = list(_progress_checks(con, start, end))
            numbers = key_result_numbers(con, end)
        metadata["dagster/column_lineage"] = kr_progress_column_lineage()
        metadata["key_result_lineage"] = lineage_table(lineage, numbers)
        yield materialize_result(context, metadata)
        yield from checks

    @dg.asset(
        key=OBJECTIVE_PROGRESS,
        deps=[KR_PROGRESS, dg.AssetKey(["okr", "objectives"])],
        group_name="okr",
        kinds={"duckdb"},
        owners=owners,
        partitions_def=progress_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=TABLE_DESCRIPTIONS["okr.objective_progress_daily"],
        metadata={
            **definition_metadata(
                "okr.objective_progress_daily", objective_progress_column_lineage()
            ),
        },
    )
    def objective_progress_daily(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        defs = okr_definitions.load()
        thresholds = defs.organisation.thresholds
        settings = ProgressSettings(
            on_track_margin=thresholds.on_track, at_risk_margin=thresholds.at_risk
        )
        start, end = window_dates(context)
        with warehouse.connection() as con:
            delete_rows_before(con, "okr.objective_progress_daily", first_progress_day(defs))
            rows = compute_objective_progress(con, start, end, settings)
            metadata = table_metadata(con, "okr.objective_progress_daily", "as_of_date")
        metadata["rows_in_window"] = dg.MetadataValue.int(rows)
        return materialize_result(context, metadata)

    return [
        okr_definition_tables,
        metric_daily,
        kr_progress_daily,
        objective_progress_daily,
        *build_objective_assets(definitions, progress_partitions, set(source_keys)),
    ]


def _status_metadata(con: duckdb.DuckDBPyConnection, day: object) -> dict:
    rows = status_rows(con, day)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[2]] = counts.get(row[2], 0) + 1
    table = (
        "| key result | team | status | progress | expected | data through |\n"
        "|---|---|---|---|---|---|\n"
    )
    table += "\n".join(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} |" for r in rows)
    metadata: dict = {f"status/{k}": dg.MetadataValue.int(v) for k, v in sorted(counts.items())}
    metadata["status_preview"] = dg.MetadataValue.md(f"Statuses on {day}\n\n{table}")
    return metadata


def _progress_checks(
    con: duckdb.DuckDBPyConnection, start: object, end: object
) -> Iterator[dg.AssetCheckResult]:
    coverage = row_coverage(con, start, end)
    yield dg.AssetCheckResult(
        check_name=CHECK_ROWS,
        asset_key=KR_PROGRESS,
        passed=coverage.complete,
        metadata={
            "expected_rows": coverage.expected,
            "rows": coverage.actual,
            "missing_rows": coverage.missing,
        },
    )
    bad = rows_not_finite(con, start, end)
    yield dg.AssetCheckResult(
        check_name=CHECK_FINITE,
        asset_key=KR_PROGRESS,
        passed=bad == 0,
        metadata={"rows_not_finite": bad},
    )
    flagged = flagged_key_results(con, start, end)
    yield dg.AssetCheckResult(
        check_name=CHECK_TRUST,
        asset_key=KR_PROGRESS,
        passed=not flagged,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "flagged_key_results": len(flagged),
            "flags": dg.MetadataValue.md(
                "\n".join(f"- {kr}: {flags}" for kr, flags in flagged) or "none"
            ),
        },
    )
