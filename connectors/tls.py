"""The one TLS context of a process for the httpx clients (Matomo, Mixpanel, Amplitude, the push
destinations, the notify webhooks): built on first use, then shared.

Each `httpx.Client` left to its default builds a context of its own and loads certifi's CA
bundle into it, ~19 ms of CPU apiece (a daily run made three). The shared context is the very
one httpx builds by default (`httpx.create_ssl_context()`: certifi's bundle, or the
`SSL_CERT_FILE`/`SSL_CERT_DIR` the environment names; hostnames checked, certificates
required), so every client verifies exactly as strictly as before. None of these sources
takes a CA bundle of its own; one that does would build its own context from it.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import threading

import httpx

_building = threading.Lock()


def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, one per process (an SSLContext is safe to share
    between connections and threads once configured; nothing configures it after this). A
    caller that comes while another thread builds it waits for that one."""
    with _building:
        return _context()


@functools.cache
def _context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def forget_tls_context() -> None:
    """The next `tls_context()` builds the context anew (the environment's CA bundle changed)."""
    with _building:
        _context.cache_clear()


def build_tls_context_on_a_thread() -> None:
    """Start building the context on a thread of its own, for a process that needs it soon:
    OpenSSL reads the CA bundle without holding the GIL (~20 ms), so that overlaps what the
    process does meanwhile (`okr run`: importing the sources' client libraries). An error is
    left to the caller that needs the context: it meets the same one."""

    def build() -> None:
        with contextlib.suppress(Exception):  # raised again where the context is needed
            tls_context()

    threading.Thread(target=build, name="okr-tls-context", daemon=True).start()
