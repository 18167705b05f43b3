"""The Mixpanel source: export and saved-report requests per run into raw.mixpanel_requests and
raw.metric_rows (days in the project's time zone)."""

from datetime import date

import dagster as dg

from connectors.base import MetricRequest, range_requests
from connectors.mixpanel import fetch_mixpanel, is_additive
from connectors.results import FetchResult
from okr_definitions.resolve import Definitions
from pipelines.sources.common import windowed_source_asset
from pipelines.sources.mixpanel.resources import RESOURCE_KEY, MixpanelResource
from warehouse.sources.mixpanel import RAW_TABLE, raw_slice

SOURCE = "mixpanel"


def _fetch(
    defs: Definitions,
    mixpanel: MixpanelResource,
    metrics: list[MetricRequest],
    start: date,
    end: date,
) -> FetchResult:
    options = defs.sources.mixpanel
    settings = mixpanel.settings(
        options.project_id, options.region, options.timezone or defs.organisation.timezone
    )
    ranges = range_requests(defs, SOURCE, is_additive, start, end)
    result, _usage = fetch_mixpanel(settings, metrics, start, end, ranges)
    return result


def build_assets(definitions: Definitions, partitions: dg.PartitionsDefinition) -> list:
    return [
        windowed_source_asset(
            definitions,
            partitions,
            source=SOURCE,
            kinds={"mixpanel", "duckdb"},
            description=(
                "Mixpanel: declared events and funnels counted in DuckDB from the Raw Event "
                "Export API (one request per filter set per run), saved reports from the Query "
                "API; days in the project's time zone. Writes raw.mixpanel_requests (requests "
                "with provenance) and raw.metric_rows; the metadata shows the requests against "
                "the hourly limits."
            ),
            fetch=_fetch,
            raw_table=RAW_TABLE,
            raw_slice=raw_slice,
            resource_key=RESOURCE_KEY,
        )
    ]
