"""Matomo connector settings and the API limits it works within (one place), and how to reach
the instance from the environment.

- MATOMO_URL: Matomo's root URL (with `user:password@` before the host for a basic-auth proxy in
  front of it); MATOMO_TOKEN: a `token_auth` with view access to the site.
"""

from __future__ import annotations

import os
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.retry import request_timeout
from connectors.urls import redact_url_credentials, split_url_credentials

SOURCE = "matomo"
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
    """Where the Matomo instance is and how to talk to it. No secret is ever printed.

    A `base_url` with a user and password (`https://user:password@host`, HTTP basic auth of a
    proxy in front of Matomo) is accepted and split at once: `base_url` keeps the URL without
    them (what every message and stored row shows), `basic_auth_*` the credentials, which are
    sent only in the Authorization header.
    """

    # A refused value is not repeated in the validation error: it may hold a password.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    base_url: str = Field(description="Matomo's root URL, e.g. https://analytics.example.com")
    site_id: int = Field(ge=1, description="Default idSite for metrics that don't name one.")
    token: SecretStr = Field(description="token_auth of a user with view access (from env).")
    basic_auth_user: str | None = Field(
        default=None, description="HTTP basic auth user, from the URL's user:password@."
    )
    basic_auth_password: SecretStr | None = Field(
        default=None, description="HTTP basic auth password, from the URL's user:password@."
    )
    bulk_limit: int = Field(default=DEFAULT_BULK_LIMIT, ge=1, description="Sub-requests per bulk.")
    timeout_s: float = Field(
        default_factory=lambda: request_timeout(DEFAULT_TIMEOUT_S),
        gt=0,
        description="Seconds to wait for one answer (OKR_REQUEST_TIMEOUT_S overrides).",
    )

    @model_validator(mode="before")
    @classmethod
    def _credentials_out_of_the_url(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("base_url"), str):
            return data
        url, user, password = split_url_credentials(data["base_url"].strip())
        if user is None:
            return data
        if data.get("basic_auth_user") is not None:
            raise ValueError("give basic auth either in base_url or in basic_auth_*, not both")
        return {
            **data,
            "base_url": url,
            "basic_auth_user": user,
            "basic_auth_password": SecretStr(password or ""),
        }

    @field_validator("base_url")
    @classmethod
    def _clean_base_url(cls, value: str) -> str:
        url = value.strip()
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(
                f"base_url {redact_url_credentials(url)!r} is not an http(s) URL; set it to "
                "Matomo's root, e.g. https://analytics.example.com"
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
