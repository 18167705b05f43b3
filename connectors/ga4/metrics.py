"""What the connector knows about GA4 metrics: which add up across days, which are rates.

GA4 counts users per request: the users of a week are not the sum of the users of its days,
and GA4's own rates (engagementRate, bounceRate, ...) are ratios. Summing either across days
gives wrong numbers, so such metrics are "non-additive": the connector asks the API for the
exact range instead (`fetch_ga4_ranges`).
"""

from __future__ import annotations

from okr_definitions.sources.ga4 import GA4Query

# Distinct-user counts: deduplicated over the whole request range by GA4.
USER_METRICS = frozenset(
    {
        "totalUsers",
        "activeUsers",
        "active1DayUsers",
        "active7DayUsers",
        "active28DayUsers",
        "totalPurchasers",
        "firstTimePurchasers",  # distinct users whose first purchase falls in the range
        "dauPerMau",
        "dauPerWau",
        "wauPerMau",
    }
)

# GA4's own ratios with the additive count they are "per" (API schema descriptions). Over one
# day the connector returns numerator = value × denominator so the warehouse can form a ratio
# of sums for session-based rates; user-based rates stay non-additive (users are).
RATE_DENOMINATORS: dict[str, str] = {
    "engagementRate": "sessions",
    "bounceRate": "sessions",
    "sessionKeyEventRate": "sessions",
    "averageSessionDuration": "sessions",
    "screenPageViewsPerSession": "sessions",
    "eventsPerSession": "sessions",
    "userKeyEventRate": "totalUsers",
    "screenPageViewsPerUser": "activeUsers",
    "engagedSessionsPerUser": "activeUsers",  # GA4 calls it "Engaged sessions per user"
    "eventCountPerUser": "activeUsers",
    "averagePurchaseRevenue": "totalPurchasers",
    "averagePurchaseRevenuePerUser": "totalUsers",
    "averageRevenuePerUser": "totalUsers",
    "userEngagementDurationPerUser": "activeUsers",
    "purchaserRate": "activeUsers",
    "cartToViewRate": "itemsViewed",
    "purchaseToViewRate": "itemsViewed",
}

# Per-key-event variants (`sessionKeyEventRate:purchase`) behave like their base metric.
_RATE_PREFIXES: dict[str, str] = {
    "sessionKeyEventRate:": "sessions",
    "userKeyEventRate:": "totalUsers",
}


def base_metric(name: str) -> str:
    """`sessionKeyEventRate:purchase` → `sessionKeyEventRate`; plain names unchanged."""
    for prefix in _RATE_PREFIXES:
        if name.startswith(prefix):
            return prefix[:-1]
    return name


def rate_denominator(name: str) -> str | None:
    """The count a GA4 rate metric is "per", or None for a plain count."""
    return RATE_DENOMINATORS.get(base_metric(name))


def metric_is_additive(name: str) -> bool:
    """True when daily values of this GA4 metric may be summed to get a range's value."""
    base = base_metric(name)
    return base not in USER_METRICS and base not in RATE_DENOMINATORS


def is_additive(query: GA4Query) -> bool:
    """True when the metric's daily values add up to any range's value.

    `aggregation: sum` / `range` in the query overrides the connector's knowledge (for custom
    metrics it cannot know); `auto` decides from the metric name.
    """
    if query.aggregation == "sum":
        return True
    if query.aggregation == "range":
        return False
    return metric_is_additive(query.metric)
