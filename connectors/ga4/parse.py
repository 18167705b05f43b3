"""Read GA4 answers: typed values, `date` days, trust signals, and the raw Arrow table.

An answer's rows become flat Arrow string arrays, row-major (rows × dimensions, rows ×
metrics). REST answers are read from their JSON with pyarrow's JSON reader; the client
library's REST transport would decode them into protobuf in pure Python first (~40 µs a row,
40 s for a million-row report, and over a GiB of message objects). gRPC answers arrive as
protobuf and are read from the messages directly (not through proto-plus wrappers).
"""

from __future__ import annotations

import io
import json
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
from connectors.ga4.settings import SOURCE

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
class Answer:
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
class Page:
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


def answered_headers_problem(answer: Answer, spec: ReportSpec) -> str | None:
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


def read_page(answer: Answer, spec: ReportSpec, body: dict[str, Any], offset: int) -> Page:
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
    return Page(
        spec=spec,
        body=body,
        offset=offset,
        fetched_at=datetime.now(UTC),
        **{name: getattr(answer, name) for name in Answer.__dataclass_fields__},
    )


def answer_from_proto(response: RunReportResponse) -> Answer:
    """An answer of the gRPC transport (protobuf messages)."""
    pb = RunReportResponse.pb(response)
    dims: list[str] = []
    mets: list[str] = []
    for row in pb.rows:
        dims.extend(v.value for v in row.dimension_values)
        mets.extend(v.value for v in row.metric_values)
    meta = pb.metadata
    quota = json_format.MessageToDict(pb.property_quota) if pb.HasField("property_quota") else {}
    return Answer(
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


def _answer_from_json(report: dict[str, Any], rows: pa.Array) -> Answer:
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
    return Answer(
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


def answers_from_json(content: bytes, batch: bool) -> list[Answer]:
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


def _nested_rows(pages: list[Page]) -> pa.Array:
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


def raw_table(pages: list[Page]) -> pa.Table:
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
