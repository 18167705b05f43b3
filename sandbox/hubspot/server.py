"""A HubSpot CRM on 127.0.0.1: deals, contacts, pipelines and properties in HubSpot's wire format.

The real `hubspot-api-client` talks to it; only the host differs. It serves:

- `POST /crm/v3/objects/{deals,contacts}/search` — filterGroups (OR of ANDs) with EQ, NEQ, LT,
  LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY; one sort; `limit` ≤ 200;
  offset paging with `paging.next.after`; HubSpot's 400 for paging past 10,000 results.
- `GET /crm/v3/objects/{deals,contacts}` — the list endpoint (`archived=true` lists archived
  objects, kept 90 days like HubSpot's recycle bin), `limit` ≤ 100, cursor paging.
- `GET /crm/v3/pipelines/deals` — the default pipeline and a custom "Enterprise" pipeline whose
  stages have numeric ids (its won stage is not called `closedwon`).
- `GET /crm/v3/properties/{deals,contacts}` — property definitions (name, type, options).
- `GET /account-info/v3/details` — the account's `companyCurrency` (switch: the attribute
  `company_currency`, EUR by default).
- Bearer-token check (401 with HubSpot's INVALID_AUTHENTICATION body), HubSpot's 429 bodies and
  headers via :func:`rate_limit_fault`, an optional per-second limit on search, short pages.

Data is a deterministic function of (object, time): object k is created at a time fixed by a
daily schedule (weekly seasonality, a trend, hash noise) and its whole life — stage moves,
close, amount corrections, close-date corrections, archiving; lifecycle stages for contacts — is
derived from hashes of k. The sandbox has a settable `now`; every answer shows the CRM as it
is at `now`, so advancing `now` moves deals along, edits past deals and archives some.
No global RNG: two sandboxes with the same settings answer byte-identically (apart from
correlation ids).

Demo calibration (default counts): won revenue in 2026-Q4 reaches ~80 % of €600k by the end of
the quarter, and 40-60 contacts a week become marketing qualified leads.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import struct
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.base import Fault, Request, Response, SandboxServer

# --- The data's calendar --------------------------------------------------------------------
HISTORY_START = date(2025, 1, 1)
# `deals=`/`contacts=` count the objects created from HISTORY_START through this day (the
# project's reference "today"); the daily rate follows from it and continues after.
REFERENCE_DAY = date(2026, 11, 26)
DEFAULT_DEALS = 3_600
DEFAULT_CONTACTS = 10_000
DEFAULT_TOKEN = "pat-sandbox-okr-sync"
PORTAL_ID = 24_681_357

# --- HubSpot's own limits, mirrored ----------------------------------------------------------
# Search guide, "Limitations": at most 200 objects per page, 10,000 results per query (paging
# beyond is a 400), 5 filterGroups, 6 filters per group, 18 filters in all, one sort rule.
SEARCH_MAX_LIMIT = 200
SEARCH_DEFAULT_LIMIT = 10
SEARCH_RESULT_CAP = 10_000
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS_TOTAL = 18
# GET /crm/v3/objects/{type}: "The maximum number of results to display per page" is 100.
LIST_MAX_LIMIT = 100
LIST_DEFAULT_LIMIT = 10
# Archived objects stay restorable (and listed) for 90 days, then are deleted for good.
ARCHIVE_RETENTION = timedelta(days=90)

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# --- Pipelines -----------------------------------------------------------------------------
ENTERPRISE_PIPELINE_ID = "81234567"
ENTERPRISE_WON_STAGE_ID = "81234571"
ENTERPRISE_LOST_STAGE_ID = "81234572"
DEFAULT_OPEN_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
    ("contractsent", "Contract Sent", "0.9"),
)
ENTERPRISE_OPEN_STAGES = (
    ("81234568", "Discovery", "0.1"),
    ("81234569", "Proposal", "0.5"),
    ("81234570", "Negotiation", "0.75"),
)


def _stage(
    stage_id: str, label: str, order: int, probability: str, closed: bool, created: str
) -> dict[str, Any]:
    return {
        "label": label,
        "displayOrder": order,
        "metadata": {"isClosed": "true" if closed else "false", "probability": probability},
        "id": stage_id,
        "createdAt": created,
        "updatedAt": created,
        "archived": False,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def _pipeline(
    pid: str,
    label: str,
    order: int,
    open_stages: tuple[tuple[str, str, str], ...],
    won: tuple[str, str],
    lost: tuple[str, str],
    created: str,
) -> dict[str, Any]:
    stages = [_stage(s, lab, i, p, False, created) for i, (s, lab, p) in enumerate(open_stages)]
    n = len(stages)
    stages.append(_stage(won[0], won[1], n, "1.0", True, created))
    stages.append(_stage(lost[0], lost[1], n + 1, "0.0", True, created))
    return {
        "label": label,
        "displayOrder": order,
        "id": pid,
        "stages": stages,
        "createdAt": created,
        "updatedAt": created,
        "archived": False,
    }


# Default pipelines have createdAt = epoch (OpenAPI spec: "stages on default pipelines will have
# createdAt = 0").
PIPELINES: list[dict[str, Any]] = [
    _pipeline(
        "default",
        "Sales Pipeline",
        0,
        DEFAULT_OPEN_STAGES,
        ("closedwon", "Closed Won"),
        ("closedlost", "Closed Lost"),
        "1970-01-01T00:00:00Z",
    ),
    _pipeline(
        ENTERPRISE_PIPELINE_ID,
        "Enterprise",
        1,
        ENTERPRISE_OPEN_STAGES,
        (ENTERPRISE_WON_STAGE_ID, "Signed"),
        (ENTERPRISE_LOST_STAGE_ID, "Lost"),
        "2024-03-04T09:12:44.120Z",
    ),
]

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
_LIFECYCLE_LABELS = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "marketingqualifiedlead": "Marketing Qualified Lead",
    "salesqualifiedlead": "Sales Qualified Lead",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "evangelist": "Evangelist",
    "other": "Other",
}


# --- Properties --------------------------------------------------------------------------------
# (name, type, fieldType, label, group); type decides how filters compare and how values print.
def _deal_property_specs() -> list[tuple[str, str, str, str, str]]:
    return [
        ("amount", "number", "number", "Amount", "dealinformation"),
        (
            "amount_in_home_currency",
            "number",
            "number",
            "Amount in company currency",
            "dealinformation",
        ),
        ("deal_currency_code", "enumeration", "select", "Currency", "dealinformation"),
        ("closedate", "datetime", "date", "Close Date", "dealinformation"),
        ("createdate", "datetime", "date", "Create Date", "dealinformation"),
        ("dealname", "string", "text", "Deal Name", "dealinformation"),
        ("dealstage", "enumeration", "radio", "Deal Stage", "dealinformation"),
        ("pipeline", "enumeration", "select", "Pipeline", "dealinformation"),
        ("hs_lastmodifieddate", "datetime", "date", "Last Modified Date", "dealinformation"),
        ("hs_object_id", "number", "number", "Record ID", "dealinformation"),
        ("hubspot_owner_id", "enumeration", "select", "Deal owner", "dealinformation"),
        ("dealtype", "enumeration", "radio", "Deal Type", "dealinformation"),
    ]


def _contact_property_specs() -> list[tuple[str, str, str, str, str]]:
    specs = [
        ("createdate", "datetime", "date", "Create Date", "contactinformation"),
        ("email", "string", "text", "Email", "contactinformation"),
        ("firstname", "string", "text", "First Name", "contactinformation"),
        ("lastname", "string", "text", "Last Name", "contactinformation"),
        ("hs_object_id", "number", "number", "Record ID", "contactinformation"),
        ("lastmodifieddate", "datetime", "date", "Last Modified Date", "contactinformation"),
        ("lifecyclestage", "enumeration", "radio", "Lifecycle Stage", "contactinformation"),
    ]
    for s in LIFECYCLE_STAGES:
        label = _LIFECYCLE_LABELS[s]
        specs.append(
            (
                f"hs_v2_date_entered_{s}",
                "datetime",
                "date",
                f"Date entered '{label} (Lifecycle Stage Pipeline)'",
                "contact_activity",
            )
        )
        specs.append(
            (
                f"hs_lifecyclestage_{s}_date",
                "datetime",
                "date",
                f"Became a {label} Date",
                "contactinformation",
            )
        )
    return specs


_OPTIONS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("deals", "pipeline"): [(p["id"], p["label"]) for p in PIPELINES],
    ("deals", "dealstage"): [(s["id"], s["label"]) for p in PIPELINES for s in p["stages"]],
    ("deals", "deal_currency_code"): [("EUR", "Euro"), ("USD", "US Dollar")],
    ("deals", "dealtype"): [
        ("newbusiness", "New Business"),
        ("existingbusiness", "Existing Business"),
    ],
    ("contacts", "lifecyclestage"): [(s, _LIFECYCLE_LABELS[s]) for s in LIFECYCLE_STAGES],
}

PROPERTY_SPECS = {"deals": _deal_property_specs(), "contacts": _contact_property_specs()}
PROPERTY_TYPES: dict[str, dict[str, str]] = {
    obj: {name: ptype for name, ptype, *_ in specs} for obj, specs in PROPERTY_SPECS.items()
}
LAST_MODIFIED = {"deals": "hs_lastmodifieddate", "contacts": "lastmodifieddate"}
# What search/list return when the request names no properties (HubSpot's defaults).
DEFAULT_PROPERTIES = {
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
}
# Returned with every object whatever was asked for.
ALWAYS_PROPERTIES = {
    "deals": ("createdate", "hs_lastmodifieddate", "hs_object_id"),
    "contacts": ("createdate", "hs_object_id", "lastmodifieddate"),
}


def _property_definition(obj: str, spec: tuple[str, str, str, str, str], order: int) -> dict:
    name, ptype, field_type, label, group = spec
    options = [
        {"label": lab, "value": val, "displayOrder": i, "hidden": False}
        for i, (val, lab) in enumerate(_OPTIONS.get((obj, name), []))
    ]
    return {
        "updatedAt": "2024-05-02T10:21:05.410Z",
        "createdAt": "2019-08-06T02:41:52.256Z",
        "name": name,
        "label": label,
        "type": ptype,
        "fieldType": field_type,
        "description": "",
        "groupName": group,
        "options": options,
        "displayOrder": order,
        "calculated": name in ("amount_in_home_currency", "hs_object_id"),
        "externalOptions": False,
        "hasUniqueValue": name == "hs_object_id",
        "hidden": False,
        "hubspotDefined": True,
        "modificationMetadata": {
            "archivable": False,
            "readOnlyDefinition": True,
            "readOnlyValue": False,
        },
        "formField": ptype in ("string", "enumeration"),
        "dataSensitivity": "non_sensitive",
    }


# --- Deterministic noise ---------------------------------------------------------------------
def _mix(x: int) -> int:
    """splitmix64: a fixed, fast integer hash (no RNG state anywhere)."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def _unit(key: int, salt: int) -> float:
    """A uniform number in [0, 1) fixed by (key, salt)."""
    return _mix(key * 1_000_003 + salt * 7_919) / 18446744073709551616.0


_U16 = struct.Struct("<20H").unpack


def _uniforms(key: int, salt: int) -> list[float]:
    """20 uniforms in [0, 1) fixed by (key, salt), from one blake2b digest (16 bits each): one
    C call instead of twenty hashes, because hashing dominates building 200k objects."""
    digest = hashlib.blake2b(
        key.to_bytes(8, "little"), digest_size=40, salt=salt.to_bytes(4, "little")
    ).digest()
    return [v / 65536.0 for v in _U16(digest)]


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("sandbox times must be timezone-aware (UTC)")
    return int((value - _EPOCH).total_seconds() * 1000)


def _day_ms(day: date) -> int:
    return (day - HISTORY_START).days * DAY_MS + _HISTORY_START_MS


_HISTORY_START_MS = int(
    (
        datetime(HISTORY_START.year, HISTORY_START.month, HISTORY_START.day, tzinfo=UTC) - _EPOCH
    ).total_seconds()
    * 1000
)


_DAY_TEXT: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """HubSpot's datetime format: ISO 8601 in UTC with milliseconds and a Z.

    Hand-formatted with a per-day cache: strftime was most of a search page's cost.
    """
    days, rest = divmod(ms, DAY_MS)
    day = _DAY_TEXT.get(days)
    if day is None:
        day = _DAY_TEXT[days] = (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{day}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def _wire(ptype: str, value: Any) -> str | None:
    """A typed value as HubSpot prints property values: always a string (or null)."""
    if value is None:
        return None
    if ptype in ("datetime", "date"):
        return iso_ms(value) if ptype == "datetime" else iso_ms(value)[:10]
    if ptype == "number":
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return str(value)


# --- Creation schedule: objects per day ------------------------------------------------------
# Mon..Sun: B2B CRMs are quiet at weekends.
_WEEKDAY = (1.2, 1.25, 1.2, 1.1, 0.9, 0.2, 0.15)
_WEEKDAY_MEAN = sum(_WEEKDAY) / 7
# Business keeps growing: +12 % a year.
_TREND_PER_YEAR = 0.12


def _day_weight(day: date, salt: int) -> float:
    years = (day - HISTORY_START).days / 365.0
    noise = 0.85 + 0.3 * _unit(day.toordinal(), salt)
    return _WEEKDAY[day.weekday()] / _WEEKDAY_MEAN * (1 + _TREND_PER_YEAR * years) * noise


def _expected_weight(first: date, last: date) -> float:
    total, day = 0.0, first
    while day <= last:
        years = (day - HISTORY_START).days / 365.0
        total += _WEEKDAY[day.weekday()] / _WEEKDAY_MEAN * (1 + _TREND_PER_YEAR * years)
        day += timedelta(days=1)
    return total


class _Schedule:
    """Creation times of generated objects, in id order, built day by day as `now` advances."""

    def __init__(self, per_reference_period: int, salt: int) -> None:
        self.salt = salt
        weight = _expected_weight(HISTORY_START, REFERENCE_DAY)
        self.rate = per_reference_period / weight if per_reference_period > 0 else 0.0
        self.created: list[int] = []
        self._next_day = HISTORY_START

    def extend_to(self, until_ms: int) -> None:
        while _day_ms(self._next_day) <= until_ms and self.rate > 0:
            day = self._next_day
            expected = self.rate * _day_weight(day, self.salt)
            n = int(expected + _unit(day.toordinal(), self.salt + 1))
            start = _day_ms(day)
            # Working hours 07:00-17:00 UTC; sorted so ids follow creation order.
            times = sorted(
                start
                + 7 * HOUR_MS
                + int(10 * HOUR_MS * _unit(day.toordinal() * 1000 + i, self.salt + 2))
                for i in range(n)
            )
            self.created.extend(times)
            self._next_day = day + timedelta(days=1)


# --- Object lives ----------------------------------------------------------------------------
@dataclass
class _Life:
    """One object's state at some moment: typed property values plus top-level fields."""

    object_id: int
    props: dict[str, Any]
    created: int
    updated: int
    archived_at: int | None = None


_FIRST = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Finn",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Kira",
    "Lars",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Sven",
    "Tara",
    "Uwe",
)
_LAST = (
    "Schmidt",
    "Meyer",
    "Novak",
    "Rossi",
    "Dubois",
    "Jensen",
    "Kowalski",
    "Garcia",
    "Smith",
    "Berg",
    "Weber",
    "Fischer",
    "Lang",
    "Wolf",
    "Keller",
)
_COMPANIES = (
    "Nordlicht",
    "Alpenblick",
    "Rheinwerk",
    "Bluefjord",
    "Kestrel",
    "Lumen",
    "Ostwind",
    "Quarzit",
    "Sonnenhof",
    "Tidewater",
    "Vireo",
    "Zephyr",
)
_OWNERS = ("31000101", "31000102", "31000103", "31000104", "31000105", "31000106")

# Deal economics (tuned so the demo's won-revenue KR is interesting, see module docstring).
P_ENTERPRISE = 0.2
P_WON = 0.30
P_LOST = 0.50  # the remaining 20 % stay open
P_USD = 0.15
USD_TO_EUR = 0.92
P_NO_HOME_AMOUNT = 0.05  # e.g. imported deals: amount but no company-currency amount
P_NO_AMOUNT = 0.06
SANDBOX_PORTAL_ID = 24_000_001
P_AMOUNT_EDIT = 0.12  # won deals whose amount is corrected after closing
P_CLOSEDATE_EDIT = 0.06  # closed deals whose close date is backdated after closing
P_DEAL_ARCHIVED = 0.03
# Contacts: share that becomes an MQL, and onward conversions.
P_SUBSCRIBER = 0.3
P_MQL = 0.45
P_SQL = 0.3
P_OPPORTUNITY = 0.5
P_CUSTOMER = 0.4
P_CONTACT_ARCHIVED = 0.01
DEAL_ID_BASE = 18_000_000_000
CONTACT_ID_BASE = 60_000_000_000
SCRIPTED_DEAL_ID_BASE = 90_000_000_001
SCRIPTED_CONTACT_ID_BASE = 90_005_000_001


def _deal_life(k: int, t0: int, now: int) -> _Life:
    u = _uniforms(k, 100).__getitem__

    object_id = DEAL_ID_BASE + k * 13 + _mix(k) % 7
    enterprise = u(1) < P_ENTERPRISE
    if enterprise:
        pipeline, open_stages = ENTERPRISE_PIPELINE_ID, [s[0] for s in ENTERPRISE_OPEN_STAGES]
        won, lost = ENTERPRISE_WON_STAGE_ID, ENTERPRISE_LOST_STAGE_ID
        amount: float | None = float(round(4000 + 8000 * u(2) ** 2, -2))
    else:
        pipeline, open_stages = "default", [s[0] for s in DEFAULT_OPEN_STAGES]
        won, lost = "closedwon", "closedlost"
        amount = float(round(800 + 4000 * u(2) ** 1.5, -1))
    if u(5) < P_NO_AMOUNT:
        amount = None
    usd = u(3) < P_USD
    has_home = amount is not None and u(4) >= P_NO_HOME_AMOUNT
    rate = USD_TO_EUR if usd else 1.0

    r = u(6)
    outcome = "won" if r < P_WON else "lost" if r < P_WON + P_LOST else "open"
    resolve = t0 + int(DAY_MS * (3 + 55 * u(7) ** 1.5))
    archive_at = t0 + int(DAY_MS * (2 + 120 * u(16))) if u(15) < P_DEAL_ARCHIVED else None
    # An archived deal freezes: nothing happens to it after it went to the recycle bin.
    t = now if archive_at is None or archive_at > now else archive_at
    events = [t0]

    stage = open_stages[0]
    moves = 1 + int(u(8) * (len(open_stages) - 1))
    for j in range(moves):
        when = t0 + (resolve - t0) * (j + 1) // (moves + 1)
        if when <= t:
            stage = open_stages[min(j + 1, len(open_stages) - 1)]
            events.append(when)

    # While open, the close date is the rep's forecast: 30 days out, pushed by 30 days each time
    # it passes (at most 6 times).
    closedate = (t0 // DAY_MS) * DAY_MS + 30 * DAY_MS + 12 * HOUR_MS
    open_until = resolve if outcome != "open" else t
    for _ in range(6):
        if closedate <= min(t, open_until):
            events.append(closedate)
            closedate += 30 * DAY_MS
        else:
            break

    if outcome != "open" and resolve <= t:
        stage = won if outcome == "won" else lost
        closedate = resolve
        events.append(resolve)
        if outcome == "won" and amount is not None and u(9) < P_AMOUNT_EDIT:
            edited = resolve + int(DAY_MS * (1 + 19 * u(10)))
            if edited <= t:
                amount = float(round(amount * (0.75 + 0.55 * u(11)), -1))
                events.append(edited)
        if u(12) < P_CLOSEDATE_EDIT:
            corrected = resolve + int(DAY_MS * (1 + 7 * u(13)))
            if corrected <= t:
                closedate = resolve - DAY_MS * (1 + int(5 * u(14)))
                events.append(corrected)

    archived = archive_at if archive_at is not None and archive_at <= now else None
    if archived is not None:
        events.append(archived)
    updated = max(events)
    props = {
        "amount": amount,
        "amount_in_home_currency": round(amount * rate, 2) if has_home and amount else None,
        "deal_currency_code": "USD" if usd else "EUR",
        "closedate": closedate,
        "createdate": t0,
        "dealname": f"{_COMPANIES[_mix(k + 1) % len(_COMPANIES)]} – "
        f"{'Enterprise rollout' if enterprise else 'Licence'} {k}",
        "dealstage": stage,
        "pipeline": pipeline,
        "hs_lastmodifieddate": updated,
        "hs_object_id": object_id,
        "hubspot_owner_id": _OWNERS[_mix(k + 2) % len(_OWNERS)],
        "dealtype": "newbusiness" if u(17) < 0.7 else "existingbusiness",
    }
    return _Life(object_id, props, t0, updated, archived)


def _contact_life(k: int, t0: int, now: int) -> _Life:
    u = _uniforms(k, 300).__getitem__

    object_id = CONTACT_ID_BASE + k * 11 + _mix(k + 5) % 5
    archive_at = t0 + int(DAY_MS * (1 + 60 * u(10))) if u(11) < P_CONTACT_ARCHIVED else None
    t = now if archive_at is None or archive_at > now else archive_at

    path = [("subscriber" if u(1) < P_SUBSCRIBER else "lead", t0)]
    if u(2) < P_MQL:
        path.append(("marketingqualifiedlead", t0 + int(DAY_MS * (0.1 + 14 * u(3) ** 2))))
        if u(4) < P_SQL:
            path.append(("salesqualifiedlead", path[-1][1] + int(DAY_MS * (1 + 20 * u(5)))))
            if u(6) < P_OPPORTUNITY:
                path.append(("opportunity", path[-1][1] + int(DAY_MS * (2 + 20 * u(7)))))
                if u(8) < P_CUSTOMER:
                    path.append(("customer", path[-1][1] + int(DAY_MS * (5 + 40 * u(9)))))
    first, last = _FIRST[_mix(k + 7) % len(_FIRST)], _LAST[_mix(k + 8) % len(_LAST)]
    props: dict[str, Any] = {
        "createdate": t0,
        "email": f"{first.lower()}.{last.lower()}.{k}@example.com",
        "firstname": first,
        "lastname": last,
        "hs_object_id": object_id,
    }
    updated = t0
    for stage, when in path:
        if when <= t:
            props["lifecyclestage"] = stage
            props[f"hs_v2_date_entered_{stage}"] = when
            props[f"hs_lifecyclestage_{stage}_date"] = when
            updated = when
    archived = archive_at if archive_at is not None and archive_at <= now else None
    if archived is not None:
        updated = archived
    props["lastmodifieddate"] = updated
    return _Life(object_id, props, t0, updated, archived)


@dataclass
class _Scripted:
    """An object added by a test: initial values plus timed changes and an optional archive."""

    object_id: int
    created: int
    initial: dict[str, Any]
    changes: list[tuple[int, dict[str, Any]]]
    archived_at: int | None

    def life(self, object_type: str, now: int) -> _Life | None:
        if self.created > now:
            return None
        t = now if self.archived_at is None or self.archived_at > now else self.archived_at
        props = dict(self.initial)
        updated = self.created
        for when, change in self.changes:
            if when <= t:
                props.update(change)
                updated = max(updated, when)
        archived = self.archived_at
        if archived is not None and archived > now:
            archived = None
        if archived is not None:
            updated = max(updated, archived)
        props["createdate"] = self.created
        props["hs_object_id"] = self.object_id
        props[LAST_MODIFIED[object_type]] = updated
        return _Life(self.object_id, props, self.created, updated, archived)


@dataclass
class _Snapshot:
    """Every object at one moment, as columns aligned with `ids` (sorted ascending)."""

    ids: list[int]
    cols: dict[str, list[Any]]
    created: list[int]
    updated: list[int]
    archived_at: list[int | None]
    version: int = 0  # distinct per build: the match cache's key
    live: list[int] = field(default_factory=list)  # indices of non-archived objects


def _columns(lives: list[_Life], types: Mapping[str, str]) -> _Snapshot:
    lives.sort(key=lambda life: life.object_id)
    cols = {name: [life.props.get(name) for life in lives] for name in types}
    snap = _Snapshot(
        ids=[life.object_id for life in lives],
        cols=cols,
        created=[life.created for life in lives],
        updated=[life.updated for life in lives],
        archived_at=[life.archived_at for life in lives],
    )
    snap.live = [i for i, a in enumerate(snap.archived_at) if a is None]
    return snap


# --- Errors in HubSpot's shape ---------------------------------------------------------------
def _error(status: int, message: str, category: str, **extra: Any) -> Response:
    correlation = str(uuid.uuid4())
    body = {
        "status": "error",
        "message": message,
        "correlationId": correlation,
        "category": category,
        **extra,
    }
    return Response.json(body, status, {"X-HubSpot-Correlation-Id": correlation})


class _BadRequest(Exception):
    def __init__(self, message: str, category: str = "VALIDATION_ERROR") -> None:
        super().__init__(message)
        self.category = category


_RATE_LIMIT_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "SECONDLY": "You have reached your secondly limit.",
    "DAILY": "You have reached your daily limit.",
}


def rate_limit_body(policy: str = "TEN_SECONDLY_ROLLING", search: bool = False) -> dict[str, Any]:
    """HubSpot's 429 body (developers.hubspot.com/docs/api/usage-details; search answers carry a
    `groupName` and no `requestId`)."""
    body: dict[str, Any] = {
        "status": "error",
        "message": _RATE_LIMIT_MESSAGES.get(
            policy, f"You have reached your {policy.lower()} limit."
        ),
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
    }
    if search:
        body["groupName"] = f"publicapi:crm:search:private-app:{PORTAL_ID}"
    else:
        body["requestId"] = str(uuid.uuid4())
    return body


def rate_limit_fault(
    policy: str = "TEN_SECONDLY_ROLLING",
    retry_after: float | None = None,
    path_contains: str = "",
    times: int = 1,
) -> Fault:
    """A 429 as HubSpot sends it, to inject with `SandboxServer.inject`.

    The burst and daily limits come with HubSpot's X-HubSpot-RateLimit-* headers (private app,
    Professional tier: 190 per 10 s, 650,000 a day); the search endpoints send none of them.
    Retry-After is only added when given: HubSpot often omits it.
    """
    search = "search" in path_contains or policy == "SECONDLY"
    headers: dict[str, str] = {}
    if not search:
        headers.update(
            {
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": "190",
                "X-HubSpot-RateLimit-Remaining": "0",
                "X-HubSpot-RateLimit-Daily": "650000",
                "X-HubSpot-RateLimit-Daily-Remaining": "0" if policy == "DAILY" else "612345",
            }
        )
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    body = json.dumps(rate_limit_body(policy, search)).encode()
    return Fault(
        kind="status",
        status=429,
        body=body,
        headers=headers,
        path_contains=path_contains,
        times=times,
    )


def _search_page_at(object_type: str, after: int) -> Callable[[Request], bool]:
    """Matches the search request for `object_type` that asks for the page at offset `after`."""

    def matches(request: Request) -> bool:
        if not request.path.endswith(f"/{object_type}/search"):
            return False
        try:
            return int(request.json().get("after") or 0) == after
        except (ValueError, TypeError, AttributeError):
            return False

    return matches


def search_answer_fault(
    object_type: str, after: int, rewrite: Callable[[Any], Any], times: int = 1
) -> Fault:
    """The search page of `object_type` at offset `after` answered well-formed but changed by
    `rewrite(answer)`: `without_paging` (a read that would stop early) or `lambda a: {}`."""
    return Fault(
        "rewrite",
        rewrite=lambda request, answer: rewrite(answer),
        when=_search_page_at(object_type, after),
        times=times,
    )


def without_paging(answer: dict[str, Any]) -> dict[str, Any]:
    """A search answer that says it is the last page (no `paging`), whatever its `total`."""
    return {k: v for k, v in answer.items() if k != "paging"}


def ending_early(answer: dict[str, Any]) -> dict[str, Any]:
    """A page without `paging` that holds half its results: a read that ends before `total`
    even when everything fits on one page (an incremental read)."""
    results = answer.get("results") or []
    return {**without_paging(answer), "results": results[: len(results) // 2]}


# --- Filters ---------------------------------------------------------------------------------
def _parse_time(value: Any) -> int:
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)  # epoch milliseconds, HubSpot's documented filter format
    if len(text) == 10:
        return _ms(datetime.fromisoformat(text).replace(tzinfo=UTC))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _ms(parsed)


def _typed(ptype: str, value: Any, prop: str) -> Any:
    try:
        if ptype in ("datetime", "date"):
            return _parse_time(value)
        if ptype == "number":
            return float(value)
    except (TypeError, ValueError):
        raise _BadRequest(
            f"Invalid input JSON: '{value}' is not a valid {ptype} value for property {prop}"
        ) from None
    return str(value).lower()


def _predicate(f: Mapping[str, Any], types: Mapping[str, str]) -> tuple[str, Callable[[Any], bool]]:
    prop = f.get("propertyName")
    op = f.get("operator")
    if prop not in types:
        raise _BadRequest(f"There was a problem with the request. Property '{prop}' does not exist")
    ptype = types[prop]
    is_text = ptype not in ("datetime", "date", "number")

    def norm(v: Any) -> Any:
        return v.lower() if is_text and v is not None else v

    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        has = op == "HAS_PROPERTY"
        return prop, lambda v: (v is not None and v != "") is has
    if op in ("IN", "NOT_IN"):
        values = f.get("values")
        if not isinstance(values, list):
            raise _BadRequest(f"Operator {op} needs `values` (a list)")
        allowed = {_typed(ptype, v, prop) for v in values}
        if op == "IN":
            return prop, lambda v: v is not None and norm(v) in allowed
        return prop, lambda v: v is not None and norm(v) not in allowed
    if "value" not in f:
        raise _BadRequest(f"Operator {op} needs `value`")
    x = _typed(ptype, f["value"], prop)
    if op == "EQ":
        return prop, lambda v: v is not None and norm(v) == x
    if op == "NEQ":
        # Objects without a value do not match NEQ (use NOT_HAS_PROPERTY for those).
        return prop, lambda v: v is not None and norm(v) != x
    if op == "LT":
        return prop, lambda v: v is not None and norm(v) < x
    if op == "LTE":
        return prop, lambda v: v is not None and norm(v) <= x
    if op == "GT":
        return prop, lambda v: v is not None and norm(v) > x
    if op == "GTE":
        return prop, lambda v: v is not None and norm(v) >= x
    if op == "BETWEEN":
        if "highValue" not in f:
            raise _BadRequest("Operator BETWEEN needs `value` and `highValue`")
        hi = _typed(ptype, f["highValue"], prop)
        return prop, lambda v: v is not None and x <= norm(v) <= hi
    raise _BadRequest(
        f"Invalid input JSON: operator '{op}' is not one of EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, "
        "IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY (sandbox)"
    )


def _id_bound(f: Mapping[str, Any]) -> tuple[str, int] | None:
    """A keyset filter `hs_object_id GT/GTE n`, which the sandbox answers with a bisect."""
    if f.get("propertyName") == "hs_object_id" and f.get("operator") in ("GT", "GTE"):
        try:
            return f["operator"], int(float(f["value"]))
        except (KeyError, TypeError, ValueError):
            return None
    return None


class HubSpotSandbox:
    """The CRM's data and its HTTP handler. Serve it with :meth:`serve` (or `SandboxServer`).

    deals / contacts: how many objects are created from HISTORY_START to REFERENCE_DAY (the daily
    rate continues after); 0 for an empty CRM that a test fills with :meth:`add_deal`.
    now: the CRM's clock (default: the wall clock when created); change it with `set_now`.
    search_index_lag: search sees the CRM as it was this long ago (HubSpot indexes
    asynchronously); the list endpoints see the present.

    Switches: `short_pages(every, size)`; `search_limit_per_second = n` answers search calls
    beyond n per second with HubSpot's 429 SECONDLY; faults of any kind through the server's
    `inject` (`rate_limit_fault(...)` builds HubSpot's 429s, `search_answer_fault(...)` a
    well-formed search page that says something else). `warm()` builds the data up front
    so a benchmark does not time the sandbox's first answer.
    """

    def __init__(
        self,
        deals: int = DEFAULT_DEALS,
        contacts: int = DEFAULT_CONTACTS,
        now: datetime | None = None,
        token: str = DEFAULT_TOKEN,
        search_index_lag: timedelta = timedelta(0),
        company_currency: str = "EUR",
    ) -> None:
        self.token = token
        # The account's currency (account-info's companyCurrency); a switch for the currency
        # tests: amounts stay the same numbers, only their currency changes.
        self.company_currency = company_currency
        self.search_index_lag = search_index_lag
        self._schedules = {"deals": _Schedule(deals, 11), "contacts": _Schedule(contacts, 23)}
        self._lives = {"deals": _deal_life, "contacts": _contact_life}
        self._scripted: dict[str, list[_Scripted]] = {"deals": [], "contacts": []}
        self._lock = threading.RLock()
        self._snapshots: OrderedDict[tuple[str, int], _Snapshot] = OrderedDict()
        self._builds = 0
        self._matches: OrderedDict[tuple, list[int]] = OrderedDict()
        self._short_every = 0
        self._short_size = 0
        self._search_counter = 0
        self.short_pages_served = 0
        self.search_limit_per_second: float | None = None
        self._search_times: deque[float] = deque()
        self.clock: Callable[[], float] = time.monotonic  # for the per-second limit
        self._now = _ms(now or datetime.now(UTC))

    # -- clock and switches ---------------------------------------------------------------------
    def warm(self) -> HubSpotSandbox:
        """Build every object's state at `now` (and for search) before the first request."""
        for object_type in self._schedules:
            self._snapshot(object_type, self._now)
            self._snapshot(object_type, self._search_time())
        return self

    def _search_time(self) -> int:
        return self._now - int(self.search_index_lag.total_seconds() * 1000)

    @property
    def now(self) -> datetime:
        return _EPOCH + timedelta(milliseconds=self._now)

    def set_now(self, now: datetime) -> None:
        """Move the CRM's clock (either way); answers show the CRM as it is at `now`."""
        with self._lock:
            self._now = _ms(now)

    def short_pages(self, every: int, size: int) -> None:
        """Every `every`-th search answer holds only `size` results but still a next `after`.

        HubSpot does this when indexed objects are filtered out of a page; the client must keep
        paging until there is no `paging.next`. `every=0` switches it off.
        """
        with self._lock:
            self._short_every, self._short_size, self._search_counter = every, size, 0

    def add_deal(
        self,
        created: datetime,
        properties: Mapping[str, Any],
        *,
        changes: Iterable[tuple[datetime, Mapping[str, Any]]] = (),
        archived_at: datetime | None = None,
        object_id: int | None = None,
    ) -> str:
        """Add a scripted deal; returns its id. Values may be str, numbers, date or datetime."""
        return self._add("deals", created, properties, changes, archived_at, object_id)

    def add_contact(
        self,
        created: datetime,
        properties: Mapping[str, Any],
        *,
        changes: Iterable[tuple[datetime, Mapping[str, Any]]] = (),
        archived_at: datetime | None = None,
        object_id: int | None = None,
    ) -> str:
        """Add a scripted contact; returns its id."""
        return self._add("contacts", created, properties, changes, archived_at, object_id)

    def _add(
        self,
        object_type: str,
        created: datetime,
        properties: Mapping[str, Any],
        changes: Iterable[tuple[datetime, Mapping[str, Any]]],
        archived_at: datetime | None,
        object_id: int | None,
    ) -> str:
        types = PROPERTY_TYPES[object_type]

        def typed(values: Mapping[str, Any]) -> dict[str, Any]:
            out = {}
            for name, value in values.items():
                if name not in types:
                    raise ValueError(f"unknown {object_type} property {name!r} for the sandbox")
                out[name] = _typed_input(types[name], value)
            return out

        with self._lock:
            scripted = self._scripted[object_type]
            # Scripted ids sit above every generated one, in the order they were added.
            base = SCRIPTED_DEAL_ID_BASE if object_type == "deals" else SCRIPTED_CONTACT_ID_BASE
            oid = object_id or base + len(scripted)
            scripted.append(
                _Scripted(
                    object_id=oid,
                    created=_ms(created),
                    initial=typed(properties),
                    changes=sorted(((_ms(w), typed(c)) for w, c in changes), key=lambda x: x[0]),
                    archived_at=_ms(archived_at) if archived_at else None,
                )
            )
            self._snapshots.clear()
            self._matches.clear()
        return str(oid)

    # -- ground truth (for tests and the demo) --------------------------------------------------
    def objects(self, object_type: str, archived: bool | None = False) -> list[dict[str, Any]]:
        """Every object at `now` in the wire format (all properties); archived: None for both."""
        snap = self._snapshot(object_type, self._now)
        idx = (
            range(len(snap.ids))
            if archived is None
            else (
                [i for i in range(len(snap.ids)) if (snap.archived_at[i] is not None) == archived]
            )
        )
        names = list(PROPERTY_TYPES[object_type])
        return [self._result(object_type, snap, i, names) for i in idx]

    # -- snapshots ------------------------------------------------------------------------------
    def _snapshot(self, object_type: str, at: int) -> _Snapshot:
        key = (object_type, at)
        with self._lock:
            snap = self._snapshots.get(key)
            if snap is not None:
                self._snapshots.move_to_end(key)
                return snap
            schedule = self._schedules[object_type]
            schedule.extend_to(at)
            life = self._lives[object_type]
            end = bisect.bisect_right(schedule.created, at)
            lives = [life(k, schedule.created[k], at) for k in range(end)]
            for s in self._scripted[object_type]:
                scripted = s.life(object_type, at)
                if scripted is not None:
                    lives.append(scripted)
            snap = _columns(lives, PROPERTY_TYPES[object_type])
            self._builds += 1
            snap.version = self._builds
            self._snapshots[key] = snap
            while len(self._snapshots) > 4:
                self._snapshots.popitem(last=False)
            return snap

    # -- HTTP -----------------------------------------------------------------------------------
    def serve(self, port: int = 0) -> SandboxServer:
        """Start a SandboxServer for this CRM on 127.0.0.1 (stop it with `.stop()`)."""
        return SandboxServer(self.handle, name="hubspot", port=port).start()

    def handle(self, request: Request) -> Response:
        if request.headers.get("authorization", "") != f"Bearer {self.token}":
            # HubSpot's v3 answer for a missing or unknown token (the token is never echoed).
            return _error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        parts = [p for p in request.path.split("/") if p]
        try:
            if parts[:3] == ["crm", "v3", "objects"] and len(parts) == 5 and parts[4] == "search":
                if request.method != "POST":
                    return _error(405, "Method Not Allowed", "VALIDATION_ERROR")
                return self._search(self._object_type(parts[3]), request)
            if parts[:3] == ["crm", "v3", "objects"] and len(parts) == 4:
                if request.method != "GET":
                    return _error(405, "Method Not Allowed", "VALIDATION_ERROR")
                return self._list(self._object_type(parts[3]), request)
            if parts == ["account-info", "v3", "details"]:
                return Response.json(self._account_details())
            if parts[:3] == ["crm", "v3", "pipelines"] and len(parts) == 4:
                if parts[3] not in ("deals", "0-3"):
                    return _error(
                        404, f"Unable to infer object type from: {parts[3]}", "OBJECT_NOT_FOUND"
                    )
                return Response.json({"results": PIPELINES})
            if parts[:3] == ["crm", "v3", "properties"] and len(parts) == 4:
                obj = self._object_type(parts[3])
                return Response.json(
                    {
                        "results": [
                            _property_definition(obj, spec, i)
                            for i, spec in enumerate(PROPERTY_SPECS[obj])
                        ]
                    }
                )
        except _BadRequest as exc:
            status = 404 if exc.category == "OBJECT_NOT_FOUND" else 400
            return _error(status, str(exc), exc.category)
        return _error(
            404,
            f"No route for {request.method} {request.path} in the HubSpot sandbox",
            "OBJECT_NOT_FOUND",
        )

    def _account_details(self) -> dict[str, Any]:
        """GET /account-info/v3/details as HubSpot answers it."""
        return {
            "portalId": SANDBOX_PORTAL_ID,
            "accountType": "STANDARD",
            "timeZone": "Europe/Berlin",
            "companyCurrency": self.company_currency,
            "additionalCurrencies": ["USD"] if self.company_currency != "USD" else ["EUR"],
            "utcOffset": "+01:00",
            "utcOffsetMilliseconds": 3_600_000,
            "uiDomain": "app-eu1.hubspot.com",
            "dataHostingLocation": "eu1",
        }

    @staticmethod
    def _object_type(name: str) -> str:
        aliases = {
            "deals": "deals",
            "0-3": "deals",
            "deal": "deals",
            "contacts": "contacts",
            "0-1": "contacts",
            "contact": "contacts",
        }
        if name not in aliases:
            raise _BadRequest(f"Unable to infer object type from: {name}", "OBJECT_NOT_FOUND")
        return aliases[name]

    def _over_search_limit(self) -> bool:
        if not self.search_limit_per_second:
            return False
        with self._lock:
            now = self.clock()
            while self._search_times and now - self._search_times[0] >= 1.0:
                self._search_times.popleft()
            if len(self._search_times) >= self.search_limit_per_second:
                return True
            self._search_times.append(now)
            return False

    def _search(self, object_type: str, request: Request) -> Response:
        if self._over_search_limit():
            return Response.json(rate_limit_body("SECONDLY", search=True), 429)
        try:
            body = request.json()
        except ValueError:
            raise _BadRequest("Invalid input JSON: the body is not JSON") from None
        types = PROPERTY_TYPES[object_type]
        groups = body.get("filterGroups") or []
        try:
            limit = int(body.get("limit") or SEARCH_DEFAULT_LIMIT)
            after = int(body.get("after") or 0)
        except (TypeError, ValueError):
            raise _BadRequest("Invalid input JSON: `limit` and `after` must be integers") from None
        if limit < 1 or limit > SEARCH_MAX_LIMIT:
            raise _BadRequest(f"limit must be between 1 and {SEARCH_MAX_LIMIT}, got {limit}")
        if body.get("query"):
            raise _BadRequest("the sandbox does not implement free-text `query`")
        if len(groups) > MAX_FILTER_GROUPS:
            raise _BadRequest(
                f"Too many filter groups ({len(groups)}); the limit is {MAX_FILTER_GROUPS}"
            )
        total_filters = sum(len(g.get("filters") or []) for g in groups)
        if (
            any(len(g.get("filters") or []) > MAX_FILTERS_PER_GROUP for g in groups)
            or total_filters > MAX_FILTERS_TOTAL
        ):
            raise _BadRequest(
                f"Too many filters: at most {MAX_FILTERS_PER_GROUP} per group and "
                f"{MAX_FILTERS_TOTAL} in all"
            )
        sorts = body.get("sorts") or []
        if len(sorts) > 1:
            raise _BadRequest("Only one sort is allowed per search")
        sort_prop, descending = "hs_object_id", False
        if sorts:
            rule = sorts[0]
            if isinstance(rule, str):
                sort_prop, descending = rule.lstrip("-"), rule.startswith("-")
            else:
                sort_prop = rule.get("propertyName")
                descending = rule.get("direction", "ASCENDING") == "DESCENDING"
            if sort_prop not in types:
                raise _BadRequest(f"Property '{sort_prop}' does not exist")
        if after >= SEARCH_RESULT_CAP:
            # The docs: "Attempting to page beyond 10,000 will result in a 400 error". The exact
            # message of HubSpot's answer is not published; the connector must not rely on it.
            raise _BadRequest(
                f"Cannot page beyond {SEARCH_RESULT_CAP} results (after={after}); narrow the "
                "query, e.g. with hs_object_id GT <last id>"
            )

        snap = self._snapshot(object_type, self._search_time())
        matches = self._matching(object_type, snap, groups, sort_prop, descending)

        total = len(matches)
        size = limit
        with self._lock:
            self._search_counter += 1
            if self._short_every and self._search_counter % self._short_every == 0:
                size = min(limit, self._short_size)
                self.short_pages_served += 1
        page = matches[after : after + size]
        names = self._requested(object_type, body.get("properties"))
        answer: dict[str, Any] = {
            "total": total,
            "results": [self._result(object_type, snap, i, names) for i in page],
        }
        if after + size < total:
            answer["paging"] = {"next": {"after": str(after + size)}}
        return Response.json(answer)

    def _matching(
        self,
        object_type: str,
        snap: _Snapshot,
        groups: list[dict[str, Any]],
        sort_prop: str,
        descending: bool,
    ) -> list[int]:
        """Indices of matching live objects in sort order; cached without the keyset bound."""
        bounds = []
        stripped = []
        for g in groups:
            filters = g.get("filters") or []
            bound = [b for f in filters if (b := _id_bound(f))]
            bounds.append(bound[0] if len(bound) == 1 else None)
            stripped.append(
                [f for f in filters if not _id_bound(f)] if len(bound) == 1 else filters
            )
        common = bounds[0] if bounds and all(b == bounds[0] for b in bounds) else None
        if common is None:
            stripped = [g.get("filters") or [] for g in groups]
        key = (
            object_type,
            snap.version,
            json.dumps(stripped, sort_keys=True),
            sort_prop,
            descending,
        )
        with self._lock:
            cached = self._matches.get(key)
        if cached is None:
            cached = self._evaluate(object_type, snap, stripped, sort_prop, descending)
            with self._lock:
                self._matches[key] = cached
                while len(self._matches) > 16:
                    self._matches.popitem(last=False)
        if common is None:
            return cached
        op, bound = common
        if sort_prop == "hs_object_id" and not descending:
            # `cached` is ascending in id, so the keyset start is a bisect away.
            return cached[_bisect_indices(cached, snap.ids, bound, strict=op == "GT") :]
        return [i for i in cached if (snap.ids[i] > bound if op == "GT" else snap.ids[i] >= bound)]

    def _evaluate(
        self,
        object_type: str,
        snap: _Snapshot,
        groups: list[list[dict[str, Any]]],
        sort_prop: str,
        descending: bool,
    ) -> list[int]:
        types = PROPERTY_TYPES[object_type]
        if not groups or all(not g for g in groups):
            selected = list(snap.live)
        else:
            found: set[int] = set()
            for filters in groups:
                candidates = snap.live
                for f in filters:
                    prop, pred = _predicate(f, types)
                    col = snap.cols[prop]
                    candidates = [i for i in candidates if pred(col[i])]
                found.update(candidates)
            selected = sorted(found)
        if sort_prop == "hs_object_id":
            return selected[::-1] if descending else selected
        col = snap.cols[sort_prop]
        present = [i for i in selected if col[i] is not None]
        missing = [i for i in selected if col[i] is None]
        present.sort(key=lambda i: (col[i], snap.ids[i]), reverse=descending)
        return present + missing  # objects without a value come last either way

    @staticmethod
    def _requested(object_type: str, properties: Any) -> list[str]:
        if isinstance(properties, str):
            properties = [p for p in properties.split(",") if p]
        names = list(properties or DEFAULT_PROPERTIES[object_type])
        for always in ALWAYS_PROPERTIES[object_type]:
            if always not in names:
                names.append(always)
        return names

    @staticmethod
    def _result(object_type: str, snap: _Snapshot, i: int, names: list[str]) -> dict[str, Any]:
        types = PROPERTY_TYPES[object_type]
        archived_at = snap.archived_at[i]
        result: dict[str, Any] = {
            "id": str(snap.ids[i]),
            "properties": {n: _wire(types[n], snap.cols[n][i]) for n in names if n in types},
            "createdAt": iso_ms(snap.created[i]),
            "updatedAt": iso_ms(snap.updated[i]),
            "archived": archived_at is not None,
        }
        if archived_at is not None:
            result["archivedAt"] = iso_ms(archived_at)
        return result

    def _list(self, object_type: str, request: Request) -> Response:
        q = request.query
        archived = (q.get("archived") or ["false"])[0].lower() == "true"
        limit = int((q.get("limit") or [LIST_DEFAULT_LIMIT])[0])
        if limit < 1 or limit > LIST_MAX_LIMIT:
            raise _BadRequest(f"limit must be between 1 and {LIST_MAX_LIMIT}, got {limit}")
        requested = [p for value in q.get("properties", []) for p in value.split(",") if p]
        names = self._requested(object_type, requested or None)
        snap = self._snapshot(object_type, self._now)
        if archived:
            oldest = self._now - int(ARCHIVE_RETENTION.total_seconds() * 1000)
            idx = [i for i, a in enumerate(snap.archived_at) if a is not None and a >= oldest]
        else:
            idx = snap.live
        after = (q.get("after") or [""])[0]
        if after:
            # `after` is the id of the first object of the next page (an opaque cursor to clients).
            if not after.isdigit():
                raise _BadRequest(f"Invalid `after` cursor {after!r}")
            idx = idx[_bisect_indices(idx, snap.ids, int(after), strict=False) :]
        page = idx[:limit]
        answer: dict[str, Any] = {
            "results": [self._result(object_type, snap, i, names) for i in page]
        }
        if len(idx) > limit:
            nxt = str(snap.ids[idx[limit]])
            answer["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return Response.json(answer)


def _bisect_indices(indices: list[int], ids: list[int], bound: int, strict: bool) -> int:
    """First position in `indices` (ascending by id) whose id is > bound (strict) or ≥ bound."""
    lo, hi = 0, len(indices)
    while lo < hi:
        mid = (lo + hi) // 2
        value = ids[indices[mid]]
        if value > bound or (not strict and value == bound):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _typed_input(ptype: str, value: Any) -> Any:
    """A test's value (datetime, date, number, str) as the sandbox stores it."""
    if value is None:
        return None
    if ptype in ("datetime", "date"):
        if isinstance(value, datetime):
            return _ms(value)
        if isinstance(value, date):
            return _ms(datetime(value.year, value.month, value.day, tzinfo=UTC))
        return _parse_time(value)
    if ptype == "number":
        return float(value)
    return str(value)


def demo_expectations(sandbox: HubSpotSandbox) -> dict[str, float]:
    """Won revenue (company currency) per quarter of 2026 and mean weekly MQLs in 2026-Q4, from
    the sandbox's own state at its `now`: the numbers the demo calibration aims at."""
    won_ids = {
        s["id"] for p in PIPELINES for s in p["stages"] if s["metadata"]["probability"] == "1.0"
    }
    out: dict[str, float] = {}
    for deal in sandbox.objects("deals"):
        p = deal["properties"]
        if p["dealstage"] in won_ids and p["closedate"]:
            d = date.fromisoformat(p["closedate"][:10])
            amount = p["amount_in_home_currency"] or p["amount"]
            key = f"won_{d.year}_q{(d.month - 1) // 3 + 1}"
            out[key] = out.get(key, 0.0) + float(amount or 0)
    mql = [
        c["properties"].get("hs_v2_date_entered_marketingqualifiedlead")
        for c in sandbox.objects("contacts")
    ]
    q4 = [v for v in mql if v and "2026-10-01" <= v[:10] <= "2026-12-31"]
    weeks = max(1.0, (min(sandbox.now.date(), date(2026, 12, 31)) - date(2026, 10, 1)).days / 7)
    out["mql_per_week_2026_q4"] = len(q4) / weeks
    return {k: math.floor(v * 100) / 100 for k, v in out.items()}
