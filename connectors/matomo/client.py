"""Talks to Matomo: one bulk client (`POST {base_url}/index.php`) under the shared retry policy.

Everything goes through one HTTP call shape, `POST {base_url}/index.php` with a form body
(`module=API`, `format=JSON`, `token_auth`, ...). The token travels in the POST body only:
Matomo 5 "secure only" tokens are refused in a URL, and URLs end up in web-server logs.

All metrics of a run share `API.getBulkRequest` calls: each metric becomes one sub-request
(`urls[i]`) asking `period=day&date=START,END`, which Matomo answers as a dict keyed by day,
so a whole quarter of many metrics is usually a single HTTP request. The site's own record
(`SitesManager.getSiteFromId`) rides in the same bulk request: its time zone decides which
days exist yet and which are still provisional.

What is asked is built in requests.py and the answers are read in parse.py; settings.py holds
the limits and credentials, validate.py checks queries against the instance's metadata.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx

from connectors.base import (
    day_range,
    request_hash,
)
from connectors.errors import AuthError, RetryableSourceError, SourceError
from connectors.matomo.parse import SubAnswer
from connectors.matomo.requests import SubRequest
from connectors.matomo.settings import SOURCE, USER_AGENT, MatomoSettings
from connectors.retry import call_with_retry, retry_after_seconds
from connectors.tls import tls_context

log = logging.getLogger(__name__)


class MatomoClient:
    """Sends bulk requests under the shared retry policy and counts HTTP attempts."""

    def __init__(self, settings: MatomoSettings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self._http = http or httpx.Client(
            timeout=settings.timeout_s, headers={"User-Agent": USER_AGENT}, verify=tls_context()
        )
        password = settings.basic_auth_password
        self._auth = (
            httpx.BasicAuth(settings.basic_auth_user, password.get_secret_value())
            if settings.basic_auth_user is not None and password is not None
            else None
        )
        self._owns_http = http is None
        self.request_count = 0

    def __enter__(self) -> MatomoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # Every message built from server text goes through here: Matomo never echoes the token,
    # but a proxy or a misconfigured instance might.
    def _scrub(self, text: str) -> str:
        password = self.settings.basic_auth_password
        for secret in (self.settings.token, *([password] if password else [])):
            value = secret.get_secret_value()
            text = text.replace(value, "***") if value else text
        return text

    def bulk(
        self, subs: Sequence[SubRequest], owners: Mapping[SubRequest, list[str]] | None = None
    ) -> list[SubAnswer]:
        """Answer every sub-request, splitting into chunks of `bulk_limit`.

        `owners` names the metrics behind each sub-request, for error messages.
        """
        limit = self.settings.bulk_limit
        chunks = [subs[i : i + limit] for i in range(0, len(subs), limit)]
        answers: list[SubAnswer] = []
        for number, chunk in enumerate(chunks, start=1):
            log.info(
                "matomo: bulk request %d/%d with %d sub-requests", number, len(chunks), len(chunk)
            )
            answers.extend(self._bulk_chunk(chunk, owners or {}))
        return answers

    def _bulk_chunk(
        self, chunk: Sequence[SubRequest], owners: Mapping[SubRequest, list[str]]
    ) -> list[SubAnswer]:
        fields = {"module": "API", "method": "API.getBulkRequest", "format": "JSON"}
        urls = {f"urls[{i}]": sub.query_string for i, sub in enumerate(chunk)}
        bulk_hash = request_hash({**fields, **urls})
        body = {**fields, "token_auth": self.settings.token.get_secret_value(), **urls}

        def answered() -> list[Any]:
            payload = self._post(body, "API.getBulkRequest")
            problem = _bulk_answer_problem(chunk, payload)
            if problem:
                # A proxy's `{}` or a cut-short list is as transient as its HTML page.
                raise RetryableSourceError(SOURCE, f"API.getBulkRequest {problem}")
            return payload

        payload = call_with_retry(answered)
        fetched_at = datetime.now(UTC)
        answers = []
        for sub, item in zip(chunk, payload, strict=True):
            if isinstance(item, dict) and item.get("result") == "error":
                what = sub.describe()
                if owners.get(sub):
                    what += f" for metric {', '.join(owners[sub])}"
                raise self._app_error(what, item.get("message"), sub.site_id)
            answers.append(SubAnswer(sub, item, fetched_at, bulk_hash))
        return answers

    def _post(self, body: dict[str, str], method: str) -> Any:
        self.request_count += 1
        try:
            response = self._http.post(
                self.settings.endpoint, data=body, auth=self._auth or httpx.USE_CLIENT_DEFAULT
            )
        except httpx.TimeoutException as exc:
            raise RetryableSourceError(
                SOURCE, f"{method} timed out after {self.settings.timeout_s:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableSourceError(
                SOURCE,
                f"{method}: connection to {self.settings.base_url} failed ({type(exc).__name__})",
            ) from exc
        return self._decode(response, method)

    def _decode(self, response: httpx.Response, method: str) -> Any:
        status = response.status_code
        try:
            payload: Any = response.json()
            complete = True
        except ValueError:
            payload, complete = None, False
        message = ""
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            message = self._scrub(_clean_message(payload["message"]))
        if status == 429 or status >= 500:
            raise RetryableSourceError(
                SOURCE,
                f"{method}: HTTP {status} from {self.settings.base_url}"
                + (f": {message}" if message else ""),
                retry_after=_retry_after(response),
            )
        if status == 401 and response.headers.get("WWW-Authenticate", "").startswith("Basic"):
            # Not Matomo's answer (it never asks for basic auth): a proxy in front of it.
            raise AuthError(
                SOURCE,
                f"{method}: {self.settings.base_url} asks for HTTP basic auth and refused "
                + ("the user and password given" if self._auth else "a request without one")
                + ". Put them in the Matomo URL before its host, as user:password@ (they are sent "
                "only in the Authorization header and never shown)",
            )
        if status in (401, 403):
            raise self._auth_error(message or f"HTTP {status}")
        if status == 400 and "bulk request" in message.lower():
            raise SourceError(
                SOURCE,
                f"{method} refused: {message} Lower the Matomo bulk_limit setting "
                f"(now {self.settings.bulk_limit}) to at most the instance's "
                "[General] API_bulk_request_limit.",
            )
        if status >= 400:
            raise SourceError(
                SOURCE, f"{method}: HTTP {status}" + (f": {message}" if message else "")
            )
        if not complete:
            # A proxy's HTML error page (some answer 200), an empty body or a cut-off one
            # (proxy reset, worker killed mid-answer): each is worth another try, and a
            # lasting one gives up with the policy's count.
            if response.text.lstrip()[:1] == "<":
                raise RetryableSourceError(
                    SOURCE,
                    f"{method}: {self.settings.endpoint} answered HTML, not the API's JSON; "
                    "if it persists, check that base_url points at the Matomo root",
                )
            if not response.content.strip():
                raise RetryableSourceError(SOURCE, f"{method}: HTTP {status} with an empty body")
            raise RetryableSourceError(SOURCE, f"{method}: answer is not complete JSON")
        if isinstance(payload, dict) and payload.get("result") == "error":
            raise self._app_error(method, payload.get("message"), None)
        return payload

    def _auth_error(self, message: str) -> AuthError:
        return AuthError(
            SOURCE,
            f"{self.settings.base_url} refused the token ({self._scrub(message)}). Check the "
            "MATOMO_TOKEN: it must be the token_auth of a user with view access to "
            "the site(s). (okr-sync sends it in the POST body, as Matomo 5 requires.)",
        )

    def _app_error(self, what: str, message: Any, site_id: int | None) -> SourceError:
        text = self._scrub(_clean_message(str(message or "no message")))
        lowered = text.lower()
        if "authenticate" in lowered or "can't access this resource" in lowered:
            return self._auth_error(text)
        if "unexpected website" in lowered and site_id is not None:
            return SourceError(
                SOURCE,
                f"{what} failed: site {site_id} does not exist on {self.settings.base_url} "
                f"(Matomo: {text}). Check site_id.",
            )
        return SourceError(SOURCE, f"{what} failed: {text}")


def _days_asked(sub: SubRequest) -> list[date] | None:
    """The days a `period=day` sub-request for `date=A,B` is answered by (one key each)."""
    params = dict(sub.params)
    start, comma, end = params.get("date", "").partition(",")
    if params.get("period") != "day" or not comma:
        return None
    try:
        return day_range(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError:
        return None


def _bulk_answer_problem(chunk: Sequence[SubRequest], payload: Any) -> str | None:
    """How a bulk answer fails to answer `chunk` (None when it does): one answer per
    sub-request, in order, and every day a multi-day sub-request asked for."""
    if not isinstance(payload, list) or len(payload) != len(chunk):
        got = f"{len(payload)} answers" if isinstance(payload, list) else type(payload).__name__
        return (
            f"answered {got} for {len(chunk)} sub-requests; the instance or a proxy in front "
            "of it is not behaving like Matomo"
        )
    for sub, item in zip(chunk, payload, strict=True):
        days = _days_asked(sub)
        if days is None or (isinstance(item, dict) and item.get("result") == "error"):
            continue
        missing = [d for d in days if d.isoformat() not in item] if isinstance(item, dict) else days
        if missing:
            return (
                f"answered {sub.describe()} for {len(days) - len(missing)} of the {len(days)} "
                f"days asked for (first missing: {missing[0]})"
            )
    return None


def _clean_message(message: str) -> str:
    # Matomo appends a debugging hint (sometimes repeatedly) that helps nobody here.
    return re.split(r"\s*--> To temporarily debug", message)[0].strip()


def _retry_after(response: httpx.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))
