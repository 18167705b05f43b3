"""Mixpanel source: saved reports from the Query API, declared events and funnels computed in
DuckDB from the Raw Event Export API (README, "Mixpanel").

Public API::

    settings = MixpanelSettings(project_id=12345, username="sa.user", secret="...")
    result, usage = fetch_mixpanel(settings, [MetricRequest("opens", MixpanelQuery(
        event="Editor Opened"))], date(2026, 10, 1), date(2026, 10, 31))

No Dagster, no warehouse: results are `connectors.base.FetchResult` Arrow tables; the raw
answers follow `RAW_SCHEMA` (table raw.mixpanel_requests).
"""

from connectors.base import Connector
from connectors.mixpanel.client import Usage, fetch_mixpanel, is_additive, project_today
from connectors.mixpanel.parse import RAW_SCHEMA
from connectors.mixpanel.requests import plan_requests, where_expression
from connectors.mixpanel.settings import (
    ENDPOINT_ENV,
    SECRET_ENV,
    SOURCE,
    USERNAME_ENV,
    MixpanelSettings,
    settings_from_env,
)
from connectors.mixpanel.validate import (
    MixpanelProblem,
    plan_problems,
    request_counts,
    validate_mixpanel_metrics,
)

CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=settings_from_env,
    validate=validate_mixpanel_metrics,
    how_to_enable=f"set {USERNAME_ENV} and {SECRET_ENV} (a service account)",
    run_plan=plan_problems,
)

__all__ = [
    "CONNECTOR",
    "ENDPOINT_ENV",
    "RAW_SCHEMA",
    "SECRET_ENV",
    "SOURCE",
    "USERNAME_ENV",
    "MixpanelProblem",
    "MixpanelSettings",
    "Usage",
    "fetch_mixpanel",
    "is_additive",
    "plan_problems",
    "plan_requests",
    "project_today",
    "request_counts",
    "settings_from_env",
    "validate_mixpanel_metrics",
    "where_expression",
]
