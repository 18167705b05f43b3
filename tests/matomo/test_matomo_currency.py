"""Matomo revenue carries the site's currency (SitesManager.getSiteFromId `currency`), and
`okr validate` can ask for it; the real client against the sandbox."""

from __future__ import annotations

from datetime import date

from connectors.base import MetricRequest, RangeRequest
from connectors.matomo import MatomoSettings, fetch_matomo, fetch_matomo_ranges, matomo_currencies
from okr_definitions.sources.matomo import MatomoQuery
from sandbox.base import SandboxServer
from sandbox.matomo.server import MatomoSandbox

START, END = date(2026, 10, 1), date(2026, 10, 3)
REVENUE = MetricRequest(
    "trial_revenue", MatomoQuery(method="Goals.get", column="revenue", id_goal=2)
)
VISITS = MetricRequest("visits", MatomoQuery(method="VisitsSummary.get", column="nb_visits"))


def _currencies(table) -> dict[str, set]:
    found: dict[str, set] = {}
    for row in table.to_pylist():
        found.setdefault(row["metric_id"], set()).add(row["currency"])
    return found


def test_revenue_is_in_the_sites_currency_and_visits_in_none(
    settings: MatomoSettings, sandbox: MatomoSandbox
) -> None:
    result = fetch_matomo(settings, [REVENUE, VISITS], START, END)
    assert _currencies(result.daily) == {"trial_revenue": {"EUR"}, "visits": {None}}

    # The switch: the same site set to US dollars; the figures stay the same numbers.
    sandbox.set_currency(1, "USD")
    switched = fetch_matomo(settings, [REVENUE, VISITS], START, END)
    assert _currencies(switched.daily) == {"trial_revenue": {"USD"}, "visits": {None}}
    assert switched.daily["value"].equals(result.daily["value"])

    ranges = fetch_matomo_ranges(
        settings, [RangeRequest(REVENUE.metric_id, REVENUE.query, START, END)]
    )
    assert ranges.ranges["currency"].to_pylist() == ["USD"]


def test_validate_asks_the_site_record_only_for_money(
    settings: MatomoSettings, sandbox: MatomoSandbox, server: SandboxServer
) -> None:
    assert matomo_currencies(settings, [VISITS]) == {}
    assert server.total_requests == 0  # no money, no request

    assert matomo_currencies(settings, [REVENUE, VISITS]) == {"trial_revenue": "EUR"}
    assert server.total_requests == 1
