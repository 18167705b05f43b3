"""A Salesforce org on 127.0.0.1: OAuth, REST query/queryAll, describe, limits and Bulk API 2.0
query jobs in Salesforce's wire format.

The real `simple-salesforce` talks to it (the connector sends every request here when
SALESFORCE_HOST is set). It serves:

- `POST /services/oauth2/token` — the client-credentials flow (Basic auth or form fields) and
  the JWT bearer flow (RS256 assertion checked with the connected app's certificate key);
  OAuth's error objects `{error, error_description}` for a wrong client id, secret or
  assertion. The answer carries `access_token`, `instance_url`, `id`, `token_type`,
  `issued_at`, `signature`, `scope`.
- `GET /services/data/vNN.N/query?q=` and `/queryAll?q=` — a SOQL subset (below) with
  `nextRecordsUrl` paging (`/services/data/vNN.N/query/01g…-2000`) at 2,000 records a page
  (`Sforce-Query-Options: batchSize=` lowers it), `totalSize` on every page; query leaves out
  deleted records, queryAll keeps them with `IsDeleted: true`.
- `GET …/sobjects/{Object}/describe`, `GET …/limits`.
- `POST …/jobs/query`, `GET …/jobs/query/{id}`, `GET …/jobs/query/{id}/results?maxRecords=&
  locator=` — Bulk API 2.0 query jobs: UploadComplete → InProgress → JobComplete over polls,
  CSV result pages with `Sforce-Locator` (the string `null` on the last) and
  `Sforce-NumberOfRecords`; results asked with another API version than the job's get 409
  (Salesforce documents the 409, not its errorCode: INVALIDJOB here);
  `bulk_enabled = False` answers job creation like an org without the Bulk API.
- Errors as Salesforce sends them, a JSON list of `{message, errorCode}`: 401
  INVALID_SESSION_ID (unknown or expired token), 403 REQUEST_LIMIT_EXCEEDED once
  `daily_api_limit` requests are spent, 400 MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE.
  Every REST answer carries `Sforce-Limit-Info: api-usage=<used>/<max>`.
- JSON indented (`"key" : value`, two spaces) when the request says `X-PrettyPrint: 1`, as
  Salesforce does; on one line otherwise. `recorder` keeps every request received, headers too;
  `expire_sessions_at` expires the tokens at a chosen request (a session timeout mid-read).

The SOQL subset is what the connector sends: `SELECT <fields> | COUNT() FROM <Object>
[WHERE <condition>]` with AND / OR / NOT / parentheses, `= != < > <= >=`, `IN` / `NOT IN`,
quoted strings with SOQL's escapes, numbers, true/false/null, date and UTC datetime literals,
and the one relationship field `RecordType.DeveloperName`. Literals are checked against the
field's type as Salesforce does (a quoted date is INVALID_FIELD). Anything else is
MALFORMED_QUERY, so a connector bug cannot pass silently.

Data: a store of records per object that tests edit (`insert`, `update`, `delete`,
`undelete`, each stamping SystemModstamp), and :meth:`SalesforceSandbox.generate`, a
deterministic demo org: opportunities that move through a standard and a custom sales process
("Signed" is won, "Churned" lost), amounts in EUR (corporate) and USD, later amount and
close-date corrections, deletions and undeletions; leads from several sources, some
converted.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import itertools
import json
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import jwt

from sandbox.base import Request, RequestRecorder, Response, SandboxServer

CLIENT_ID = "3MVG9sandbox.okr.sync.connected.app"
CLIENT_SECRET = "sandbox-consumer-secret-0d1e"
USERNAME = "integration@okr-sync.example"
ORG_ID = "00D5e000000OKRsAAG"
PAGE_SIZE = 2000
DAILY_API_MAX = 15000
SUPPORTED_VERSIONS = re.compile(r"^v(\d{2})\.0$")

# Stage → (IsClosed, IsWon), as the org's OpportunityStage settings say. Two sales processes:
# the standard one and a custom "Subscription" one whose won/lost stages have other names.
STAGES = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Proposal/Price Quote": (False, False),
    "Negotiation/Review": (False, False),
    "Closed Won": (True, True),
    "Closed Lost": (True, False),
    "Trial": (False, False),
    "Signed": (True, True),
    "Churned": (True, False),
}
RECORD_TYPES = {"012000000000001AAA": "Standard", "012000000000002AAA": "Subscription"}
CURRENCIES = {"EUR": 1.0, "USD": 1.1}  # units per corporate unit (EUR)

# describe types of each object's fields (those the sandbox serves).
SCHEMA: dict[str, dict[str, str]] = {
    "Opportunity": {
        "Id": "id",
        "IsDeleted": "boolean",
        "SystemModstamp": "datetime",
        "Name": "string",
        "StageName": "picklist",
        "IsWon": "boolean",
        "IsClosed": "boolean",
        "Amount": "currency",
        "CurrencyIsoCode": "picklist",
        "Probability": "percent",
        "CloseDate": "date",
        "CreatedDate": "datetime",
        "LastModifiedDate": "datetime",
        "RecordTypeId": "reference",
        "LeadSource": "picklist",
        "Type": "picklist",
        "Region__c": "picklist",
    },
    "Lead": {
        "Id": "id",
        "IsDeleted": "boolean",
        "SystemModstamp": "datetime",
        "LastName": "string",
        "Company": "string",
        "Status": "picklist",
        "LeadSource": "picklist",
        "IsConverted": "boolean",
        "ConvertedDate": "date",
        "CreatedDate": "datetime",
        "LastModifiedDate": "datetime",
        "NumberOfEmployees": "int",
        "CurrencyIsoCode": "picklist",
    },
    "CurrencyType": {
        "Id": "id",
        "IsoCode": "picklist",
        "ConversionRate": "double",
        "IsCorporate": "boolean",
        "IsActive": "boolean",
    },
    "Organization": {"Id": "id", "DefaultCurrencyIsoCode": "picklist", "TimeZoneSidKey": "string"},
}
_ID_PREFIX = {"Opportunity": "006", "Lead": "00Q", "CurrencyType": "01L", "Organization": "00D"}


def sf_datetime(moment: datetime) -> str:
    """Salesforce's datetime text: 2024-03-01T09:30:00.000+0000."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def error(status: int, code: str, message: str, **headers: str) -> Response:
    return Response.json([{"message": message, "errorCode": code}], status, headers)


def oauth_error(code: str, description: str, status: int = 400) -> Response:
    return Response.json({"error": code, "error_description": description}, status)


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- SOQL subset ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
    )""",
    re.VERBOSE,
)
# SOQL's escapes ("Quoted String Escape Sequences"): either case of n r t b f; \uXXXX too.
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_UNESCAPE |= {k.upper(): v for k, v in _UNESCAPE.items() if k.isalpha()}
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "TRUE", "FALSE", "NULL"}


@dataclass
class Tok:
    kind: str
    text: str
    value: Any = None


def tokenize(soql: str) -> list[Tok]:
    tokens, pos = [], 0
    soql = soql.rstrip()
    while pos < len(soql):
        m = _TOKEN.match(soql, pos)
        if not m or m.end() == pos:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {soql[pos:].split()[0]!r}")
        kind = m.lastgroup or ""
        text = m.group(kind)
        value: Any = text
        if kind == "string":
            body = text[1:-1]
            out, i = [], 0
            while i < len(body):
                if body[i] == "\\" and body[i + 1 : i + 2] == "u":
                    out.append(chr(int(body[i + 2 : i + 6], 16)))
                    i += 6
                elif body[i] == "\\":
                    nxt = body[i + 1]
                    if nxt not in _UNESCAPE:
                        raise SoqlError("MALFORMED_QUERY", f"Invalid string literal '{text}'")
                    out.append(_UNESCAPE[nxt])
                    i += 2
                else:
                    out.append(body[i])
                    i += 1
            value = "".join(out)
        elif kind == "datetime":
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        elif kind == "date":
            value = date.fromisoformat(text)
        elif kind == "number":
            value = float(text)
        elif kind == "word" and text.upper() in _KEYWORDS:
            kind, value = "kw", text.upper()
        tokens.append(Tok(kind, text, value))
        pos = m.end()
    return tokens


@dataclass
class Query:
    object: str
    fields: list[str]  # empty for COUNT()
    where: Callable[[dict[str, Any]], bool] | None


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0

    def peek(self) -> Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.i += 1
        return tok

    def expect(self, kind: str, value: str | None = None) -> Tok:
        tok = self.take()
        if tok.kind != kind or (value is not None and tok.value != value):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {tok.text}")
        return tok

    def parse(self) -> Query:
        self.expect("kw", "SELECT")
        fields: list[str] = []
        tok = self.peek()
        if tok and tok.kind == "word" and tok.text.upper() == "COUNT":
            self.take()
            self.expect("punct", "(")
            self.expect("punct", ")")
        else:
            fields.append(self.expect("word").text)
            while self.peek() and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                fields.append(self.expect("word").text)
        self.expect("kw", "FROM")
        obj = self.expect("word").text
        if obj not in SCHEMA:
            raise SoqlError(
                "INVALID_TYPE",
                f"\nSELECT {', '.join(fields)} FROM {obj}\n^\nsObject type '{obj}' is not "
                "supported. If you are attempting to use a custom object, be sure to append "
                "the '__c' after the entity name.",
            )
        self.object = obj
        for name in fields:
            self.check_field(name)
        where = None
        if self.peek() is not None:
            self.expect("kw", "WHERE")
            where = self.disjunction()
        if self.peek() is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {self.peek().text}")  # type: ignore[union-attr]
        return Query(obj, fields, where)

    def check_field(self, name: str) -> str:
        known = SCHEMA[self.object]
        if name == "RecordType.DeveloperName" and "RecordTypeId" in known:
            return "string"
        if name not in known:
            raise SoqlError(
                "INVALID_FIELD",
                f"\nNo such column '{name}' on entity '{self.object}'. If you are attempting "
                "to use a custom field, be sure to append the '__c' after the custom field "
                "name. Please reference your WSDL or the describe call for the appropriate "
                "names.",
            )
        return known[name]

    def disjunction(self) -> Callable[[dict[str, Any]], bool]:
        parts = [self.conjunction()]
        while self.peek() and self.peek().value == "OR":  # type: ignore[union-attr]
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self) -> Callable[[dict[str, Any]], bool]:
        parts = [self.factor()]
        while self.peek() and self.peek().value == "AND":  # type: ignore[union-attr]
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def factor(self) -> Callable[[dict[str, Any]], bool]:
        tok = self.peek()
        if tok and tok.value == "NOT":
            self.take()
            inner = self.factor()
            return lambda r: not inner(r)
        if tok and tok.text == "(":
            self.take()
            inner = self.disjunction()
            self.expect("punct", ")")
            return inner
        name = self.expect("word").text
        ftype = self.check_field(name)
        nxt = self.take()
        if nxt.value == "NOT" or nxt.value == "IN":
            negate = nxt.value == "NOT"
            if negate:
                self.expect("kw", "IN")
            self.expect("punct", "(")
            values = [self.literal(name, ftype)]
            while self.peek() and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                values.append(self.literal(name, ftype))
            self.expect("punct", ")")
            return lambda r: any(_compare(r.get(name), "=", v) for v in values) != negate
        if nxt.kind != "op":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {nxt.text}")
        value = self.literal(name, ftype)
        op = nxt.text
        return lambda r: _compare(r.get(name), op, value)

    def literal(self, name: str, ftype: str) -> Any:
        tok = self.take()
        if tok.kind == "kw" and tok.value == "NULL":
            return None
        wanted = {
            "date": "date",
            "datetime": "datetime",
            "boolean": "kw",
            "currency": "number",
            "double": "number",
            "percent": "number",
            "int": "number",
        }.get(ftype, "string")
        if tok.kind not in ("string", "datetime", "date", "number", "kw") or (
            tok.kind == "kw" and tok.value not in ("TRUE", "FALSE")
        ):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {tok.text}")
        if tok.kind != wanted:
            described = {"kw": "boolean", "string": "string"}.get(wanted, wanted)
            raise SoqlError(
                "INVALID_FIELD",
                f"\nvalue of filter criterion for field '{name}' must be of type {described}"
                + (" and should not be enclosed in quotes" if tok.kind == "string" else ""),
            )
        return tok.value == "TRUE" if tok.kind == "kw" else tok.value


def _compare(actual: Any, op: str, value: Any) -> bool:
    """SOQL comparison: text without regard to case; null equals only null."""
    if isinstance(actual, str) and isinstance(value, str):
        actual, value = actual.lower(), value.lower()
    if isinstance(value, datetime) and isinstance(actual, str):
        actual = datetime.fromisoformat(actual.replace("+0000", "+00:00"))
    if isinstance(value, date) and not isinstance(value, datetime) and isinstance(actual, str):
        actual = date.fromisoformat(actual)
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    if actual is None or value is None:
        return False
    return {"<": actual < value, ">": actual > value, "<=": actual <= value, ">=": actual >= value}[
        op
    ]


def parse_soql(soql: str) -> Query:
    return _Parser(soql).parse()


# --- The org -------------------------------------------------------------------------------


@dataclass
class _Cursor:
    """A REST query's result set and its page size."""

    query: Query
    rows: list[dict[str, Any]]
    size: int


@dataclass
class _Job:
    id: str
    operation: str
    query: str
    api_version: str
    rows: list[dict[str, Any]]
    fields: list[str]
    polls: int = 0
    created: str = ""


@dataclass
class SalesforceSandbox:
    """One org. `multi_currency` adds CurrencyIsoCode and CurrencyType; `bulk_enabled` False is
    an org without the Bulk API; `daily_api_limit` makes REST calls past it answer 403."""

    multi_currency: bool = True
    bulk_enabled: bool = True
    daily_api_limit: int = DAILY_API_MAX
    page_size: int = PAGE_SIZE
    jwt_public_key: bytes | None = None
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    username: str = USERNAME
    # Polls a Bulk job answers InProgress before JobComplete.
    bulk_polls: int = 1
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    api_used: int = 0
    tokens_issued: int = 0
    issued_tokens: list[str] = field(default_factory=list)
    # Every JWT bearer assertion received, valid or not (signed with the app's private key).
    jwt_assertions: list[str] = field(default_factory=list)
    server: SandboxServer | None = None
    # Every request received, headers included, in order.
    recorder: RequestRecorder = field(default_factory=RequestRecorder)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._tokens: set[str] = set()
        self._cursors: dict[str, _Cursor] = {}
        self._jobs: dict[str, _Job] = {}
        self._expire_when: Callable[[Request], bool] | None = None
        self._last_stamp = datetime(2000, 1, 1, tzinfo=UTC)
        # A single-currency org has no CurrencyIsoCode fields and no CurrencyType object.
        self.schema = {
            obj: {
                name: t
                for name, t in fields.items()
                if self.multi_currency or name != "CurrencyIsoCode"
            }
            for obj, fields in SCHEMA.items()
            if self.multi_currency or obj != "CurrencyType"
        }
        self.records = {obj: {} for obj in self.schema}
        self.insert("Organization", DefaultCurrencyIsoCode="EUR", TimeZoneSidKey="Europe/Berlin")
        if self.multi_currency:
            for iso, rate in CURRENCIES.items():
                self.insert(
                    "CurrencyType",
                    IsoCode=iso,
                    ConversionRate=rate,
                    IsCorporate=iso == "EUR",
                    IsActive=True,
                )

    # -- editing the org ---------------------------------------------------------------------
    def _stamp(self, at: datetime | None) -> str:
        """SystemModstamp of a change: `at`, or now (milliseconds, as Salesforce keeps them),
        always after the previous change made at "now"."""
        if at is None:
            now = datetime.now(UTC)
            moment = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if moment <= self._last_stamp:
                moment = self._last_stamp + timedelta(milliseconds=1)
        else:
            moment = at
        self._last_stamp = max(self._last_stamp, moment)
        return sf_datetime(moment)

    def insert(self, obj: str, *, at: datetime | None = None, **values: Any) -> str:
        with self._lock:
            record_id = f"{_ID_PREFIX[obj]}5e00000{next(self._ids):08d}AAA"[:18]
            stamp = self._stamp(at)
            record: dict[str, Any] = {name: None for name in self.schema[obj]}
            record.update(Id=record_id, IsDeleted=False, SystemModstamp=stamp)
            if "CreatedDate" in record:
                record["CreatedDate"] = stamp
                record["LastModifiedDate"] = stamp
            if obj in ("Opportunity", "Lead") and "CurrencyIsoCode" in record:
                record["CurrencyIsoCode"] = "EUR"
            self.records[obj][record_id] = record
            self._set(obj, record_id, values, stamp)
            return record_id

    def _set(self, obj: str, record_id: str, values: dict[str, Any], stamp: str) -> None:
        record = self.records[obj][record_id]
        for name, value in values.items():
            if name not in self.schema[obj]:
                raise KeyError(f"{obj} has no field {name} in this org")
            if isinstance(value, date) and not isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, datetime):
                value = sf_datetime(value)
            record[name] = value
        if obj == "Opportunity" and record.get("StageName"):
            record["IsClosed"], record["IsWon"] = STAGES[record["StageName"]]
        if obj == "Lead":
            record["IsConverted"] = bool(record.get("ConvertedDate"))
        record["SystemModstamp"] = stamp
        if "LastModifiedDate" in record and "LastModifiedDate" not in values:
            record["LastModifiedDate"] = stamp

    def update(
        self, obj: str, record_id: str, *, at: datetime | None = None, **values: Any
    ) -> None:
        with self._lock:
            self._set(obj, record_id, values, self._stamp(at))

    def delete(self, obj: str, record_id: str, *, at: datetime | None = None) -> None:
        with self._lock:
            self.records[obj][record_id]["IsDeleted"] = True
            self._set(obj, record_id, {}, self._stamp(at))

    def undelete(self, obj: str, record_id: str, *, at: datetime | None = None) -> None:
        with self._lock:
            self.records[obj][record_id]["IsDeleted"] = False
            self._set(obj, record_id, {}, self._stamp(at))

    def generate(
        self, first: date, last: date, *, opportunities: int = 400, leads: int = 600, seed: int = 7
    ) -> SalesforceSandbox:
        """A deterministic org: records created across [first, last] and then edited."""
        rng = random.Random(seed)
        days = (last - first).days + 1
        base = datetime.combine(first, datetime.min.time(), UTC)
        opp_ids = []
        for k in range(opportunities):
            created = base + timedelta(seconds=rng.randrange(days * 86_400))
            custom = k % 4 == 0
            close = (created + timedelta(days=rng.randrange(5, 40))).date()
            closed = close <= last
            outcome = rng.random() < 0.45
            if custom:
                stage = ("Signed" if outcome else "Churned") if closed else "Trial"
            else:
                stage = (
                    ("Closed Won" if outcome else "Closed Lost") if closed else "Negotiation/Review"
                )
            opp_ids.append(
                self.insert(
                    "Opportunity",
                    at=created,
                    Name=f"Deal {k}",
                    StageName=stage,
                    Amount=float(rng.randrange(20, 400) * 100),
                    CloseDate=min(close, last),
                    RecordTypeId=list(RECORD_TYPES)[1 if custom else 0],
                    LeadSource=rng.choice(["Web", "Partner", "Event", "Phone Inquiry"]),
                    Type="New Business",
                    **(
                        {"CurrencyIsoCode": "USD" if k % 3 == 0 else "EUR"}
                        if self.multi_currency
                        else {}
                    ),
                )
            )
            self.records["Opportunity"][opp_ids[-1]]["CreatedDate"] = sf_datetime(created)
        for k in range(leads):
            created = base + timedelta(seconds=rng.randrange(days * 86_400))
            converted = (created + timedelta(days=rng.randrange(1, 20))).date()
            lead_id = self.insert(
                "Lead",
                at=created,
                LastName=f"Lead {k}",
                Company=f"Company {k % 97}",
                Status="Open - Not Contacted",
                LeadSource=rng.choice(["Web", "Partner", "Event", "Purchased List"]),
                NumberOfEmployees=rng.randrange(1, 5000),
                ConvertedDate=converted if rng.random() < 0.3 and converted <= last else None,
            )
            self.records["Lead"][lead_id]["CreatedDate"] = sf_datetime(created)
        # Later history, stamped after the creations: corrections, deletions, undeletions.
        later = base + timedelta(days=days)
        for n, record_id in enumerate(opp_ids[:: max(1, len(opp_ids) // 20)]):
            at = later + timedelta(minutes=n)
            record = self.records["Opportunity"][record_id]
            if n % 4 == 0:
                self.update("Opportunity", record_id, at=at, Amount=(record["Amount"] or 0) + 500)
            elif n % 4 == 1:
                self.delete("Opportunity", record_id, at=at)
            elif n % 4 == 2:
                self.delete("Opportunity", record_id, at=at)
                self.undelete("Opportunity", record_id, at=at + timedelta(seconds=30))
            else:
                close = date.fromisoformat(record["CloseDate"]) - timedelta(days=3)
                self.update("Opportunity", record_id, at=at, CloseDate=max(close, first))
        return self

    # -- serving ----------------------------------------------------------------------------
    def serve(self, port: int = 0) -> SandboxServer:
        self.server = SandboxServer(self.handle, name="salesforce", port=port).start()
        return self.server

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def expire_sessions(self) -> None:
        """Every access token issued so far stops working (401 INVALID_SESSION_ID)."""
        with self._lock:
            self._tokens.clear()

    def expire_sessions_at(self, request_matches: Callable[[Request], bool]) -> None:
        """The session timeout of a long read: the first request `request_matches` (e.g. a
        Bulk result page after the first) finds every token issued before it expired."""
        with self._lock:
            self._expire_when = request_matches

    def handle(self, request: Request) -> Response:
        self.recorder.record(request)
        response = self._handle(request)
        pretty = request.headers.get("x-prettyprint") == "1"
        if pretty and response.body and "json" in response.content_type:
            # Salesforce indents its JSON when asked to (the layout of its documented answers)
            payload = json.loads(response.body)
            response.body = json.dumps(payload, indent=2, separators=(",", " : ")).encode()
        return response

    def _handle(self, request: Request) -> Response:
        if request.path == "/services/oauth2/token" and request.method == "POST":
            return self._token(request)
        m = re.match(r"^/services/data/(v[\d.]+)/(.*)$", request.path)
        if not m or not SUPPORTED_VERSIONS.match(m.group(1)):
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        version, rest = m.group(1), m.group(2).rstrip("/")
        auth = request.headers.get("authorization", "")
        with self._lock:
            if self._expire_when is not None and self._expire_when(request):
                self._expire_when = None
                self._tokens.clear()
            if not auth.startswith("Bearer ") or auth[7:] not in self._tokens:
                return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            if self.api_used >= self.daily_api_limit:
                return error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.api_used += 1
        headers = {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.daily_api_limit}"}
        response = self._route(request, version, rest)
        response.headers.update(headers)
        return response

    def _route(self, request: Request, version: str, rest: str) -> Response:
        try:
            if rest in ("query", "queryAll"):
                return self._query(request, version, include_deleted=rest == "queryAll")
            if rest.startswith("query/"):
                return self._more(version, rest.removeprefix("query/"))
            if m := re.fullmatch(r"sobjects/(\w+)/describe", rest):
                return self._describe(m.group(1))
            if rest == "limits":
                return Response.json(self._limits())
            if rest == "jobs/query" and request.method == "POST":
                return self._create_job(request, version)
            if m := re.fullmatch(r"jobs/query/(\w+)", rest):
                return self._job_info(m.group(1))
            if m := re.fullmatch(r"jobs/query/(\w+)/results", rest):
                return self._job_results(request, version, m.group(1))
        except SoqlError as exc:
            return error(400, exc.code, exc.message)
        return error(404, "NOT_FOUND", "The requested resource does not exist")

    # -- OAuth --------------------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            client_id, secret = form.get("client_id"), form.get("client_secret")
            auth = request.headers.get("authorization", "")
            if auth.startswith("Basic "):
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            if client_id != self.client_id:
                return oauth_error("invalid_client_id", "client identifier invalid")
            if secret != self.client_secret:
                return oauth_error("invalid_client", "invalid client credentials")
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            with self._lock:
                self.jwt_assertions.append(form.get("assertion", ""))
            try:
                claims = jwt.decode(
                    form.get("assertion", ""),
                    self.jwt_public_key or b"",
                    algorithms=["RS256"],
                    options={"verify_aud": False},
                )
            except (jwt.PyJWTError, ValueError):
                return oauth_error("invalid_grant", "invalid assertion")
            if claims.get("iss") != self.client_id:
                return oauth_error("invalid_client_id", "client identifier invalid")
            if claims.get("sub") != self.username:
                return oauth_error("invalid_grant", "user hasn't approved this consumer")
        else:
            return oauth_error("unsupported_grant_type", "grant type not supported")
        with self._lock:
            self.tokens_issued += 1
            token = f"{ORG_ID}!AQ{hashlib.sha256(str(self.tokens_issued).encode()).hexdigest()}"
            self._tokens.add(token)
            self.issued_tokens.append(token)
        issued = str(int(datetime.now(UTC).timestamp() * 1000))
        return Response.json(
            {
                "access_token": token,
                "signature": base64.b64encode(hashlib.sha256(token.encode()).digest()).decode(),
                "scope": "api",
                "instance_url": self.base_url,
                "id": f"{self.base_url}/id/{ORG_ID}/0055e000001AbCdAAK",
                "token_type": "Bearer",
                "issued_at": issued,
            }
        )

    # -- REST query ---------------------------------------------------------------------------
    def _select(self, soql: str, include_deleted: bool) -> tuple[Query, list[dict[str, Any]]]:
        query = parse_soql(soql)
        if query.object not in self.schema:
            raise SoqlError("INVALID_TYPE", f"sObject type '{query.object}' is not supported.")
        for name in query.fields:
            if name != "RecordType.DeveloperName" and name not in self.schema[query.object]:
                raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity")
        record_type = "RecordType.DeveloperName" in soql
        with self._lock:
            live = [
                r
                for r in self.records[query.object].values()
                if include_deleted or not r["IsDeleted"]
            ]
            if query.fields or record_type:
                # A snapshot (later edits do not reach a query's pages or a job's results),
                # with the relationship field. A COUNT() only counts: no copy of every record.
                rows = [
                    {**r, "RecordType.DeveloperName": RECORD_TYPES.get(r.get("RecordTypeId") or "")}
                    for r in live
                ]
            else:
                rows = live
            if query.where is not None:
                rows = [r for r in rows if query.where(r)]
        if query.fields:
            rows.sort(key=lambda r: r["Id"])
        return query, rows

    def _rest_record(self, version: str, obj: str, row: dict[str, Any], fields: list[str]) -> dict:
        out: dict[str, Any] = {
            "attributes": {
                "type": obj,
                "url": f"/services/data/{version}/sobjects/{obj}/{row['Id']}",
            }
        }
        for name in fields:
            if name == "RecordType.DeveloperName":
                developer = row.get(name)
                out["RecordType"] = (
                    None
                    if developer is None
                    else {
                        "attributes": {
                            "type": "RecordType",
                            "url": f"/services/data/{version}/sobjects/RecordType/"
                            + str(row["RecordTypeId"]),
                        },
                        "DeveloperName": developer,
                    }
                )
            else:
                out[name] = row.get(name)
        return out

    def _query(self, request: Request, version: str, include_deleted: bool) -> Response:
        soql = (request.query.get("q") or [""])[0]
        query, rows = self._select(soql, include_deleted)
        if not query.fields:  # SELECT COUNT()
            return Response.json({"totalSize": len(rows), "done": True, "records": []})
        size = self.page_size
        options = request.headers.get("sforce-query-options", "")
        if m := re.search(r"batchSize=(\d+)", options):
            size = max(200, min(int(m.group(1)), self.page_size))
        with self._lock:
            # The query's result set is fixed when it runs (a snapshot, like Salesforce's
            # query locator); each page is turned into JSON records when it is asked for.
            locator = f"01g5e0000{len(self._cursors):09d}"
            self._cursors[locator] = _Cursor(query, rows, size)
        return self._page(version, locator, 0)

    def _page(self, version: str, locator: str, offset: int) -> Response:
        cursor = self._cursors[locator]
        chunk = [
            self._rest_record(version, cursor.query.object, r, cursor.query.fields)
            for r in cursor.rows[offset : offset + cursor.size]
        ]
        done = offset + cursor.size >= len(cursor.rows)
        payload: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done}
        if not done:
            following = offset + cursor.size
            payload["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{following}"
        payload["records"] = chunk
        return Response.json(payload)

    def _more(self, version: str, cursor: str) -> Response:
        locator, _, offset = cursor.partition("-")
        if locator not in self._cursors or not offset.isdigit():
            return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(version, locator, int(offset))

    def _describe(self, obj: str) -> Response:
        if obj not in self.schema:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        fields = [
            {
                "name": name,
                "type": ftype,
                "label": name,
                "nillable": name != "Id",
                "custom": name.endswith("__c"),
            }
            for name, ftype in self.schema[obj].items()
        ]
        return Response.json({"name": obj, "label": obj, "queryable": True, "fields": fields})

    def _limits(self) -> dict[str, Any]:
        return {
            "DailyApiRequests": {
                "Max": self.daily_api_limit,
                "Remaining": max(0, self.daily_api_limit - self.api_used),
            },
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - len(self._jobs)},
            "DailyBulkApiRequests": {"Max": 15000, "Remaining": 15000 - len(self._jobs)},
        }

    # -- Bulk API 2.0 ---------------------------------------------------------------------------
    def _create_job(self, request: Request, version: str) -> Response:
        if not self.bulk_enabled:
            return error(
                400,
                "API_DISABLED_FOR_ORG",
                "Async API not enabled for this organization (FeatureNotEnabled)",
            )
        body = request.json()
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            return error(400, "INVALIDJOB", f"Invalid operation: {operation}")
        query, rows = self._select(body.get("query", ""), operation == "queryAll")
        if not query.fields:
            return error(400, "API_ERROR", "Aggregate queries are not supported by the Bulk API")
        job_id = f"7505e{len(self._jobs):013d}"
        now = sf_datetime(datetime.now(UTC))
        self._jobs[job_id] = _Job(
            job_id, operation, body["query"], version, rows, query.fields, created=now
        )
        return Response.json(self._job_payload(self._jobs[job_id], "UploadComplete"))

    def _job_payload(self, job: _Job, state: str) -> dict[str, Any]:
        obj = parse_soql(job.query).object
        payload = {
            "id": job.id,
            "operation": job.operation,
            "object": obj,
            "createdById": "0055e000001AbCdAAK",
            "createdDate": job.created,
            "systemModstamp": job.created,
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(job.api_version[1:]),
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if state == "JobComplete":
            payload.update(numberRecordsProcessed=len(job.rows), retries=0, totalProcessingTime=42)
        return payload

    def _job_info(self, job_id: str) -> Response:
        job = self._jobs.get(job_id)
        if job is None:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        job.polls += 1
        state = "InProgress" if job.polls <= self.bulk_polls else "JobComplete"
        return Response.json(self._job_payload(job, state))

    def _job_results(self, request: Request, version: str, job_id: str) -> Response:
        job = self._jobs.get(job_id)
        if job is None:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        if version != job.api_version:
            return error(
                409,
                "INVALIDJOB",
                f"Job {job_id} was created in API version {job.api_version[1:]}; get its "
                "results with that version",
            )
        if job.polls <= self.bulk_polls:
            return error(400, "INVALIDJOB", f"Job {job_id} is not complete")
        max_records = int((request.query.get("maxRecords") or ["50000"])[0])
        offset = int((request.query.get("locator") or ["0"])[0] or 0)
        chunk = job.rows[offset : offset + max_records]
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(job.fields)
        for row in chunk:
            writer.writerow(
                ["" if row.get(n) is None else _csv_text(row.get(n)) for n in job.fields]
            )
        following = offset + max_records
        locator = str(following) if following < len(job.rows) else "null"
        return Response(
            200,
            out.getvalue().encode(),
            {"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(len(chunk))},
            content_type="text/csv",
        )


def _csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
