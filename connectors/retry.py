"""The one retry policy all connectors share (tenacity), so every source backs off alike.

A connector raises :class:`RetryableSourceError` for transient failures — 429, 5xx, timeouts,
resets, and 200s that are not the endpoint's answer (an HTML page, an empty body, `{}`, a cut-off
body); this policy retries those with exponential backoff and jitter, honouring the server's
Retry-After when given, and lets every other exception (including :class:`SourceError`) through
at once. A whole read whose pages disagree with the count the source gave is retried too, once
(:data:`READ_ATTEMPTS`, `retry_on=IncompleteReadError`). A read timeout
is such a transient failure; :func:`request_timeout` is the one knob that shortens every
connector's timeout at once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from connectors.errors import RetryableSourceError
from connectors.urls import redact_url_credentials

T = TypeVar("T")
log = logging.getLogger(__name__)

# Six attempts with 0.5 s → 8 s backoff covers HubSpot's ten-second rolling window and GA4's
# "concurrent requests" exhaustion; longer outages should fail the run and turn KRs stale.
MAX_ATTEMPTS = 6
INITIAL_WAIT_S = 0.5
MAX_WAIT_S = 8.0
# A read whose pages together disagree with the count the source gave (IncompleteReadError)
# is read once more as a whole: objects changing during the read explain one mismatch, a second
# one means the answers cannot be trusted.
READ_ATTEMPTS = 2
# Tests shrink waits with OKR_RETRY_WAIT_SCALE=0 so fault cases stay fast; production keeps 1.
_WAIT_SCALE_ENV = "OKR_RETRY_WAIT_SCALE"
# Seconds to wait for one answer, for every connector; unset, each source keeps the default its
# settings explain (GA4 and Matomo 60 s, HubSpot 30 s). Tests set a fraction of a second so a
# hanging answer costs a retry, not a minute.
_TIMEOUT_ENV = "OKR_REQUEST_TIMEOUT_S"


def wait_scale() -> float:
    """OKR_RETRY_WAIT_SCALE: 1 in production, 0 in tests; connectors that pace themselves
    scale their pauses by it too."""
    try:
        return max(0.0, float(os.environ.get(_WAIT_SCALE_ENV, "1")))
    except ValueError:
        return 1.0


def request_timeout(default: float) -> float:
    """The read timeout of one request: OKR_REQUEST_TIMEOUT_S when set and positive, else
    the source's `default`."""
    try:
        value = float(os.environ.get(_TIMEOUT_ENV, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header in seconds (RFC 9110: a number or an HTTP date); None when absent
    or unreadable, and the policy's own backoff applies."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


_backoff = wait_exponential_jitter(multiplier=INITIAL_WAIT_S, max=MAX_WAIT_S, jitter=0.25)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    retry_after = getattr(exc, "retry_after", None)
    base = min(float(retry_after), 60.0) if retry_after is not None else _backoff(state)
    return base * wait_scale()


def _log_retry(state: RetryCallState, max_attempts: int) -> None:
    # A retried failure is worth a line in the run's log: a source that needs three tries
    # every morning is about to fail one. Messages never carry credentials (connectors/errors).
    exc = state.outcome.exception() if state.outcome else None
    retry_after = getattr(exc, "retry_after", None)
    wait = state.next_action.sleep if state.next_action else 0.0
    asked = f", the server's Retry-After: {retry_after:g} s" if retry_after is not None else ""
    log.warning(
        "%s (attempt %d of %d); retrying in %.1f s%s",
        redact_url_credentials(str(exc)),
        state.attempt_number,
        max_attempts,
        wait,
        asked,
    )


def retrying(
    max_attempts: int = MAX_ATTEMPTS,
    retry_on: type[RetryableSourceError] = RetryableSourceError,
) -> Retrying:
    """A tenacity `Retrying` for one call: `for attempt in retrying(): with attempt: ...`."""
    return Retrying(
        retry=retry_if_exception_type(retry_on),
        wait=_wait,
        stop=stop_after_attempt(max_attempts),
        before_sleep=lambda state: _log_retry(state, max_attempts),
        reraise=True,
    )


def call_with_retry(
    fn: Callable[[], T],
    max_attempts: int = MAX_ATTEMPTS,
    retry_on: type[RetryableSourceError] = RetryableSourceError,
) -> T:
    """Run `fn` under the shared policy and return its result.

    `retry_on` narrows what is retried (a whole read retried on IncompleteReadError must not
    retry again what its own requests already retried). When the budget is spent, the last
    transient error is raised again with how long the policy kept trying, so "HTTP 503" in a
    failed run does not read like a single hiccup.
    """
    try:
        return retrying(max_attempts, retry_on)(fn)
    except retry_on as exc:
        if max_attempts <= 1:
            raise
        message = str(exc).removeprefix(f"{exc.source}: ")
        raise RetryableSourceError(
            exc.source,
            f"{message}; gave up after {max_attempts} attempts. The source's key results show "
            "stale until a later run gets through",
            exc.retry_after,
        ) from exc
