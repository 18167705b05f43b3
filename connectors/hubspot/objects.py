"""Deals and contacts, and the deal pipelines, as Arrow tables (the raw layer's rows).

`fetch_hubspot_objects` reads the current state of every object changed since a cursor (or
all of them): active objects through CRM search, archived ones through the list endpoint's
recycle bin (search never returns archived objects). Each row keeps the properties exactly as
HubSpot sent them (strings) in a map column, plus the request hash of the answer it came from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from connectors.errors import IncompleteReadError
from connectors.hubspot.client import (
    LAST_MODIFIED_PROPERTY,
    OBJECT_TYPES,
    HubSpotClient,
    Page,
)
from connectors.hubspot.settings import MAX_FILTER_GROUPS, HubSpotSettings
from connectors.retry import READ_ATTEMPTS, call_with_retry

log = logging.getLogger(__name__)

_TS = pa.timestamp("us", tz="UTC")

# One row per object version read: its current state as of `fetched_at`.
OBJECTS_SCHEMA = pa.schema(
    [
        pa.field("object_type", pa.string(), nullable=False),  # deals | contacts
        pa.field("object_id", pa.string(), nullable=False),  # HubSpot's id (digits, up to 64-bit)
        pa.field("archived", pa.bool_(), nullable=False),
        pa.field("created_at", _TS),
        pa.field("updated_at", _TS, nullable=False),  # = hs_lastmodifieddate
        pa.field("archived_at", _TS),
        pa.field("properties", pa.map_(pa.string(), pa.string())),  # as sent: strings or null
        pa.field("fetched_at", _TS, nullable=False),
        pa.field("request_hash", pa.string(), nullable=False),
    ]
)

# One row per deal stage, with the outcome read from the stage's metadata.
PIPELINE_STAGES_SCHEMA = pa.schema(
    [
        pa.field("object_type", pa.string(), nullable=False),
        pa.field("pipeline_id", pa.string(), nullable=False),
        pa.field("pipeline_label", pa.string()),
        pa.field("pipeline_display_order", pa.int32()),
        pa.field("pipeline_archived", pa.bool_(), nullable=False),
        pa.field("stage_id", pa.string(), nullable=False),
        pa.field("stage_label", pa.string()),
        pa.field("stage_display_order", pa.int32()),
        pa.field("is_closed", pa.bool_()),
        pa.field("probability", pa.float64()),
        pa.field("outcome", pa.string(), nullable=False),  # won | lost | open
        pa.field("stage_archived", pa.bool_(), nullable=False),
        pa.field("fetched_at", _TS, nullable=False),
        pa.field("request_hash", pa.string(), nullable=False),
    ]
)

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


# One search or list result as HubSpot sends it: the fields the raw rows keep.
_RESULT = pa.struct(
    [
        pa.field("id", pa.string()),
        pa.field("archived", pa.bool_()),
        pa.field("createdAt", pa.string()),
        pa.field("updatedAt", pa.string()),
        pa.field("archivedAt", pa.string()),
        pa.field("properties", pa.map_(pa.string(), pa.string())),
    ]
)


def _as_sent(result: dict[str, Any]) -> dict[str, Any]:
    """One result in _RESULT's types, value by value, for the pages pyarrow cannot convert
    as they are."""
    properties = result.get("properties") or {}
    return {
        "id": str(result["id"]),
        "archived": bool(result.get("archived", False)),
        "createdAt": result.get("createdAt"),
        "updatedAt": result.get("updatedAt"),
        "archivedAt": result.get("archivedAt"),
        # HubSpot sends every property value as a string; keep anything else as its text.
        "properties": {
            k: v if v is None or isinstance(v, str) else str(v) for k, v in properties.items()
        },
    }


def _result_rows(results: list[dict[str, Any]]) -> pa.StructArray:
    """A page's results (as json.loads gave them) as one Arrow array of _RESULT, converted
    by pyarrow in one call.

    Each object's properties become a map with exactly the keys HubSpot sent, so a property
    sent as null stays apart from one not sent at all (`properties_never_read` relies on it).
    This is why the answers are not read with pyarrow's JSON reader as GA4's are: it gives
    null for both, and it has no map type. A page with a value of another type (an id or a
    property value as a JSON number), an object without properties or without an id goes
    through `_as_sent`.
    """
    try:
        rows = pa.array(results, _RESULT)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([_as_sent(r) for r in results], _RESULT)
    if rows.null_count or rows.field("id").null_count or rows.field("properties").null_count:
        return pa.array([_as_sent(r) for r in results], _RESULT)
    return rows


class _Rows:
    """OBJECTS_SCHEMA rows collected page by page: each page becomes Arrow as it arrives, so
    its Python objects are freed at once (per-value Python lists of 200,000 deals' properties
    held ~100 MB more until the end), and the table is put together once."""

    def __init__(self, object_type: str) -> None:
        self.object_type = object_type
        self.pages: list[pa.StructArray] = []
        self.hashes: list[pa.Array] = []

    def add(self, page: Page) -> int:
        rows = _result_rows(page.data.get("results") or [])
        self.pages.append(rows)
        self.hashes.append(pa.repeat(pa.scalar(page.request_hash, pa.string()), len(rows)))
        return len(rows)

    def table(self, fetched_at: datetime) -> pa.Table:
        rows = pa.chunked_array(self.pages, _RESULT).combine_chunks()
        n = len(rows)
        return pa.Table.from_arrays(
            [
                pa.repeat(pa.scalar(self.object_type, pa.string()), n),
                rows.field("id"),
                pc.fill_null(rows.field("archived"), False),
                pc.cast(rows.field("createdAt"), _TS),
                pc.cast(rows.field("updatedAt"), _TS),
                pc.cast(rows.field("archivedAt"), _TS),
                rows.field("properties"),
                pa.repeat(pa.scalar(fetched_at, _TS), n),
                pa.chunked_array(self.hashes, pa.string()).combine_chunks(),
            ],
            schema=OBJECTS_SCHEMA,
        )


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


def fetch_hubspot_objects(
    settings: HubSpotSettings,
    object_type: str,
    modified_since: datetime | None,
    properties: Sequence[str],
    *,
    date_properties: Sequence[str] = (),
    active_since: date | None = None,
    client: HubSpotClient | None = None,
) -> pa.Table:
    """Current state of every `object_type` object modified since `modified_since` (all when
    None), archived ones included and flagged. Returns an OBJECTS_SCHEMA table.

    modified_since: the stored cursor (the latest `updated_at` of the previous run); the search
      starts `settings.modified_overlap` earlier because the search index trails writes, so a
      run sees some objects twice — the newest `updated_at` wins downstream.
    properties: the properties to read (BASE_PROPERTIES are always added).
    date_properties / active_since: optionally only objects with at least one of these dates
      on or after `active_since` (a first load that needs a few quarters, not ten years).
      Archived objects are listed without this filter.
    """
    if object_type not in OBJECT_TYPES:
        raise ValueError(
            f"object_type must be one of {', '.join(OBJECT_TYPES)}, not {object_type!r}"
        )
    client = client or HubSpotClient(settings)
    names = sorted(set(properties) | set(BASE_PROPERTIES[object_type]))
    overlap_start = modified_since - settings.modified_overlap if modified_since else None
    fetched_at = datetime.now(UTC)

    groups = search_filter_groups(
        object_type,
        modified_since,
        overlap_start,
        date_properties,
        active_since,
        settings.time_zone,
    )

    def read_active() -> _Rows:
        # All or nothing: a read whose pages disagree with HubSpot's `total` is read again from
        # the start, and its rows never reach the caller.
        rows = _Rows(object_type)
        for page in client.search(object_type, groups, names):
            rows.add(page)
        return rows

    active = call_with_retry(read_active, READ_ATTEMPTS, retry_on=IncompleteReadError)
    archived = _Rows(object_type)
    for page in client.list_objects(object_type, names, archived=True):
        archived.add(page)

    live = active.table(fetched_at)
    gone = archived.table(fetched_at)
    if overlap_start is not None:
        # The recycle bin cannot be filtered server-side; archiving sets updatedAt.
        gone = gone.filter(pc.greater_equal(gone["updated_at"], pa.scalar(overlap_start, _TS)))
    # The search index may still show an object that was just archived. (Filtering copies
    # every row's properties, so only when there is something to drop.)
    shown_but_gone = pc.is_in(live["object_id"], gone["object_id"])
    if pc.any(shown_but_gone).as_py():
        live = live.filter(pc.invert(shown_but_gone))
    log.info(
        "hubspot %s: %d active and %d archived objects read",
        object_type,
        live.num_rows,
        gone.num_rows,
    )
    return pa.concat_tables([live, gone])


def next_cursor(objects: pa.Table, previous: datetime | None) -> datetime | None:
    """The cursor to store after loading `objects`: the latest `updated_at` seen (or the old
    cursor when nothing changed). The next run subtracts the overlap itself."""
    latest = pc.max(objects["updated_at"]).as_py() if objects.num_rows else None
    if latest is None:
        return previous
    return latest if previous is None or latest > previous else previous


def stage_outcome(metadata: dict[str, Any]) -> tuple[bool | None, float | None, str]:
    """(is_closed, probability, outcome) of a deal stage from its metadata.

    HubSpot marks closed stages `isClosed: "true"`; a closed stage with probability 1.0 is won,
    any other closed stage lost. Where `isClosed` is missing (older portals), probability
    1.0 / 0.0 are taken as closed won / lost.
    """
    raw_prob = metadata.get("probability")
    try:
        probability = float(raw_prob) if raw_prob not in (None, "") else None
    except ValueError:
        probability = None
    raw_closed = metadata.get("isClosed")
    if raw_closed is None:
        is_closed = None
        closed = probability in (0.0, 1.0)
    else:
        is_closed = closed = str(raw_closed).lower() == "true"
    if not closed:
        return is_closed, probability, "open"
    return is_closed, probability, "won" if (probability or 0.0) >= 1.0 else "lost"


def pipelines_table(page: Page, fetched_at: datetime, object_type: str = "deals") -> pa.Table:
    rows = []
    for p in page.data.get("results") or []:
        for s in p.get("stages") or []:
            is_closed, probability, outcome = stage_outcome(s.get("metadata") or {})
            rows.append(
                {
                    "object_type": object_type,
                    "pipeline_id": str(p["id"]),
                    "pipeline_label": p.get("label"),
                    "pipeline_display_order": p.get("displayOrder"),
                    "pipeline_archived": bool(p.get("archived", False)),
                    "stage_id": str(s["id"]),
                    "stage_label": s.get("label"),
                    "stage_display_order": s.get("displayOrder"),
                    "is_closed": is_closed,
                    "probability": probability,
                    "outcome": outcome,
                    "stage_archived": bool(s.get("archived", False)),
                    "fetched_at": fetched_at,
                    "request_hash": page.request_hash,
                }
            )
    return pa.Table.from_pylist(rows, schema=PIPELINE_STAGES_SCHEMA)


def fetch_hubspot_pipelines(
    settings: HubSpotSettings, *, client: HubSpotClient | None = None
) -> pa.Table:
    """Every deal pipeline's stages with won/lost/open from their metadata
    (PIPELINE_STAGES_SCHEMA)."""
    client = client or HubSpotClient(settings)
    return pipelines_table(client.pipelines("deals"), datetime.now(UTC))
