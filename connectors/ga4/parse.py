"""Read GA4 answers: typed values, `date` days, the values of each metric by day or by exact
range, the trust flags (sampled, thresholded, `(other)` row, empty), and the raw Arrow table.

An answer's rows become flat Arrow string arrays, row-major (rows × dimensions, rows ×
metrics). REST answers are read from their JSON with pyarrow's JSON reader; the client
library's REST transport would decode them into protobuf in pure Python first (~40 µs a row,
40 s for a million-row report, and over a GiB of message objects). gRPC answers arrive as
protobuf and are read from the messages directly (not through proto-plus wrappers).

Why over 600 lines: decoding an answer, reading its values and writing its raw rows all work
on the same `Page`; split along those three lines if it grows further.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from google.analytics.data_v1beta.types import RunReportResponse
from google.protobuf import json_format

from connectors.base import request_hash
from connectors.errors import SourceError
from connectors.ga4.requests import ReportSpec
from connectors.ga4.settings import SOURCE, GA4Settings
from connectors.results import flag_table
from okr_definitions.sources.ga4 import GA4Query

# MetricType enum (google.analytics.data.v1beta.MetricType), number → name.
METRIC_TYPES = {
    0: "METRIC_TYPE_UNSPECIFIED",
    1: "TYPE_INTEGER",
    2: "TYPE_FLOAT",
    4: "TYPE_SECONDS",
    5: "TYPE_MILLISECONDS",
    6: "TYPE_MINUTES",
    7: "TYPE_HOURS",
    8: "TYPE_STANDARD",
    9: "TYPE_CURRENCY",
    10: "TYPE_FEET",
    11: "TYPE_MILES",
    12: "TYPE_METERS",
    13: "TYPE_KILOMETERS",
}
# Durations are normalised to seconds, so a KR on "load time" reads the same whatever unit a
# custom metric was registered with.
_TO_SECONDS = {"TYPE_MILLISECONDS": 0.001, "TYPE_MINUTES": 60.0, "TYPE_HOURS": 3600.0}


def convert_value(text: str, metric_type: str) -> float | None:
    """A GA4 metric value (always a string on the wire) as a float in the metric's unit.

    TYPE_INTEGER may arrive as "12.0"; durations become seconds; CURRENCY stays in the
    property's currency (ResponseMetaData.currencyCode); "" (no value) becomes None.
    """
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise SourceError(SOURCE, f"metric value {text!r} ({metric_type}) is not a number") from exc
    if metric_type == "TYPE_INTEGER":
        return float(round(value))
    factor = _TO_SECONDS.get(metric_type)
    return value * factor if factor is not None else value


@lru_cache(maxsize=8192)
def parse_ga4_date(text: str) -> date:
    """GA4's `date` dimension value, YYYYMMDD, as a date."""
    if len(text) != 8 or not text.isdigit():
        raise SourceError(SOURCE, f"`date` value {text!r} is not YYYYMMDD")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def convert_values(texts: pa.Array, metric_type: str) -> pa.Array:
    """`convert_value` for a whole column of one metric at once (float64, null for "")."""
    texts = pc.if_else(pc.equal(texts, ""), pa.scalar(None, pa.string()), texts)
    try:
        values = pc.cast(texts, pa.float64())
    except pa.ArrowInvalid:
        for text in texts.to_pylist():  # name the first value that is not a number
            if text is not None:
                convert_value(text, metric_type)
        raise
    if metric_type == "TYPE_INTEGER":
        return pc.round(values)  # half to even, like round() in convert_value
    factor = _TO_SECONDS.get(metric_type)
    return pc.multiply(values, factor) if factor is not None else values


def column(flat: pa.Array, width: int, index: int) -> pa.Array:
    """Column `index` of a row-major flat array with `width` values per row."""
    return pc.list_element(pa.FixedSizeListArray.from_arrays(flat, width), index)


class MalformedAnswer(ValueError):
    """An answer whose JSON parses but is not shaped like a report."""


@dataclass
class ReportAnswer:
    """One report's answer as sent, before it is matched to the request it answers."""

    dimension_names: list[str]
    metric_names: list[str]
    metric_types: list[str]
    dim_values: pa.Array  # strings, row-major, len = rows × dimensions
    met_values: pa.Array  # strings, row-major, len = rows × metrics
    n_rows: int
    row_count: int
    time_zone: str
    currency_code: str
    sampling: list[tuple[int, int]] = field(default_factory=list)  # (read, space) per range
    thresholded: bool = False
    other_row: bool = False
    empty_reason: str = ""
    quota: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReportPage:
    """One answer (one page of one report), flattened for fast reading."""

    spec: ReportSpec
    body: dict[str, Any]
    offset: int
    fetched_at: datetime
    dimension_names: list[str]
    metric_names: list[str]
    metric_types: list[str]
    dim_values: pa.Array  # strings, row-major, len = rows × dimensions
    met_values: pa.Array  # strings, row-major, len = rows × metrics
    n_rows: int
    row_count: int
    time_zone: str
    currency_code: str
    sampling: list[tuple[int, int]] = field(default_factory=list)  # (read, space) per range
    thresholded: bool = False
    other_row: bool = False
    empty_reason: str = ""
    quota: dict[str, Any] = field(default_factory=dict)
    partition_date: date | None = None

    @property
    def request_hash(self) -> str:
        return request_hash(self.body)


def answered_headers_problem(answer: ReportAnswer, spec: ReportSpec) -> str | None:
    """How the answer's headers differ from what `spec` asked for (None: they are the same).

    Rows are read by header position, so an unrequested breakdown (summed into every day), a
    missing or reordered metric would each turn into a wrong number. Several date ranges add
    GA4's `dateRange` dimension after the requested ones.
    """
    dimensions = [*spec.dimensions, *(["dateRange"] if len(spec.date_ranges) > 1 else [])]
    for what, asked, got in (
        ("dimensions", dimensions, answer.dimension_names),
        ("metrics", list(spec.metrics), answer.metric_names),
    ):
        if got != asked:
            missing = [name for name in asked if name not in got]
            extra = [name for name in got if name not in asked]
            how = "; ".join(
                part
                for part in (
                    f"missing {', '.join(f'`{n}`' for n in missing)}" if missing else "",
                    f"not asked for {', '.join(f'`{n}`' for n in extra)}" if extra else "",
                    "in another order" if not missing and not extra else "",
                )
                if part
            )
            return f"its {what} are {got} where the request asked for {asked} ({how})"
    return None


def read_page(
    answer: ReportAnswer, spec: ReportSpec, body: dict[str, Any], offset: int
) -> ReportPage:
    """The page of `spec` that `answer` answered (the request `body`, at `offset`).

    Raises SourceError when the answer is not an answer to that request (its headers)."""
    problem = answered_headers_problem(answer, spec)
    if problem:
        metrics = f" for metrics {', '.join(spec.metric_ids)}" if spec.metric_ids else ""
        raise SourceError(
            SOURCE,
            f"GA4's answer to report {spec.report_hash}{metrics} (property {spec.property_id}) "
            f"does not match the request: {problem}; nothing was loaded, the next run asks again",
        )
    return ReportPage(
        spec=spec,
        body=body,
        offset=offset,
        fetched_at=datetime.now(UTC),
        **{name: getattr(answer, name) for name in ReportAnswer.__dataclass_fields__},
    )


def answer_from_proto(response: RunReportResponse) -> ReportAnswer:
    """An answer of the gRPC transport (protobuf messages)."""
    pb = RunReportResponse.pb(response)
    dims: list[str] = []
    mets: list[str] = []
    for row in pb.rows:
        dims.extend(v.value for v in row.dimension_values)
        mets.extend(v.value for v in row.metric_values)
    meta = pb.metadata
    quota = json_format.MessageToDict(pb.property_quota) if pb.HasField("property_quota") else {}
    return ReportAnswer(
        dimension_names=[h.name for h in pb.dimension_headers],
        metric_names=[h.name for h in pb.metric_headers],
        metric_types=[METRIC_TYPES.get(h.type_, str(h.type_)) for h in pb.metric_headers],
        dim_values=pa.array(dims, pa.string()),
        met_values=pa.array(mets, pa.string()),
        n_rows=len(pb.rows),
        row_count=pb.row_count,
        time_zone=meta.time_zone,
        currency_code=meta.currency_code,
        sampling=[(s.samples_read_count, s.sampling_space_size) for s in meta.sampling_metadatas],
        thresholded=meta.subject_to_thresholding,
        other_row=meta.data_loss_from_other_row,
        empty_reason=meta.empty_reason,
        quota=quota,
    )


# Only the rows get a fixed type (they are nearly all of an answer); every other field is
# inferred and read as plain Python values, so new fields in Google's answers do no harm.
_VALUE = pa.struct([pa.field("value", pa.string())])
_JSON_ROW = pa.struct(
    [pa.field("dimensionValues", pa.list_(_VALUE)), pa.field("metricValues", pa.list_(_VALUE))]
)
_JSON_REPORT = pa.struct([pa.field("rows", pa.list_(_JSON_ROW))])
_SINGLE = pa.schema([pa.field("rows", pa.list_(_JSON_ROW))])
_BATCH = pa.schema([pa.field("reports", pa.list_(_JSON_REPORT))])
_NO_ROWS = pa.array([], _JSON_ROW)


def _without_nulls(value: Any) -> Any:
    """Drop the nulls pyarrow fills in for absent fields (proto3 JSON omits defaults)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _flat_values(rows: pa.Array, field_name: str) -> tuple[pa.Array, pa.Array]:
    """(value strings, values per row) of one of the rows' value lists."""
    lists = pc.struct_field(rows, field_name)
    values = pc.struct_field(pc.list_flatten(lists), "value")
    # proto3 JSON omits what is empty: a value "" ({}) and an empty list (a report without
    # dimensions); the protobuf reading gives "" and no values.
    return pc.fill_null(values, ""), pc.fill_null(pc.list_value_length(lists), 0)


def _answer_from_json(report: dict[str, Any], rows: pa.Array) -> ReportAnswer:
    meta = report.get("metadata") or {}
    dims, dims_per_row = _flat_values(rows, "dimensionValues")
    mets, mets_per_row = _flat_values(rows, "metricValues")
    if not report.get("metricHeaders"):
        # Every report answer names its metrics (a request has at least one): `{}` is a proxy's
        # or a truncated answer, not an empty report.
        raise MalformedAnswer("the answer has no metricHeaders (not a report)")
    dimension_names = [h.get("name", "") for h in report.get("dimensionHeaders") or []]
    metric_headers = report["metricHeaders"]
    for per_row, width in (
        (dims_per_row, len(dimension_names)),
        (mets_per_row, len(metric_headers)),
    ):
        if len(rows) and (pc.min(per_row).as_py() != width or pc.max(per_row).as_py() != width):
            raise MalformedAnswer(f"answer rows do not have {width} values each")
    return ReportAnswer(
        dimension_names=dimension_names,
        metric_names=[h.get("name", "") for h in metric_headers],
        metric_types=[
            METRIC_TYPES.get(t, str(t)) if isinstance(t, int) else str(t)
            for t in (h.get("type", 0) for h in metric_headers)
        ],
        dim_values=dims,
        met_values=mets,
        n_rows=len(rows),
        row_count=int(report.get("rowCount") or 0),
        time_zone=meta.get("timeZone", ""),
        currency_code=meta.get("currencyCode", ""),
        sampling=[
            (int(s.get("samplesReadCount", 0)), int(s.get("samplingSpaceSize", 0)))
            for s in meta.get("samplingMetadatas") or []
        ],
        thresholded=bool(meta.get("subjectToThresholding", False)),
        other_row=bool(meta.get("dataLossFromOtherRow", False)),
        empty_reason=meta.get("emptyReason", ""),
        quota=report.get("propertyQuota") or {},
    )


def answers_from_json(content: bytes, batch: bool) -> list[ReportAnswer]:
    """The reports of a runReport (one) or batchRunReports answer, from its JSON bytes.

    Raises pyarrow.ArrowInvalid (not JSON) or MalformedAnswer (not a report's JSON).
    """
    # The reader takes one JSON document per line; inside JSON strings line breaks are always
    # escaped, so a pretty-printed answer is the same document on one line.
    if b"\n" in content or b"\r" in content:
        content = content.replace(b"\n", b" ").replace(b"\r", b" ")
    table = pa_json.read_json(
        io.BytesIO(content),
        read_options=pa_json.ReadOptions(use_threads=False, block_size=len(content) + 1),
        parse_options=pa_json.ParseOptions(
            explicit_schema=_BATCH if batch else _SINGLE, unexpected_field_behavior="infer"
        ),
    )
    if table.num_rows != 1:
        raise MalformedAnswer(f"expected one JSON document, got {table.num_rows}")
    if batch:
        reports = table.column("reports").combine_chunks()
        if reports.null_count:
            raise MalformedAnswer("batchRunReports answer without reports")
        items = pc.list_flatten(reports)
        names = [f.name for f in items.type if f.name != "rows"]
        small = (
            pa.StructArray.from_arrays([items.field(n) for n in names], names).to_pylist()
            if names
            else [{} for _ in range(len(items))]
        )
        rows_lists = items.field("rows")
        return [
            _answer_from_json(
                _without_nulls(report),
                rows_lists[i].values if rows_lists[i].is_valid else _NO_ROWS,
            )
            for i, report in enumerate(small)
        ]
    rest = table.drop_columns(["rows"]).to_pylist()[0]
    rows = table.column("rows").combine_chunks()[0]
    return [_answer_from_json(_without_nulls(rest), rows.values if rows.is_valid else _NO_ROWS)]


# --- raw table ------------------------------------------------------------------------------

_ROW = pa.struct(
    [
        pa.field("dimension_values", pa.list_(pa.string())),
        pa.field("metric_values", pa.list_(pa.string())),
    ]
)
_DATE_RANGE = pa.struct(
    [
        pa.field("name", pa.string()),
        pa.field("start_date", pa.date32()),
        pa.field("end_date", pa.date32()),
    ]
)
_SAMPLING = pa.struct(
    [
        pa.field("samples_read_count", pa.int64()),
        pa.field("sampling_space_size", pa.int64()),
    ]
)

# raw.ga4_responses: one row per GA4 answer (one page of one report), with the request that
# produced it and the answer's rows exactly as sent (strings). Mirrors
# warehouse/migrations/0003_ga4_raw.sql.
RAW_SCHEMA = pa.schema(
    [
        pa.field("property_id", pa.string(), nullable=False),
        pa.field("report_hash", pa.string(), nullable=False),
        pa.field("request_hash", pa.string(), nullable=False),
        pa.field("request_kind", pa.string(), nullable=False),
        pa.field("request_json", pa.string(), nullable=False),
        pa.field("metric_ids", pa.list_(pa.string())),
        pa.field("date_ranges", pa.list_(_DATE_RANGE)),
        pa.field("page_offset", pa.int64(), nullable=False),
        pa.field("page_limit", pa.int64(), nullable=False),
        pa.field("row_count", pa.int64(), nullable=False),
        pa.field("rows_returned", pa.int64(), nullable=False),
        pa.field("dimension_names", pa.list_(pa.string())),
        pa.field("metric_names", pa.list_(pa.string())),
        pa.field("metric_types", pa.list_(pa.string())),
        pa.field("rows", pa.list_(_ROW)),
        pa.field("time_zone", pa.string()),
        pa.field("currency_code", pa.string()),
        pa.field("sampled", pa.bool_(), nullable=False),
        pa.field("sampling_metadatas", pa.list_(_SAMPLING)),
        pa.field("subject_to_thresholding", pa.bool_(), nullable=False),
        pa.field("data_loss_from_other_row", pa.bool_(), nullable=False),
        pa.field("empty_reason", pa.string()),
        pa.field("property_quota_json", pa.string()),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("partition_date", pa.date32()),
    ]
)


def _nested_rows(pages: list[ReportPage]) -> pa.Array:
    """The `rows` column, built from flat value arrays and offsets (no per-row objects)."""
    dim_offsets = [0]
    met_offsets = [0]
    page_offsets = [0]
    all_dims: list[pa.Array] = [pa.array([], pa.string())]
    all_mets: list[pa.Array] = [pa.array([], pa.string())]
    for page in pages:
        n = page.n_rows
        for offsets, width in (
            (dim_offsets, len(page.dimension_names)),
            (met_offsets, len(page.metric_names)),
        ):
            base = offsets[-1]
            if width:
                offsets.extend(range(base + width, base + width * n + 1, width))
            else:
                offsets.extend([base] * n)
        all_dims.append(page.dim_values)
        all_mets.append(page.met_values)
        page_offsets.append(page_offsets[-1] + n)
    dims = pa.ListArray.from_arrays(pa.array(dim_offsets, pa.int32()), pa.concat_arrays(all_dims))
    mets = pa.ListArray.from_arrays(pa.array(met_offsets, pa.int32()), pa.concat_arrays(all_mets))
    rows = pa.StructArray.from_arrays([dims, mets], fields=list(_ROW))
    return pa.ListArray.from_arrays(pa.array(page_offsets, pa.int32()), rows)


def raw_table(pages: list[ReportPage]) -> pa.Table:
    columns: dict[str, Any] = {
        "property_id": [p.spec.property_id for p in pages],
        "report_hash": [p.spec.report_hash for p in pages],
        "request_hash": [p.request_hash for p in pages],
        "request_kind": [p.spec.kind for p in pages],
        "request_json": [json.dumps(p.body, sort_keys=True) for p in pages],
        "metric_ids": [list(p.spec.metric_ids) for p in pages],
        "date_ranges": [
            [
                {"name": range_name(p.spec, i), "start_date": s, "end_date": e}
                for i, (s, e) in enumerate(p.spec.date_ranges)
            ]
            for p in pages
        ],
        "page_offset": [p.offset for p in pages],
        "page_limit": [int(p.body["limit"]) for p in pages],
        "row_count": [p.row_count for p in pages],
        "rows_returned": [p.n_rows for p in pages],
        "dimension_names": [p.dimension_names for p in pages],
        "metric_names": [p.metric_names for p in pages],
        "metric_types": [p.metric_types for p in pages],
        "time_zone": [p.time_zone or None for p in pages],
        "currency_code": [p.currency_code or None for p in pages],
        "sampled": [bool(p.sampling) for p in pages],
        "sampling_metadatas": [
            [{"samples_read_count": r, "sampling_space_size": s} for r, s in p.sampling]
            for p in pages
        ],
        "subject_to_thresholding": [p.thresholded for p in pages],
        "data_loss_from_other_row": [p.other_row for p in pages],
        "empty_reason": [p.empty_reason or None for p in pages],
        "property_quota_json": [
            json.dumps(p.quota, sort_keys=True) if p.quota else None for p in pages
        ],
        "fetched_at": [p.fetched_at for p in pages],
        "partition_date": [p.partition_date for p in pages],
    }
    arrays = []
    for f in RAW_SCHEMA:
        if f.name == "rows":
            arrays.append(_nested_rows(pages))
        else:
            arrays.append(pa.array(columns[f.name], type=f.type))
    return pa.Table.from_arrays(arrays, schema=RAW_SCHEMA)


def range_name(spec: ReportSpec, index: int) -> str:
    """GA4's name for an unnamed date range in a multi-range answer (`dateRange` dimension)."""
    return f"date_range_{index}"


OTHER_ROW_VALUE = "(other)"


# --- reading values -------------------------------------------------------------------------


@dataclass
class ReportValues:
    """Metric values of one report group: {(group, metric): {day or range index: value}}."""

    values: dict[tuple[str, str], dict[Any, float | None]] = field(default_factory=dict)
    other_row_days: dict[str, set[date]] = field(default_factory=dict)
    # Days on which a report's answer held the same row twice (counted once).
    duplicate_days: dict[str, set[date]] = field(default_factory=dict)
    time_zones: dict[str, str] = field(default_factory=dict)

    def get(self, group: str, metric: str, key: Any) -> float | None:
        return self.values.get((group, metric), {}).get(key)

    def has(self, group: str, metric: str) -> bool:
        return (group, metric) in self.values


def read_daily(pages: list[ReportPage]) -> ReportValues:
    out = ReportValues()
    reports: dict[str, list[ReportPage]] = {}
    for page in pages:
        reports.setdefault(page.spec.report_hash, []).append(page)
    for report_pages in reports.values():
        _read_daily_report(report_pages, out)
    # The columns read above were temporary; Arrow's allocator keeps freed memory for its own
    # reuse, which the warehouse load that follows cannot use: give it back (a million-row
    # report: several hundred MB of peak RSS).
    pa.default_memory_pool().release_unused()
    return out


def _read_daily_report(pages: list[ReportPage], out: ReportValues) -> None:
    """Add one report's pages (same dimensions and metrics) to `out`, each row once."""
    spec = pages[0].spec
    group = spec.group_key
    tables = []
    for page in pages:
        if page.time_zone:
            out.time_zones[spec.property_id] = page.time_zone
        n_dims = len(page.dimension_names)
        n_mets = len(page.metric_names)
        date_at = page.dimension_names.index("date") if "date" in page.dimension_names else None
        if date_at is None:
            raise SourceError(SOURCE, f"GA4 answer without a `date` column ({spec.report_hash})")
        for name in page.metric_names:
            # With breakdown dimensions a day has several rows; additive values are summed.
            out.values.setdefault((group, name), {})
        if not page.n_rows:
            continue
        # Column-wise in Arrow: a million-row report is read in well under a second, where a
        # Python loop over its rows took several.
        dims = [column(page.dim_values, n_dims, i) for i in range(n_dims)]
        other = None
        for values in dims:
            here = pc.equal(values, OTHER_ROW_VALUE)
            other = here if other is None else pc.or_(other, here)
        tables.append(
            pa.table(
                {
                    # A row is its dimension values: the same values twice are the same row.
                    "key": pc.binary_join_element_wise(*dims, "\x1f") if n_dims > 1 else dims[0],
                    "day": dims[date_at],
                    "other": other,
                    **{
                        name: convert_values(column(page.met_values, n_mets, j), metric_type)
                        for j, (name, metric_type) in enumerate(
                            zip(page.metric_names, page.metric_types, strict=True)
                        )
                    },
                }
            )
        )
    if not tables:
        return
    rows = pa.concat_tables(tables, promote_options="default")
    names = [n for n in rows.column_names if n not in ("key", "day", "other")]
    # GA4 pages by offset: a row that moves while the pages are read comes twice (and another
    # may be skipped). The repeat is counted once and flagged; a skipped row means the report
    # cannot be trusted at all.
    # When each row comes once (the usual answer), and below when each day has one row (no
    # breakdown dimension), the group-bys would return the rows as they are: they are skipped,
    # and with them the import of Arrow's query engine and its datasets (~12 ms CPU a process).
    if pc.count_distinct(rows["key"], mode="all").as_py() == rows.num_rows:
        unique = pa.table(
            {
                "day_first": rows["day"],
                "other_first": rows["other"],
                "key_count": pa.repeat(pa.scalar(1, pa.int64()), rows.num_rows),
                **{f"{name}_first": rows[name] for name in names},
            }
        )
    else:
        unique = rows.group_by("key", use_threads=False).aggregate(
            [("day", "first"), ("other", "first"), ("key", "count"),
             *[(name, "first") for name in names]]
        )  # fmt: skip
    row_count = max(page.row_count for page in pages)
    if unique.num_rows < row_count:
        raise SourceError(
            SOURCE,
            f"GA4 report {spec.report_hash} changed while its pages were read: "
            f"{unique.num_rows} different rows of the {row_count} it counts. Run again.",
        )
    repeated = pc.filter(unique["day_first"], pc.greater(unique["key_count"], 1))
    for text in pc.unique(repeated).to_pylist():
        out.duplicate_days.setdefault(group, set()).add(parse_ga4_date(text))
    if pc.count_distinct(unique["day_first"], mode="all").as_py() == unique.num_rows:
        # A day's one value is its sum (a sum's 0 + -0.0 aside, which the addition below
        # makes 0 either way).
        sums = pa.table(
            {
                "day_first": unique["day_first"],
                **{f"{n}_first_sum": unique[f"{n}_first"] for n in names},
            }
        )
    else:
        # One thread: the order floating-point values are added in, and so the sums, stay
        # fixed.
        sums = unique.group_by("day_first", use_threads=False).aggregate(
            [(f"{n}_first", "sum") for n in names]
        )
    days = [parse_ga4_date(text) for text in sums.column("day_first").to_pylist()]
    for name in names:
        target = out.values[(group, name)]
        for day, value in zip(days, sums.column(f"{name}_first_sum").to_pylist(), strict=True):
            if value is not None:
                target[day] = target.get(day, 0.0) + value
    other_days = out.other_row_days.setdefault(group, set())
    flagged = pc.filter(unique["day_first"], pc.fill_null(unique["other_first"], False))
    for text in pc.unique(flagged).to_pylist():
        other_days.add(parse_ga4_date(text))


def require_columns(
    values: ReportValues, group: str, metric_id: str, metric: str, denominator: str | None
) -> None:
    # GA4 leaves out rows whose metrics are all zero, so a missing *day* is 0; a missing
    # *column* is an answer that does not fit the request, and reading it as 0 would be a
    # wrong number.
    for name in (metric, denominator):
        if name and not values.has(group, name):
            raise SourceError(
                SOURCE,
                f"metric {metric_id!r}: GA4's answer has no `{name}` column although the "
                "request asked for it; nothing was loaded. Run again; if it persists, check "
                "the metric with `okr validate`.",
            )


RangeRow = tuple[tuple[str, ...], tuple[str, ...]]  # (dimension values, metric values)


def _range_rows(pages: list[ReportPage]) -> dict[str, list[tuple[ReportPage, RangeRow]]]:
    """Each range report's rows (report hash → distinct rows with their page), in answer order.

    A row sent twice alike is one row (as for daily reports); rows are few here (one per date
    range), so plain lists are fine.
    """
    reports: dict[str, dict[RangeRow, ReportPage]] = {}
    for page in pages:
        n_dims, n_mets = len(page.dimension_names), len(page.metric_names)
        dims, mets = page.dim_values.to_pylist(), page.met_values.to_pylist()
        rows = reports.setdefault(page.spec.report_hash, {})
        for r in range(page.n_rows):
            row = (
                tuple(dims[r * n_dims : (r + 1) * n_dims]),
                tuple(mets[r * n_mets : (r + 1) * n_mets]),
            )
            rows.setdefault(row, page)
    return {key: [(page, row) for row, page in rows.items()] for key, rows in reports.items()}


def _check_range_row_count(report_pages: list[ReportPage], rows: int) -> None:
    """A range report holds the rows its `rowCount` counts: fewer is a read that stopped early
    (a window would read as no value), more an answer to something else."""
    counted = max(page.row_count for page in report_pages)
    if rows != counted:
        spec = report_pages[0].spec
        raise SourceError(
            SOURCE,
            f"GA4's answer to report {spec.report_hash} for metrics "
            f"{', '.join(spec.metric_ids)} holds {rows} rows where its rowCount says {counted}; "
            "nothing was loaded, the next run asks again",
        )


def read_ranges(pages: list[ReportPage]) -> ReportValues:
    out = ReportValues()
    by_report = _range_rows(pages)
    for page in pages:
        if page.time_zone:
            out.time_zones[page.spec.property_id] = page.time_zone
        for name in page.metric_names:
            out.values.setdefault((page.spec.group_key, name), {})
    for key, rows in by_report.items():
        _check_range_row_count([p for p in pages if p.spec.report_hash == key], len(rows))
        # Rows are matched to windows by their `dateRange` label, never by position (GA4 does
        # not promise the order), and a window answered twice differently has no one value.
        answered: set[int] = set()
        for page, (dims, mets) in rows:
            spec = page.spec
            names = {f"date_range_{i}": i for i in range(len(spec.date_ranges))}
            index = 0
            if "dateRange" in page.dimension_names:
                label = dims[page.dimension_names.index("dateRange")]
                if label not in names:
                    raise SourceError(SOURCE, f"GA4 answered an unknown date range {label!r}")
                index = names[label]
            window = spec.date_ranges[index]
            if index in answered:
                raise SourceError(
                    SOURCE,
                    f"GA4's answer to report {spec.report_hash} for metrics "
                    f"{', '.join(spec.metric_ids)} holds more than one row for the date "
                    f"range {window[0]}..{window[1]}, where the request asks for one total per "
                    "range; nothing was loaded, the next run asks again",
                )
            answered.add(index)
            for j, name in enumerate(page.metric_names):
                value = convert_value(mets[j], page.metric_types[j])
                out.values.setdefault((spec.group_key, name), {})[window] = value
    return out


def check_time_zone(settings: GA4Settings, values: ReportValues) -> None:
    answered = values.time_zones.get(settings.property_id)
    if settings.timezone and answered and answered != settings.timezone:
        raise SourceError(
            SOURCE,
            f"property {settings.property_id} reports in time zone {answered}, but the GA4 "
            f"settings say timezone={settings.timezone}; days would be cut at the wrong "
            f"midnight. Set timezone to {answered} (or leave it empty).",
        )


def property_zone(settings: GA4Settings, values: ReportValues, property_id: str) -> str:
    zone = values.time_zones.get(property_id)
    if zone:
        return zone
    if property_id == settings.property_id and settings.timezone:
        return settings.timezone
    return "UTC"


# --- trust flags ----------------------------------------------------------------------------


def flags_of_page(page: ReportPage) -> list[tuple[str, str]]:
    flags = []
    if page.sampling:
        read = sum(r for r, _ in page.sampling)
        space = sum(s for _, s in page.sampling)
        share = f", {100 * read / space:.1f} %" if space else ""
        flags.append(
            ("sampled", f"GA4 sampled this report: {read:,} of {space:,} events read{share}")
        )
    if page.thresholded:
        flags.append(
            (
                "thresholded",
                "GA4 applied data thresholds (subjectToThresholding): rows with few users may "
                "be withheld",
            )
        )
    if page.other_row:
        flags.append(
            (
                "other_row",
                "GA4 rolled high-cardinality rows into (other) (dataLossFromOtherRow): filtered "
                "values may be too low",
            )
        )
    if page.empty_reason:
        flags.append(("empty", f"GA4 answered empty: {page.empty_reason}"))
    return flags


class TrustFlags:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, date, str], str] = {}

    def add(self, metric_ids: Iterable[str], days: Iterable[date], flag: str, reason: str) -> None:
        for day in days:
            for metric_id in metric_ids:
                self.rows.setdefault((metric_id, day, flag), reason)

    def table(self) -> Any:
        return flag_table(
            [
                {"metric_id": m, "date": d, "flag": f, "reason": r}
                for (m, d, f), r in sorted(self.rows.items())
            ]
        )


# --- public API -----------------------------------------------------------------------------


def currencies_of(
    pages: list[ReportPage], queries: Iterable[tuple[str, GA4Query]], default_property: str
) -> dict[str, str]:
    """{metric id: ISO 4217 code} of the money metrics (TYPE_CURRENCY) among `queries`: GA4
    gives their amounts in the property's currency, named by each answer's
    metadata.currencyCode."""
    money = {
        (page.spec.property_id, name): page.currency_code
        for page in pages
        if page.currency_code
        for name, metric_type in zip(page.metric_names, page.metric_types, strict=False)
        if metric_type == "TYPE_CURRENCY"
    }
    found = {}
    for metric_id, query in queries:
        code = money.get((query.property_id or default_property, query.metric))
        if code:
            found[metric_id] = code
    return found
