"""The currency of a Matomo site's revenue, for `okr validate`: `currency` of
SitesManager.getSiteFromId (fetches read it from the same record, in their bulk request)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from connectors.base import MetricRequest
from connectors.matomo.client import MatomoClient
from connectors.matomo.parse import site_info
from connectors.matomo.requests import MONEY_COLUMNS, site_sub
from connectors.matomo.settings import MatomoSettings
from okr_definitions.sources.matomo import MatomoQuery


def matomo_currencies(
    settings: MatomoSettings,
    metrics: Sequence[MetricRequest],
    *,
    http: httpx.Client | None = None,
) -> dict[str, str]:
    """{metric id: the site's currency} of the metrics reading revenue, from
    SitesManager.getSiteFromId (one bulk request; none when no metric is money)."""
    money: dict[str, int] = {}
    for metric in metrics:
        query = metric.query
        if isinstance(query, dict):
            query = MatomoQuery.model_validate(query)
        if query.column in MONEY_COLUMNS:
            money[metric.metric_id] = query.site_id or settings.site_id
    if not money:
        return {}
    subs = [site_sub(site) for site in sorted(set(money.values()))]
    with MatomoClient(settings, http) as client:
        answers = client.bulk(subs)
    now = datetime.now(UTC)
    sites = {a.sub.site_id: site_info(a.sub.site_id, a.payload, now) for a in answers}
    return {
        metric_id: code
        for metric_id, site in money.items()
        if (code := sites[site].currency) is not None
    }
