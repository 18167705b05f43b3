"""What a fetch returns, the same for every source so the warehouse can load any of them the
same way: the Arrow schemas of daily values, range values and flags, `FetchResult`, and the
builders of its tables."""

from __future__ import annotations

from dataclasses import dataclass, field
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
