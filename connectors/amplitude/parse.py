"""Reading the Dashboard REST API's answers: daily series, collapsed (whole-range) values and
funnels, checked against what was asked, and kept verbatim as raw rows.

Shapes (Dashboard REST API docs, and real answers quoted in airbytehq/airbyte#46712):

- segmentation: `{"data": {"series": [[v, ...], ...], "seriesLabels": [...],
  "seriesCollapsed": [[{"value": n}], ...], "xValues": ["YYYY-MM-DD", ...]}}`; a label is a
  group's name (or 0 without group-by; some answers send `[0, "name"]`), a collapsed entry is
  `{"value": n}` or a bare number;
- funnels: `{"data": [{"dayFunnels": {"series": [[step1, step2, ...], ...], "xValues": [...]},
  "events": [...], ...}]}`, one element per segment (we ask one).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from connectors.amplitude.requests import AmplitudeRequest
from connectors.amplitude.settings import SOURCE
from connectors.base import day_range
from connectors.errors import RetryableSourceError, SourceError

# raw.amplitude_answers (migration 0048), same column order.
RAW_SCHEMA = pa.schema(
    [
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("project_timezone", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("params", pa.string(), nullable=False),
        pa.field("request_hash", pa.string(), nullable=False),
        pa.field("request_kind", pa.string(), nullable=False),
        pa.field("metric_ids", pa.list_(pa.string()), nullable=False),
        pa.field("range_start", pa.date32(), nullable=False),
        pa.field("range_end", pa.date32(), nullable=False),
        pa.field("partition_date", pa.date32(), nullable=False),
        pa.field("cost", pa.int64(), nullable=False),
        pa.field("answer", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class AmplitudeAnswer:
    """One request and Amplitude's answer to it."""

    request: AmplitudeRequest
    payload: dict[str, Any]
    fetched_at: datetime


def _number(value: Any, where: str) -> float:
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RetryableSourceError(SOURCE, f"{where}: {value!r} is not a number")
    return float(value)


_PLAIN_NUMBERS = {int, float}


def _numbers(values: list[Any], where: str) -> list[float]:
    """A series as floats. The common case (plain numbers: no bool, dict or string among them)
    is checked in C, a year at a time; anything else ({"value": n} entries, a string, NaN)
    goes through `_number`."""
    if set(map(type, values)) <= _PLAIN_NUMBERS and all(map(math.isfinite, values)):
        return list(map(float, values))
    return [_number(v, where) for v in values]


def _label(value: Any) -> str:
    if isinstance(value, list) and value:
        value = value[-1]
    return str(value)


@functools.lru_cache(maxsize=32)
def _asked(start: date, end: date) -> tuple[tuple[date, ...], tuple[str, ...]]:
    """The days of [start, end] and their YYYY-MM-DD texts, worked out once per window: a run
    asks every event for the same days."""
    days = tuple(day_range(start, end))
    return days, tuple(d.isoformat() for d in days)


def _days(data: dict[str, Any], request: AmplitudeRequest, where: str) -> list[date]:
    """The days asked, when `xValues` are exactly those days (YYYY-MM-DD, in order)."""
    asked, texts = _asked(request.start, request.end)
    answered = data.get("xValues")
    if not isinstance(answered, list) or tuple(answered) != texts:
        shown = (
            f"{answered[0]}..{answered[-1]} ({len(answered)})"
            if isinstance(answered, list) and answered
            else repr(answered)[:40]
        )
        raise RetryableSourceError(
            SOURCE, f"{where}: answered days {shown}, asked {request.start}..{request.end}"
        )
    return list(asked)


def _series_index(data: dict[str, Any], group_value: str | None, where: str) -> int | None:
    """Which series the metric reads: the only one, or the group named `group_value` (None when
    Amplitude has no such group in the window: nothing happened in it)."""
    labels = data.get("seriesLabels")
    series = data.get("series")
    if not isinstance(series, list) or not isinstance(labels, list) or len(labels) != len(series):
        raise RetryableSourceError(SOURCE, f"{where}: series and seriesLabels do not match")
    if group_value is None:
        if len(series) != 1:
            raise RetryableSourceError(SOURCE, f"{where}: {len(series)} series for one event")
        return 0
    names = [_label(label) for label in labels]
    return names.index(group_value) if group_value in names else None


def segmentation_daily(
    answer: AmplitudeAnswer, group_value: str | None
) -> tuple[list[date], list[float]]:
    """(days, values) of one segmentation answer for the series the metric reads."""
    where = f"{answer.request.path} {answer.request.start}..{answer.request.end}"
    data = _data(answer.payload, where, dict)
    days = _days(data, answer.request, where)
    index = _series_index(data, group_value, where)
    if index is None:
        return days, [0.0] * len(days)
    values = data["series"][index]
    if not isinstance(values, list) or len(values) != len(days):
        raise RetryableSourceError(
            SOURCE, f"{where}: {len(days)} days but another number of values"
        )
    return days, _numbers(values, where)


def segmentation_collapsed(answer: AmplitudeAnswer, group_value: str | None) -> float:
    """The whole range's value (distinct users over the interval for uniques)."""
    where = f"{answer.request.path} {answer.request.start}..{answer.request.end} (collapsed)"
    data = _data(answer.payload, where, dict)
    _days(data, answer.request, where)
    index = _series_index(data, group_value, where)
    if index is None:
        return 0.0
    collapsed = data.get("seriesCollapsed")
    if not isinstance(collapsed, list) or len(collapsed) != len(data["series"]):
        raise RetryableSourceError(SOURCE, f"{where}: no seriesCollapsed for every series")
    entry = collapsed[index]
    if isinstance(entry, list):
        if len(entry) != 1:
            raise RetryableSourceError(SOURCE, f"{where}: {len(entry)} collapsed values")
        entry = entry[0]
    return _number(entry, where)


def funnel_daily(answer: AmplitudeAnswer, steps: int) -> list[tuple[date, float, float]]:
    """[(day, reached the last step, entered at the first step)] of one funnel answer."""
    where = f"{answer.request.path} {answer.request.start}..{answer.request.end}"
    segments = _data(answer.payload, where, list)
    if len(segments) != 1 or not isinstance(segments[0], dict):
        raise RetryableSourceError(SOURCE, f"{where}: {len(segments)} funnel segments, asked 1")
    day_funnels = segments[0].get("dayFunnels")
    if not isinstance(day_funnels, dict):
        raise RetryableSourceError(SOURCE, f"{where}: no dayFunnels")
    days = _days(day_funnels, answer.request, where)
    series = day_funnels.get("series")
    if not isinstance(series, list) or len(series) != len(days):
        raise RetryableSourceError(SOURCE, f"{where}: dayFunnels.series does not cover every day")
    rows = []
    for day, counts in zip(days, series, strict=True):
        if not isinstance(counts, list) or len(counts) != steps:
            raise RetryableSourceError(
                SOURCE, f"{where}: {day} has no count for each of {steps} steps"
            )
        entered, reached = _number(counts[0], where), _number(counts[-1], where)
        if reached > entered:
            raise SourceError(
                SOURCE, f"{where}: on {day} more users reached the last step than entered"
            )
        rows.append((day, reached, entered))
    return rows


def _data(payload: Any, where: str, kind: type) -> Any:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, kind):
        raise RetryableSourceError(SOURCE, f"{where}: the answer has no `data` {kind.__name__}")
    return data


def raw_table(answers: list[AmplitudeAnswer], region: str, timezone: str) -> pa.Table:
    """Every answer verbatim with the request that produced it (never the keys)."""
    return pa.Table.from_pylist(
        [
            {
                "fetched_at": a.fetched_at,
                "region": region,
                "project_timezone": timezone,
                "path": a.request.path,
                "params": json.dumps([list(p) for p in a.request.params], ensure_ascii=False),
                "request_hash": a.request.hash,
                "request_kind": "range" if a.request.collapsed else "daily",
                "metric_ids": list(a.request.metric_ids),
                "range_start": a.request.start,
                "range_end": a.request.end,
                "partition_date": a.request.end,
                "cost": a.request.cost,
                "answer": json.dumps(a.payload, ensure_ascii=False),
            }
            for a in answers
        ],
        schema=RAW_SCHEMA,
    )
