"""Matomo: the fetches, through the client library (httpx).

The package `connectors.matomo` exports them by name and imports this module on first use,
so `okr validate` without credentials and `okr status` never load the client library."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pyarrow as pa

from connectors.base import MetricRequest, RangeRequest, day_range
from connectors.matomo.client import MatomoClient
from connectors.matomo.parse import (
    RAW_SCHEMA,
    SubAnswer,
    by_day,
    parts_of,
    provisional_flag,
    raw_row,
    site_info,
)
from connectors.matomo.requests import (
    MetricPlan,
    SubRequest,
    plan_metric,
    site_sub,
    unique,
)
from connectors.matomo.settings import MatomoSettings
from connectors.results import FetchResult, daily_table, flag_table, range_table, with_currency

# --- public API --------------------------------------------------------------------------------


def _fetch_all(
    client: MatomoClient, plans: Sequence[MetricPlan]
) -> tuple[list[SubRequest], dict[int, Any], dict[SubRequest, SubAnswer]]:
    """Site records and every report sub-request of `plans`, in as few bulk requests as fit."""
    report_subs = unique(sub for p in plans for sub in (p.main, p.aux) if sub is not None)
    owners: dict[SubRequest, list[str]] = {}
    for plan in plans:
        for sub in (plan.main, plan.aux):
            if sub is not None and plan.metric_id not in owners.setdefault(sub, []):
                owners[sub].append(plan.metric_id)
    site_subs = [site_sub(s) for s in sorted({p.site_id for p in plans})]
    answers = client.bulk(unique([*site_subs, *report_subs]), owners)
    by_sub = {a.sub: a for a in answers}
    return report_subs, {s.site_id: by_sub[s].payload for s in site_subs}, by_sub


def fetch_matomo(
    settings: MatomoSettings,
    metrics: Sequence[MetricRequest],
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    http: httpx.Client | None = None,
) -> FetchResult:
    """Day values of `metrics` for the site-local days start..end (both included).

    Days after the site's today, and before the site existed, are left out. Today and
    yesterday (site time zone) come with a `provisional` flag. Non-additive columns (see
    `is_additive`) come per day too; for windows use `fetch_matomo_ranges`.
    `request_count` counts HTTP requests sent, retries included.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    now = now or datetime.now(UTC)
    if not metrics:
        return FetchResult()
    dates = f"{start.isoformat()},{end.isoformat()}"
    plans = [plan_metric(m, settings, "day", dates) for m in metrics]
    with MatomoClient(settings, http) as client:
        report_subs, site_payloads, answers = _fetch_all(client, plans)
        request_count = client.request_count
    sites = {sid: site_info(sid, payload, now) for sid, payload in site_payloads.items()}

    per_day = {sub: by_day(answers[sub], start, end) for sub in report_subs}
    indexes: dict[int, dict[str, dict[str, Any]]] = {}
    daily: list[dict[str, Any]] = []
    # the sub-request each value came from (raw.matomo_answers.request_hash), for tracing
    flags: list[dict[str, Any]] = []
    for plan in plans:
        site = sites[plan.site_id]
        first = max(start, site.created) if site.created else start
        last = min(end, site.today)
        main_days = per_day[plan.main]
        aux_days = per_day[plan.aux] if plan.aux else {}
        for day in day_range(first, last) if first <= last else []:
            value, num, den = parts_of(
                plan, main_days.get(day), aux_days.get(day), f"day {day}", indexes
            )
            daily.append(
                {
                    "metric_id": plan.metric_id,
                    "date": day,
                    "value": value,
                    "numerator": num,
                    "denominator": den,
                    "request_hash": plan.main.hash,
                }
            )
            if day >= site.provisional_from:
                flags.append(provisional_flag(plan.metric_id, site, day))

    raw = []
    for sub in report_subs:
        answer = answers[sub]
        site = sites[sub.site_id]
        for day, payload in sorted(per_day[sub].items()):
            raw.append(raw_row(answer, site, "day", day, day, day, payload))
    currencies = {k: v for site in sites.values() for k, v in site.currencies(plans).items()}
    return FetchResult(
        daily=with_currency(daily_table(daily), currencies),
        flags=flag_table(flags),
        raw=pa.Table.from_pylist(raw, schema=RAW_SCHEMA),
        request_count=request_count,
    )


def fetch_matomo_ranges(
    settings: MatomoSettings,
    requests: Sequence[RangeRequest],
    *,
    now: datetime | None = None,
    http: httpx.Client | None = None,
) -> FetchResult:
    """Values for exact windows (`period=range`), for non-additive metrics such as
    nb_uniq_visitors. Ratio columns come as numerator + denominator of the window.
    Windows touching today or yesterday (site time zone) get `provisional` flags on those days.
    """
    now = now or datetime.now(UTC)
    if not requests:
        return FetchResult()
    for request in requests:
        if request.end < request.start:
            raise ValueError(
                f"metric {request.metric_id}: range end {request.end} is before {request.start}"
            )
    plans = [
        (plan_metric(r, settings, "range", f"{r.start.isoformat()},{r.end.isoformat()}"), r)
        for r in requests
    ]
    with MatomoClient(settings, http) as client:
        report_subs, site_payloads, answers = _fetch_all(client, [p for p, _ in plans])
        request_count = client.request_count
    sites = {sid: site_info(sid, payload, now) for sid, payload in site_payloads.items()}

    rows: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    for plan, request in plans:
        site = sites[plan.site_id]
        aux = answers[plan.aux].payload if plan.aux else None
        where = f"range {request.start}..{request.end}"
        value, num, den = parts_of(plan, answers[plan.main].payload, aux, where)
        rows.append(
            {
                "metric_id": plan.metric_id,
                "range_start": request.start,
                "range_end": request.end,
                "value": value,
                "numerator": num,
                "denominator": den,
            }
        )
        touched = day_range(max(request.start, site.provisional_from), min(request.end, site.today))
        flags += [provisional_flag(plan.metric_id, site, day) for day in touched]

    raw = []
    for sub in report_subs:
        answer = answers[sub]
        start_s, end_s = dict(sub.params)["date"].split(",")
        r_start, r_end = date.fromisoformat(start_s), date.fromisoformat(end_s)
        raw.append(
            raw_row(answer, sites[sub.site_id], "range", r_end, r_start, r_end, answer.payload)
        )
    currencies = {
        k: v for site in sites.values() for k, v in site.currencies(p for p, _ in plans).items()
    }
    return FetchResult(
        ranges=with_currency(range_table(rows), currencies),
        flags=flag_table(flags),
        raw=pa.Table.from_pylist(raw, schema=RAW_SCHEMA),
        request_count=request_count,
    )
