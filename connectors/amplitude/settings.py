"""Amplitude connector settings and the API limits it works within (one place), and how to
reach the project from the environment.

- AMPLITUDE_API_KEY / AMPLITUDE_SECRET_KEY: the project's API key and secret key (Settings →
  Projects → General), sent as HTTP basic auth and nowhere else;
- AMPLITUDE_HOST / AMPLITUDE_EU_HOST: other hosts for the US and EU regions (the local
  sandbox, which serves both to answer the wrong region with 403 as Amplitude does).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.retry import request_timeout
from connectors.urls import refuse_url_credentials

SOURCE = "amplitude"
API_KEY_ENV = "AMPLITUDE_API_KEY"
SECRET_KEY_ENV = "AMPLITUDE_SECRET_KEY"
HOST_ENV = "AMPLITUDE_HOST"
EU_HOST_ENV = "AMPLITUDE_EU_HOST"

# Dashboard REST API hosts by data residency (amplitude.com/docs/apis/analytics/dashboard-rest,
# "Regions"). A project lives in one region; the other answers 403.
REGION_HOSTS = {"us": "https://amplitude.com", "eu": "https://analytics.eu.amplitude.com"}

SEGMENTATION_PATH = "/api/2/events/segmentation"
FUNNELS_PATH = "/api/2/funnels"
EVENTS_LIST_PATH = "/api/2/events/list"
EVENT_PROPERTIES_PATH = "/api/2/taxonomy/event-property"
USER_PROPERTIES_PATH = "/api/2/taxonomy/user-property"

# --- Limits (Dashboard REST API, "Rate limits" and "Endpoint costs") ---------------------
# cost = days × conditions × query cost; event segmentation: 1 per event (+4 per group-by per
# event), funnels: 2 per step (+4 per group-by per step); the rest 1. Budgets per project:
# 1,000 cost per five minutes and 108,000 per hour; 5 concurrent requests. The connector asks
# one request at a time and records each run's cost in the run's metadata.
COST_PER_FIVE_MINUTES = 1_000
COST_WINDOW_S = 300.0
COST_PER_HOUR = 108_000
SEGMENTATION_EVENT_COST = 1
FUNNEL_STEP_COST = 2
GROUP_BY_COST = 4
# Daily series (`i=1`) reach back at most 365 days per request ("Event segmentation", `i`).
MAX_DAYS_PER_REQUEST = 365
# Group-by values returned (default 100, at most 1000): the wanted group must be among them.
GROUP_LIMIT = 1000
# Amplitude computes a chart on demand; a year of daily series can take tens of seconds.
DEFAULT_TIMEOUT_S = 60.0
# Events arrive up to a few hours late and Amplitude keeps counting them into their day:
# the newest two project days are still moving.
PROVISIONAL_DAYS = 2
USER_AGENT = "okr-sync amplitude connector"


class AmplitudeSettings(BaseModel):
    """How to reach one Amplitude project. The keys are never printed."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    api_key: SecretStr
    secret_key: SecretStr
    region: Literal["us", "eu"] = "us"
    us_host: str | None = Field(None, description="Another host for region us (the sandbox).")
    eu_host: str | None = Field(None, description="Another host for region eu (the sandbox).")
    timezone: str = Field("UTC", description="The project's time zone: its days are ours.")
    timeout_s: float = Field(default_factory=lambda: request_timeout(DEFAULT_TIMEOUT_S), gt=0)
    cost_budget: int | None = Field(
        COST_PER_FIVE_MINUTES,
        ge=1,
        description="Amplitude cost the connector spends per five minutes before it pauses "
        "(None: no pacing, e.g. against the sandbox in a benchmark).",
    )

    @field_validator("us_host", "eu_host")
    @classmethod
    def _clean_host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return refuse_url_credentials(value.strip(), "AMPLITUDE_HOST").rstrip("/")

    @property
    def base_url(self) -> str:
        override = self.us_host if self.region == "us" else self.eu_host
        return override or REGION_HOSTS[self.region]


def settings_from_env(region: str, timezone: str) -> AmplitudeSettings | None:
    """Settings when the environment has both keys, else None."""
    api_key, secret_key = os.environ.get(API_KEY_ENV), os.environ.get(SECRET_KEY_ENV)
    if not (api_key and secret_key):
        return None
    return AmplitudeSettings(
        api_key=SecretStr(api_key),
        secret_key=SecretStr(secret_key),
        region=region,  # type: ignore[arg-type]
        us_host=os.environ.get(HOST_ENV) or None,
        eu_host=os.environ.get(EU_HOST_ENV) or None,
        timezone=timezone,
    )
