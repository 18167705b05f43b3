"""Fetch GA4 metrics: daily values by property day, and exact-range values for non-additive ones.

Paging is explicit: the first page of every report is requested (5 per batchRunReports); its
`rowCount` says how many rows the report has, and the remaining pages are then requested by
`offset` (GA4 answers carry no offset or next-page token: `rowCount` is the only guide).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from google.analytics.data_v1beta import BetaAnalyticsDataClient

from connectors.base import (
    FetchResult,
    MetricRequest,
    RangeRequest,
    daily_table,
    day_range,
    flag_table,
    range_table,
    with_currency,
)
from connectors.errors import SourceError
from connectors.ga4.client import Ga4Api, make_client
from connectors.ga4.days import property_today
from connectors.ga4.metrics import is_additive, rate_denominator
from connectors.ga4.parse import (
    Page,
    column,
    convert_value,
    convert_values,
    parse_ga4_date,
    raw_table,
    read_page,
)
from connectors.ga4.requests import (
    ReportSpec,
    daily_group_key,
    plan_daily_reports,
    plan_range_reports,
    range_group_key,
)
from connectors.ga4.settings import MAX_REPORTS_PER_BATCH, SOURCE, GA4Settings
from okr_definitions.sources.ga4 import GA4Query

log = logging.getLogger(__name__)

OTHER_ROW_VALUE = "(other)"


def _as_query(metric_id: str, query: Any) -> GA4Query:
    if isinstance(query, GA4Query):
        return query
    if isinstance(query, dict):
        return GA4Query.model_validate(query)
    raise SourceError(
        SOURCE, f"metric {metric_id!r}: expected a GA4 query, got {type(query).__name__}"
    )


# --- paging and batching --------------------------------------------------------------------


def run_specs(
    api: Ga4Api, specs: list[ReportSpec], page_size: int, partition_date: date | None = None
) -> list[Page]:
    """Every page of every report, in as few HTTP requests as paging and batching allow."""
    pages: list[Page] = []
    by_property: dict[str, deque[tuple[ReportSpec, int, int]]] = {}
    for spec in specs:
        by_property.setdefault(spec.property_id, deque()).append((spec, 0, page_size))

    for property_id, queue in by_property.items():
        row_counts: dict[int, int] = {}
        while queue:
            chunk = [queue.popleft() for _ in range(min(MAX_REPORTS_PER_BATCH, len(queue)))]
            bodies = [spec.body(offset, limit) for spec, offset, limit in chunk]
            answers = api.run_reports(property_id, bodies)
            for (spec, offset, limit), body, answer in zip(chunk, bodies, answers, strict=True):
                page = read_page(answer, spec, body, offset)
                page.partition_date = partition_date
                pages.append(page)
                queue.extend(_follow_up_pages(spec, page, offset, limit, page_size, row_counts))
    return pages


def _follow_up_pages(
    spec: ReportSpec,
    page: Page,
    offset: int,
    limit: int,
    page_size: int,
    row_counts: dict[int, int],
) -> list[tuple[ReportSpec, int, int]]:
    """The pages still to request after this one (offset, limit)."""
    known = row_counts.setdefault(id(spec), page.row_count)
    if page.row_count != known:
        # GA4 restated data between two pages; the lookback re-fetch will settle it.
        log.warning(
            "GA4 report %s: rowCount changed from %d to %d between pages",
            spec.report_hash,
            known,
            page.row_count,
        )
    todo: list[tuple[ReportSpec, int, int]] = []
    end = offset + page.n_rows
    if page.n_rows < limit and end < page.row_count:
        if page.n_rows == 0:
            raise SourceError(
                SOURCE,
                f"GA4 answered no rows at offset {offset} although rowCount is "
                f"{page.row_count} (report {spec.report_hash})",
            )
        # A short page in the middle: ask for the rest of this page's share.
        todo.append((spec, end, limit - page.n_rows))
    if offset == 0:
        # After the first page rowCount is known: request all remaining pages now, so they can
        # share batch requests instead of being fetched one after another.
        next_offset = offset + limit
        while next_offset < page.row_count:
            todo.append((spec, next_offset, page_size))
            next_offset += page_size
    return todo


# --- reading values -------------------------------------------------------------------------


@dataclass
class _Values:
    """Metric values of one report group: {(group, metric): {day or range index: value}}."""

    values: dict[tuple[str, str], dict[Any, float | None]] = field(default_factory=dict)
    other_row_days: dict[str, set[date]] = field(default_factory=dict)
    # Days on which a report's answer held the same row twice (counted once).
    duplicate_days: dict[str, set[date]] = field(default_factory=dict)
    time_zones: dict[str, str] = field(default_factory=dict)

    def get(self, group: str, metric: str, key: Any) -> float | None:
        return self.values.get((group, metric), {}).get(key)

    def has(self, group: str, metric: str) -> bool:
        return (group, metric) in self.values


def _read_daily(pages: list[Page]) -> _Values:
    out = _Values()
    reports: dict[str, list[Page]] = {}
    for page in pages:
        reports.setdefault(page.spec.report_hash, []).append(page)
    for report_pages in reports.values():
        _read_daily_report(report_pages, out)
    # The columns read above were temporary; Arrow's allocator keeps freed memory for its own
    # reuse, which the warehouse load that follows cannot use: give it back (a million-row
    # report: several hundred MB of peak RSS).
    pa.default_memory_pool().release_unused()
    return out


def _read_daily_report(pages: list[Page], out: _Values) -> None:
    """Add one report's pages (same dimensions and metrics) to `out`, each row once."""
    spec = pages[0].spec
    group = spec.group_key
    tables = []
    for page in pages:
        if page.time_zone:
            out.time_zones[spec.property_id] = page.time_zone
        n_dims = len(page.dimension_names)
        n_mets = len(page.metric_names)
        date_at = page.dimension_names.index("date") if "date" in page.dimension_names else None
        if date_at is None:
            raise SourceError(SOURCE, f"GA4 answer without a `date` column ({spec.report_hash})")
        for name in page.metric_names:
            # With breakdown dimensions a day has several rows; additive values are summed.
            out.values.setdefault((group, name), {})
        if not page.n_rows:
            continue
        # Column-wise in Arrow: a million-row report is read in well under a second, where a
        # Python loop over its rows took several.
        dims = [column(page.dim_values, n_dims, i) for i in range(n_dims)]
        other = None
        for values in dims:
            here = pc.equal(values, OTHER_ROW_VALUE)
            other = here if other is None else pc.or_(other, here)
        tables.append(
            pa.table(
                {
                    # A row is its dimension values: the same values twice are the same row.
                    "key": pc.binary_join_element_wise(*dims, "\x1f") if n_dims > 1 else dims[0],
                    "day": dims[date_at],
                    "other": other,
                    **{
                        name: convert_values(column(page.met_values, n_mets, j), metric_type)
                        for j, (name, metric_type) in enumerate(
                            zip(page.metric_names, page.metric_types, strict=True)
                        )
                    },
                }
            )
        )
    if not tables:
        return
    rows = pa.concat_tables(tables, promote_options="default")
    names = [n for n in rows.column_names if n not in ("key", "day", "other")]
    # GA4 pages by offset: a row that moves while the pages are read comes twice (and another
    # may be skipped). The repeat is counted once and flagged; a skipped row means the report
    # cannot be trusted at all.
    unique = rows.group_by("key", use_threads=False).aggregate(
        [("day", "first"), ("other", "first"), ("key", "count"),
         *[(name, "first") for name in names]]
    )  # fmt: skip
    row_count = max(page.row_count for page in pages)
    if unique.num_rows < row_count:
        raise SourceError(
            SOURCE,
            f"GA4 report {spec.report_hash} changed while its pages were read: "
            f"{unique.num_rows} different rows of the {row_count} it counts. Run again.",
        )
    repeated = pc.filter(unique["day_first"], pc.greater(unique["key_count"], 1))
    for text in pc.unique(repeated).to_pylist():
        out.duplicate_days.setdefault(group, set()).add(parse_ga4_date(text))
    # One thread: the order floating-point values are added in, and so the sums, stay fixed.
    sums = unique.group_by("day_first", use_threads=False).aggregate(
        [(f"{n}_first", "sum") for n in names]
    )
    days = [parse_ga4_date(text) for text in sums.column("day_first").to_pylist()]
    for name in names:
        target = out.values[(group, name)]
        for day, value in zip(days, sums.column(f"{name}_first_sum").to_pylist(), strict=True):
            if value is not None:
                target[day] = target.get(day, 0.0) + value
    other_days = out.other_row_days.setdefault(group, set())
    flagged = pc.filter(unique["day_first"], pc.fill_null(unique["other_first"], False))
    for text in pc.unique(flagged).to_pylist():
        other_days.add(parse_ga4_date(text))


def _require_columns(
    values: _Values, group: str, metric_id: str, metric: str, denominator: str | None
) -> None:
    # GA4 leaves out rows whose metrics are all zero, so a missing *day* is 0; a missing
    # *column* is an answer that does not fit the request, and reading it as 0 would be a
    # wrong number.
    for name in (metric, denominator):
        if name and not values.has(group, name):
            raise SourceError(
                SOURCE,
                f"metric {metric_id!r}: GA4's answer has no `{name}` column although the "
                "request asked for it; nothing was loaded. Run again; if it persists, check "
                "the metric with `okr validate`.",
            )


RangeRow = tuple[tuple[str, ...], tuple[str, ...]]  # (dimension values, metric values)


def _range_rows(pages: list[Page]) -> dict[str, list[tuple[Page, RangeRow]]]:
    """Each range report's rows (report hash → distinct rows with their page), in answer order.

    A row sent twice alike is one row (as for daily reports); rows are few here (one per date
    range), so plain lists are fine.
    """
    reports: dict[str, dict[RangeRow, Page]] = {}
    for page in pages:
        n_dims, n_mets = len(page.dimension_names), len(page.metric_names)
        dims, mets = page.dim_values.to_pylist(), page.met_values.to_pylist()
        rows = reports.setdefault(page.spec.report_hash, {})
        for r in range(page.n_rows):
            row = (
                tuple(dims[r * n_dims : (r + 1) * n_dims]),
                tuple(mets[r * n_mets : (r + 1) * n_mets]),
            )
            rows.setdefault(row, page)
    return {key: [(page, row) for row, page in rows.items()] for key, rows in reports.items()}


def _check_range_row_count(report_pages: list[Page], rows: int) -> None:
    """A range report holds the rows its `rowCount` counts: fewer is a read that stopped early
    (a window would read as no value), more an answer to something else."""
    counted = max(page.row_count for page in report_pages)
    if rows != counted:
        spec = report_pages[0].spec
        raise SourceError(
            SOURCE,
            f"GA4's answer to report {spec.report_hash} for metrics "
            f"{', '.join(spec.metric_ids)} holds {rows} rows where its rowCount says {counted}; "
            "nothing was loaded, the next run asks again",
        )


def _read_ranges(pages: list[Page]) -> _Values:
    out = _Values()
    by_report = _range_rows(pages)
    for page in pages:
        if page.time_zone:
            out.time_zones[page.spec.property_id] = page.time_zone
        for name in page.metric_names:
            out.values.setdefault((page.spec.group_key, name), {})
    for key, rows in by_report.items():
        _check_range_row_count([p for p in pages if p.spec.report_hash == key], len(rows))
        # Rows are matched to windows by their `dateRange` label, never by position (GA4 does
        # not promise the order), and a window answered twice differently has no one value.
        answered: set[int] = set()
        for page, (dims, mets) in rows:
            spec = page.spec
            names = {f"date_range_{i}": i for i in range(len(spec.date_ranges))}
            index = 0
            if "dateRange" in page.dimension_names:
                label = dims[page.dimension_names.index("dateRange")]
                if label not in names:
                    raise SourceError(SOURCE, f"GA4 answered an unknown date range {label!r}")
                index = names[label]
            window = spec.date_ranges[index]
            if index in answered:
                raise SourceError(
                    SOURCE,
                    f"GA4's answer to report {spec.report_hash} for metrics "
                    f"{', '.join(spec.metric_ids)} holds more than one row for the date "
                    f"range {window[0]}..{window[1]}, where the request asks for one total per "
                    "range; nothing was loaded, the next run asks again",
                )
            answered.add(index)
            for j, name in enumerate(page.metric_names):
                value = convert_value(mets[j], page.metric_types[j])
                out.values.setdefault((spec.group_key, name), {})[window] = value
    return out


def _check_time_zone(settings: GA4Settings, values: _Values) -> None:
    answered = values.time_zones.get(settings.property_id)
    if settings.timezone and answered and answered != settings.timezone:
        raise SourceError(
            SOURCE,
            f"property {settings.property_id} reports in time zone {answered}, but the GA4 "
            f"settings say timezone={settings.timezone}; days would be cut at the wrong "
            f"midnight. Set timezone to {answered} (or leave it empty).",
        )


def _zone(settings: GA4Settings, values: _Values, property_id: str) -> str:
    zone = values.time_zones.get(property_id)
    if zone:
        return zone
    if property_id == settings.property_id and settings.timezone:
        return settings.timezone
    return "UTC"


# --- trust flags ----------------------------------------------------------------------------


def _page_flags(page: Page) -> list[tuple[str, str]]:
    flags = []
    if page.sampling:
        read = sum(r for r, _ in page.sampling)
        space = sum(s for _, s in page.sampling)
        share = f", {100 * read / space:.1f} %" if space else ""
        flags.append(
            ("sampled", f"GA4 sampled this report: {read:,} of {space:,} events read{share}")
        )
    if page.thresholded:
        flags.append(
            (
                "thresholded",
                "GA4 applied data thresholds (subjectToThresholding): rows with few users may "
                "be withheld",
            )
        )
    if page.other_row:
        flags.append(
            (
                "other_row",
                "GA4 rolled high-cardinality rows into (other) (dataLossFromOtherRow): filtered "
                "values may be too low",
            )
        )
    if page.empty_reason:
        flags.append(("empty", f"GA4 answered empty: {page.empty_reason}"))
    return flags


class _Flags:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, date, str], str] = {}

    def add(self, metric_ids: Iterable[str], days: Iterable[date], flag: str, reason: str) -> None:
        for day in days:
            for metric_id in metric_ids:
                self.rows.setdefault((metric_id, day, flag), reason)

    def table(self) -> Any:
        return flag_table(
            [
                {"metric_id": m, "date": d, "flag": f, "reason": r}
                for (m, d, f), r in sorted(self.rows.items())
            ]
        )


# --- public API -----------------------------------------------------------------------------


def currencies_of(
    pages: list[Page], queries: Iterable[tuple[str, GA4Query]], default_property: str
) -> dict[str, str]:
    """{metric id: ISO 4217 code} of the money metrics (TYPE_CURRENCY) among `queries`: GA4
    gives their amounts in the property's currency, named by each answer's
    metadata.currencyCode."""
    money = {
        (page.spec.property_id, name): page.currency_code
        for page in pages
        if page.currency_code
        for name, metric_type in zip(page.metric_names, page.metric_types, strict=False)
        if metric_type == "TYPE_CURRENCY"
    }
    found = {}
    for metric_id, query in queries:
        code = money.get((query.property_id or default_property, query.metric))
        if code:
            found[metric_id] = code
    return found


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

    `daily.date` is the property's calendar day (see connectors.ga4.days). Days that have not
    begun in the property's zone at `now` are left out; the current day is returned and
    flagged `provisional`. Counts missing from an answer are 0 (GA4 omits all-zero rows);
    rates on such days have numerator = denominator = 0 and no value. Non-additive metrics get
    their daily values here too, but a range of days must come from `fetch_ga4_ranges`.
    """
    if start > end:
        raise SourceError(SOURCE, f"start {start} is after end {end}")
    queries = [(m.metric_id, _as_query(m.metric_id, m.query)) for m in metrics]
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
    values = _read_daily(pages)
    _check_time_zone(settings, values)

    rows: list[dict[str, Any]] = []
    flags = _Flags()
    last_day: dict[str, date] = {}
    for page in pages:
        prop = page.spec.property_id
        if prop not in last_day:
            today = property_today(_zone(settings, values, prop), now)
            last_day[prop] = today
    for metric_id, query in queries:
        group = daily_group_key(query, settings.property_id)
        prop = query.property_id or settings.property_id
        today = last_day[prop]
        denominator = rate_denominator(query.metric)
        _require_columns(values, group, metric_id, query.metric, denominator)
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
                    }
                )
            else:
                rows.append({"metric_id": metric_id, "date": day, "value": series.get(day, 0.0)})
        if end >= today and start <= today:
            flags.add(
                [metric_id],
                [today],
                "provisional",
                f"day not over yet in the property's time zone "
                f"({_zone(settings, values, prop)}) when fetched",
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

    served = _Flags()
    for page in pages:
        page_flags = _page_flags(page)
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

    # Each value names the report it came from (raw.ga4_responses.report_hash), so a key
    # result's number can be traced to the exact request and answer pages.
    report_of = {mid: page.spec.report_hash for page in pages for mid in page.spec.metric_ids}
    daily = daily_table(rows)
    daily = daily.append_column(
        "request_hash", [[report_of.get(r) for r in daily["metric_id"].to_pylist()]]
    )
    daily = with_currency(daily, currencies_of(pages, queries, settings.property_id))
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
        items.append((r.metric_id, _as_query(r.metric_id, r.query), r.start, r.end))
    if not items:
        return FetchResult(raw=raw_table([]))

    api = Ga4Api(settings, client or make_client(settings))
    specs = plan_range_reports(items, settings.property_id)
    pages = run_specs(api, specs, settings.page_size, partition_date)
    values = _read_ranges(pages)
    _check_time_zone(settings, values)

    rows: list[dict[str, Any]] = []
    flags = _Flags()
    for metric_id, query, start, end in items:
        group = range_group_key(query, settings.property_id)
        window = (start, end)
        denominator = rate_denominator(query.metric)
        _require_columns(values, group, metric_id, query.metric, denominator)
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
        zone = _zone(settings, values, prop)
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
            for flag, reason in _page_flags(page):
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
