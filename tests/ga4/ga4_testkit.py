"""Constants and small helpers shared by the GA4 tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from connectors.base import MetricRequest
from okr_definitions.sources.ga4 import GA4Query
from sandbox.ga4.server import DEMO_PROPERTY_ID, SandboxProperty

# Thursday 2026-11-26 12:00 UTC: 13:00 in Berlin, 04:00 in Los Angeles.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

SHOP = DEMO_PROPERTY_ID  # the demo web shop, Europe/Berlin
LA_FLAT = "700000001"  # exactly 100 sessions per hour of the day, America/Los_Angeles
BERLIN_FLAT = "700000002"  # exactly 100 sessions per hour of the day, Europe/Berlin


def sandbox_properties() -> list[SandboxProperty]:
    return [
        SandboxProperty(SHOP, time_zone="Europe/Berlin"),
        SandboxProperty(
            LA_FLAT, time_zone="America/Los_Angeles", currency_code="USD", profile="flat"
        ),
        SandboxProperty(BERLIN_FLAT, time_zone="Europe/Berlin", profile="flat"),
    ]


def metric(metric_id: str, name: str, filter: Any = None, **kwargs: Any) -> MetricRequest:  # noqa: A002
    """A MetricRequest from a plain query dict, as the YAML loader would build it."""
    query: dict[str, Any] = {"metric": name, **kwargs}
    if filter is not None:
        query["filter"] = filter
    return MetricRequest(metric_id, GA4Query.model_validate(query))


def series(table: pa.Table, metric_id: str, column: str = "value") -> dict[date, Any]:
    """{date: column} of one metric in a DAILY_SCHEMA table."""
    return {r["date"]: r[column] for r in table.to_pylist() if r["metric_id"] == metric_id}


def flags_of(table: pa.Table, metric_id: str) -> set[tuple[date, str]]:
    return {(r["date"], r["flag"]) for r in table.to_pylist() if r["metric_id"] == metric_id}
