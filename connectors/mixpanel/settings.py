"""Mixpanel connector settings and the API limits it works within (one place, with sources)."""

from __future__ import annotations

import os
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.retry import request_timeout
from connectors.urls import refuse_url_credentials

SOURCE = "mixpanel"

# How to reach Mixpanel, from the environment only: a service account (Organization settings →
# Service accounts) with access to the project, sent as HTTP Basic auth.
USERNAME_ENV = "MIXPANEL_SERVICE_ACCOUNT_USERNAME"
SECRET_ENV = "MIXPANEL_SERVICE_ACCOUNT_SECRET"
# Another host serving both APIs under their real paths (/api/query/..., /api/2.0/export): the
# local sandbox.
ENDPOINT_ENV = "MIXPANEL_ENDPOINT"

# Hosts by data residency (docs.mixpanel.com/reference: "Query API" servers and the Event Export
# API's `data`, `data-eu`, `data-in` servers).
QUERY_HOSTS = {
    "us": "https://mixpanel.com/api/query",
    "eu": "https://eu.mixpanel.com/api/query",
    "in": "https://in.mixpanel.com/api/query",
}
EXPORT_HOSTS = {
    "us": "https://data.mixpanel.com/api/2.0",
    "eu": "https://data-eu.mixpanel.com/api/2.0",
    "in": "https://data-in.mixpanel.com/api/2.0",
}

# --- Rate limits (docs.mixpanel.com/reference/rate-limits, raw-event-export) -----------------
# Query API (saved Insights reports, funnels, event names): "60 queries per hour" and "a
# maximum of 5 concurrent queries" per project.
QUERY_REQUESTS_PER_HOUR = 60
# Raw Event Export: "60 queries per hour, 3 queries per second, and a maximum of 100
# concurrent queries". The connector asks one request at a time and keeps 1/3 s between
# export requests.
EXPORT_REQUESTS_PER_HOUR = 60
EXPORT_MIN_INTERVAL_S = 1 / 3

# --- Volume bound (ours, README "Mixpanel") ---------------------------------------------------
# The events of one export request (one filter set over the run's days) that okr-sync counts
# itself. DuckDB handles far more; the bound keeps one daily run's download to a few hundred MB
# of JSON. Beyond it the run fails with a clear error: use a saved report (`report:`), a
# narrower `where`, or fewer days (a shorter key-result range for `count: uniques`).
MAX_EVENTS_PER_REQUEST = 1_000_000

# Mixpanel's own examples allow minutes for exports; an export of a quarter is a large answer.
DEFAULT_TIMEOUT_S = 300.0


class MixpanelSettings(BaseModel):
    """How to reach one Mixpanel project. The secret is a SecretStr: never printed."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    project_id: int = Field(ge=1)
    region: Literal["us", "eu", "in"] = "us"
    username: str = Field(min_length=1)
    secret: SecretStr
    timezone: str = Field(
        "UTC", description="The project's time zone: Mixpanel counts its days in it."
    )
    endpoint: str | None = Field(
        default=None, description="One host for both APIs (the sandbox); None for Mixpanel's."
    )
    max_events_per_request: int = Field(MAX_EVENTS_PER_REQUEST, ge=1)
    timeout_s: float = Field(default_factory=lambda: request_timeout(DEFAULT_TIMEOUT_S), gt=0)

    @field_validator("endpoint")
    @classmethod
    def _no_credentials_in_endpoint(cls, value: str | None) -> str | None:
        return refuse_url_credentials(value, "Mixpanel endpoint").rstrip("/") if value else None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone {value!r} is not an IANA time zone name") from exc
        return value

    @property
    def query_base(self) -> str:
        return f"{self.endpoint}/api/query" if self.endpoint else QUERY_HOSTS[self.region]

    @property
    def export_base(self) -> str:
        return f"{self.endpoint}/api/2.0" if self.endpoint else EXPORT_HOSTS[self.region]


def settings_from_env(definitions: object) -> MixpanelSettings | None:
    """Settings when the environment holds a service account and the YAML a project, else None.

    The project's time zone is `sources.mixpanel.timezone`, else the organisation's (README,
    "Mixpanel": what happens when the two differ).
    """
    options = definitions.sources.mixpanel  # type: ignore[attr-defined]
    username = os.environ.get(USERNAME_ENV, "").strip()
    secret = os.environ.get(SECRET_ENV, "").strip()
    if not (username and secret and options.project_id):
        return None
    return MixpanelSettings(
        project_id=options.project_id,
        region=options.region,
        username=username,
        secret=SecretStr(secret),
        timezone=options.timezone or definitions.organisation.timezone,  # type: ignore[attr-defined]
        endpoint=os.environ.get(ENDPOINT_ENV) or None,
    )
