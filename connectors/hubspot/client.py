"""Requests to HubSpot: the official client for auth and endpoints, raw JSON for speed.

Every request goes through :meth:`HubSpotClient._call`: wait for the rate limiter, send with
the generated API method and `_preload_content=False` (the answer's JSON is parsed with orjson,
the same dicts as `json.loads` in half its CPU on search pages; the client's model
deserialisation is 5-6x slower on large pulls, see tests/hubspot/measure_deserialisation.py),
map HTTP errors to the shared error types, and retry transient ones under the shared policy
(`connectors.retry`). The client's own urllib3 retry is switched off so there is one retry
layer, and POST search calls are retried like GETs.

Paging is explicit: :meth:`search` walks `paging.next.after` and restarts on
`hs_object_id > last id` before the 10,000-result cap; :meth:`list_objects` walks the list
endpoint's cursor. `fetch_hubspot_objects` reads the current state of every object changed since
a cursor (or all of them): active objects through CRM search, archived ones through the list
endpoint's recycle bin (search never returns archived objects); `fetch_hubspot_pipelines` the
deal pipelines and their stages.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import operator
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import urllib3
from hubspot import HubSpot
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from connectors.base import request_hash
from connectors.errors import (
    AuthError,
    IncompleteReadError,
    QuotaExhaustedError,
    RetryableSourceError,
    SourceError,
)
from connectors.hubspot.parse import TIMESTAMP_UTC, HubSpotAnswer, ObjectRows, pipelines_table
from connectors.hubspot.requests import (
    BASE_PROPERTIES,
    OBJECT_TYPES,
    search_filter_groups,
)
from connectors.hubspot.settings import (
    MAX_FILTER_GROUPS,
    MAX_FILTERS_PER_GROUP,
    MAX_FILTERS_TOTAL,
    SCOPES,
    SEARCH_RESULT_CAP,
    SOURCE,
    TOKEN_ENV,
    HubSpotSettings,
)
from connectors.retry import READ_ATTEMPTS, call_with_retry, retry_after_seconds

log = logging.getLogger(__name__)

# Each generated API package has its own ApiException class.
_API_EXCEPTIONS = (ObjectsApiException, PipelinesApiException, PropertiesApiException)

# Every Configuration the generated client builds (one per API) sets the `urllib3` logger and
# its own `hubspot.*` loggers to WARNING, and http.client's debug level to 0: in the process
# that reads HubSpot (a user's Dagster code location, a notebook) the user's own logging set-up
# for them would go silent, e.g. urllib3's DEBUG request lines.
_LOGGERS_THE_CLIENT_SETS = ("urllib3", "hubspot")
_logging_state_lock = threading.Lock()


@contextmanager
def _logging_state_kept(prefixes: Sequence[str]) -> Iterator[None]:
    """On leaving, each logger named `prefix` or `prefix.…` has the level it had on entering
    (one created inside, none: NOTSET), and http.client its debug level."""

    def loggers() -> list[logging.Logger]:
        return [
            logger
            for name, logger in list(logging.Logger.manager.loggerDict.items())
            if isinstance(logger, logging.Logger)
            and any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)
        ]

    # one at a time: a second client built meanwhile would otherwise save the muted levels
    with _logging_state_lock:
        levels = {logger.name: logger.level for logger in loggers()}
        debug_level = http.client.HTTPConnection.debuglevel
        try:
            yield
        finally:
            for logger in loggers():
                logger.setLevel(levels.get(logger.name, logging.NOTSET))
            http.client.HTTPConnection.debuglevel = debug_level


class RateLimiter:
    """At most `per_second` acquisitions a second, evenly spaced (thread-safe).

    Even spacing rather than bursts: HubSpot counts the search limit per second, so a burst
    of five at the start of each second is as likely to trip it as to pass.
    """

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for the next slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait


_LIMITERS: dict[tuple[str, str, str, float], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(settings: HubSpotSettings, kind: str) -> RateLimiter:
    """One limiter per account token and endpoint kind in this process, so parallel fetches
    (deals and contacts at once) share HubSpot's per-account budget instead of each using it."""
    rate = settings.search_requests_per_second if kind == "search" else settings.requests_per_second
    # A fingerprint keeps tokens apart without keeping the token itself in a key.
    fingerprint = hashlib.sha256(settings.access_token.get_secret_value().encode()).hexdigest()
    key = (settings.host, fingerprint[:16], kind, rate)
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(rate)
        return limiter


def _retry_after(headers: Any) -> float | None:
    """Retry-After in seconds (a number or an HTTP date); None when absent or unreadable."""
    return retry_after_seconds(headers.get("Retry-After") if headers is not None else None)


def _body_json(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _search_answer_problem(data: dict[str, Any]) -> str | None:
    """What a search answer lacks: every one carries `results` and the `total` matching."""
    if not isinstance(data.get("results"), list):
        return "the answer has no `results` list (not a search answer)"
    total = data.get("total")
    if not isinstance(total, int) or isinstance(total, bool):
        return "the answer has no `total` count (not a search answer)"
    return None


def translate_error(exc: Any, what: str, token: str) -> Exception:
    """The shared error for a HubSpot error answer; the token is never part of the message."""
    status = int(exc.status or 0)
    body = _body_json(exc.body)
    message = str(body.get("message") or exc.reason or "no message")
    category = str(body.get("category") or body.get("errorType") or "")
    if token:
        message = message.replace(token, "***")
    detail = f"{status} {category}".strip()
    if status == 401:
        return AuthError(
            SOURCE,
            f"{what}: HubSpot refused the access token ({detail}: {message}). Check "
            f"{TOKEN_ENV}: it must hold a current private app access token of this account",
        )
    if status == 403:
        return AuthError(
            SOURCE,
            f"{what}: the private app may not read this ({detail}: {message}). Give the app "
            f"in {TOKEN_ENV} the scopes {', '.join(SCOPES)}",
        )
    if status == 429:
        policy = str(body.get("policyName") or "")
        if policy == "DAILY":
            return QuotaExhaustedError(
                SOURCE,
                f"{what}: the account's daily API limit is used up (429 DAILY); it resets at "
                "midnight in the account's time zone",
            )
        # TEN_SECONDLY_ROLLING, SECONDLY (search) and any newer policy: wait and retry.
        return RetryableSourceError(
            SOURCE,
            f"{what}: rate limited (429 {policy or 'no policyName'})",
            retry_after=_retry_after(exc.headers),
        )
    if status == 0 or status in (408, 423) or status >= 500:
        return RetryableSourceError(
            SOURCE,
            f"{what}: {detail or 'no answer'}: {message}",
            retry_after=_retry_after(exc.headers),
        )
    return SourceError(SOURCE, f"{what}: HubSpot answered {detail}: {message}")


def _first_out_of_order(ids: Sequence[int]) -> tuple[int, int]:
    """The first pair of neighbours in `ids` that is not strictly ascending."""
    return next((a, b) for a, b in zip(ids, ids[1:], strict=False) if a >= b)


class HubSpotClient:
    """One account's API session: the generated APIs built once, limiters, a request counter."""

    def __init__(self, settings: HubSpotSettings) -> None:
        self.settings = settings
        self._token = settings.access_token.get_secret_value()
        # Retry(0): the shared tenacity policy is the only retry layer (urllib3's default would
        # retry connection errors silently and never POSTs on 429).
        with _logging_state_kept(_LOGGERS_THE_CLIENT_SETS):  # the APIs are built on access
            api = HubSpot(access_token=self._token, host=settings.host, retry=Retry(0))
            self.search_api = api.crm.objects.search_api
            self.basic_api = api.crm.objects.basic_api
            self.pipelines_api = api.crm.pipelines.pipelines_api
            self.properties_api = api.crm.properties.core_api
        self._search_limiter = shared_limiter(settings, "search")
        self._limiter = shared_limiter(settings, "other")
        self._count_lock = threading.Lock()
        self.request_count = 0

    # -- one request ------------------------------------------------------------------------
    def _call(
        self,
        what: str,
        send: Callable[[], Any],
        search: bool = False,
        check: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> dict[str, Any]:
        """One request under the shared retry policy. `check` names what is missing from an
        answer that is JSON but not the endpoint's answer (None when it is): retried like a
        cut-off body, since a proxy's `{}` is as transient as its HTML page."""
        limiter = self._search_limiter if search else self._limiter

        def once() -> dict[str, Any]:
            limiter.acquire()
            with self._count_lock:
                self.request_count += 1
            try:
                response = send()
            except _API_EXCEPTIONS as exc:
                raise translate_error(exc, what, self._token) from None
            except urllib3.exceptions.HTTPError as exc:
                raise RetryableSourceError(
                    SOURCE, f"{what}: connection failed ({type(exc).__name__})"
                ) from None
            try:
                raw = response.data
            except urllib3.exceptions.HTTPError as exc:
                raise RetryableSourceError(
                    SOURCE, f"{what}: the answer was cut off ({type(exc).__name__})"
                ) from None
            finally:
                response.release_conn()
            try:
                data = orjson.loads(raw)
            except ValueError:
                raise RetryableSourceError(
                    SOURCE, f"{what}: the answer is not complete JSON ({len(raw)} bytes)"
                ) from None
            if not isinstance(data, dict):
                raise RetryableSourceError(SOURCE, f"{what}: the answer is not a JSON object")
            problem = check(data) if check is not None else None
            if problem:
                raise RetryableSourceError(SOURCE, f"{what}: {problem}")
            return data

        return call_with_retry(once)

    @property
    def _timeout(self) -> float:
        return self.settings.timeout_s

    # -- endpoints ----------------------------------------------------------------------------
    def search_page(self, object_type: str, body: dict[str, Any]) -> HubSpotAnswer:
        path = f"/crm/v3/objects/{object_type}/search"
        data = self._call(
            f"POST {path}",
            lambda: self.search_api.do_search(
                object_type, body, _preload_content=False, _request_timeout=self._timeout
            ),
            search=True,
            check=_search_answer_problem,
        )
        return HubSpotAnswer(data, request_hash({"method": "POST", "path": path, "body": body}))

    def list_page(
        self, object_type: str, properties: Sequence[str], archived: bool, after: str | None
    ) -> HubSpotAnswer:
        path = f"/crm/v3/objects/{object_type}"
        params = {
            "limit": self.settings.list_page_size,
            "after": after,
            "properties": list(properties),
            "archived": archived,
        }
        data = self._call(
            f"GET {path}",
            lambda: self.basic_api.get_page(
                object_type,
                limit=params["limit"],
                after=after,
                properties=params["properties"],
                archived=archived,
                _preload_content=False,
                _request_timeout=self._timeout,
            ),
        )
        return HubSpotAnswer(data, request_hash({"method": "GET", "path": path, "params": params}))

    def pipelines(self, object_type: str = "deals") -> HubSpotAnswer:
        path = f"/crm/v3/pipelines/{object_type}"
        data = self._call(
            f"GET {path}",
            lambda: self.pipelines_api.get_all(
                object_type, _preload_content=False, _request_timeout=self._timeout
            ),
        )
        return HubSpotAnswer(data, request_hash({"method": "GET", "path": path}))

    def properties(self, object_type: str) -> HubSpotAnswer:
        path = f"/crm/v3/properties/{object_type}"
        data = self._call(
            f"GET {path}",
            lambda: self.properties_api.get_all(
                object_type, _preload_content=False, _request_timeout=self._timeout
            ),
        )
        return HubSpotAnswer(data, request_hash({"method": "GET", "path": path}))

    def account_details(self) -> HubSpotAnswer:
        """GET /account-info/v3/details: the account's time zone and `companyCurrency`.

        hubspot-api-client 12 has no generated API for it; its shared ApiClient sends the
        request with the same auth, timeout and error types as the generated calls.
        """
        path = "/account-info/v3/details"
        api_client = self.properties_api.api_client
        data = self._call(
            f"GET {path}",
            lambda: api_client.call_api(
                path,
                "GET",
                header_params={"Accept": "application/json"},
                auth_settings=["oauth2"],
                _return_http_data_only=True,
                _preload_content=False,
                _request_timeout=self._timeout,
            ),
        )
        return HubSpotAnswer(data, request_hash({"method": "GET", "path": path}))

    # -- paging ---------------------------------------------------------------------------------
    def search(
        self,
        object_type: str,
        filter_groups: Sequence[Sequence[dict[str, Any]]],
        properties: Sequence[str],
    ) -> Iterator[HubSpotAnswer]:
        """Every object matching any of `filter_groups` (each an AND of filters), once each.

        Sorted by hs_object_id. Pages follow `paging.next.after` (a short page that still has
        one is not the end); before the offset would pass the 10,000-result cap, the search
        restarts with `hs_object_id GT <last id seen>` added to every group, so no object is
        skipped or read twice however many match.

        The end is checked, never assumed: the results read since the last restart must be the
        `total` the last page reports, and `total` must not fall from page to page, else
        IncompleteReadError (a page without `paging` before the end, or objects that left the
        results while the pages were read; the caller reads again once). Pages are yielded as
        they come, so collect them and keep them only once the generator has finished.
        """
        groups = [list(g) for g in filter_groups] or [[]]
        # One filter per group is kept free for the keyset bound.
        if (
            len(groups) > MAX_FILTER_GROUPS
            or any(len(g) >= MAX_FILTERS_PER_GROUP for g in groups)
            or sum(len(g) + 1 for g in groups) > MAX_FILTERS_TOTAL
        ):
            raise ValueError(
                f"at most {MAX_FILTER_GROUPS} filter groups of {MAX_FILTERS_PER_GROUP - 1} "
                f"filters ({MAX_FILTERS_TOTAL} with the keyset bounds) can be searched with "
                "keyset paging"
            )
        limit = self.settings.search_page_size
        last_id: int | None = None  # the highest id read so far
        bound: int | None = None  # the current segment reads ids > bound
        after: str | None = None
        offset = 0  # how far into the current segment the offset has gone
        pages = segments = 0
        segment_read = 0  # results read since the last keyset restart
        segment_total: int | None = None  # the `total` of the segment's previous page
        while True:
            keyset = (
                [{"propertyName": "hs_object_id", "operator": "GT", "value": str(bound)}]
                if bound is not None
                else []
            )
            body: dict[str, Any] = {
                "filterGroups": [{"filters": g + keyset} for g in groups if g + keyset],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": list(properties),
                "limit": limit,
            }
            if after is not None:
                body["after"] = after
            page = self.search_page(object_type, body)
            pages += 1
            total = page.data["total"]
            if segment_total is not None and total < segment_total:
                # Offset paging: an object that left the results moved every later one a place
                # forward, so one of them is on no page. (New objects come last: harmless.)
                raise IncompleteReadError(
                    SOURCE,
                    f"search for {object_type}: the count fell from {segment_total} to {total} "
                    "while its pages were read, so offset paging may have skipped objects",
                )
            segment_total = total
            yield page
            ids = [int(result["id"]) for result in page.data.get("results") or []]
            # Keyset paging is only exact if ids come strictly ascending. (Compared in one
            # pass of C, not a Python loop per object: 1,000 pages hold 200,000 of them.)
            if ids and not (
                (last_id is None or last_id < ids[0]) and all(map(operator.lt, ids, ids[1:]))
            ):
                before, after = _first_out_of_order(ids if last_id is None else [last_id, *ids])
                raise SourceError(
                    SOURCE,
                    f"search returned {object_type} id {after} after {before}: "
                    "results are not in hs_object_id order, paging cannot be trusted",
                )
            if ids:
                last_id = ids[-1]
            segment_read += len(ids)
            next_after = ((page.data.get("paging") or {}).get("next") or {}).get("after")
            if not next_after:
                if segment_read != total:
                    restarted = f" after {segments} keyset restarts" if segments else ""
                    raise IncompleteReadError(
                        SOURCE,
                        f"search for {object_type} ended after {segment_read} results{restarted}"
                        f" where its last page counted {total} (a page without `paging` before "
                        "the end, or objects changing during the read)",
                    )
                break
            offset = max(offset + limit, int(next_after) if str(next_after).isdigit() else 0)
            if offset + limit > SEARCH_RESULT_CAP:
                if last_id == bound:
                    raise SourceError(
                        SOURCE,
                        f"search for {object_type} returned {SEARCH_RESULT_CAP} results' "
                        "worth of empty pages; cannot make progress",
                    )
                segments += 1
                bound, after, offset, segment_read, segment_total = last_id, None, 0, 0, None
            else:
                after = str(next_after)
        log.info("hubspot search %s: %d pages, %d keyset restarts", object_type, pages, segments)

    def list_objects(
        self, object_type: str, properties: Sequence[str], archived: bool
    ) -> Iterator[HubSpotAnswer]:
        """Every page of GET /crm/v3/objects/{type} (archived=true: the recycle bin)."""
        after: str | None = None
        seen: set[str] = set()
        while True:
            page = self.list_page(object_type, properties, archived, after)
            yield page
            after = ((page.data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            if after in seen:
                raise SourceError(SOURCE, f"list of {object_type} repeats the cursor {after!r}")
            seen.add(after)


def fetch_hubspot_objects(
    settings: HubSpotSettings,
    object_type: str,
    modified_since: datetime | None,
    properties: Sequence[str],
    *,
    date_properties: Sequence[str] = (),
    active_since: date | None = None,
    client: HubSpotClient | None = None,
) -> pa.Table:
    """Current state of every `object_type` object modified since `modified_since` (all when
    None), archived ones included and flagged. Returns an OBJECTS_SCHEMA table.

    modified_since: the stored cursor (the latest `updated_at` of the previous run); the search
      starts `settings.modified_overlap` earlier because the search index trails writes, so a
      run sees some objects twice — the newest `updated_at` wins downstream.
    properties: the properties to read (BASE_PROPERTIES are always added).
    date_properties / active_since: optionally only objects with at least one of these dates
      on or after `active_since` (a first load that needs a few quarters, not ten years).
      Archived objects are listed without this filter.
    """
    if object_type not in OBJECT_TYPES:
        raise ValueError(
            f"object_type must be one of {', '.join(OBJECT_TYPES)}, not {object_type!r}"
        )
    client = client or HubSpotClient(settings)
    names = sorted(set(properties) | set(BASE_PROPERTIES[object_type]))
    overlap_start = modified_since - settings.modified_overlap if modified_since else None
    fetched_at = datetime.now(UTC)

    groups = search_filter_groups(
        object_type,
        modified_since,
        overlap_start,
        date_properties,
        active_since,
        settings.time_zone,
    )

    def read_active() -> ObjectRows:
        # All or nothing: a read whose pages disagree with HubSpot's `total` is read again from
        # the start, and its rows never reach the caller.
        rows = ObjectRows(object_type)
        for page in client.search(object_type, groups, names):
            rows.add(page)
        return rows

    active = call_with_retry(read_active, READ_ATTEMPTS, retry_on=IncompleteReadError)
    archived = ObjectRows(object_type)
    for page in client.list_objects(object_type, names, archived=True):
        archived.add(page)

    live = active.table(fetched_at)
    gone = archived.table(fetched_at)
    if overlap_start is not None:
        # The recycle bin cannot be filtered server-side; archiving sets updatedAt.
        gone = gone.filter(
            pc.greater_equal(gone["updated_at"], pa.scalar(overlap_start, TIMESTAMP_UTC))
        )
    # The search index may still show an object that was just archived. (Filtering copies
    # every row's properties, so only when there is something to drop.)
    shown_but_gone = pc.is_in(live["object_id"], gone["object_id"])
    if pc.any(shown_but_gone).as_py():
        live = live.filter(pc.invert(shown_but_gone))
    log.info(
        "hubspot %s: %d active and %d archived objects read",
        object_type,
        live.num_rows,
        gone.num_rows,
    )
    return pa.concat_tables([live, gone])


def fetch_hubspot_pipelines(
    settings: HubSpotSettings, *, client: HubSpotClient | None = None
) -> pa.Table:
    """Every deal pipeline's stages with won/lost/open from their metadata
    (PIPELINE_STAGES_SCHEMA)."""
    client = client or HubSpotClient(settings)
    return pipelines_table(client.pipelines("deals"), datetime.now(UTC))
