"""Credentials inside URLs (`https://user:password@host`): taken out, and never shown.

Matomo is often behind a reverse proxy with HTTP basic auth, and the natural way to say so is
`MATOMO_URL=https://user:password@analytics.example.com`. The Matomo settings accept that URL
and split it at once: the URL every message, log line and stored row shows is the one without
the user and password, which travel only in the Authorization header. The other sources' hosts
have no use for credentials in the URL and refuse them. :func:`redact_url_credentials` is the
last line of defence for any text that might still quote such a URL (an error's message).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

# scheme://userinfo@ — userinfo may hold anything but "/", "?", "#" and "@" (RFC 3986).
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]+@")
REDACTED = "***"


def redact_url_credentials(text: str) -> str:
    """`text` with the user and password of every URL in it replaced by ***."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)


def split_url_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(the URL without user and password, user, password), both decoded from %-escapes;
    (url, None, None) when it carries none."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, unquote(user), unquote(password) if colon else None


def refuse_url_credentials(url: str, setting: str) -> str:
    """`url` unchanged, or ValueError (without the credentials) when it carries any."""
    if split_url_credentials(url)[1] is not None:
        raise ValueError(
            f"{setting} {redact_url_credentials(url)!r} carries a user or password: this API "
            "takes no credentials in its URL; remove them (the source's own credential "
            "settings are the only ones it uses)"
        )
    return url


def url_secrets(url: str) -> list[str]:
    """The parts of a hook URL that are its secret: path segments with digits (Zapier's
    /hooks/catch/<account>/<token>/, Make's /<token>, n8n's /webhook/<uuid>) and query values.
    A receiver saying "hook <token> not found" must not put it in a log."""
    parts = urlsplit(url)
    segments = [
        seg for seg in parts.path.split("/") if len(seg) >= 6 and any(c.isdigit() for c in seg)
    ]
    return segments + [value for _, value in parse_qsl(parts.query) if len(value) >= 6]
