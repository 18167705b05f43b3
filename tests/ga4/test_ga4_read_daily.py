"""A daily report's rows read into values per day: as sent when each row and each day come
once, summed over a breakdown dimension, and a row repeated across pages counted once (its
day named)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa

from connectors.ga4.parse import ReportPage, read_daily
from connectors.ga4.requests import ReportSpec


def _pages(dimensions: tuple[str, ...], rows: list[tuple[list[str], list[str]]], per_page: int):
    spec = ReportSpec("123", "daily", dimensions, ("sessions", "bounceRate"), None, ((D1, D2),))
    pages = []
    for offset in range(0, len(rows), per_page):
        part = rows[offset : offset + per_page]
        pages.append(
            ReportPage(
                spec=spec,
                body={},
                offset=offset,
                fetched_at=datetime(2026, 1, 3, tzinfo=UTC),
                dimension_names=list(dimensions),
                metric_names=["sessions", "bounceRate"],
                metric_types=["TYPE_INTEGER", "TYPE_FLOAT"],
                dim_values=pa.array([v for dims, _ in part for v in dims]),
                met_values=pa.array([v for _, mets in part for v in mets]),
                n_rows=len(part),
                row_count=len({tuple(dims) for dims, _ in rows}),
                time_zone="UTC",
                currency_code="EUR",
            )
        )
    return pages


D1, D2 = date(2026, 1, 1), date(2026, 1, 2)


def test_each_row_and_day_once_reads_as_sent() -> None:
    rows = [(["20260101"], ["3", "0.1"]), (["20260102"], ["4", "-0.0"])]
    out = read_daily(_pages(("date",), rows, per_page=10))
    group = next(iter(out.values))[0]
    assert out.values[(group, "sessions")] == {D1: 3.0, D2: 4.0}
    bounce = out.values[(group, "bounceRate")]
    assert bounce[D1] == 0.1 and str(bounce[D2]) == "0.0"  # 0 + -0.0, as a sum gives it
    assert out.duplicate_days == {}


def test_a_breakdown_is_summed_in_the_order_sent_and_a_repeated_row_counted_once() -> None:
    rows = [
        (["20260101", "a"], ["1", "0.1"]),
        (["20260101", "b"], ["2", "0.2"]),
        (["20260102", "a"], ["5", "0.7"]),
        (["20260101", "c"], ["4", "0.3"]),
    ]
    out = read_daily(_pages(("date", "channel"), rows, per_page=10))
    group = next(iter(out.values))[0]
    assert out.values[(group, "sessions")] == {D1: 7.0, D2: 5.0}
    assert out.values[(group, "bounceRate")] == {D1: 0.1 + 0.2 + 0.3, D2: 0.7}
    assert out.duplicate_days == {}
    # The second page repeats the first page's last row (an offset that moved).
    repeated = rows[:2] + [rows[1]] + rows[2:]
    again = read_daily(_pages(("date", "channel"), repeated, per_page=2))
    assert again.values == out.values
    assert again.duplicate_days == {group: {D1}}
