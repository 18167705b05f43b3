"""The shapes every connector returns, so the warehouse can load any source the same way."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import import_module
from typing import Any

import pyarrow as pa

# One row per (metric, source day). `numerator`/`denominator` are set for ratio metrics, in
# which case `value` = numerator / denominator for that day (NULL when the denominator is 0).
DAILY_SCHEMA = pa.schema(
    [
        pa.field("metric_id", pa.string(), nullable=False),
        pa.field("date", pa.date32(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("numerator", pa.float64()),
        pa.field("denominator", pa.float64()),
        # The request whose answer gave the value (the source's raw table keys it), so a key
        # result's number can be traced to what was asked and answered.
        pa.field("request_hash", pa.string(), nullable=False),
    ]
)

# Values of non-additive metrics (unique users, the source's own rates) asked for an exact
# range: they can never be rebuilt by summing days.
RANGE_SCHEMA = pa.schema(
    [
        pa.field("metric_id", pa.string(), nullable=False),
        pa.field("range_start", pa.date32(), nullable=False),
        pa.field("range_end", pa.date32(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("numerator", pa.float64()),
        pa.field("denominator", pa.float64()),
    ]
)

# Data-quality signals of the source (GA4 sampling/thresholding, Matomo unfinished days, ...),
# attached to the metric-days they affect so key results built on them are flagged.
FLAG_SCHEMA = pa.schema(
    [
        pa.field("metric_id", pa.string(), nullable=False),
        pa.field("date", pa.date32(), nullable=False),
        pa.field("flag", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
    ]
)


@dataclass
class FetchResult:
    """What one fetch of one source for one date window produced."""

    daily: pa.Table = field(default_factory=lambda: DAILY_SCHEMA.empty_table())
    ranges: pa.Table = field(default_factory=lambda: RANGE_SCHEMA.empty_table())
    flags: pa.Table = field(default_factory=lambda: FLAG_SCHEMA.empty_table())
    # Source-specific raw answers with provenance; each source defines its own schema.
    raw: pa.Table | None = None
    request_count: int = 0
    # The source's own counters for the run's materialisation (e.g. its hourly limits' use).
    metadata: dict[str, Any] = field(default_factory=dict)


def daily_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Build a DAILY_SCHEMA table from dicts (missing numerator/denominator become NULL; every
    row names its `request_hash`)."""
    return pa.Table.from_pylist(
        [
            {
                "metric_id": r["metric_id"],
                "date": r["date"],
                "value": r.get("value"),
                "numerator": r.get("numerator"),
                "denominator": r.get("denominator"),
                "request_hash": r["request_hash"],
            }
            for r in rows
        ],
        schema=DAILY_SCHEMA,
    )


def flag_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=FLAG_SCHEMA)


def range_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "metric_id": r["metric_id"],
                "range_start": r["range_start"],
                "range_end": r["range_end"],
                "value": r.get("value"),
                "numerator": r.get("numerator"),
                "denominator": r.get("denominator"),
            }
            for r in rows
        ],
        schema=RANGE_SCHEMA,
    )


def with_currency(rows: pa.Table, currencies: dict[str, str]) -> pa.Table:
    """`rows` (daily or range values) with a `currency` column: the ISO 4217 code each
    metric's amounts are in, from `currencies` ({metric id: code}); NULL for metrics that are
    not money (counts, rates). The warehouse keeps it beside the value (raw.metric_rows,
    staging.metric_daily) and flags amounts in a currency their key result is not in."""
    codes = [currencies.get(m) for m in rows["metric_id"].to_pylist()]
    return rows.append_column(pa.field("currency", pa.string()), pa.array(codes, pa.string()))


def request_hash(payload: Any) -> str:
    """A stable id for a request body, so a raw answer can be traced to the request behind it.

    Secrets must never be part of `payload`: hash the request *without* credentials.
    """
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class MetricRequest:
    """One metric a run asks a source for: the metric's id and its source query model."""

    metric_id: str
    query: Any


@dataclass(frozen=True)
class RangeRequest:
    """A non-additive metric asked for one exact window (both ends included)."""

    metric_id: str
    query: Any
    start: date
    end: date


@dataclass(frozen=True)
class Connector:
    """What the rest of okr-sync asks of a source's connector (its package's `CONNECTOR`).

    `settings_from_env(definitions)` builds the connector's settings from the environment (the
    only place credentials come from) and the definitions' non-secret options, or None when the
    environment does not say how to reach the source (`how_to_enable` then says what to set);
    `validate(settings, metrics)` checks the metrics against the source's own metadata;
    `currencies(settings, metrics)` asks the source for the currency of its money metrics.
    """

    is_additive: Callable[[Any], bool]
    settings_from_env: Callable[[Any], Any] | None = None
    validate: Callable[[Any, list[MetricRequest]], list[Any]] | None = None
    how_to_enable: str = ""
    # currencies(settings, metrics): {metric id: ISO 4217 code} of the metrics that are money,
    # as the source reports it (okr_definitions.currency compares them with the units)
    currencies: Callable[[Any, list[MetricRequest]], dict[str, str]] | None = None
    currency_setting: str = ""  # where a user changes that currency, for the fix
    # run_plan(metrics) -> (note, problems): what one run of these metrics asks of the source
    # (requests against its hourly limits), printed by `okr validate` with or without
    # credentials; problems when a run cannot fit the limits.
    run_plan: Callable[[list[MetricRequest]], tuple[str, list[Any]]] | None = None
    # Whether its client verifies HTTPS through connectors/tls.py's shared context: `okr run`
    # then builds the context on a thread while it imports the sources' client libraries.
    uses_tls_context: bool = False


def deferred(module: str, name: str) -> Callable[..., Any]:
    """`module.name`, imported when first called. A source's package stays light to import
    (`okr validate` without credentials, `okr status`): its client library loads only when
    a check with credentials or a run calls into it."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A package's `__getattr__` (PEP 562) for the names in `exports` ({name: module}): each
    module is imported on the first use of one of its names, so the package itself imports
    only its settings and CONNECTOR, and its client library loads when a fetch needs it."""

    def attribute(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(exports[name]), name)

    return attribute


def merge_results(*results: FetchResult) -> FetchResult:
    """One FetchResult from several (a source's daily and range fetches)."""
    raws = [r.raw for r in results if r.raw is not None and r.raw.num_rows]
    return FetchResult(
        # a connector may add columns (currency): missing ones become NULL
        daily=pa.concat_tables([r.daily for r in results], promote_options="default"),
        ranges=pa.concat_tables([r.ranges for r in results], promote_options="default"),
        flags=pa.concat_tables([r.flags for r in results], promote_options="default"),
        raw=pa.concat_tables(raws) if raws else None,
        request_count=sum(r.request_count for r in results),
        metadata={k: v for r in results for k, v in r.metadata.items()},
    )


def range_requests(
    definitions: Any, source: str, is_additive: Callable[[Any], bool], start: date, end: date
) -> list[RangeRequest]:
    """The exact windows the non-additive metrics of `source` need for as-of days [start, end]
    (Definitions.exact_windows), as requests to the source."""
    return [
        RangeRequest(metric.id, metric.query, first, last)
        for metric, first, last in definitions.exact_windows(source, start, end, is_additive)
    ]
