"""The OKR definition format: pydantic models for what people write in `okr_definitions/*.yaml`.

A definitions folder holds any number of YAML files; each file may declare any of the
top-level sections below, and the loader merges them (ids must be unique across files).
The JSON Schema editors use for autocompletion is generated from these models
(`okr schema` writes `okr_definitions/okr-definitions.schema.json`).
"""

from __future__ import annotations

import difflib
import math
import re
from datetime import date
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Discriminator, Field, Tag, create_model, field_validator, model_validator

from okr_definitions.destinations.notify import Notify
from okr_definitions.push import KeyResultPush, Push
from okr_definitions.strict import StrictModel
from registry.sources import source_layer, source_names

# Ids end up in SQL tables, Dagster asset names and URLs: keep them to a safe, readable set.
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Id = Annotated[str, Field(pattern=ID_PATTERN, description="lowercase letters, digits, - and _")]

MEASURE_PATTERN = r"^(total|latest|average|rolling_[1-9][0-9]{0,2}d)$"
QUARTER_PATTERN = re.compile(r"^(\d{4})-Q([1-4])$")
MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# "+40%" / "-10%" (relative), "3.2%" (an absolute share, 0.032), or a plain number.
_PERCENT = re.compile(r"^\s*([+-])?\s*(\d+(?:\.\d+)?)\s*%\s*$")


class Thresholds(StrictModel):
    """How far below the expected pace a key result may be before its status drops."""

    on_track: float = Field(0.10, ge=0, le=1, description="on_track if progress ≥ expected − this")
    at_risk: float = Field(0.25, ge=0, le=1, description="at_risk if progress ≥ expected − this")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.at_risk < self.on_track:
            raise ValueError("at_risk must be at least on_track (it is the wider margin)")
        return self


class Organisation(StrictModel):
    name: str
    timezone: str = Field("UTC", description="IANA time zone of the daily partitions.")
    lookback_days: int = Field(3, ge=0, le=60, description="Recent days re-fetched daily.")
    thresholds: Thresholds = Thresholds()
    aspirational_pace: float = Field(
        0.7, gt=0, le=1, description="Where aspirational key results are expected to end."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            close = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as "
                f"{close[0] if close else 'Europe/Berlin'}"
            ) from None
        return value


# Every registered source's `sources.<name>:` options, in the registry's order.
Sources = create_model(
    "Sources",
    __base__=StrictModel,
    __doc__="Non-secret source settings. Credentials come from the environment only.",
    **{
        name: (options, options())
        for name in source_names()
        for options in [source_layer(name, "definitions").OPTIONS]
    },
)


# The tables `publish: {postgres: {tables: [...]}}` may name: the public tables of README's
# "The tables you query" and okr.kr_lineage (destinations/postgres/settings.py publishes them).
PUBLISHABLE_TABLES = (
    "okr.kr_progress_daily",
    "okr.kr_progress_latest",
    "okr.objective_progress_daily",
    "okr.kr_final_grades",
    "okr.teams",
    "okr.objectives",
    "okr.metrics",
    "okr.key_results",
    "okr.kr_lineage",
    "staging.metric_daily",
)
# The views are computed from okr.kr_progress_daily in PostgreSQL too.
_VIEWS_NEED = {"okr.kr_progress_latest", "okr.kr_final_grades"}


class PostgresPublish(StrictModel):
    """Publishing the public tables to PostgreSQL for BI tools. The connection comes from the
    environment only (OKR_PUBLISH_POSTGRES_URL, a libpq URL), never from YAML."""

    schema_prefix: str = Field(
        "", description="Put before the schema names: `bi_` publishes bi_okr.* and bi_staging.*."
    )
    tables: Literal["all"] | list[str] = Field(
        "all", description="`all`, or a list of the public tables to fill."
    )

    @field_validator("schema_prefix")
    @classmethod
    def _plain_prefix(cls, value: str) -> str:
        # Part of SQL identifiers, unquoted in BI tools: lowercase keeps them case-proof.
        if not re.fullmatch(r"([a-z][a-z0-9_]{0,29})?", value):
            raise ValueError(
                f"schema_prefix {value!r} is not a plain lowercase name; use lowercase letters, "
                'digits and _ starting with a letter (e.g. "bi_"), or "" for none'
            )
        return value

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, value: str | list[str]) -> str | list[str]:
        if value == "all":
            return value
        unknown = [name for name in value if name not in PUBLISHABLE_TABLES]
        if unknown:
            raise ValueError(
                f"unknown table {unknown[0]!r}; use `all` or names from: "
                + ", ".join(PUBLISHABLE_TABLES)
            )
        if _VIEWS_NEED & set(value) and "okr.kr_progress_daily" not in value:
            raise ValueError(
                "the views okr.kr_progress_latest and okr.kr_final_grades read "
                "okr.kr_progress_daily; add okr.kr_progress_daily to the list"
            )
        return value

    def table_names(self) -> list[str]:
        return list(PUBLISHABLE_TABLES) if self.tables == "all" else list(self.tables)


class Publish(StrictModel):
    """Where the public tables are published besides the DuckDB file."""

    postgres: PostgresPublish | None = None


class Team(StrictModel):
    id: Id
    name: str
    owner: str | None = Field(None, description="Owner e-mail, shown as the assets' owner.")


class ExplicitPeriod(StrictModel):
    start: date
    end: date


Period = Annotated[
    str | ExplicitPeriod,
    Field(
        description="A quarter like 2026-Q3, a month like 2026-07, "
        "or {start: 2026-07-01, end: 2026-09-30}."
    ),
]


class Ratio(StrictModel):
    numerator: Id
    denominator: Id


class MetricBase(StrictModel):
    id: Id
    description: str | None = None
    unit: str | None = None


class RatioMetric(MetricBase):
    """A rate computed as sum(numerator) / sum(denominator) over a range, never a mean of rates."""

    ratio: Ratio


def _metric_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "ratio" in value and "source" not in value:
            return "ratio"
        return str(value.get("source", "missing"))
    if isinstance(value, MetricBase):
        return getattr(value, "source", "ratio")
    return None  # not a mapping at all: the custom `metric_kind` error says what a metric is


def _source_metric(name: str) -> type[MetricBase]:
    """The metric model of one source (GA4Query -> GA4Metric): `source: <name>` and its query."""
    query = source_layer(name, "definitions").QUERY
    return create_model(
        query.__name__.removesuffix("Query") + "Metric",
        __base__=MetricBase,
        __module__=__name__,
        source=(Literal[name], ...),
        query=(query, ...),
    )


SOURCE_METRICS: dict[str, type[MetricBase]] = {
    name: _source_metric(name) for name in source_names()
}

Metric = Annotated[
    Union[  # noqa: UP007 - the members are only known once the registry is read
        tuple(Annotated[model, Tag(name)] for name, model in SOURCE_METRICS.items())
        + (Annotated[RatioMetric, Tag("ratio")],)
    ],
    Discriminator(
        _metric_kind,
        custom_error_type="metric_kind",
        custom_error_message="a metric needs `source:` ("
        + ", ".join(source_names())
        + ") with a `query:`, or a `ratio:` with numerator and denominator",
    ),
]

Number = float | str


def parse_number(value: Number) -> float:
    """A plain number, or "3.2%" meaning 0.032. Signed percentages are relative, not absolute."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _PERCENT.match(value)
    if match and not match.group(1):
        return float(match.group(2)) / 100
    raise ValueError(f"{value!r} is not a number; write 1500, 0.032 or 3.2%")


def parse_relative(value: Number) -> float | None:
    """ "+40%" → 0.40, "-10%" → -0.10; None when `value` is not a signed percentage."""
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match and match.group(1):
            sign = -1 if match.group(1) == "-" else 1
            return sign * float(match.group(2)) / 100
    return None


class KeyResult(StrictModel):
    id: Id
    title: str = Field(min_length=3)
    metric: Id = Field(description="Id of a declared metric.")
    measure: str = Field(
        "total",
        pattern=MEASURE_PATTERN,
        description="total (sum since start), rolling_<N>d, latest, or average.",
    )
    baseline: Number | Literal["measured"] | None = Field(
        None, description="A number, or `measured` (frozen from data). Totals start at 0."
    )
    # Required, but `null` is accepted so that an imported key result whose target the workbook
    # did not state readably still loads and the lint can report everything at once (the
    # missing target and the metric to bind) instead of stopping at the first.
    target: Number | None = Field(
        description="A number (1500, 0.055, 5.5%) or relative (+40%, -10%); `null` while it is "
        "still to be set (`okr validate` reports it)."
    )
    direction: Literal["increase", "decrease", "at_least", "at_most"] | None = Field(
        None, description="Inferred from baseline and target when omitted."
    )
    commitment: Literal["committed", "aspirational"] = "committed"
    weight: float = Field(1.0, gt=0, le=100, allow_inf_nan=False)
    unit: str | None = Field(None, description="Display unit: %, s, €, sessions, ...")
    description: str | None = None
    push: KeyResultPush = {}  # the OKR tools' ids of this key result

    @field_validator("baseline", "target", mode="before")
    @classmethod
    def _not_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):  # YAML reads yes/no/on/off as booleans, pydantic as 1/0
            raise ValueError(
                f"YAML reads this value as the boolean {str(value).lower()}, not a number; "
                "write a number such as 1500, 3.2% or +40%"
            )
        return value

    @field_validator("baseline", "target")
    @classmethod
    def _parsable(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number; write a number such as 1500")
        if isinstance(value, str) and value != "measured" and parse_relative(value) is None:
            parse_number(value)
        return value

    @property
    def window_days(self) -> int | None:
        match = re.fullmatch(r"rolling_(\d+)d", self.measure)
        return int(match.group(1)) if match else None

    @property
    def measure_kind(self) -> str:
        return "rolling" if self.window_days else self.measure


class Objective(StrictModel):
    id: Id
    title: str = Field(min_length=3)
    team: Id
    period: Period
    description: str | None = None
    key_results: list[KeyResult] = Field(min_length=1)


class DefinitionFile(StrictModel):
    """One YAML file. Every section is optional; files in a folder are merged."""

    organisation: Organisation | None = None
    sources: Sources | None = None
    publish: Publish | None = None
    teams: list[Team] = []
    metrics: list[Metric] = []
    objectives: list[Objective] = []
    push: Push | None = None  # OKR tools to push measured values into
    notify: Notify | None = Field(None, description="Status-change alerts and the digest.")
