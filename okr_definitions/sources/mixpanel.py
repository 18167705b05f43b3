"""Metric query for Mixpanel: a saved report, or events computed by okr-sync itself.

Two ways, because Mixpanel's Query API reads *saved* reports only (its segmentation endpoint is
in maintenance mode):

- `report:` a saved Insights report (`report_type: insights`, one of its series) or a saved
  funnel (`report_type: funnel`): one Query API request per report, the numbers exactly as the
  team sees them in Mixpanel;
- `event:` (with `count: total | uniques`) or `funnel:` (`steps`, `window_days`), each with
  optional structured `where:` conditions: the connector downloads the events from the Raw
  Event Export API and computes totals, unique users over any range and funnel conversion in
  DuckDB (okr_definitions/README.md, "Mixpanel").

Example (YAML)::

    query: {event: "Editor Opened", count: total, where: {property: plan, in: [pro, team]}}
    query: {funnel: {steps: ["Sign Up", "Project Created"], window_days: 7}}
    query: {report: 4113521, report_type: insights, series: "Logged in"}
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from okr_definitions.sources.base import LintContext, QueryProblem, SourceOptions
from okr_definitions.strict import StrictModel

# A Mixpanel funnel may have up to this many steps (Mixpanel's UI limit for one funnel).
MAX_FUNNEL_STEPS = 10
# The longest conversion window Mixpanel's funnels offer is 366 days.
MAX_WINDOW_DAYS = 366


class MixpanelCondition(StrictModel):
    """One condition on an event property: exactly one of `equals`, `in`, `not_in`.

    Values are compared as text, exactly (Mixpanel's `==` on strings). The connector builds
    Mixpanel's filter expression from these with every name and value escaped, so no text of
    a definition is ever pasted into an expression.
    """

    property_: str = Field(
        alias="property", min_length=1, description="Event property name, e.g. plan or $os."
    )
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)
    not_in: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> MixpanelCondition:
        given = [
            k
            for k, v in (("equals", self.equals), ("in", self.in_), ("not_in", self.not_in))
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"a condition on property {self.property_!r} needs exactly one of equals, in, "
                f"not_in (found: {', '.join(given) or 'none'})"
            )
        return self

    @property
    def values(self) -> list[str]:
        """The values the property must (or, for not_in, must not) take."""
        if self.equals is not None:
            return [self.equals]
        return list(self.in_ or self.not_in or [])

    @property
    def negated(self) -> bool:
        return self.not_in is not None


class MixpanelFunnel(StrictModel):
    """Ordered steps: a user converts when they do every step in order within `window_days`
    of the first step (okr_definitions/README.md, "Mixpanel")."""

    steps: list[str] = Field(min_length=2, max_length=MAX_FUNNEL_STEPS)
    window_days: int = Field(7, ge=1, le=MAX_WINDOW_DAYS)

    @field_validator("steps")
    @classmethod
    def _named(cls, value: list[str]) -> list[str]:
        if any(not step.strip() for step in value):
            raise ValueError("a funnel step is an event name and must not be empty")
        return value


class MixpanelQuery(StrictModel):
    """Exactly one of `report`, `event` or `funnel`."""

    report: int | None = Field(
        default=None, ge=1, description="Id of a saved Insights report (bookmark) or funnel."
    )
    report_type: Literal["insights", "funnel"] = Field(
        default="insights", description="What `report` is: an Insights report or a funnel."
    )
    series: str | None = Field(
        default=None,
        description="The series of a saved Insights report to read (needed when the report "
        "shows more than one).",
    )
    event: str | None = Field(default=None, min_length=1, description="An event name.")
    count: Literal["total", "uniques"] = Field(
        default="total",
        description="total: events per day (summed across days). uniques: distinct users, "
        "computed for each exact range, never summed.",
    )
    funnel: MixpanelFunnel | None = None
    where: MixpanelCondition | list[MixpanelCondition] | None = Field(
        default=None,
        description="Conditions on event properties, all of which must hold (for a funnel: on "
        "every step's events).",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> MixpanelQuery:
        given = [k for k in ("report", "event", "funnel") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a Mixpanel query needs exactly one of report (a saved report id), event or "
                f"funnel (found: {', '.join(given) or 'none'})"
            )
        if self.report is not None and self.where is not None:
            raise ValueError("a saved report has its own filters: remove `where` or use `event`")
        if self.series is not None and not (self.report and self.report_type == "insights"):
            raise ValueError("`series` picks a series of a saved Insights report only")
        return self

    @property
    def kind(self) -> Literal["report", "event", "funnel"]:
        return "report" if self.report else "event" if self.event else "funnel"

    @property
    def conditions(self) -> list[MixpanelCondition]:
        if self.where is None:
            return []
        return self.where if isinstance(self.where, list) else [self.where]

    @property
    def events(self) -> list[str]:
        """The event names the query reads (none for a saved report)."""
        if self.event:
            return [self.event]
        return list(dict.fromkeys(self.funnel.steps)) if self.funnel else []


class MixpanelOptions(SourceOptions):
    project_id: int | None = Field(None, ge=1, description="Mixpanel project id.")
    region: Literal["us", "eu", "in"] = Field(
        "us", description="Data residency of the project: us, eu (EU) or in (India)."
    )
    timezone: str | None = Field(
        None,
        description="The project's time zone (Project settings → Overview), e.g. "
        "America/Los_Angeles; days are counted in it. Defaults to the organisation's.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(
                    f"timezone {value!r} is not an IANA time zone name (e.g. Europe/Berlin)"
                ) from exc
        return value or None


QUERY = MixpanelQuery
OPTIONS = MixpanelOptions


def lint_query(
    query: MixpanelQuery, options: MixpanelOptions, _where: LintContext
) -> list[QueryProblem]:
    if options.project_id is None:
        return [
            QueryProblem(
                "query",
                "no Mixpanel project for this metric",
                "set `sources: {mixpanel: {project_id: ...}}` (Project settings → Overview)",
            )
        ]
    problems = []
    if query.funnel and len(set(query.funnel.steps)) != len(query.funnel.steps):
        problems.append(
            QueryProblem(
                ("query", "funnel", "steps"),
                "a funnel step is repeated",
                "list each event once (repeated steps are not supported)",
            )
        )
    return problems
