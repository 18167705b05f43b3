"""Errors every connector raises, so the pipeline can tell "retry" from "give up cleanly".

Messages must never contain a credential: build them from the method, status and the
source's own message, never from request headers or bodies that carry a token.
"""

from __future__ import annotations

from connectors.urls import redact_url_credentials


class SourceError(RuntimeError):
    """A source answered with an error that retrying will not fix (bad query, bad token...)."""

    def __init__(self, source: str, message: str) -> None:
        # A URL with a user and password in it never reaches a message (connectors/urls.py).
        super().__init__(f"{source}: {redact_url_credentials(message)}")
        self.source = source


class AuthError(SourceError):
    """Credentials were refused. The message says which setting to check, never its value."""


class QuotaExhaustedError(SourceError):
    """A quota that will not recover within this run (e.g. GA4's daily tokens) is used up."""


class RetryableSourceError(RuntimeError):
    """A transient failure (429, 5xx, timeout, reset, truncated answer): back off and retry.

    `retry_after` carries the server's Retry-After in seconds when it sent one.
    """

    def __init__(self, source: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{source}: {redact_url_credentials(message)}")
        self.source = source
        self.retry_after = retry_after


class IncompleteReadError(RetryableSourceError):
    """A read whose answers were each well-formed but together hold fewer (or more) results
    than the source said there are (HubSpot's `total`, GA4's `rowCount`).

    Objects changing while the pages are read can cause it, so the whole read is tried once
    more (:data:`connectors.retry.READ_ATTEMPTS`); then the source fails and nothing is loaded.
    """
