"""Building the Dagster Definitions from a set of OKR definitions.

Kept apart from `pipelines/definitions.py` (the code location, which builds `defs` when it
is imported) so that `okr run`, `okr demo` and tests can build from their own definitions
without loading the default ones first.

The asset graph follows the data flow of the design:

    raw/<source> ─► staging/metric_daily ─► okr/kr_progress_daily ─► okr/objective_progress_daily
                    okr/{teams,objectives,metrics,key_results} ─┘
"""

from __future__ import annotations

import warnings

import dagster as dg

from okr_definitions.resolve import Definitions
from pipelines.destinations.notify.definitions import build_definitions as notify_definitions
from pipelines.okr.assets import build_okr_assets
from pipelines.partitions import daily_partitions
from pipelines.reports.assets import build_report_assets, build_report_job_and_sensor
from pipelines.resources import OkrDefinitionsResource, WarehouseResource, load_valid_definitions
from pipelines.schedules import MODELS_JOB, SOURCES_JOB, build_schedules_and_sensors
from pipelines.sources.file.assets import build_file_assets
from pipelines.sources.ga4.assets import build_ga4_assets
from pipelines.sources.ga4.resources import ga4_resource
from pipelines.sources.hubspot.assets import build_hubspot_assets
from pipelines.sources.hubspot.resources import hubspot_resource
from pipelines.sources.matomo.assets import build_matomo_assets
from pipelines.sources.matomo.resources import matomo_resource

# Single-run backfills (one fetch for a whole range of days) are what keeps API calls low;
# Dagster marks the parameter beta, which is not news to act on at every start.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

# Each source contributes assets (and resources) only when some metric uses it.
SOURCE_BUILDERS = {
    "file": build_file_assets,
    "ga4": build_ga4_assets,
    "hubspot": build_hubspot_assets,
    "matomo": build_matomo_assets,
}
# Credentials are read from the environment when a run starts (EnvVar), never from YAML.
SOURCE_RESOURCES = {
    "ga4": ga4_resource,
    "hubspot": hubspot_resource,
    "matomo": matomo_resource,
}


def source_resources(used: set[str]) -> dict[str, dg.ConfigurableResource]:
    return {name: make() for name, make in SOURCE_RESOURCES.items() if name in used}


def build_definitions(definitions: Definitions | None = None) -> dg.Definitions:
    definitions = definitions or load_valid_definitions()
    partitions = daily_partitions(definitions)
    used = definitions.used_sources()
    source_assets = [
        asset
        for source, builder in SOURCE_BUILDERS.items()
        if source in used
        for asset in builder(definitions, partitions)
    ]
    source_keys = [key for asset in source_assets for key in asset.keys]
    okr_assets = build_okr_assets(definitions, partitions, source_keys)

    sources_job = dg.define_asset_job(
        SOURCES_JOB,
        selection=dg.AssetSelection.groups("sources"),
        description="Fetch every source for a range of days into raw.*",
    )
    models_job = dg.define_asset_job(
        MODELS_JOB,
        selection=dg.AssetSelection.groups("staging", "okr"),
        description="Rebuild staging and the progress tables from what the sources delivered.",
    )
    schedules, sensors = build_schedules_and_sensors(definitions, sources_job, models_job)
    # The weekly check-in report follows the progress tables: weekly partitions cannot share
    # a job with the daily ones, so its own job runs when a model run succeeds.
    report_assets = build_report_assets(definitions)
    reports_job, reports_sensor = build_report_job_and_sensor(definitions, models_job)
    core = dg.Definitions(
        assets=[*source_assets, *okr_assets, *report_assets],
        jobs=[sources_job, models_job, reports_job],
        schedules=schedules,
        sensors=[*sensors, reports_sensor],
        resources={
            "okr_definitions": OkrDefinitionsResource(),
            "warehouse": WarehouseResource(),
            **source_resources(used),
        },
    )
    # Destinations (issue 18): each brings its own Definitions; a registry entry after `shape`.
    return dg.Definitions.merge(core, notify_definitions(definitions))
