"""The Salesforce sandbox: an org's OAuth, REST and Bulk API 2.0 on 127.0.0.1 (see server.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from connectors.salesforce.settings import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    DOMAIN_ENV,
    HOST_ENV,
)
from sandbox.base import Started
from sandbox.salesforce.server import CLIENT_ID, CLIENT_SECRET, SalesforceSandbox

# The demo org's history: opportunities and leads created over this many days up to today.
DEMO_DAYS = 200


def start(port: int = 0) -> Started:
    today = datetime.now(UTC).date()
    org = SalesforceSandbox().generate(today - timedelta(days=DEMO_DAYS), today)
    server = org.serve(port)
    return server, {
        HOST_ENV: server.base_url,
        DOMAIN_ENV: "okr-sync-demo.my.salesforce.com",
        CLIENT_ID_ENV: CLIENT_ID,
        CLIENT_SECRET_ENV: CLIENT_SECRET,
    }


def write_demo_data(_definitions_dir: Path, _first: date, _last: date) -> None:
    """The server generates every record itself."""
