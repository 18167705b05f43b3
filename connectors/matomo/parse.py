"""Matomo's answers read: numbers and durations as Matomo formats them, the site record (time
zone, first day, currency), the value of one column on one day, and the raw rows with their
provenance (raw.matomo_answers).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from connectors.errors import SourceError
from connectors.matomo.requests import (
    MONEY_COLUMNS,
    PERF_COMPONENTS,
    REFERRER_TYPES,
    MetricPlan,
    SubRequest,
)
from connectors.matomo.settings import (
    PROVISIONAL,
    PROVISIONAL_DAYS,
    SOURCE,
)

# --- value parsing -----------------------------------------------------------------------------

_DURATION_PARTS = re.compile(r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|h|min|m|s)\b")
_DURATION_UNIT_S = {
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "min": 60,
    "m": 60,
    "s": 1,
}


def parse_matomo_number(value: Any) -> float | None:
    """A Matomo cell as a float: 12, "12", "0.0620", "3.2%" -> 0.032, "00:01:05" -> 65,
    "1.23s" -> 1.23, "5 min 13s" -> 313. None for missing cells (None, "", False).

    Matomo formats percentages and durations as strings depending on `format_metrics` and the
    version, so every column goes through here. Raises ValueError on anything else.
    """
    if value is None or value is False or value == "":
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"not a number: {value!r}")
    text = value.strip().replace("\u00a0", " ")
    if text.endswith("%"):
        return float(text[:-1].strip()) / 100.0
    if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        return float(text)
    clock = re.fullmatch(r"(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)", text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    parts = _DURATION_PARTS.findall(text)
    if parts and _DURATION_PARTS.sub("", text).strip() == "":
        return sum(float(n) * _DURATION_UNIT_S[unit] for n, unit in parts)
    raise ValueError(f"not a number: {value!r}")


def site_timezone(name: str) -> tzinfo:
    """A site's time zone: an IANA name, or Matomo's manual offsets such as 'UTC+5.5'."""
    manual = re.fullmatch(r"UTC(?:([+-]\d{1,2}(?:\.\d+)?))?", name.strip())
    if manual:
        return timezone(timedelta(hours=float(manual.group(1) or 0)))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SourceError(SOURCE, f"site time zone {name!r} is not a known time zone") from exc


@dataclass
class SubAnswer:
    sub: SubRequest
    payload: Any
    fetched_at: datetime
    bulk_hash: str


# --- site information --------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteInfo:
    site_id: int
    timezone_name: str
    today: date  # in the site's time zone, at `now`
    created: date | None  # the site's first day, in its time zone
    currency: str | None = None  # ISO 4217 code of the site's revenue

    def currencies(self, plans: Iterable[MetricPlan]) -> dict[str, str]:
        """{metric id: the site's currency} for the plans of this site reading money."""
        return {
            p.metric_id: self.currency
            for p in plans
            if self.currency and p.site_id == self.site_id and p.query.column in MONEY_COLUMNS
        }

    @functools.cached_property
    def provisional_from(self) -> date:
        return self.today - timedelta(days=PROVISIONAL_DAYS - 1)


def site_info(site_id: int, payload: Any, now: datetime) -> SiteInfo:
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if not isinstance(payload, dict) or "timezone" not in payload:
        raise SourceError(
            SOURCE, f"SitesManager.getSiteFromId for site {site_id} returned no site record"
        )
    tz = site_timezone(str(payload["timezone"]))
    created: date | None = None
    ts_created = payload.get("ts_created")
    if ts_created:
        try:
            # Matomo stores ts_created in UTC.
            created_utc = datetime.fromisoformat(str(ts_created)).replace(tzinfo=UTC)
            created = created_utc.astimezone(tz).date()
        except ValueError:
            created = None
    currency = str(payload.get("currency") or "") or None
    return SiteInfo(site_id, str(payload["timezone"]), now.astimezone(tz).date(), created, currency)


# --- reading answers ---------------------------------------------------------------------------


def is_empty(payload: Any) -> bool:
    return payload is None or payload == [] or payload == {}


def _normalise_page(text: str) -> str:
    # "https://shop.example/", "shop.example" and "/index" style labels compare alike.
    text = text.strip()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    return text.strip("/")


def _row_keys(row: dict[str, Any]) -> list[str]:
    """The names a query may use for a row: its URL, its label, its referrer type code."""
    keys = []
    if row.get("url"):
        keys.append("url:" + _normalise_page(str(row["url"])))
    label = str(row.get("label", ""))
    keys += ["label:" + _normalise_page(label), "label:" + label.strip().lower()]
    segment = str(row.get("segment", ""))
    if segment.startswith("referrerType=="):
        keys.append("label:" + segment.split("==", 1)[1].lower())
    return keys


def _row_index(rows: list[Any]) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for row in rows:
        if isinstance(row, dict):
            for key in _row_keys(row):
                index.setdefault(key, row)  # rows come sorted by traffic: the first wins
    return index


def _select(
    plan: MetricPlan, payload: Any, indexes: dict[int, dict[str, dict[str, Any]]] | None = None
) -> dict[str, Any] | None:
    """The row a plan reads from one period's answer; None when the period has no data.

    `indexes` memoises the per-answer row lookup when many metrics read one big answer.
    """
    if is_empty(payload):
        return None
    if plan.report.rows is None:
        if isinstance(payload, list):
            payload = payload[0] if payload else None
        return payload if isinstance(payload, dict) else None
    rows = payload if isinstance(payload, list) else [payload]
    cache = indexes if indexes is not None else {}
    index = cache.get(id(rows))
    if index is None:
        index = cache[id(rows)] = _row_index(rows)
    if plan.report.rows == "page":
        wanted = _normalise_page(plan.query.page_url or "")
        return index.get("url:" + wanted) or index.get("label:" + wanted)
    label = (plan.query.label or "").strip().lower()
    return index.get("label:" + label) or index.get(
        "label:" + REFERRER_TYPES.get(label, label).lower()
    )


def _cell(
    plan: MetricPlan, row: dict[str, Any] | None, column: str, method: str, strict: bool = False
) -> float | None:
    """A row's column as a number. `strict`: a non-empty answer must carry the column (report
    rows may leave out goal or entry columns they have nothing for; whole-report objects don't).
    """
    if row is None:
        return None
    if strict and column not in row:
        raise SourceError(
            SOURCE,
            f"{method} answered without column {column!r} (metric {plan.metric_id}); it has: "
            f"{', '.join(sorted(row))}. Check the column name and Matomo's version/plugins.",
        )
    try:
        return parse_matomo_number(row.get(column))
    except ValueError as exc:
        raise SourceError(
            SOURCE, f"{method} column {column!r} for metric {plan.metric_id}: {exc}"
        ) from exc


Parts = tuple[float | None, float | None, float | None]  # value, numerator, denominator


def parts_of(
    plan: MetricPlan,
    payload: Any,
    aux_payload: Any,
    where: str,
    indexes: dict[int, dict[str, dict[str, Any]]] | None = None,
) -> Parts:
    row = _select(plan, payload, indexes)
    aux_row = select_aux(aux_payload)
    spec = plan.column
    method = plan.report.method
    strict = plan.report.rows is None
    if spec.kind == "sum":
        return (_cell(plan, row, plan.query.column, method, strict) or 0.0, None, None)
    if spec.kind == "nonadditive":
        if row is None:
            return (0.0, None, None)
        value = _cell(plan, row, plan.query.column, method)
        if value is None:
            hint = (
                " Matomo only computes unique visitors for period=range when "
                "[General] enable_processing_unique_visitors_range = 1 in config.ini.php."
                if "range" in where and plan.query.column in ("nb_uniq_visitors", "nb_users")
                else ""
            )
            raise SourceError(
                SOURCE,
                f"{method} returned no {plan.query.column!r} for {where} "
                f"(metric {plan.metric_id}).{hint}",
            )
        return (value, None, None)
    if spec.kind == "ratio":
        numerator_col = spec.numerator or ""
        if plan.query.id_goal is None and spec.numerator_without_goal:
            numerator_col = spec.numerator_without_goal
        num = _cell(plan, row, numerator_col, method, strict) or 0.0
        den_row = aux_row if spec.denominator_method else row
        den_method = spec.denominator_method or method
        den_strict = strict or spec.denominator_method is not None
        den = _cell(plan, den_row, spec.denominator or "", den_method, den_strict) or 0.0
        return (num / den if den else None, num, den)
    if spec.kind == "weighted":
        avg = _cell(plan, row, plan.query.column, method, strict=True)
        weight = (
            _cell(plan, aux_row, spec.denominator or "", spec.denominator_method or "", strict=True)
            or 0.0
        )
        if avg is None or weight == 0:
            return (None, 0.0, 0.0)
        return (avg, avg * weight, weight)
    # page_load: Matomo's page avg_page_load_time is the sum of its component averages.
    if row is None:
        return (None, 0.0, 0.0)
    total = 0.0
    for component in PERF_COMPONENTS:
        spent = _cell(plan, row, f"sum_time_{component}", method) or 0.0
        hits = _cell(plan, row, f"nb_hits_with_time_{component}", method) or 0.0
        total += spent / hits if hits else 0.0
    page_hits = _cell(plan, row, spec.denominator or "nb_hits", method) or 0.0
    if page_hits == 0:
        return (None, 0.0, 0.0)
    return (total, total * page_hits, page_hits)


def select_aux(payload: Any) -> dict[str, Any] | None:
    if is_empty(payload):
        return None
    if isinstance(payload, list):
        payload = payload[0] if payload else None
    return payload if isinstance(payload, dict) else None


def by_day(answer: SubAnswer, start: date, end: date) -> dict[date, Any]:
    payload = answer.payload
    if is_empty(payload):
        return {}
    if not isinstance(payload, dict):
        raise SourceError(
            SOURCE, f"{answer.sub.describe()} did not answer per day (got {type(payload).__name__})"
        )
    days: dict[date, Any] = {}
    for key, value in payload.items():
        try:
            day = date.fromisoformat(key)
        except ValueError as exc:
            raise SourceError(
                SOURCE, f"{answer.sub.describe()} answered an unexpected key {key!r}"
            ) from exc
        if start <= day <= end:
            days[day] = value
    return days


# --- raw answers with provenance ---------------------------------------------------------------

# Mirrors warehouse/migrations/0004_matomo_raw.sql (raw.matomo_answers): one row per
# sub-request and day (or exact range) as Matomo answered it.
RAW_SCHEMA = pa.schema(
    [
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("site_id", pa.int32(), nullable=False),
        pa.field("site_timezone", pa.string(), nullable=False),
        pa.field("method", pa.string(), nullable=False),
        pa.field("params", pa.string(), nullable=False),
        pa.field("request_hash", pa.string(), nullable=False),
        pa.field("bulk_request_hash", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("partition_date", pa.date32(), nullable=False),
        pa.field("range_start", pa.date32(), nullable=False),
        pa.field("range_end", pa.date32(), nullable=False),
        pa.field("provisional", pa.bool_(), nullable=False),
        pa.field("answer", pa.string(), nullable=False),
    ]
)


def raw_row(
    answer: SubAnswer, site: SiteInfo, period: str, day: date, start: date, end: date, payload: Any
) -> dict[str, Any]:
    return {
        "fetched_at": answer.fetched_at,
        "site_id": site.site_id,
        "site_timezone": site.timezone_name,
        "method": answer.sub.method,
        "params": answer.sub.params_json,
        "request_hash": answer.sub.hash,
        "bulk_request_hash": answer.bulk_hash,
        "period": period,
        "partition_date": day,
        "range_start": start,
        "range_end": end,
        "provisional": end >= site.provisional_from,
        "answer": json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
    }


def provisional_flag(metric_id: str, site: SiteInfo, day: date) -> dict[str, Any]:
    """The `provisional` flag row of a metric's day that Matomo will still re-archive (today
    or yesterday in the site's time zone)."""
    which = "today" if day == site.today else "yesterday"
    reason = (
        f"{which} in the site's time zone ({site.timezone_name}); Matomo re-archives it, "
        "the value will still change"
    )
    return {"metric_id": metric_id, "date": day, "flag": PROVISIONAL, "reason": reason}
