"""Mixpanel source: saved reports from the Query API, declared events and funnels computed in
DuckDB from the Raw Event Export API (README, "Mixpanel").

Public API::

    settings = MixpanelSettings(project_id=12345, username="sa.user", secret="...")
    result, usage = fetch_mixpanel(settings, [MetricRequest("opens", MixpanelQuery(
        event="Editor Opened"))], date(2026, 10, 1), date(2026, 10, 31))

No Dagster, no warehouse: results are `connectors.results.FetchResult` Arrow tables; the raw
answers follow `RAW_SCHEMA` (table raw.mixpanel_requests).
"""

from __future__ import annotations

from connectors.base import Connector, deferred, lazy_exports
from connectors.mixpanel.requests import plan_requests, where_expression
from connectors.mixpanel.settings import (
    ENDPOINT_ENV,
    SECRET_ENV,
    SOURCE,
    USERNAME_ENV,
    MixpanelSettings,
    settings_from_env,
)

# The client (httpx) loads with the first fetch or check against the API: `okr validate`
# without credentials and `okr status` never import it.
__getattr__ = lazy_exports(
    __name__,
    {
        "RAW_SCHEMA": "connectors.mixpanel.parse",
        "MixpanelProblem": "connectors.mixpanel.validate",
        "Usage": "connectors.mixpanel.client",
        "fetch_mixpanel": "connectors.mixpanel.client",
        "is_additive": "connectors.mixpanel.client",
        "plan_problems": "connectors.mixpanel.validate",
        "project_today": "connectors.mixpanel.client",
        "request_counts": "connectors.mixpanel.validate",
        "validate_mixpanel_metrics": "connectors.mixpanel.validate",
    },
)

CONNECTOR = Connector(
    is_additive=deferred("connectors.mixpanel.client", "is_additive"),
    settings_from_env=settings_from_env,
    validate=deferred("connectors.mixpanel.validate", "validate_mixpanel_metrics"),
    how_to_enable=f"set {USERNAME_ENV} and {SECRET_ENV} (a service account)",
    run_plan=deferred("connectors.mixpanel.validate", "plan_problems"),
    uses_tls_context=True,
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
