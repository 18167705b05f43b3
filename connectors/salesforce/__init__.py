"""Salesforce CRM source: opportunities, leads and any object with dates, through
`simple-salesforce` (OAuth client credentials or JWT bearer, REST queryAll) and Bulk API 2.0
for large reads.

The pieces, in the order a run uses them:

- :class:`SalesforceSettings` — the connected app's credentials from the environment only, the
  organisation's time zone and the limits the connector keeps to (`settings.py`).
- :func:`describe_objects` — each object's field types (money, date or datetime; whether the
  org is multi-currency), from `/sobjects/<Object>/describe`.
- :func:`fetch_records` — one read of an object: every record changed since a cursor, or a
  full read of the records some metric could count; queryAll so deletions come back; Bulk API
  2.0 when the read is large (`bulk.py`).
- :func:`fetch_currency` — the corporate currency and the org's conversion rates.
- :func:`daily_values` — DAILY_SCHEMA rows (plus `currency`, `request_hash`) from the
  stored records, recomputed over any window where the records are (the warehouse), with the
  days' `currency_unconverted` flags; :func:`daily_from_records` the same from a read in hand.
"""

from __future__ import annotations

from connectors.base import Connector, deferred, lazy_exports
from connectors.salesforce.requests import (
    fields_for_metrics,
    is_additive,
    salesforce_query,
)
from connectors.salesforce.settings import (
    HOW_TO_ENABLE,
    SalesforceSettings,
    settings_from_env,
)

# The client library (simple-salesforce) loads with the first fetch or check against the API:
# `okr validate` without credentials and `okr status` never import it.
__getattr__ = lazy_exports(
    __name__,
    {
        "RECORD_COLUMNS": "connectors.salesforce.parse",
        "Currency": "connectors.salesforce.parse",
        "ObjectSchema": "connectors.salesforce.fetch",
        "RecordRead": "connectors.salesforce.fetch",
        "SalesforceClient": "connectors.salesforce.client",
        "daily_from_records": "connectors.salesforce.parse",
        "daily_values": "connectors.salesforce.parse",
        "fields_map_sql": "connectors.salesforce.parse",
        "read_fields": "connectors.salesforce.parse",
        "describe_objects": "connectors.salesforce.fetch",
        "fetch_currency": "connectors.salesforce.fetch",
        "fetch_records": "connectors.salesforce.fetch",
        "money_fields": "connectors.salesforce.fetch",
        "salesforce_currencies": "connectors.salesforce.fetch",
        "validate_salesforce_metrics": "connectors.salesforce.validate",
    },
)

CONNECTOR = Connector(
    is_additive=is_additive,
    settings_from_env=lambda definitions: settings_from_env(definitions.organisation.timezone),
    validate=deferred("connectors.salesforce.validate", "validate_salesforce_metrics"),
    how_to_enable=HOW_TO_ENABLE,
    currencies=deferred("connectors.salesforce.fetch", "salesforce_currencies"),
    currency_setting="org's corporate currency (Setup → Company Information → Currency)",
)

__all__ = [
    "CONNECTOR",
    "RECORD_COLUMNS",
    "Currency",
    "ObjectSchema",
    "RecordRead",
    "SalesforceClient",
    "SalesforceSettings",
    "daily_from_records",
    "daily_values",
    "describe_objects",
    "fetch_currency",
    "fetch_records",
    "fields_for_metrics",
    "fields_map_sql",
    "is_additive",
    "money_fields",
    "read_fields",
    "salesforce_currencies",
    "salesforce_query",
    "validate_salesforce_metrics",
]
