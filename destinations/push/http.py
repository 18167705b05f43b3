"""The HTTP side every OKR-tool client shares: one httpx client, the one retry policy
(connectors/retry.py), the tools' answers turned into the connectors' errors, secrets scrubbed.

Retries follow what is safe: a 429 or a refused connection means nothing was written, so they
are always retried; a timeout, a reset or a 5xx may have written the check-in, so they are
retried only for tools whose write is idempotent (okr-tracker's per-day PUT). Elsewhere the
tool fails with a message saying to check the tool (no tool offers an idempotency key).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from connectors.errors import AuthError, RetryableSourceError, SourceError
from connectors.retry import MAX_ATTEMPTS, request_timeout, retry_after_seconds, retrying
from connectors.tls import tls_context
from destinations.push.tools import KNOWN_SECRETS, RejectedValueError, UnknownTargetError


class MaybeWrittenError(SourceError):
    """A write that timed out, was cut off or got a 5xx: the tool may have taken it. A client
    that can read the value back (Perdoo) checks before reporting a failure."""


# Enough of a tool's own message to act on; bodies can be whole HTML error pages.
MESSAGE_CHARS = 300


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every secret (these and every credential a push client read) replaced by
    ***: a proxy or a misconfigured tool may quote the token it refused back in its answer."""
    for secret in sorted({*secrets, *KNOWN_SECRETS}, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def answer_message(response: httpx.Response) -> str:
    """The tool's own words: the JSON `message` (okr-tracker, Quantive) or the text."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "errors"):
            if body.get(key):
                text = body[key]
                return (text if isinstance(text, str) else json.dumps(text))[:MESSAGE_CHARS]
    return " ".join(response.text.split())[:MESSAGE_CHARS] or "(empty answer)"


class ToolHttp:
    def __init__(
        self,
        tool: str,
        base_url: str,
        headers: dict[str, str],
        secrets: list[str],
        auth_hint: str,
        idempotent: bool,
        default_timeout: float = 30.0,
    ) -> None:
        self.tool = tool
        self.secrets = [s for s in secrets if s]
        self.auth_hint = auth_hint
        self.idempotent = idempotent
        # An empty base_url: paths are whole URLs (a webhook's URL, kept exactly as given).
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=request_timeout(default_timeout),
            verify=tls_context(),  # connectors/tls.py: one CA bundle load per process
        )

    def close(self) -> None:
        self._http.close()

    def _error(self, response: httpx.Response, what: str) -> Exception:
        status = response.status_code
        message = scrub(answer_message(response), self.secrets)
        said = f"{what}: HTTP {status}: {message}"
        if status == 429:
            return RetryableSourceError(
                self.tool,
                f"{said} (rate limit)",
                retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status in (401, 403):
            return AuthError(self.tool, f"{said}; credentials refused: check {self.auth_hint}")
        if status == 404:
            return UnknownTargetError(self.tool, said)
        if status in (400, 422):
            return RejectedValueError(self.tool, said)
        if status >= 500 and self.idempotent:
            return RetryableSourceError(self.tool, said)
        if status >= 500:
            return MaybeWrittenError(
                self.tool,
                f"{said}; not retried: the check-in may have been written, check the tool "
                "before the next run",
            )
        return SourceError(self.tool, said)

    def request(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """Send one request under the retry policy; a 2xx answer or an error."""

        def once() -> httpx.Response:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.ConnectError as exc:  # nothing reached the tool
                reason = scrub(str(exc), self.secrets)
                raise RetryableSourceError(
                    self.tool, f"{what}: cannot connect ({reason})"
                ) from None
            except httpx.TransportError as exc:
                text = f"{what}: {type(exc).__name__}"
                if self.idempotent:
                    raise RetryableSourceError(self.tool, text) from None
                raise MaybeWrittenError(
                    self.tool,
                    f"{text}; not retried: the check-in may have been written, check the tool",
                ) from None
            if response.is_success:
                return response
            raise self._error(response, what)

        try:
            return retrying(MAX_ATTEMPTS)(once)
        except RetryableSourceError as exc:
            message = str(exc).removeprefix(f"{self.tool}: ")
            raise RetryableSourceError(
                self.tool, f"{message}; gave up after {MAX_ATTEMPTS} attempts", exc.retry_after
            ) from None
