"""Salesforce metric queries in the YAML: what `okr validate` refuses without asking the org,
located by file, line and field, with the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from okr_definitions.loader import load_definitions
from sandbox.salesforce.server import CLIENT_ID, CLIENT_SECRET, SalesforceSandbox

PROJECT = """organisation:
  name: Acme Outdoor Shop
  timezone: Europe/Berlin
sources:
  salesforce: {{allowed_lag_days: 1}}
teams:
  - id: sales
    name: Sales
metrics:
  - id: won_revenue_sf
    source: salesforce
    query: {query}
objectives:
  - id: sell
    title: New customers choose us
    team: sales
    period: 2026-Q3
    key_results:
      - id: won-revenue
        title: Won revenue reaches 100k
        metric: won_revenue_sf
        target: 100000
"""


def _problems(tmp_path: Path, query: str) -> list:
    (tmp_path / "okr.yaml").write_text(PROJECT.format(query=query))
    definitions, problems = load_definitions(tmp_path)
    return [p for p in problems if p.severity == "error"]


def test_the_issue_examples_are_valid(tmp_path: Path) -> None:
    for query in (
        "{object: Opportunity, aggregate: sum, field: Amount, date_field: CloseDate, stage: won}",
        "{object: Opportunity, date_field: CloseDate, stage: won, denominator: {stage: closed}}",
        "{object: Lead, date_field: CreatedDate, filter: {field: LeadSource, in: [Web, Partner]}}",
        "{object: Lead, date_field: ConvertedDate, filter: {field: IsConverted, equals: true}}",
        "{object: Opportunity, date_field: CloseDate, record_type: Enterprise_Deal,"
        " filter: [{field: Amount, greater_than: 10000}, {field: Region__c, not_in: [APAC]},"
        " {field: NextStep, is_null: false}, {field: CloseDate, less_than: '2026-12-31'}]}",
    ):
        assert _problems(tmp_path, query) == [], query


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        (
            "{object: Opportunity, date_field: \"CloseDate' OR Name != '\"}",
            "metrics[0].query.date_field",
            "is not a Salesforce field API name",
        ),
        (
            "{object: Lead, date_field: CreatedDate, stage: won}",
            "metrics[0].query",
            "stage applies to Opportunity",
        ),
        (
            "{object: Lead, date_field: CreatedDate, filter: {field: LeadSource, in: [Web],"
            " equals: Web}}",
            "metrics[0].query.filter",
            "exactly one of",
        ),
        (
            "{object: Opportunity, aggregate: sum, date_field: CloseDate}",
            "metrics[0].query",
            "aggregate: sum needs `field`",
        ),
        (
            "{object: Opportunity, date_field: CloseDate, filter: {field: Amount,"
            " greater_than: lots}}",
            "metrics[0].query.filter.greater_than",
            "neither a number nor a date",
        ),
    ],
)
def test_bad_queries_are_located_errors(tmp_path: Path, query: str, field: str, words: str) -> None:
    problems = _problems(tmp_path, query)
    assert problems, query
    located = [p for p in problems if p.field.startswith(field) and words in p.message]
    assert located, [(p.field, p.message) for p in problems]
    assert located[0].file.name == "okr.yaml" and located[0].line == 12
    assert located[0].fix


def test_okr_validate_with_credentials_describes_the_object(tmp_path: Path) -> None:
    """`okr validate` with the connected app's credentials set: the org's describe finds the
    misspelt field, located in the YAML with the closest names as the fix."""
    (tmp_path / "okr.yaml").write_text(
        PROJECT.format(
            query="{object: Opportunity, aggregate: sum, field: Amount, date_field: ClosedDate}"
        )
    )
    org = SalesforceSandbox()
    server = org.serve()
    env = {
        **os.environ,
        "SALESFORCE_HOST": server.base_url,
        "SALESFORCE_DOMAIN": "acme.my.salesforce.com",
        "SALESFORCE_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "okr_cli.main", "validate", str(tmp_path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        server.stop()
    output = " ".join((result.stdout + result.stderr).split())  # the console wraps lines
    assert result.returncode == 1, output
    assert (
        "okr.yaml:12: error: metrics[0].query.date_field: Opportunity has no field "
        "'ClosedDate'. Fix: did you mean 'CloseDate'"
    ) in output
    # Described for the fields' check, and again for the amount's currency (Connector.currencies)
    assert server.request_counts["/services/data/v62.0/sobjects/Opportunity/describe"] == 2
    assert CLIENT_SECRET not in output
