"""The currency of HubSpot amounts: the account's company currency (account-info API).

Deal amounts are summed as `amount_in_home_currency`, which HubSpot converts into the company
currency with the account's own exchange rates; where a deal has no such value its `amount`
counts in `deal_currency_code` (see connectors.hubspot.parse).
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import MetricRequest
from connectors.errors import SourceError
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.requests import AMOUNT_PROPERTIES, hubspot_query
from connectors.hubspot.settings import SOURCE, HubSpotSettings


def fetch_company_currency(
    settings: HubSpotSettings, *, client: HubSpotClient | None = None
) -> str:
    """The account's company currency (ISO 4217), from GET /account-info/v3/details."""
    client = client or HubSpotClient(settings)
    details = client.account_details().data
    code = details.get("companyCurrency")
    if not isinstance(code, str) or not code.strip():
        raise SourceError(
            SOURCE,
            "GET /account-info/v3/details answered without companyCurrency, so the currency "
            "of deal amounts is unknown; nothing was loaded. Run again; if it persists, check "
            "the account's currency settings in HubSpot.",
        )
    return code.strip()


def is_money(metric: MetricRequest) -> bool:
    """Does this metric sum deal amounts (in the company currency)?"""
    q = hubspot_query(metric)
    return q.aggregate == "sum" and q.property in AMOUNT_PROPERTIES


def hubspot_currencies(
    settings: HubSpotSettings,
    metrics: Sequence[MetricRequest],
    *,
    client: HubSpotClient | None = None,
) -> dict[str, str]:
    """{metric id: company currency} for the metrics that sum amounts (one request, none when
    no metric is money), for `okr validate`."""
    code = company_currency_if_money(settings, metrics, client=client)
    return {m.metric_id: code for m in metrics if code and is_money(m)}


def company_currency_if_money(
    settings: HubSpotSettings,
    metrics: Sequence[MetricRequest],
    *,
    client: HubSpotClient | None = None,
) -> str | None:
    """The company currency when one of `metrics` sums amounts (one request), else None (no
    request: counts have no currency)."""
    if not any(is_money(m) for m in metrics):
        return None
    return fetch_company_currency(settings, client=client)
