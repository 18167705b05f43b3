"""Google Analytics 4: the fetches, through the client library (google-analytics-data, gRPC).

The package `connectors.ga4` exports them by name and imports this module on first use,
so `okr validate` without credentials and `okr status` never load the client library."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from google.analytics.data_v1beta import BetaAnalyticsDataClient

from connectors.base import MetricRequest, RangeRequest, day_range
from connectors.errors import SourceError
from connectors.ga4.client import Ga4Api, make_client, run_specs
from connectors.ga4.parse import (
    TrustFlags,
    check_time_zone,
    currencies_of,
    flags_of_page,
    property_zone,
    raw_table,
    read_daily,
    read_ranges,
    require_columns,
)
from connectors.ga4.requests import (
    as_query,
    daily_group_key,
    is_additive,
    plan_daily_reports,
    plan_range_reports,
    property_today,
    range_group_key,
    rate_denominator,
)
from connectors.ga4.settings import (
    SOURCE,
    GA4Settings,
)
from connectors.results import FetchResult, daily_table, range_table, with_currency


def fetch_ga4(
    settings: GA4Settings,
    metrics: list[MetricRequest],
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    partition_date: date | None = None,
    client: BetaAnalyticsDataClient | None = None,
) -> FetchResult:
    """Daily values of GA4 metrics for property days start..end (both included).

    `daily.date` is the property's calendar day (see connectors.ga4.requests). Days that have not
    begun in the property's zone at `now` are left out; the current day is returned and
    flagged `provisional`. Counts missing from an answer are 0 (GA4 omits all-zero rows);
    rates on such days have numerator = denominator = 0 and no value. Non-additive metrics get
    their daily values here too, but a range of days must come from `fetch_ga4_ranges`.
    """
    if start > end:
        raise SourceError(SOURCE, f"start {start} is after end {end}")
    queries = [(m.metric_id, as_query(m.metric_id, m.query)) for m in metrics]
    for metric_id, query in queries:
        if query.dimensions and not is_additive(query):
            raise SourceError(
                SOURCE,
                f"metric {metric_id!r}: {query.metric} cannot have breakdown dimensions "
                f"({', '.join(query.dimensions)}): its rows do not add up to the day's value. "
                "Remove `dimensions` or use a filter.",
            )
    if not queries:
        return FetchResult(raw=raw_table([]))

    api = Ga4Api(settings, client or make_client(settings))
    specs = plan_daily_reports(queries, settings.property_id, start, end)
    pages = run_specs(api, specs, settings.page_size, partition_date)
    values = read_daily(pages)
    check_time_zone(settings, values)

    # Each value names the report it came from (raw.ga4_responses.report_hash), so a key
    # result's number can be traced to the exact request and answer pages.
    report_of = {mid: page.spec.report_hash for page in pages for mid in page.spec.metric_ids}
    rows: list[dict[str, Any]] = []
    flags = TrustFlags()
    last_day: dict[str, date] = {}
    for page in pages:
        prop = page.spec.property_id
        if prop not in last_day:
            today = property_today(property_zone(settings, values, prop), now)
            last_day[prop] = today
    for metric_id, query in queries:
        group = daily_group_key(query, settings.property_id)
        prop = query.property_id or settings.property_id
        today = last_day[prop]
        denominator = rate_denominator(query.metric)
        require_columns(values, group, metric_id, query.metric, denominator)
        series = values.values.get((group, query.metric), {})
        den_series = values.values.get((group, denominator), {}) if denominator else {}
        for day in day_range(start, min(end, today)):
            if denominator:
                rate = series.get(day)
                den = den_series.get(day, 0.0) or 0.0
                num = (rate or 0.0) * den
                rows.append(
                    {
                        "metric_id": metric_id,
                        "date": day,
                        "value": rate if den else None,
                        "numerator": num,
                        "denominator": den,
                        "request_hash": report_of[metric_id],
                    }
                )
            else:
                rows.append(
                    {
                        "metric_id": metric_id,
                        "date": day,
                        "value": series.get(day, 0.0),
                        "request_hash": report_of[metric_id],
                    }
                )
        if end >= today and start <= today:
            flags.add(
                [metric_id],
                [today],
                "provisional",
                f"day not over yet in the property's time zone "
                f"({property_zone(settings, values, prop)}) when fetched",
            )
        other_days = values.other_row_days.get(group, set())
        flags.add(
            [metric_id],
            sorted(d for d in other_days if start <= d <= today),
            "other_row",
            "GA4 answered an (other) row for this day: high-cardinality values were rolled up",
        )
        flags.add(
            [metric_id],
            sorted(d for d in values.duplicate_days.get(group, set()) if start <= d <= today),
            "duplicate_rows",
            "GA4 sent a row of this day twice (it moved between two pages while they were "
            "read); it is counted once",
        )

    served = TrustFlags()
    for page in pages:
        page_flags = flags_of_page(page)
        if not page_flags:
            continue
        s, e = page.spec.date_ranges[0]
        days = day_range(s, min(e, last_day[page.spec.property_id]))
        for flag, reason in page_flags:
            served.add(page.spec.metric_ids, days, flag, reason)
    # Only flag metric ids this fetch was asked for (a spec also serves denominators).
    wanted = {m for m, _ in queries}
    for (metric_id, day, flag), reason in served.rows.items():
        if metric_id in wanted:
            flags.rows.setdefault((metric_id, day, flag), reason)

    daily = with_currency(daily_table(rows), currencies_of(pages, queries, settings.property_id))
    return FetchResult(
        daily=daily,
        flags=flags.table(),
        raw=raw_table(pages),
        request_count=api.request_count,
    )


def fetch_ga4_ranges(
    settings: GA4Settings,
    requests: list[RangeRequest],
    *,
    now: datetime | None = None,
    partition_date: date | None = None,
    client: BetaAnalyticsDataClient | None = None,
) -> FetchResult:
    """Values of metrics over exact windows, as GA4 computes them (users deduplicated).

    For non-additive metrics (see `is_additive`): the value of a week is not the sum of its
    days. Windows of the same property and filter share requests (up to 4 date ranges and 10
    metrics per report, 5 reports per batch). Rates come with numerator and denominator.
    """
    items = []
    for r in requests:
        if r.start > r.end:
            raise SourceError(
                SOURCE, f"metric {r.metric_id!r}: start {r.start} is after end {r.end}"
            )
        items.append((r.metric_id, as_query(r.metric_id, r.query), r.start, r.end))
    if not items:
        return FetchResult(raw=raw_table([]))

    api = Ga4Api(settings, client or make_client(settings))
    specs = plan_range_reports(items, settings.property_id)
    pages = run_specs(api, specs, settings.page_size, partition_date)
    values = read_ranges(pages)
    check_time_zone(settings, values)

    rows: list[dict[str, Any]] = []
    flags = TrustFlags()
    for metric_id, query, start, end in items:
        group = range_group_key(query, settings.property_id)
        window = (start, end)
        denominator = rate_denominator(query.metric)
        require_columns(values, group, metric_id, query.metric, denominator)
        value = values.get(group, query.metric, window)
        if denominator:
            den = values.get(group, denominator, window) or 0.0
            rows.append(
                {
                    "metric_id": metric_id,
                    "range_start": start,
                    "range_end": end,
                    "value": value if den else None,
                    "numerator": (value or 0.0) * den,
                    "denominator": den,
                }
            )
        else:
            rows.append(
                {
                    "metric_id": metric_id,
                    "range_start": start,
                    "range_end": end,
                    "value": value if value is not None else 0.0,
                }
            )
        prop = query.property_id or settings.property_id
        zone = property_zone(settings, values, prop)
        today = property_today(zone, now)
        if end >= today:
            flags.add(
                [metric_id],
                [d for d in day_range(start, end) if d == today],
                "provisional",
                f"range includes a day not over yet in the property's time zone ({zone})",
            )
        for page in pages:
            if page.spec.group_key != group or metric_id not in page.spec.metric_ids:
                continue
            if window not in page.spec.date_ranges:
                continue
            for flag, reason in flags_of_page(page):
                flags.add([metric_id], day_range(start, min(end, today)), flag, reason)

    ranges = with_currency(
        range_table(rows),
        currencies_of(pages, [(m, q) for m, q, _, _ in items], settings.property_id),
    )
    return FetchResult(
        ranges=ranges,
        flags=flags.table(),
        raw=raw_table(pages),
        request_count=api.request_count,
    )
