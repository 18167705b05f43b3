"""Matomo connector settings and the API limits it works within (one place), and how to reach
the instance from the environment.

- MATOMO_URL: Matomo's root URL; MATOMO_TOKEN: a `token_auth` with view access to the site.
"""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.retry import request_timeout

URL_ENV = "MATOMO_URL"
TOKEN_ENV = "MATOMO_TOKEN"

# Sub-requests per API.getBulkRequest. Matomo >= 5.8 enforces `[General] API_bulk_request_limit`
# (unlimited for token users unless an admin sets it; 50 for anonymous users with view access)
# and PHP's max_input_vars (default 1000) caps form fields. 50 keeps one bulk request well
# inside both and inside PHP's max_execution_time when reports must be archived on the fly.
DEFAULT_BULK_LIMIT = 50
# Archiving a long range of segmented reports on a busy instance can take a minute.
DEFAULT_TIMEOUT_S = 60.0
# Matomo's default filter_limit is 100 rows per table and it truncates silently; -1 = all rows.
ALL_ROWS = "-1"
# Matomo keeps re-archiving today and yesterday (site time zone): both are still moving.
PROVISIONAL_DAYS = 2
USER_AGENT = "okr-sync matomo connector"

PROVISIONAL = "provisional"


class MatomoSettings(BaseModel):
    """Where the Matomo instance is and how to talk to it. No secret is ever printed."""

    model_config = ConfigDict(frozen=True)

    base_url: str = Field(description="Matomo's root URL, e.g. https://analytics.example.com")
    site_id: int = Field(ge=1, description="Default idSite for metrics that don't name one.")
    token: SecretStr = Field(description="token_auth of a user with view access (from env).")
    bulk_limit: int = Field(default=DEFAULT_BULK_LIMIT, ge=1, description="Sub-requests per bulk.")
    timeout_s: float = Field(
        default_factory=lambda: request_timeout(DEFAULT_TIMEOUT_S),
        gt=0,
        description="Seconds to wait for one answer (OKR_REQUEST_TIMEOUT_S overrides).",
    )

    @field_validator("base_url")
    @classmethod
    def _clean_base_url(cls, value: str) -> str:
        url = value.strip()
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(
                f"base_url {url!r} is not an http(s) URL; set it to Matomo's root, "
                "e.g. https://analytics.example.com"
            )
        if "?" in url or "#" in url:
            raise ValueError(
                "base_url must not carry a query string or fragment (and never a token)"
            )
        url = url.rstrip("/")
        if url.endswith("/index.php"):
            url = url[: -len("/index.php")]
        return url

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/index.php"


def settings_from_env(site_id: int) -> MatomoSettings | None:
    """Settings when the environment has the URL and the token, else None."""
    url, token = os.environ.get(URL_ENV), os.environ.get(TOKEN_ENV)
    if not (url and token):
        return None
    return MatomoSettings(base_url=url, site_id=site_id, token=SecretStr(token))
