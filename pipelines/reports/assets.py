"""reports/weekly_checkin: the weekly check-in report, one HTML file (and a Markdown twin)
per week, downstream of the progress tables in the lineage."""

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

from okr_definitions.checkins import iso_week
from okr_definitions.resolve import Definitions
from pipelines.okr.assets import KR_PROGRESS, OBJECTIVE_PROGRESS
from pipelines.partitions import parse_day
from pipelines.reports.keys import REPORT
from pipelines.reports.partitions import weekly_partitions, weeks_between
from pipelines.resources import OkrDefinitionsResource, WarehouseResource
from pipelines.schedules import sensor_interval_seconds
from reports.markdown import render_markdown
from reports.weekly import CheckinError, NoReportData, report_path, reports_dir

if TYPE_CHECKING:  # rendering imports the charting libraries: only when a report is written
    from reports.write import WrittenReport

REPORTS_JOB = "okr_reports"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def build_report_assets(definitions: Definitions) -> list[dg.AssetsDefinition]:
    owners = sorted(f"team:{team}" for team in definitions.teams)
    # A week reads the daily rows of its seven days; the days of the current week that have
    # not happened yet are no error (the report shows the week so far).
    week_of_days = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)

    @dg.asset(
        key=REPORT,
        deps=[
            dg.AssetDep(KR_PROGRESS, partition_mapping=week_of_days),
            dg.AssetDep(OBJECTIVE_PROGRESS, partition_mapping=week_of_days),
        ],
        group_name="reports",
        kinds={"html", "markdown"},
        owners=owners,
        partitions_def=weekly_partitions(definitions),
        description=(
            "The weekly check-in report: key results at risk first, value against target, "
            "a chart of progress against the expected pace, what changed since last week, "
            "trust flags with their reason, the teams' check-ins (checkins/*.yaml) and, in "
            "the week a period ends, the quarter retro. One self-contained HTML file and a "
            "Markdown twin per week, in OKR_REPORTS (default: reports/ beside the warehouse)."
        ),
    )
    def weekly_checkin(
        context: dg.AssetExecutionContext,
        okr_definitions: OkrDefinitionsResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        # Rendering imports the charting libraries (altair, vl-convert): deferred to the
        # report's own step, which a daily source or model run never executes.
        from reports.write import write_weekly_report

        monday = parse_day(context.partition_key)
        defs = okr_definitions.load()
        out = report_path(reports_dir(warehouse.file), monday)
        try:
            written = write_weekly_report(warehouse.file, monday, out, defs.base_dir)
        except CheckinError as exc:
            lines = "\n".join(f"- {p.format()}" for p in exc.problems)
            raise dg.Failure(
                description=f"invalid check-ins:\n{lines}",
                metadata={"problems": dg.MetadataValue.md(lines)},
            ) from None
        except NoReportData as exc:
            raise dg.Failure(description=str(exc)) from None
        return dg.MaterializeResult(metadata=report_metadata(written, monday))

    return [weekly_checkin]


def report_metadata(written: "WrittenReport", monday: date) -> dict[str, Any]:
    report = written.report
    return {
        "path": dg.MetadataValue.path(str(written.html)),
        "markdown_path": dg.MetadataValue.path(str(written.markdown)),
        "week": iso_week(monday),
        "as_of": str(report.as_of),
        "key_results": len(report.key_results),
        "needs_attention": len(report.attention),
        "check_ins": len(report.checkins),
        "retro_key_results": len(report.retro),
        "preview": dg.MetadataValue.md(render_markdown(report)),
    }


def is_the_assets_report(html: Path, monday: date, warehouse: Path | None) -> bool:
    """Whether `html` is where reports/weekly_checkin writes the week's report."""
    return Path(html).resolve() == report_path(reports_dir(warehouse), monday).resolve()


def record_written_report(
    instance: dg.DagsterInstance, written: "WrittenReport", monday: date, warehouse: Path | None
) -> bool:
    """Record a report that `okr report` or `okr demo` wrote as a materialisation of
    reports/weekly_checkin (a runless asset event), so the UI shows the week as rendered and
    links the file. Only a report written where the asset writes it counts (not `--out`
    elsewhere); returns whether it was recorded."""
    if not is_the_assets_report(written.html, monday, warehouse):
        return False
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=REPORT,
            partition=monday.isoformat(),
            metadata=report_metadata(written, monday),
        )
    )
    return True


def build_report_job_and_sensor(
    definitions: Definitions, progress_job: Any
) -> tuple[Any, dg.SensorDefinition]:
    """The report job, and a sensor that renders the weeks a successful progress run
    touched."""
    partitions = weekly_partitions(definitions)
    reports_job = dg.define_asset_job(
        REPORTS_JOB,
        selection=[REPORT],
        description="Render the weekly check-in report.",
        executor_def=dg.in_process_executor,  # one step: no process of its own needed
    )

    @dg.run_status_sensor(
        name="reports_after_models",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[progress_job],
        request_job=reports_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=sensor_interval_seconds(),
        description="Re-renders the check-in report of every week whose progress rows a "
        "progress run just rebuilt (the daily run's lookback can touch last week too).",
    )
    def reports_after_models(context: dg.RunStatusSensorContext) -> Sequence[dg.RunRequest]:
        tags = context.dagster_run.tags
        if RANGE_START not in tags:
            return []
        selection = context.dagster_run.asset_selection
        if selection and KR_PROGRESS not in selection:
            return []  # the objectives only: no progress row changed
        keys = set(partitions.get_partition_keys())
        weeks = weeks_between(parse_day(tags[RANGE_START]), parse_day(tags[RANGE_END]))
        return [
            dg.RunRequest(
                run_key=f"report-{week}-after-{context.dagster_run.run_id}",
                partition_key=week.isoformat(),
            )
            for week in weeks
            if week.isoformat() in keys
        ]

    return reports_job, reports_after_models
