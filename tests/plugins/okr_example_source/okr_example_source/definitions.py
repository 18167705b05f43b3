"""What a metric of the example source asks for: a constant number of events per day."""

from pydantic import Field

from okr_definitions.sources.base import LintContext, QueryProblem, SourceOptions
from okr_definitions.strict import StrictModel


class ExampleQuery(StrictModel):
    per_day: float = Field(description="Events counted every day.")


class ExampleOptions(SourceOptions):
    pass


QUERY = ExampleQuery
OPTIONS = ExampleOptions


def lint_query(query: ExampleQuery, _options: ExampleOptions, _where: LintContext):
    if query.per_day < 0:
        return [QueryProblem(("query", "per_day"), "per_day is negative", "count events, >= 0")]
    return []
