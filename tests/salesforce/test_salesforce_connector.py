"""The Salesforce connector against the sandbox org, through simple-salesforce: both OAuth
flows, SOQL escaping, paging past 2,000 records, Bulk API 2.0 reads equal to REST ones, the
errors Salesforce sends and `okr validate`'s describe checks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from log_checks import heard

from connectors.base import MetricRequest
from connectors.errors import AuthError, QuotaExhaustedError, RetryableSourceError, SourceError
from connectors.salesforce import (
    CONNECTOR,
    Currency,
    SalesforceClient,
    daily_from_records,
    describe_objects,
    fetch_currency,
    fetch_records,
    fields_for_metrics,
    money_fields,
    validate_salesforce_metrics,
)
from connectors.salesforce.bulk import _create, _download, read_job_records
from connectors.salesforce.parse import records_from_rest_page
from connectors.salesforce.requests import (
    filter_soql,
    full_read_where,
    records_soql,
    soql_string,
)
from connectors.salesforce.settings import SalesforceSettings
from okr_definitions.sources.salesforce import SalesforceFilter, SalesforceQuery
from sandbox.base import Fault, Request, SandboxServer
from sandbox.salesforce.server import CLIENT_ID, CLIENT_SECRET, SalesforceSandbox, parse_soql

FIELDS = ["Amount", "CloseDate", "CurrencyIsoCode", "IsClosed", "IsWon", "RecordType.DeveloperName"]
WON = MetricRequest(
    "won_revenue_sf",
    SalesforceQuery.model_validate(
        {
            "object": "Opportunity",
            "aggregate": "sum",
            "field": "Amount",
            "date_field": "CloseDate",
            "stage": "won",
        }
    ),
)


@pytest.fixture(scope="module")
def big_org() -> Iterator[tuple[SalesforceSandbox, SandboxServer]]:
    """4,500 opportunities: three REST pages, several Bulk pages."""
    org = SalesforceSandbox().generate(
        date(2026, 1, 1), date(2026, 6, 30), opportunities=4500, leads=10
    )
    server = org.serve()
    yield org, server
    server.stop()


def _settings(server: SandboxServer, **overrides: object) -> SalesforceSettings:
    env = {
        "SALESFORCE_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
        "SALESFORCE_DOMAIN": "acme.my.salesforce.com",
        "SALESFORCE_HOST": server.base_url,
    }
    return SalesforceSettings.from_env(env, **overrides)


def _rows(table: pa.Table) -> list[tuple]:
    return sorted(
        (r["record_id"], r["is_deleted"], r["system_modstamp"], tuple(r["fields"].items()))
        for r in table.to_pylist()
    )


# -- SOQL -------------------------------------------------------------------------------------


def test_rest_values_keep_salesforces_text_whatever_their_json_type() -> None:
    # Each field's column is converted whole when it holds one JSON type: text as sent,
    # true/false, numbers as Python writes them, nulls as NULL; a mixed column value by value.
    def record(n: int, amount: object, won: object, mixed: object) -> dict:
        stamp = f"2026-03-0{n}T09:30:00.000+0000"
        return {
            "Id": f"006{n}",
            "IsDeleted": False,
            "SystemModstamp": stamp,
            "Amount": amount,
            "IsWon": won,
            "Name": f"Deal {n}",
            "Mixed": mixed,
            "Empty": None,
        }

    pages = [
        ([record(1, 1200.5, True, "x"), record(2, None, False, 3)], "h1"),
        ([record(3, 7, None, True)], "h2"),
    ]
    fields = ["Amount", "IsWon", "Name", "Mixed", "Empty"]
    fetched_at = datetime(2026, 3, 4, tzinfo=UTC)
    read = pa.concat_tables(
        [records_from_rest_page("Opportunity", r, h, fields, fetched_at) for r, h in pages]
    )
    assert read["fields"].to_pylist() == [
        {"Amount": "1200.5", "IsWon": "true", "Name": "Deal 1", "Mixed": "x", "Empty": None},
        {"Amount": None, "IsWon": "false", "Name": "Deal 2", "Mixed": "3", "Empty": None},
        {"Amount": "7", "IsWon": None, "Name": "Deal 3", "Mixed": "true", "Empty": None},
    ]
    assert read["request_hash"].to_pylist() == ["h1", "h1", "h2"]


def test_literals_are_escaped_and_the_org_reads_them_back() -> None:
    nasty = "O'Brien \\ \"quoted\"\nnext' OR Name != '"
    literal = soql_string(nasty)
    assert literal == "'O\\'Brien \\\\ \\\"quoted\\\"\\nnext\\' OR Name != \\''"
    # The sandbox's SOQL parser (Salesforce's escapes) reads one string, the same one.
    query = parse_soql(f"SELECT Id FROM Lead WHERE LastName = {literal}")
    assert query.where is not None
    assert query.where({"LastName": nasty}) and not query.where({"LastName": "O"})
    condition = filter_soql(
        SalesforceFilter.model_validate({"field": "LeadSource", "in": ["Web", "it's"]})
    )
    assert condition == "LeadSource IN ('Web', 'it\\'s')"


def test_a_date_bound_on_a_datetime_field_becomes_a_utc_datetime() -> None:
    f = SalesforceFilter.model_validate({"field": "CreatedDate", "greater_than": "2026-01-01"})
    assert filter_soql(f, "datetime") == "CreatedDate > 2026-01-01T00:00:00Z"
    assert filter_soql(f, "date") == "CreatedDate > 2026-01-01"


def test_a_full_read_takes_the_records_any_metric_could_count() -> None:
    rate = MetricRequest(
        "win_rate",
        {
            "object": "Opportunity",
            "date_field": "CloseDate",
            "stage": "won",
            "denominator": {"stage": "closed"},
        },
    )
    where = full_read_where([WON, rate], "Opportunity")
    assert where == "(IsWon = true) OR (IsClosed = true)"
    assert records_soql("Opportunity", ["Amount"], where=where) == (
        "SELECT Id, IsDeleted, SystemModstamp, Amount FROM Opportunity "
        "WHERE (IsWon = true) OR (IsClosed = true)"
    )


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id FROM Opportunity LIMIT 5",
        "SELECT Id FROM Opportunity WHERE Name LIKE 'A%'",
        "SELECT Id FROM Opportunity ORDER BY Id",
        "SELECT Id FROM Opportunity WHERE Name = 'unterminated",
    ],
)
def test_the_sandbox_refuses_soql_outside_the_subset(big_org, soql: str) -> None:
    _, server = big_org
    client = SalesforceClient(_settings(server))
    with pytest.raises(SourceError, match="MALFORMED_QUERY"):
        list(client.query_pages(soql))


# -- auth -------------------------------------------------------------------------------------


def test_a_wrong_client_secret_fails_cleanly_without_the_secret(big_org) -> None:
    _, server = big_org
    wrong = "canary-wrong-secret-5b1f"
    env = {
        "SALESFORCE_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_CLIENT_SECRET": wrong,
        "SALESFORCE_DOMAIN": "acme.my",
        "SALESFORCE_HOST": server.base_url,
    }
    before = server.total_requests
    with pytest.raises(AuthError) as caught:
        SalesforceClient(SalesforceSettings.from_env(env)).limits()
    message = str(caught.value)
    assert "invalid_client: invalid client credentials" in message
    assert "SALESFORCE_CLIENT_SECRET" in message and wrong not in message
    assert server.total_requests - before == 1  # a refusal is not retried


def test_the_client_credentials_flow_needs_my_domain() -> None:
    with pytest.raises(ValueError, match="My Domain"):
        SalesforceSettings.from_env(
            {
                "SALESFORCE_CLIENT_ID": CLIENT_ID,
                "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
                "SALESFORCE_DOMAIN": "login.salesforce.com",
            }
        )


def test_the_jwt_bearer_flow_signs_with_the_private_key(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "app.key"
    key_file.write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    org = SalesforceSandbox(jwt_public_key=public)
    org.insert("Opportunity", StageName="Closed Won", Amount=10.0, CloseDate=date(2026, 1, 2))
    server = org.serve()
    try:
        env = {
            "SALESFORCE_CLIENT_ID": CLIENT_ID,
            "SALESFORCE_USERNAME": org.username,
            "SALESFORCE_PRIVATE_KEY_PATH": str(key_file),
            "SALESFORCE_HOST": server.base_url,
        }
        settings = SalesforceSettings.from_env(env)
        assert settings.flow == "jwt_bearer" and settings.domain == "login"
        read = fetch_records(SalesforceClient(settings), "Opportunity", ["Amount"], [WON])
        assert read.records.num_rows == 1 and org.tokens_issued == 1
        # Another user: Salesforce's answer, and nothing of the key in the message.
        with pytest.raises(AuthError) as caught:
            other = SalesforceSettings.from_env({**env, "SALESFORCE_USERNAME": "someone@else"})
            SalesforceClient(other).limits()
        assert "user hasn't approved this consumer" in str(caught.value)
        body = [line for line in pem.decode().splitlines() if not line.startswith("-----")]
        assert not any(line in str(caught.value) for line in body)
    finally:
        server.stop()


# -- reading ----------------------------------------------------------------------------------


def test_more_than_2000_records_come_in_pages_and_bulk_reads_the_same_rows(big_org) -> None:
    org, server = big_org
    rest_client = SalesforceClient(_settings(server))
    server.reset_counts()
    rest = fetch_records(rest_client, "Opportunity", FIELDS, [WON])
    total = len(org.records["Opportunity"])
    assert rest.how == "REST" and rest.records.num_rows == total == 4500
    # A full read: SELECT COUNT() (4,500, under the threshold), then the query and 2 more pages.
    assert server.request_counts["/services/data/v62.0/queryAll/"] == 2
    assert sum(n for p, n in server.request_counts.items() if "/query/" in p) == 2
    # Deleted opportunities came back through queryAll, flagged.
    deleted = {i for i, r in org.records["Opportunity"].items() if r["IsDeleted"]}
    assert (
        deleted
        and set(rest.records.filter(rest.records["is_deleted"])["record_id"].to_pylist()) == deleted
    )

    bulk_client = SalesforceClient(
        _settings(server, bulk_threshold=1000, bulk_page_records=2000, bulk_poll_s=0.01)
    )
    server.reset_counts()
    bulk = fetch_records(bulk_client, "Opportunity", FIELDS, [WON])
    assert bulk.how == "Bulk API 2.0"
    assert sum(n for p, n in server.request_counts.items() if p.endswith("/results")) == 3
    # Only the COUNT() went to queryAll: no REST page was read to learn the size.
    assert server.request_counts["/services/data/v62.0/queryAll/"] == 1
    assert not any(p.startswith("/services/data/v62.0/query/") for p in server.request_counts)
    assert _rows(bulk.records) == _rows(rest.records)
    assert {name for r in rest.records["fields"].to_pylist() for name in r} == set(FIELDS)
    assert bulk.cursor == rest.cursor


def test_bulk_results_are_read_with_the_api_version_the_job_was_created_with(big_org) -> None:
    """Salesforce answers 409 to a job's results asked under another API version than the
    one that created the job: a job created under v58.0 is read under v58.0 by a client set
    to the default v62.0, and the sandbox refuses the same request under v62.0."""
    org, server = big_org
    creator = SalesforceClient(_settings(server, api_version="58.0"))
    soql = records_soql("Opportunity", ["Amount"])
    job = creator.call(
        "bulk job",
        lambda sf: sf.restful(
            "jobs/query",
            method="POST",
            json={"operation": "queryAll", "query": soql, "contentType": "CSV"},
        ),
    )
    assert job["apiVersion"] == 58.0
    reader = SalesforceClient(_settings(server, bulk_page_records=2000, bulk_poll_s=0.01))
    assert reader.settings.api_version == "62.0"
    server.reset_counts()
    read = read_job_records(reader, job["id"], "Opportunity", ["Amount"], datetime.now(UTC))
    assert read.num_rows == len(org.records["Opportunity"]) == 4500
    results = f"/jobs/query/{job['id']}/results"
    assert server.request_counts[f"/services/data/v58.0{results}"] == 3
    assert not any(
        p.startswith("/services/data/v62.0") for p in server.request_counts if results in p
    )
    # The check bites: the same results under the client's own version are refused.
    refused = httpx.get(
        f"{server.base_url}/services/data/v62.0{results}",
        headers={"Authorization": f"Bearer {org.issued_tokens[-1]}"},
    )
    assert refused.status_code == 409
    assert refused.json()[0]["errorCode"] == "INVALIDJOB"
    assert "API version 58.0" in refused.json()[0]["message"]


def test_a_409_from_the_bulk_results_fails_at_once_with_salesforces_reason(
    big_org, tmp_path: Path
) -> None:
    """A 409 Conflict (here the results of a v58.0 job asked under v62.0) says the request is
    wrong, not that Salesforce is busy: asked once, not retried, Salesforce's reason quoted."""
    org, server = big_org
    creator = SalesforceClient(_settings(server, api_version="58.0"))
    soql = records_soql("Opportunity", ["Amount"])
    job = creator.call("bulk job", lambda sf: _create(sf, soql))
    client = SalesforceClient(_settings(server, bulk_poll_s=0.01))
    results = f"/services/data/v62.0/jobs/query/{job['id']}/results"
    server.reset_counts()
    with pytest.raises(SourceError) as refused:
        client.call(
            "bulk results",
            lambda sf: _download(sf, f"https://{sf.sf_instance}{results}", {}, tmp_path / "p.csv"),
        )
    assert not isinstance(refused.value, RetryableSourceError)
    assert server.request_counts[results] == 1
    assert str(refused.value) == (
        f"salesforce: bulk results: HTTP 409 INVALIDJOB: Job {job['id']} was created in API "
        "version 58.0; get its results with that version"
    )


def test_an_org_without_bulk_api_is_read_through_rest(big_org) -> None:
    org, server = big_org
    org.bulk_enabled = False
    try:
        client = SalesforceClient(_settings(server, bulk_threshold=1000, bulk_poll_s=0.01))
        read = fetch_records(client, "Opportunity", ["Amount"], [WON])
    finally:
        org.bulk_enabled = True
    assert read.how == "REST" and read.records.num_rows == 4500


def test_an_expired_session_mid_paging_gets_one_new_token_and_continues(big_org) -> None:
    org, server = big_org
    client = SalesforceClient(_settings(server))
    tokens = org.tokens_issued
    expired = b'[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]'
    # The second page's request meets an expired session.
    server.inject(Fault("status", status=401, body=expired, path_contains="/query/"))
    read = fetch_records(client, "Opportunity", ["Amount"], [WON])
    assert server.pending_faults == 0
    assert read.records.num_rows == 4500
    assert org.tokens_issued - tokens == 2  # the first login and one new token


def test_the_rest_read_asks_its_pages_as_a_plain_loop_and_keeps_their_order(big_org) -> None:
    """Each page is turned into columns while the next is asked for: the requests are still a
    plain loop's (the COUNT(), the query, each nextRecordsUrl once, in order) and the records
    come in the pages' order, each with its own page's request hash."""
    org, server = big_org
    start = len(org.recorder.received)
    read = fetch_records(SalesforceClient(_settings(server)), "Opportunity", ["Amount"], [WON])
    sent = [r.path.rstrip("/").rsplit("/", 1)[-1] for r in org.recorder.received[start:]]
    assert read.how == "REST"
    # COUNT() and the query go to queryAll; the pages' locators end in -2000, -4000
    assert sent[0] == "token" and sent[1:3] == ["queryAll", "queryAll"]
    assert [p.rsplit("-", 1)[-1] for p in sent[3:]] == ["2000", "4000"]
    soql = records_soql("Opportunity", ["Amount"])
    plain = list(SalesforceClient(_settings(server)).query_pages(soql))
    assert len(plain) == 3
    assert read.records["record_id"].to_pylist() == [r["Id"] for p in plain for r in p.records]
    # each page's own request (a new query's locators differ, so its first page's hash only)
    hashes = read.records["request_hash"].to_pylist()
    firsts = [hashes[0], hashes[2000], hashes[4000]]
    assert hashes == [firsts[0]] * 2000 + [firsts[1]] * 2000 + [firsts[2]] * 500
    assert firsts[0] == plain[0].request_hash and len(set(firsts)) == 3


def _later_result_page(request: Request) -> bool:
    return request.path.endswith("/results") and bool(request.query.get("locator"))


def test_a_session_expiring_between_bulk_result_pages_logs_in_again(
    big_org, caplog: pytest.LogCaptureFixture
) -> None:
    """The session times out after the first result page: the second page's 401 logs in once
    more and asks that page again, and the read holds every record once; no token is logged.
    A session refused on every page fails the read without the token in the error."""
    org, server = big_org
    # Every logger at DEBUG as a user would set it: the loggers' own levels are left alone, so
    # one muted by an earlier test or library in this process fails `heard` below.
    caplog.set_level(logging.DEBUG)
    client = SalesforceClient(
        _settings(server, bulk_threshold=1000, bulk_page_records=2000, bulk_poll_s=0.01)
    )
    tokens, start = org.tokens_issued, len(org.recorder.received)
    org.expire_sessions_at(_later_result_page)
    read = fetch_records(client, "Opportunity", ["Amount"], [WON])
    assert read.how == "Bulk API 2.0"
    ids = read.records["record_id"].to_pylist()
    assert len(ids) == len(set(ids)) == 4500 and set(ids) == set(org.records["Opportunity"])
    assert org.tokens_issued - tokens == 2  # the first login and one new token
    pages = [
        (r.query.get("locator", [""])[0], r.headers["authorization"])
        for r in org.recorder.received[start:]
        if r.path.endswith("/results")
    ]
    first, second = org.issued_tokens[-2:]
    # page 2 asked with the expired token, then again with the new one; page 3 with the new
    assert pages == [
        ("", f"Bearer {first}"),
        ("2000", f"Bearer {first}"),
        ("2000", f"Bearer {second}"),
        ("4000", f"Bearer {second}"),
    ]

    # A new token refused too: one more login, the page asked twice, then the source fails.
    expired = b'[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]'
    server.inject(Fault("status", status=401, body=expired, path_contains="/results", times=99))
    tokens = org.tokens_issued
    server.reset_counts()
    try:
        with pytest.raises(AuthError) as refused:
            fetch_records(client, "Opportunity", ["Amount"], [WON])
    finally:
        server.clear_faults()
    assert "bulk results: HTTP 401 INVALID_SESSION_ID" in str(refused.value)
    assert org.tokens_issued - tokens == 1
    assert sum(n for p, n in server.request_counts.items() if p.endswith("/results")) == 2
    # urllib3's request lines for the logins and result pages are in what is searched
    heard(caplog, "urllib3", "/services/oauth2/token", "/results?maxRecords=2000&locator=2000")
    assert org.issued_tokens
    for token in org.issued_tokens:
        assert token not in str(refused.value) and token not in caplog.text


def test_no_request_carries_x_prettyprint_which_the_org_would_indent_for(big_org) -> None:
    """simple-salesforce asks for indented JSON (X-PrettyPrint: 1) on every call; the client
    does not, logins renewed mid-read included. The sandbox answers as Salesforce does: the
    same JSON, indented when asked."""
    org, server = big_org
    client = SalesforceClient(_settings(server, bulk_threshold=1000, bulk_poll_s=0.01))
    start = len(org.recorder.received)
    org.expire_sessions_at(lambda request: "/query/" in request.path)  # a new login mid-read
    rest = fetch_records(SalesforceClient(_settings(server)), "Opportunity", ["Amount"], [WON])
    bulk = fetch_records(client, "Opportunity", ["Amount"], [WON])
    describe_objects(client, ["Opportunity"])
    assert rest.how == "REST" and bulk.how == "Bulk API 2.0"
    sent = org.recorder.received[start:]
    segments = {part for r in sent for part in r.path.split("/")}
    assert segments >= {"token", "queryAll", "query", "jobs", "results", "describe"}
    assert [r.path for r in sent if "x-prettyprint" in r.headers] == []

    url = f"{server.base_url}/services/data/v62.0/sobjects/Opportunity/describe"
    auth = {"Authorization": f"Bearer {org.issued_tokens[-1]}"}
    plain = httpx.get(url, headers=auth)
    pretty = httpx.get(url, headers={**auth, "X-PrettyPrint": "1"})
    assert plain.json() == pretty.json()
    assert b"\n" not in plain.content
    assert pretty.content.startswith(b'{\n  "name" : "Opportunity",\n')
    assert len(pretty.content) > len(plain.content)


def test_the_daily_api_limit_fails_at_once_with_a_plain_message(big_org) -> None:
    org, server = big_org
    client = SalesforceClient(_settings(server))
    saved = org.daily_api_limit
    org.daily_api_limit = org.api_used
    before = server.total_requests
    try:
        with pytest.raises(QuotaExhaustedError) as caught:
            fetch_records(client, "Opportunity", ["Amount"], [WON])
    finally:
        org.daily_api_limit = saved
    assert "the org's daily API limit is used up (TotalRequests Limit exceeded.)" in str(
        caught.value
    )
    assert server.total_requests - before == 2  # the login and one refused query: no retry


def test_a_refused_field_names_the_metric_and_the_field(big_org) -> None:
    _, server = big_org
    metric = MetricRequest(
        "deals_by_region",
        {
            "object": "Opportunity",
            "date_field": "CloseDate",
            "filter": {"field": "Regoin__c", "equals": "EMEA"},
        },
    )
    with pytest.raises(SourceError) as caught:
        fetch_records(
            SalesforceClient(_settings(server)),
            "Opportunity",
            ["CloseDate", "Regoin__c"],
            [WON, metric],
        )
    message = str(caught.value)
    assert "deals_by_region" in message and "Regoin__c" in message and "INVALID_FIELD" in message
    assert "won_revenue_sf" not in message


def test_validate_describes_the_objects_and_checks_field_types(big_org) -> None:
    _, server = big_org
    metrics = [
        WON,
        MetricRequest("by_amount", {"object": "Opportunity", "date_field": "Amount"}),
        MetricRequest(
            "sum_of_names",
            {
                "object": "Opportunity",
                "aggregate": "sum",
                "field": "Name",
                "date_field": "CloseDate",
            },
        ),
        MetricRequest("typo", {"object": "Lead", "date_field": "ConvertdDate"}),
        MetricRequest("no_object", {"object": "Invoice__c", "date_field": "CreatedDate"}),
    ]
    problems = {
        (p.metric_id, p.field): p.message + " | " + p.fix
        for p in validate_salesforce_metrics(_settings(server), metrics)
    }
    assert set(problems) == {
        ("by_amount", "query.date_field"),
        ("sum_of_names", "query.field"),
        ("typo", "query.date_field"),
        ("no_object", "query.object"),
    }
    assert "currency field, not a date or datetime" in problems["by_amount", "query.date_field"]
    assert "'ConvertedDate'" in problems["typo", "query.date_field"]  # did you mean


def test_the_incremental_read_overlaps_the_cursor(big_org) -> None:
    org, server = big_org
    client = SalesforceClient(_settings(server))
    first = fetch_records(client, "Opportunity", ["Amount"], [WON])
    changed = next(iter(org.records["Opportunity"]))
    org.update("Opportunity", changed, Amount=123.0)
    since = first.cursor - timedelta(minutes=5)
    later = fetch_records(client, "Opportunity", ["Amount"], [WON], since=since)
    # The change, and whatever else was stamped within the overlap before the cursor.
    assert changed in later.records["record_id"].to_pylist()
    assert 1 <= later.records.num_rows < 50
    assert min(later.records["system_modstamp"].to_pylist()) >= since
    assert later.cursor > first.cursor
    assert later.cursor <= datetime.now(UTC)


def test_a_large_incremental_read_goes_to_bulk_after_its_first_page(big_org) -> None:
    """An incremental read asks no COUNT(): its first REST page tells the size, and above the
    threshold the read is a Bulk job (the same records as REST reads)."""
    org, server = big_org
    since = datetime(2000, 1, 1, tzinfo=UTC)  # every record changed since
    client = SalesforceClient(_settings(server, bulk_threshold=1000, bulk_poll_s=0.01))
    server.reset_counts()
    bulk = fetch_records(client, "Opportunity", ["Amount"], [WON], since=since)
    assert bulk.how == "Bulk API 2.0"
    assert server.request_counts["/services/data/v62.0/queryAll/"] == 1  # the first page
    assert not any(p.startswith("/services/data/v62.0/query/") for p in server.request_counts)
    rest = fetch_records(
        SalesforceClient(_settings(server)), "Opportunity", ["Amount"], [WON], since=since
    )
    assert rest.how == "REST" and _rows(bulk.records) == _rows(rest.records)
    assert bulk.records.num_rows == len(org.records["Opportunity"])


def test_pages_short_of_the_announced_total_are_read_again(big_org) -> None:
    _, server = big_org
    client = SalesforceClient(_settings(server))

    def drop_one(_request: object, page: dict) -> dict:
        return {**page, "records": page["records"][:-1]}

    server.inject(Fault("rewrite", path_contains="/query/", rewrite=drop_one))
    read = fetch_records(client, "Opportunity", ["Amount"], [WON])
    assert server.pending_faults == 0 and read.records.num_rows == 4500
    # Twice in a row: the read fails, saying why.
    # (the page after the first 2,000 records, in both reads)
    server.inject(Fault("rewrite", path_contains="-2000", rewrite=drop_one, times=2))
    with pytest.raises(RetryableSourceError) as caught:
        fetch_records(client, "Opportunity", ["Amount"], [WON])
    assert "returned 4499 records where Salesforce announced 4500" in str(caught.value)
    assert "gave up after 2 attempts" in str(caught.value)


def test_a_single_currency_org_sums_amounts_as_they_are() -> None:
    org = SalesforceSandbox(multi_currency=False)
    for amount, day in ((100.0, 1), (250.5, 1), (40.0, 2)):
        org.insert(
            "Opportunity", StageName="Closed Won", Amount=amount, CloseDate=date(2026, 3, day)
        )
    org.insert("Opportunity", StageName="Closed Lost", Amount=999.0, CloseDate=date(2026, 3, 1))
    server = org.serve()
    try:
        client = SalesforceClient(_settings(server))
        schemas = describe_objects(client, ["Opportunity"])
        assert not schemas["Opportunity"].multi_currency
        fields = fields_for_metrics([WON], {"Opportunity": False})["Opportunity"]
        assert "CurrencyIsoCode" not in fields  # the org has no such field: never asked for
        read = fetch_records(client, "Opportunity", fields, [WON])
        currency = fetch_currency(client, multi_currency=False)
        assert currency == Currency("EUR")
        daily, flags = daily_from_records(
            read.records,
            [WON],
            date(2026, 3, 1),
            date(2026, 3, 2),
            time_zone="Europe/Berlin",
            currency=currency,
            money_fields=money_fields([WON], schemas),
        )
    finally:
        server.stop()
    assert daily["value"].to_pylist() == [350.5, 40.0]
    assert flags.num_rows == 0  # one currency: nothing to convert
    assert daily["currency"].to_pylist() == ["EUR", "EUR"]


def test_validate_learns_the_corporate_currency_of_money_metrics(big_org) -> None:
    _, server = big_org
    count = MetricRequest("deals", {"object": "Opportunity", "date_field": "CloseDate"})
    amount = MetricRequest(
        "probability_sum",
        {
            "object": "Opportunity",
            "aggregate": "sum",
            "field": "Probability",
            "date_field": "CloseDate",
        },
    )
    currencies = CONNECTOR.currencies(_settings(server), [WON, count, amount])
    # Amount is a currency field (EUR, the org's corporate currency); Probability is a percent.
    assert currencies == {"won_revenue_sf": "EUR"}
