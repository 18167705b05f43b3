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

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, one per process (an SSLContext is safe to share
    between connections and threads once configured; nothing configures it after this)."""
    return httpx.create_ssl_context()
