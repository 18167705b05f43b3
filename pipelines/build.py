"""Building the Dagster Definitions from a set of OKR definitions.

Kept apart from `pipelines/definitions.py` (the code location, which builds `defs` when it
is imported) so that `okr run`, `okr demo` and tests can build from their own definitions
without loading the default ones first.

Each source and each destination builds its own Definitions in its folder
(`pipelines/sources/<name>/definitions.py`, `pipelines/destinations/<name>/definitions.py`),
found through the registries; this module builds the OKR models, reports, jobs and schedules
and merges them all. The asset graph follows the data flow of the README:

    raw/<source> ─► staging/metric_daily ─► okr/kr_progress_daily ─► okr/objective_progress_daily
                    okr/{teams,objectives,metrics,key_results} ─┘

The sources and staging are partitioned from the first day a baseline reads, the progress
assets from the first day of the periods (pipelines/partitions.py); Dagster runs one
partitions definition per job, so the models are two jobs, staging then progress, handed
over by a sensor (pipelines/schedules.py) or in turn by `okr run` (pipelines/runner.py).
"""

from __future__ import annotations

import warnings

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.maintenance import build_maintenance
from pipelines.okr.assets import DEFINITION_TABLE_KEYS, STAGING, build_okr_assets
from pipelines.partitions import daily_partitions, progress_partitions
from pipelines.reports.assets import build_report_assets, build_report_job_and_sensor
from pipelines.resources import (
    OkrDefinitionsResource,
    WarehouseResource,
    default_io_manager,
    load_valid_definitions,
)
from pipelines.schedules import (
    PROGRESS_JOB,
    SOURCES_JOB,
    STAGING_JOB,
    build_schedules_and_sensors,
)
from registry.destinations import registered_destinations
from registry.sources import source_layer, source_names

# Single-run backfills (one fetch for a whole range of days) are what keeps API calls low;
# Dagster marks the parameter beta, which is not news to act on at every start.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def build_definitions(definitions: Definitions | None = None) -> dg.Definitions:
    definitions = definitions or load_valid_definitions()
    partitions = daily_partitions(definitions)
    used = definitions.used_sources()
    # Each source used by some metric builds its own Definitions (assets and resource) in its
    # folder, as dagster-open-platform does per integration; here they are only merged.
    sources = dg.Definitions.merge(
        *(
            source_layer(name, "pipeline").build_definitions(definitions, partitions)
            for name in source_names()
            if name in used
        )
    )
    source_keys = [key for asset in sources.assets or [] for key in asset.keys]
    okr_assets = build_okr_assets(
        definitions, partitions, progress_partitions(definitions), source_keys
    )

    sources_job = dg.define_asset_job(
        SOURCES_JOB,
        selection=dg.AssetSelection.groups("sources"),
        description="Fetch every source for a range of days into raw.*",
    )
    # Each model step writes the one DuckDB file in turn (it has one writer): a process per
    # step, Dagster's default outside `okr run`, would add only a Python start and a
    # code-location load per step (minutes for one day on a busy machine).
    definition_tables = dg.AssetSelection.assets(*DEFINITION_TABLE_KEYS)
    staging_job = dg.define_asset_job(
        STAGING_JOB,
        selection=dg.AssetSelection.assets(STAGING) | definition_tables,
        description="Rebuild staging from what the sources delivered, and the definition "
        "tables from the YAML.",
        executor_def=dg.in_process_executor,
    )
    progress_job = dg.define_asset_job(
        PROGRESS_JOB,
        selection=dg.AssetSelection.groups("okr") - definition_tables,
        description="Compute the progress tables and the objectives from staging, for days "
        "inside the key results' periods.",
        executor_def=dg.in_process_executor,
    )
    schedules, sensors = build_schedules_and_sensors(
        definitions, sources_job, staging_job, progress_job, source_keys
    )
    # The weekly check-in report follows the progress tables: weekly partitions cannot share
    # a job with the daily ones, so its own job runs when a progress run succeeds.
    report_assets = build_report_assets(definitions)
    reports_job, reports_sensor = build_report_job_and_sensor(definitions, progress_job)
    core = dg.Definitions(
        assets=[*okr_assets, *report_assets],
        jobs=[sources_job, staging_job, progress_job, reports_job],
        schedules=schedules,
        sensors=[*sensors, reports_sensor],
        resources={
            "okr_definitions": OkrDefinitionsResource(),
            "warehouse": WarehouseResource(),
            # every job's outputs name it; none is stored through it (pipelines/resources.py)
            "io_manager": default_io_manager,
        },
    )
    destinations = [
        entry.pipeline_builder()(definitions) for entry in registered_destinations().values()
    ]
    maintenance = build_maintenance(definitions.organisation.timezone)
    return dg.Definitions.merge(sources, core, maintenance, *destinations)
