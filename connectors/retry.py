"""The one retry policy all connectors share (tenacity), so every source backs off alike.

A connector raises :class:`RetryableSourceError` for transient failures; this policy retries
those with exponential backoff and jitter, honouring the server's Retry-After when given, and
lets every other exception (including :class:`SourceError`) through at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from connectors.errors import RetryableSourceError

T = TypeVar("T")

# Six attempts with 0.5 s → 8 s backoff covers HubSpot's ten-second rolling window and GA4's
# "concurrent requests" exhaustion; longer outages should fail the run and turn KRs stale.
MAX_ATTEMPTS = 6
INITIAL_WAIT_S = 0.5
MAX_WAIT_S = 8.0
# Tests shrink waits with OKR_RETRY_WAIT_SCALE=0 so fault cases stay fast; production keeps 1.
_WAIT_SCALE_ENV = "OKR_RETRY_WAIT_SCALE"


def _wait_scale() -> float:
    try:
        return float(os.environ.get(_WAIT_SCALE_ENV, "1"))
    except ValueError:
        return 1.0


_backoff = wait_exponential_jitter(multiplier=INITIAL_WAIT_S, max=MAX_WAIT_S, jitter=0.25)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    retry_after = getattr(exc, "retry_after", None)
    base = min(float(retry_after), 60.0) if retry_after is not None else _backoff(state)
    return base * _wait_scale()


def retrying(max_attempts: int = MAX_ATTEMPTS) -> Retrying:
    """A tenacity `Retrying` for one call: `for attempt in retrying(): with attempt: ...`."""
    return Retrying(
        retry=retry_if_exception_type(RetryableSourceError),
        wait=_wait,
        stop=stop_after_attempt(max_attempts),
        reraise=True,
    )


def call_with_retry(fn: Callable[[], T], max_attempts: int = MAX_ATTEMPTS) -> T:
    """Run `fn` under the shared policy and return its result."""
    return retrying(max_attempts)(fn)
