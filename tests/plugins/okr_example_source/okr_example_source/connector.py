"""The example connector: no network, one row per metric and day."""

from datetime import date

from connectors.base import Connector, MetricRequest, day_range, request_hash
from connectors.results import FetchResult, daily_table


def fetch_example(metrics: list[MetricRequest], start: date, end: date) -> FetchResult:
    rows = [
        {
            "metric_id": m.metric_id,
            "date": day,
            "value": m.query.per_day,
            "request_hash": request_hash({"metric": m.metric_id, "day": day}),
        }
        for m in metrics
        for day in day_range(start, end)
    ]
    return FetchResult(daily=daily_table(rows), request_count=len(metrics))


CONNECTOR = Connector(is_additive=lambda _query: True)
