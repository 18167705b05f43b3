"""Salesforce connector settings, the environment they come from, and the API limits the
connector works within (one place, with sources)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.errors import AuthError
from connectors.retry import request_timeout
from connectors.urls import redact_url_credentials, refuse_url_credentials

SOURCE = "salesforce"
# The only places credentials come from. Messages name these variables, never their values.
DOMAIN_ENV = "SALESFORCE_DOMAIN"  # My Domain, e.g. acme.my.salesforce.com (or acme.my)
CLIENT_ID_ENV = "SALESFORCE_CLIENT_ID"  # the connected app's consumer key
CLIENT_SECRET_ENV = "SALESFORCE_CLIENT_SECRET"  # client-credentials flow
USERNAME_ENV = "SALESFORCE_USERNAME"  # JWT bearer flow: the user the token acts as
PRIVATE_KEY_PATH_ENV = "SALESFORCE_PRIVATE_KEY_PATH"  # JWT bearer flow: the app's RSA key
# Another host for every request (the sandbox): scheme, host and port replace Salesforce's.
HOST_ENV = "SALESFORCE_HOST"
SECRET_ENVS = (CLIENT_SECRET_ENV, PRIVATE_KEY_PATH_ENV)

# REST API version of every request (Spring '25 is v63.0; v62.0 is served by every org today).
API_VERSION = "62.0"
# REST query pages: "up to 2,000 records" a page (the default batch size; Salesforce may send
# fewer "based on size and complexity"), the rest through nextRecordsUrl.
QUERY_PAGE_SIZE = 2000
# SystemModstamp is set when the transaction commits, but a record's row is readable by the
# query only once it is committed: a record saved while the last run read may carry a stamp
# just before the cursor. Re-reading five minutes before the cursor catches it (dlt and the
# Singer taps use a few minutes too); a record read twice is stored once.
MODIFIED_OVERLAP = timedelta(minutes=5)
# Deleted records stay in the recycle bin (and in queryAll) for 15 days, then are purged:
# an incremental cursor older than that could miss a deletion, so the read is full again.
RECYCLE_BIN_RETENTION = timedelta(days=15)
# Above this many records a read goes through Bulk API 2.0 (CSV pages, one request per
# 50,000 records instead of 25 REST pages, and no JSON objects per record). Below it the
# REST query is fewer requests (a Bulk job costs at least three: create, poll, results).
BULK_THRESHOLD = 50_000
BULK_PAGE_RECORDS = 50_000
# A Bulk job is polled after half a second, then ever less often (bulk.py).
BULK_FIRST_POLL_S = 0.5
DEFAULT_TIMEOUT_S = 30.0

Flow = Literal["client_credentials", "jwt_bearer"]


def my_domain(value: str) -> str:
    """The org's My Domain as simple-salesforce wants it (`acme.my` for
    acme.my.salesforce.com; `login` / `test` for the generic hosts)."""
    host = value.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    return host.removesuffix(".salesforce.com")


class SalesforceSettings(BaseModel):
    """How to reach one Salesforce org through a connected app.

    Two OAuth flows: client credentials (the app's consumer key and secret, against the org's
    My Domain host — Salesforce refuses that flow on login.salesforce.com) and JWT bearer
    (consumer key, a username and the app's private key). Secrets are `SecretStr` and paths:
    they never show in repr, logs or error messages. `time_zone` is the organisation's, where
    datetime fields (CreatedDate) fall on their day; date fields (CloseDate) have no zone.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    flow: Flow
    domain: str = Field(description=f"My Domain (env {DOMAIN_ENV}), e.g. acme.my.")
    client_id: SecretStr
    client_secret: SecretStr | None = None
    username: str | None = None
    private_key_path: Path | None = None
    host: str | None = Field(default=None, description=f"Another host (env {HOST_ENV}).")
    time_zone: str = "UTC"
    api_version: str = API_VERSION
    page_size: int = Field(default=QUERY_PAGE_SIZE, ge=200, le=QUERY_PAGE_SIZE)
    bulk_threshold: int = Field(default=BULK_THRESHOLD, ge=1)
    bulk_page_records: int = Field(default=BULK_PAGE_RECORDS, ge=1)
    bulk_poll_s: float = Field(default=BULK_FIRST_POLL_S, gt=0)
    modified_overlap: timedelta = MODIFIED_OVERLAP
    timeout_s: float = Field(default_factory=lambda: request_timeout(DEFAULT_TIMEOUT_S), gt=0)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        domain = my_domain(value)
        if not domain or any(c in domain for c in "/:@ "):
            raise ValueError(
                f"{DOMAIN_ENV} must be the org's My Domain, e.g. acme.my.salesforce.com"
            )
        return domain

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"{HOST_ENV} {redact_url_credentials(value)!r} must be a URL such as "
                "http://127.0.0.1:8080"
            )
        return refuse_url_credentials(value, HOST_ENV).rstrip("/")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"time_zone {value!r} is not an IANA time zone name") from exc
        return value

    @model_validator(mode="after")
    def _flow_complete(self) -> SalesforceSettings:
        if self.flow == "client_credentials" and self.domain in ("login", "test"):
            raise ValueError(
                f"the client-credentials flow only works against the org's My Domain host: set "
                f"{DOMAIN_ENV} to it (e.g. acme.my.salesforce.com), not {self.domain}"
            )
        return self

    @property
    def token_host(self) -> str:
        return f"https://{self.domain}.salesforce.com"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: object) -> SalesforceSettings:
        """Settings from the SALESFORCE_* variables; AuthError naming what to set."""
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return env.get(name, "").strip()

        client_id = get(CLIENT_ID_ENV)
        if not client_id:
            raise AuthError(SOURCE, HOW_TO_ENABLE[0].upper() + HOW_TO_ENABLE[1:])
        if get(CLIENT_SECRET_ENV):
            flow: Flow = "client_credentials"
            if not get(DOMAIN_ENV):
                raise AuthError(
                    SOURCE,
                    f"{DOMAIN_ENV} is not set: the client-credentials flow must reach the org's "
                    "My Domain host (e.g. acme.my.salesforce.com)",
                )
        elif get(USERNAME_ENV) and get(PRIVATE_KEY_PATH_ENV):
            flow = "jwt_bearer"
            key = Path(get(PRIVATE_KEY_PATH_ENV))
            if not key.is_file():
                raise AuthError(
                    SOURCE,
                    f"{PRIVATE_KEY_PATH_ENV} names no readable file: point it at the connected "
                    "app's private key (PEM)",
                )
        else:
            raise AuthError(
                SOURCE,
                f"{CLIENT_ID_ENV} is set but neither {CLIENT_SECRET_ENV} (client-credentials "
                f"flow) nor {USERNAME_ENV} with {PRIVATE_KEY_PATH_ENV} (JWT bearer flow)",
            )
        values: dict[str, object] = {
            "flow": flow,
            "domain": get(DOMAIN_ENV) or "login",
            "client_id": SecretStr(client_id),
        }
        if flow == "client_credentials":
            values["client_secret"] = SecretStr(get(CLIENT_SECRET_ENV))
        else:
            values["username"] = get(USERNAME_ENV)
            values["private_key_path"] = Path(get(PRIVATE_KEY_PATH_ENV))
        if get(HOST_ENV):
            values["host"] = get(HOST_ENV)
        return cls(**{**values, **kwargs})  # type: ignore[arg-type]


HOW_TO_ENABLE = (
    f"set {CLIENT_ID_ENV} and {DOMAIN_ENV} with {CLIENT_SECRET_ENV} (client-credentials flow of "
    f"a connected app) or {USERNAME_ENV} and {PRIVATE_KEY_PATH_ENV} (JWT bearer flow)"
)


def settings_from_env(time_zone: str) -> SalesforceSettings | None:
    """Settings when SALESFORCE_CLIENT_ID is set, else None."""
    if not os.environ.get(CLIENT_ID_ENV, "").strip():
        return None
    return SalesforceSettings.from_env(time_zone=time_zone)
