"""What is asked of HubSpot: which query a metric is, which properties and date properties its
objects must be read with, and the CRM search's filter groups (changed since the cursor, and
optionally active since a day), plus the cursor the next run starts from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import MetricRequest
from connectors.hubspot.settings import MAX_FILTER_GROUPS
from okr_definitions.sources.hubspot import HubSpotQuery

log = logging.getLogger(__name__)

OBJECT_TYPES = ("deals", "contacts")
# Contacts keep their modification time in `lastmodifieddate`, every other object in
# `hs_lastmodifieddate` (search guide, "Search for records modified since").
LAST_MODIFIED_PROPERTY = {"deals": "hs_lastmodifieddate", "contacts": "lastmodifieddate"}

# `amount` is in the deal's own currency; HubSpot also keeps it converted to the company
# currency (`amount_in_home_currency`, a calculated property) for multi-currency accounts.
# Sums of either read the company currency where HubSpot has it, the deal's amount otherwise;
# a deal's amount that could not be read in the company currency is in `deal_currency_code`,
# and a day adding it to others in another currency carries both (`EUR+USD`, flagged
# currency_mismatch by the warehouse): never converted here, never silently mixed.
AMOUNT_PROPERTIES = ("amount", "amount_in_home_currency")
DEAL_CURRENCY_PROPERTY = "deal_currency_code"


def hubspot_query(metric: MetricRequest) -> HubSpotQuery:
    """The metric's query as a HubSpotQuery (accepts the model or its dict form)."""
    q = metric.query
    return q if isinstance(q, HubSpotQuery) else HubSpotQuery.model_validate(q)


def is_additive(query: HubSpotQuery) -> bool:
    # Counts and sums add up across days; a ratio (win rate) is returned as daily numerator
    # and denominator, whose sums give any range's exact value.
    return True


def properties_for_metrics(metrics: Sequence[MetricRequest]) -> dict[str, list[str]]:
    """The properties to read per object type so these metrics can be computed."""
    needed: dict[str, set[str]] = {}
    for m in metrics:
        q = hubspot_query(m)
        names = needed.setdefault(q.object, set())
        names.add(q.date_property)
        if q.property in AMOUNT_PROPERTIES:
            names.update((*AMOUNT_PROPERTIES, DEAL_CURRENCY_PROPERTY))
        elif q.property:
            names.add(q.property)
        if q.lifecycle_stage or (q.denominator and q.denominator.lifecycle_stage):
            names.add("lifecyclestage")
    return {obj: sorted(names) for obj, names in needed.items()}


def date_properties_for_metrics(metrics: Sequence[MetricRequest]) -> dict[str, list[str]]:
    """The date properties that place objects on days, per object type."""
    dates: dict[str, set[str]] = {}
    for m in metrics:
        q = hubspot_query(m)
        dates.setdefault(q.object, set()).add(q.date_property)
    return {obj: sorted(d) for obj, d in dates.items()}


# A map column as the list of its (key, value) entries, which pyarrow can flatten.


# Read with every object whatever the metrics need: what places and classifies it.
BASE_PROPERTIES = {
    "deals": (
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
        "pipeline",
        "dealstage",
        "closedate",
        "amount",
        "amount_in_home_currency",
    ),
    "contacts": ("hs_object_id", "createdate", "lastmodifieddate", "lifecyclestage"),
}


def epoch_ms(moment: datetime) -> str:
    """A filter value for a date/datetime property: epoch milliseconds, as HubSpot documents."""
    if moment.tzinfo is None:
        raise ValueError("datetimes given to the HubSpot connector must be timezone-aware")
    return str(int(moment.timestamp() * 1000))


def day_start(day: date, time_zone: str) -> datetime:
    """Midnight of `day` in the account's zone (where HubSpot's days begin)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone))


def search_filter_groups(
    object_type: str,
    modified_since: datetime | None,
    overlap_start: datetime | None,
    date_properties: Sequence[str],
    active_since: date | None,
    time_zone: str,
) -> list[list[dict[str, Any]]]:
    """The search's filterGroups (OR of ANDs): changed since the cursor (minus the overlap),
    and — when asked — with at least one of the metrics' dates on or after `active_since`."""
    base: list[dict[str, Any]] = []
    if modified_since is not None and overlap_start is not None:
        base.append(
            {
                "propertyName": LAST_MODIFIED_PROPERTY[object_type],
                "operator": "GTE",
                "value": epoch_ms(overlap_start),
            }
        )
    dates = sorted(set(date_properties))
    if active_since is None or not dates:
        return [base]
    if len(dates) > MAX_FILTER_GROUPS:
        # One group per date property: more than HubSpot allows, so read without the horizon.
        log.info(
            "hubspot %s: %d date properties > %d filter groups; reading without a date horizon",
            object_type,
            len(dates),
            MAX_FILTER_GROUPS,
        )
        return [base]
    # A day early: date-only properties are midnight UTC, not midnight in the account's zone,
    # and a generous lower bound costs a few extra objects, never a missing one.
    since = epoch_ms(day_start(active_since - timedelta(days=1), time_zone))
    return [base + [{"propertyName": p, "operator": "GTE", "value": since}] for p in dates]


def next_cursor(objects: pa.Table, previous: datetime | None) -> datetime | None:
    """The cursor to store after loading `objects`: the latest `updated_at` seen (or the old
    cursor when nothing changed). The next run subtracts the overlap itself."""
    latest = pc.max(objects["updated_at"]).as_py() if objects.num_rows else None
    if latest is None:
        return previous
    return latest if previous is None or latest > previous else previous
