"""HubSpot connector settings and the API limits it works within (one place, with sources)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.errors import AuthError
from connectors.retry import request_timeout

SOURCE = "hubspot"
# The one place the token comes from (a private app's access token). Messages name this
# variable, never its value.
TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
HOST_ENV = "HUBSPOT_HOST"
# The connector's request rates, for accounts with higher limits (or the sandbox, which has
# none); unset, the defaults below, which stay under the lowest tier's limits.
SEARCH_RATE_ENV = "HUBSPOT_SEARCH_REQUESTS_PER_SECOND"
RATE_ENV = "HUBSPOT_REQUESTS_PER_SECOND"
HUBSPOT_HOST = "https://api.hubapi.com"

# --- CRM search (developers.hubspot.com/docs/api-reference/search/guide, "Limitations") ------
# "The maximum number of supported objects per page is 200" (raised from 100 in 2024).
SEARCH_PAGE_SIZE = 200
# "The search endpoints are limited to 10,000 total results for any given query. Attempting to
# page beyond 10,000 will result in a 400 error." We restart with hs_object_id > last id.
SEARCH_RESULT_CAP = 10_000
# "Up to five filterGroups with up to 6 filters in each group, with a maximum of 18 filters".
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS_TOTAL = 18
# "The search endpoints are rate limited to five requests per second per account" (the 2020
# changelog "CRM Search API Rate Limit Increase" said four per token). 4 leaves room for
# other apps of the same account, which share the bucket.
SEARCH_REQUESTS_PER_SECOND = 4.0
# --- Other endpoints (developers.hubspot.com/docs/guides/apps/api-usage/usage-details) ------
# Private apps: 100 requests per 10 s on Free/Starter, 190 on Professional/Enterprise (the
# 2024 changelog "Increasing our API limits"). 9/s stays under the lowest tier.
REQUESTS_PER_SECOND = 9.0
# GET /crm/v3/objects/{type}: "The maximum number of results to display per page" is 100.
LIST_PAGE_SIZE = 100
# The search index trails writes by seconds (up to minutes when HubSpot is busy: "it may take a
# few moments for newly created or updated objects to appear in search"). An incremental run
# re-reads this much before its cursor, so nothing modified just before the last run is lost.
MODIFIED_OVERLAP = timedelta(minutes=10)
# Archived objects can be restored for 90 days, then they are deleted and no longer listed: an
# incremental cursor older than this cannot see every deletion (run a full refresh instead).
ARCHIVE_RETENTION = timedelta(days=90)
DEFAULT_TIMEOUT_S = 30.0
# Private-app scopes the connector needs (read only).
SCOPES = (
    "crm.objects.deals.read",
    "crm.objects.contacts.read",
    "crm.schemas.deals.read",
    "crm.schemas.contacts.read",
)


class HubSpotSettings(BaseModel):
    """How to reach one HubSpot account with a private app's access token.

    `time_zone` is the account's time zone (Settings → Account defaults → Time zone): HubSpot
    stores datetimes in UTC and its reports count days in that zone, so the connector does too.
    The token is a `SecretStr`: it never shows in repr, logs or error messages.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    access_token: SecretStr = Field(description=f"Private app access token (env {TOKEN_ENV}).")
    host: str = Field(default=HUBSPOT_HOST, description="API base URL; the sandbox's for tests.")
    time_zone: str = Field(default="UTC", description="The HubSpot account's time zone.")
    search_requests_per_second: Annotated[float, Field(gt=0)] = SEARCH_REQUESTS_PER_SECOND
    requests_per_second: Annotated[float, Field(gt=0)] = REQUESTS_PER_SECOND
    search_page_size: Annotated[int, Field(ge=1, le=SEARCH_PAGE_SIZE)] = SEARCH_PAGE_SIZE
    list_page_size: Annotated[int, Field(ge=1, le=LIST_PAGE_SIZE)] = LIST_PAGE_SIZE
    modified_overlap: timedelta = MODIFIED_OVERLAP
    timeout_s: float = Field(
        default_factory=lambda: request_timeout(DEFAULT_TIMEOUT_S),
        gt=0,
        description="Seconds to wait for one answer (OKR_REQUEST_TIMEOUT_S overrides).",
    )

    @field_validator("access_token")
    @classmethod
    def _token_given(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError(f"the HubSpot access token is empty: set {TOKEN_ENV}")
        return value

    @field_validator("host")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"host {value!r} must be a URL such as {HUBSPOT_HOST}")
        return value.rstrip("/")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"time_zone {value!r} is not an IANA time zone name (e.g. Europe/Berlin); use "
                "the HubSpot account's zone (Settings → Account defaults)"
            ) from exc
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: object) -> HubSpotSettings:
        """Settings with the token from HUBSPOT_ACCESS_TOKEN (and HUBSPOT_HOST if set)."""
        env = os.environ if env is None else env
        token = env.get(TOKEN_ENV, "").strip()
        if not token:
            raise AuthError(
                SOURCE,
                f"{TOKEN_ENV} is not set: create a private app in HubSpot (Settings → "
                f"Integrations → Private apps) with the scopes {', '.join(SCOPES)} and put its "
                f"access token in {TOKEN_ENV}",
            )
        if env.get(HOST_ENV) and "host" not in kwargs:
            kwargs["host"] = env[HOST_ENV]
        return cls(access_token=SecretStr(token), **kwargs)  # type: ignore[arg-type]


def rate_from_env(name: str, default: float) -> float:
    """A request rate from the environment variable `name` (requests per second)."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if rate <= 0:
        raise ValueError(f"{name} must be a positive number of requests per second, not {value!r}")
    return rate


def settings_from_env(time_zone: str) -> HubSpotSettings | None:
    """Settings when HUBSPOT_ACCESS_TOKEN is set, else None."""
    if not os.environ.get(TOKEN_ENV, "").strip():
        return None
    return HubSpotSettings.from_env(
        time_zone=time_zone,
        search_requests_per_second=rate_from_env(SEARCH_RATE_ENV, SEARCH_REQUESTS_PER_SECOND),
        requests_per_second=rate_from_env(RATE_ENV, REQUESTS_PER_SECOND),
    )
