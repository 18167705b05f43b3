"""GA4 connector settings and the API limits it works within (one place, with sources)."""

from __future__ import annotations

import os
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.retry import request_timeout
from connectors.urls import refuse_url_credentials

SOURCE = "ga4"

# How to reach GA4, from the environment only:
# - a service-account key file with Viewer access on the property; unset, Application Default
#   Credentials are used (GOOGLE_APPLICATION_CREDENTIALS, gcloud, or the metadata server);
CREDENTIALS_ENV = "GA4_CREDENTIALS_PATH"
# - another API host (the local sandbox); ANONYMOUS_ENV=1 sends no credentials, which the
#   connector allows for a non-Google endpoint only.
ENDPOINT_ENV = "GA4_ENDPOINT"
ANONYMOUS_ENV = "GA4_ANONYMOUS"

# --- Data API v1beta limits (developers.google.com/analytics/devguides/reporting/data/v1) ---
# "Requests are limited to 10 metrics" (RunReportRequest.metrics).
MAX_METRICS_PER_REPORT = 10
# batchRunReports: "Up to 5 requests are allowed" (BatchRunReportsRequest.requests).
MAX_REPORTS_PER_BATCH = 5
# RunReportRequest.dateRanges: "Requests are allowed up to 4 date ranges."
MAX_DATE_RANGES_PER_REPORT = 4
# RunReportRequest.limit: "The API returns a maximum of 250,000 rows per request".
MAX_PAGE_SIZE = 250_000
# Our default page: big enough that a year of daily rows for a 10-metric report is one page,
# small enough that one answer stays a few MB of JSON.
DEFAULT_PAGE_SIZE = 100_000
# The client library's own default (transports/base.py `default_timeout=60.0`).
DEFAULT_TIMEOUT_S = 60.0

# --- Quota pacing (developers.google.com/analytics/devguides/reporting/data/v1/quotas) ----
# Standard properties get 200,000 tokens/day, 40,000/hour, 14,000 per project per hour and
# 10 concurrent requests; most requests cost ≤ 10 tokens. Below these remainders the
# connector pauses between requests instead of running into a 429.
LOW_TOKENS_PER_HOUR = 500
LOW_TOKENS_PER_PROJECT_PER_HOUR = 500
LOW_POTENTIALLY_THRESHOLDED_PER_HOUR = 5
LOW_CONCURRENT_REQUESTS = 1
# Below this, a warning that the day's tokens are nearly gone (the daily bucket refills in
# under 24 h, pausing would not help within one run).
LOW_TOKENS_PER_DAY = 2_000
# How long to pause when an hourly bucket runs low; scaled by OKR_RETRY_WAIT_SCALE (the same
# knob as connectors.retry) so tests do not sleep.
PACING_PAUSE_S = 5.0

# The read-only scope is all the connector needs (Data API reference, "Authorization scopes").
SCOPES = ("https://www.googleapis.com/auth/analytics.readonly",)
GOOGLE_ENDPOINT = "analyticsdata.googleapis.com"


class GA4Settings(BaseModel):
    """How to reach one GA4 property. Secrets are never held here, only where to find them.

    Credentials, first that applies:
    - `anonymous=True`: no credentials (the local sandbox only; refused for Google's endpoint),
    - `credentials_path`: a service-account key file (JSON) with Viewer access on the property,
    - otherwise Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud,
      or the metadata server).

    `transport` is REST by default: the JSON wire format the sandbox speaks, so the tested path
    is the production path. The client library decodes REST JSON into protobuf in pure Python
    (roughly 30-40 µs per row); for reports of hundreds of thousands of rows gRPC decodes the
    same messages natively.

    `timezone` is the property's reporting time zone (GA4 Admin → Property settings →
    Reporting time zone). GA4's `date` dimension counts days in that zone. The Data API's
    getMetadata does not return it; every runReport answer does (`metadata.timeZone`), and the
    connector fails loudly if the two disagree, because day boundaries would be misread. Leave
    it empty to take the zone from the answers (see `fetch_property_timezone`).
    """

    # A refused value is not repeated in the validation error: an endpoint may hold a password.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    property_id: str = Field(description="Numeric GA4 property id, e.g. 123456789.")
    endpoint: str | None = Field(
        default=None,
        description="API host; None for Google's. The sandbox: http://127.0.0.1:<port>.",
    )
    credentials_path: str | None = Field(
        default=None, description="Service-account key file; empty for ADC."
    )
    anonymous: bool = Field(default=False, description="No credentials (sandbox only).")
    transport: Literal["rest", "grpc"] = Field(
        default="rest",
        description="rest: JSON over HTTPS (what the sandbox speaks; tested). grpc: binary "
        "protobuf, several times faster to decode for reports of 100,000s of rows.",
    )
    timezone: str | None = Field(default=None, description="The property's reporting zone.")
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE
    timeout_s: float = Field(
        default_factory=lambda: request_timeout(DEFAULT_TIMEOUT_S),
        gt=0,
        description="Seconds to wait for one answer (OKR_REQUEST_TIMEOUT_S overrides).",
    )

    @field_validator("property_id", mode="before")
    @classmethod
    def _property_digits(cls, value: object) -> str:
        text = str(value).strip().removeprefix("properties/")
        if not text.isdigit():
            raise ValueError(
                f"GA4 property_id {value!r} must be the numeric property id (GA4 Admin → "
                "Property settings), e.g. 123456789"
            )
        return text

    @field_validator("endpoint")
    @classmethod
    def _no_credentials_in_endpoint(cls, value: str | None) -> str | None:
        return refuse_url_credentials(value, "GA4 endpoint") if value else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(
                    f"timezone {value!r} is not an IANA time zone name (e.g. Europe/Berlin, "
                    "America/Los_Angeles)"
                ) from exc
        return value or None

    @model_validator(mode="after")
    def _anonymous_only_locally(self) -> GA4Settings:
        if self.anonymous and (self.endpoint is None or GOOGLE_ENDPOINT in self.endpoint):
            raise ValueError(
                "anonymous=True is for the local sandbox only: set endpoint to the sandbox "
                "URL, or give credentials_path / Application Default Credentials for Google"
            )
        if self.transport == "grpc" and self.endpoint and self.endpoint.startswith("http://"):
            raise ValueError(
                "the sandbox speaks REST only: use transport='rest' with an http:// endpoint"
            )
        if self.anonymous and self.credentials_path:
            raise ValueError("set either anonymous=True or credentials_path, not both")
        return self

    @classmethod
    def for_sandbox(cls, base_url: str, property_id: str, **kwargs: object) -> GA4Settings:
        """Settings that point the real client at a local sandbox without credentials."""
        return cls(property_id=property_id, endpoint=base_url, anonymous=True, **kwargs)


def settings_from_env(property_id: str | None) -> GA4Settings | None:
    """Settings when the environment says how to reach GA4 and a property is known, else None."""
    configured = any(
        os.environ.get(name)
        for name in (CREDENTIALS_ENV, ENDPOINT_ENV, "GOOGLE_APPLICATION_CREDENTIALS")
    )
    if not (configured and property_id):
        return None
    return GA4Settings(
        property_id=property_id,
        credentials_path=os.environ.get(CREDENTIALS_ENV) or None,
        endpoint=os.environ.get(ENDPOINT_ENV) or None,
        anonymous=os.environ.get(ANONYMOUS_ENV) == "1",
    )
