"""Requests to Salesforce: `simple-salesforce` for the OAuth flows and the REST calls.

simple-salesforce logs in (client credentials or JWT bearer), keeps the access token in its
session headers and, when Salesforce answers 401 INVALID_SESSION_ID (a token expired or revoked
mid-read), mints a new token and sends the same request again — so a read that loses its
session on page 7 continues with page 7. A Bulk API result page does the same, once
(`OrgApi.download`, with the same refresh). Everything else is mapped here to the shared error
types and retried under the one policy (`connectors.retry`): resets, timeouts, 5xx and answers
that are not the endpoint's (HTML, cut-off JSON, a page without `records`).

`REQUEST_LIMIT_EXCEEDED` is a 403, not a 429: the org's daily API budget is spent, which no
retry within the run can fix, so it fails the source at once with a plain message.

The one `requests.Session` under the client counts requests, keeps the last `Sforce-Limit-Info`
header (the org's API usage, recorded in the run's metadata), gives every request a timeout
and, with SALESFORCE_HOST (the sandbox), sends every request to that host instead of
Salesforce's: simple-salesforce writes `https://<domain>.salesforce.com` itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import orjson
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.util import exception_handler

from connectors.base import request_hash
from connectors.errors import AuthError, QuotaExhaustedError, RetryableSourceError, SourceError
from connectors.retry import call_with_retry, retry_after_seconds
from connectors.salesforce.settings import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    DOMAIN_ENV,
    PRIVATE_KEY_PATH_ENV,
    SOURCE,
    USERNAME_ENV,
    SalesforceSettings,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
LIMIT_HEADER = "Sforce-Limit-Info"


class QueryRejected(SourceError):
    """Salesforce refused a query (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE): the caller
    names the metrics and fields behind it."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(SOURCE, f"{error_code}: {message}")
        self.error_code = error_code
        self.detail = message


class _Session(requests.Session):
    """Counts requests, keeps the API usage header, adds the timeout, and sends everything to
    SALESFORCE_HOST when it is set."""

    def __init__(self, settings: SalesforceSettings) -> None:
        super().__init__()
        self.timeout_s = settings.timeout_s
        self.host = urlsplit(settings.host) if settings.host else None
        self.request_count = 0
        self.limit_info: str | None = None
        # The last answer's status and Retry-After: simple-salesforce's exceptions keep
        # neither for a failed login, and none keeps the headers.
        self.last_status: int | None = None
        self.retry_after: float | None = None

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.host is not None:
            parts = urlsplit(url)
            url = urlunsplit((self.host.scheme, self.host.netloc, *parts[2:]))
        kwargs.setdefault("timeout", self.timeout_s)
        self.request_count += 1
        self.last_status = None
        response = super().request(method, url, *args, **kwargs)
        self.last_status = response.status_code
        self.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if response.headers.get(LIMIT_HEADER):
            self.limit_info = response.headers[LIMIT_HEADER]
        return response


def _errors(content: Any) -> tuple[str, str]:
    """(errorCode, message) of Salesforce's error body, a list of {message, errorCode}."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):  # OAuth errors: {error, error_description}
        return str(content.get("error", "")), str(content.get("error_description", ""))
    return "", str(content)[:200]


def _auth_fix(settings: SalesforceSettings) -> str:
    if settings.flow == "client_credentials":
        return (
            f"check {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} (the connected app's consumer key "
            f"and secret), that {DOMAIN_ENV} is the org's My Domain, and that the app enables "
            "the client-credentials flow with a Run As user"
        )
    return (
        f"check {CLIENT_ID_ENV}, {USERNAME_ENV} and {PRIVATE_KEY_PATH_ENV} (the key whose "
        "certificate the connected app holds), and that the user is pre-authorised for the app"
    )


def translate(
    exc: Exception, session: _Session, settings: SalesforceSettings, what: str
) -> Exception:
    """The shared error type for an exception of simple-salesforce or requests."""
    status = session.last_status
    if isinstance(exc, SalesforceAuthenticationFailed) and (
        status is None or status == 200 or status == 429 or status >= 500
    ):
        # Not a refusal: the token endpoint was away or answered something that is not
        # OAuth's JSON (simple-salesforce reports both as a failed login).
        return RetryableSourceError(
            SOURCE,
            f"login: HTTP {status or 'no answer'}: the token answer is not OAuth's",
            session.retry_after,
        )
    if isinstance(exc, SalesforceAuthenticationFailed):
        # simple-salesforce puts the OAuth `error` in .code and the description in .message
        return AuthError(
            SOURCE,
            f"Salesforce refused the login ({exc.code}: {exc.auth_message}); {_auth_fix(settings)}",
        )
    if isinstance(exc, SalesforceError):
        code, message = _errors(exc.content)
        status = exc.status
        if isinstance(exc, SalesforceRefusedRequest) and code == "REQUEST_LIMIT_EXCEEDED":
            return QuotaExhaustedError(
                SOURCE,
                f"the org's daily API limit is used up ({message}); Salesforce counts requests "
                "over a rolling 24 hours: the next run after usage falls goes on, and Setup → "
                "Company Information shows the usage (or ask Salesforce for a higher limit)",
            )
        if isinstance(exc, SalesforceExpiredSession | SalesforceRefusedRequest):
            return AuthError(
                SOURCE, f"{what}: HTTP {status} {code}: {message}; {_auth_fix(settings)}"
            )
        if isinstance(exc, SalesforceMalformedRequest) and code not in ("", "UNKNOWN_EXCEPTION"):
            return QueryRejected(code, message)
        if isinstance(exc, SalesforceResourceNotFound):
            return SourceError(SOURCE, f"{what}: HTTP 404 {code}: {message}")
        if status == 429 or status >= 500:
            return RetryableSourceError(
                SOURCE, f"{what}: HTTP {status} {code} {message}".strip(), session.retry_after
            )
        # Any other refusal (simple-salesforce's SalesforceGeneralError: a 409 Conflict, such
        # as Bulk results asked under another API version than the job's, a 405, a 415) is the
        # request's own fault: the same request gets the same answer, so it is not retried.
        return SourceError(SOURCE, f"{what}: HTTP {status} {code}: {message}")
    if isinstance(exc, requests.Timeout):
        return RetryableSourceError(SOURCE, f"{what}: no answer within the timeout")
    if isinstance(exc, requests.JSONDecodeError | ValueError):
        return RetryableSourceError(SOURCE, f"{what}: the answer is not Salesforce's JSON")
    if isinstance(exc, requests.RequestException):
        return RetryableSourceError(SOURCE, f"{what}: connection failed ({type(exc).__name__})")
    return exc


class OrgApi(Salesforce):
    """simple-salesforce with its JSON answers parsed by orjson: half the standard library's
    time on a REST page of 2,000 records (~30 ms of a 50,000-record read). A body that is not
    JSON raises orjson's JSONDecodeError, a ValueError as the standard library's is.

    It does not send simple-salesforce's `X-PrettyPrint: 1`: Salesforce would answer indented
    JSON, larger for no reader."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers.pop("X-PrettyPrint", None)

    def parse_result_to_json(self, result: requests.Response) -> Any:
        return orjson.loads(result.content)

    def _generate_headers(self) -> None:
        # simple-salesforce writes its headers again after each new login
        super()._generate_headers()
        self.headers.pop("X-PrettyPrint", None)

    def download(self, url: str, params: dict[str, Any]) -> requests.Response:
        """GET `url` streamed (a Bulk API result page). A 401 INVALID_SESSION_ID (the session
        expired mid-read) logs in once more, with the refresh REST calls use, and asks the
        same page again; a new token refused as well is the caller's AuthError, not more
        logins."""

        def get() -> requests.Response:
            return self.session.request(
                "GET", url, headers=self.headers, params=params, stream=True
            )

        response = get()
        if response.status_code == 401 and self._salesforce_login_partial is not None:
            code, _ = _errors(response.json())
            if code == "INVALID_SESSION_ID":
                self._refresh_session()
                response = get()
        if response.status_code >= 300:
            exception_handler(response, name="bulk results")
        return response


@dataclass
class Page:
    """One query answer with the hash of the request behind it (provenance of raw rows)."""

    records: list[dict[str, Any]]
    total_size: int
    request_hash: str


class SalesforceClient:
    """One org: a logged-in simple-salesforce `Salesforce`, created on the first call."""

    def __init__(self, settings: SalesforceSettings) -> None:
        self.settings = settings
        self.session = _Session(settings)
        self._sf: OrgApi | None = None

    @property
    def request_count(self) -> int:
        return self.session.request_count

    @property
    def limit_info(self) -> str | None:
        """The last `Sforce-Limit-Info` header: `api-usage=<used>/<daily max>`."""
        return self.session.limit_info

    def _login(self) -> OrgApi:
        s = self.settings
        common: dict[str, Any] = {
            "session": self.session,
            "version": s.api_version,
            "domain": s.domain,
            "consumer_key": s.client_id.get_secret_value(),
        }
        if s.flow == "client_credentials":
            assert s.client_secret is not None
            return OrgApi(consumer_secret=s.client_secret.get_secret_value(), **common)
        return OrgApi(username=s.username, privatekey_file=str(s.private_key_path), **common)

    def _logged_in(self) -> OrgApi:
        try:
            return self._login()
        except (AttributeError, TypeError, KeyError):
            # simple-salesforce reads a 200 token answer without access_token or
            # instance_url (`{}`) as if it had them.
            raise RetryableSourceError(
                SOURCE, "login: the token answer lacks access_token or instance_url"
            ) from None

    def call(self, what: str, fn: Callable[[OrgApi], T]) -> T:
        """`fn(sf)` under the shared retry policy, errors translated."""

        def once() -> T:
            try:
                if self._sf is None:
                    self._sf = self._logged_in()
                return fn(self._sf)
            except (SalesforceError, requests.RequestException, ValueError) as exc:
                raise translate(exc, self.session, self.settings, what) from None

        return call_with_retry(once)

    def json(self, what: str, path: str) -> Any:
        """GET a REST resource under /services/data/vNN.N/ (describe, limits)."""
        return self.call(what, lambda sf: sf.restful(path, method="GET"))

    def describe(self, object_name: str) -> dict[str, Any]:
        return self.json(f"describe {object_name}", f"sobjects/{object_name}/describe")

    def limits(self) -> dict[str, Any]:
        return self.json("limits", "limits")

    def query_pages(self, soql: str, *, include_deleted: bool = True) -> Iterator[Page]:
        """Every page of a SOQL query (queryAll by default: deleted records come back with
        IsDeleted = true), following nextRecordsUrl."""
        answer = self.call(
            "query", lambda sf: _checked(sf.query(soql, include_deleted=include_deleted))
        )
        yield Page(answer["records"], answer["totalSize"], request_hash({"q": soql}))
        while not answer["done"]:
            url = answer["nextRecordsUrl"]
            answer = self.call(
                "query (next page)",
                lambda sf, url=url: _checked(sf.query_more(url, identifier_is_url=True)),
            )
            yield Page(answer["records"], answer["totalSize"], request_hash({"next": url}))

    def count(self, soql: str) -> int:
        """The totalSize of a `SELECT COUNT()` query (queryAll: deleted records count)."""
        answer = self.call("count", lambda sf: _checked(sf.query(soql, include_deleted=True)))
        return int(answer["totalSize"])


def _checked(answer: Any) -> dict[str, Any]:
    """A query answer as Salesforce sends it, or RetryableSourceError: a proxy's or a broken
    server's 200 must not pass for an empty page."""
    if (
        not isinstance(answer, dict)
        or not isinstance(answer.get("records"), list)
        or not isinstance(answer.get("done"), bool)
        or not isinstance(answer.get("totalSize"), int)
        or (not answer["done"] and not isinstance(answer.get("nextRecordsUrl"), str))
    ):
        raise RetryableSourceError(SOURCE, "query: the answer is not a Salesforce query page")
    return answer
