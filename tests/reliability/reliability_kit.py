"""A five-source OKR project and its sandboxes, shared by the reliability suite.

Every source is real: the file source reads CSV exports, GA4 is the official client with a
service-account key file against the GA4 sandbox, Matomo is httpx against the Matomo sandbox,
HubSpot is the official client against the HubSpot sandbox, Salesforce is simple-salesforce
(client-credentials flow) against the Salesforce sandbox, Mixpanel is httpx against the
Mixpanel sandbox (its export counted in DuckDB), Amplitude is httpx against the Amplitude
sandbox — all over loopback. Each source's
credential is a *canary*: a value that must never show up anywhere but in the request that
carries it (see test_secrets.py).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import sandbox.matomo.server as matomo_sandbox
from connectors.mixpanel.settings import ENDPOINT_ENV, SECRET_ENV, USERNAME_ENV
from sandbox.amplitude.server import AmplitudeSandbox, generate_events, hosts
from sandbox.base import Request, Response, SandboxServer
from sandbox.ga4.server import DEMO_PROPERTY_ID, GA4Sandbox
from sandbox.hubspot.server import HubSpotSandbox
from sandbox.mixpanel.server import MixpanelSandbox, demo_events
from sandbox.salesforce.server import CLIENT_ID as SALESFORCE_CLIENT_ID
from sandbox.salesforce.server import SalesforceSandbox

PERIOD_START = date(2026, 10, 1)
PERIOD_END = date(2026, 10, 10)
# The first run loads the baselines' days and the period through BASE_END; later runs (the
# faulted ones) load LATER_START..LATER_END. LATER_END - BASE_END > allowed_lag_days, so a
# source that fails in the later run leaves its key results `stale`.
BASE_START = date(2026, 9, 21)
BASE_END = date(2026, 10, 5)
LATER_START = date(2026, 10, 6)
LATER_END = date(2026, 10, 9)
ALLOWED_LAG_DAYS = 2
# The HubSpot CRM's clock: fixed, so two runs read the same CRM (the real clock would move
# deals along between a clean run and a faulted one).
HUBSPOT_NOW = datetime(2026, 10, 12, 6, 0, tzinfo=UTC)

MATOMO_TOKEN = "canary-matomo-5f1c0e7a9b3d42c8a6e1"
HUBSPOT_TOKEN = "pat-na1-canary-hubspot-3e9d7b2a-4c61-4f0e-9a8b"
AMPLITUDE_API_KEY = "canary-amplitude-key-5d2e8a1c7f"
AMPLITUDE_SECRET_KEY = "canary-amplitude-secret-9b4f0e6d2a"
# The Amplitude project's clock: fixed, after every late event of the period has arrived.
AMPLITUDE_NOW = date(2026, 10, 12)
SALESFORCE_SECRET = "canary-salesforce-consumer-secret-9d3e71b0c4a2"
MIXPANEL_USERNAME = "okr-sync-reliability.mp-service-account"
MIXPANEL_SECRET = "canary-mixpanel-sa-secret-4b8e1f0c9d27a6"
MIXPANEL_PROJECT_ID = 2526451
# Mixpanel's clock: every event of the suite's days has arrived (late ones too).
MIXPANEL_NOW = datetime(2026, 10, 14, 6, 0, tzinfo=UTC)

API_SOURCES = ("ga4", "matomo", "hubspot", "salesforce", "mixpanel", "amplitude")
# The step Dagster names for each source's asset, and the key results that read it.
SOURCE_STEP = {
    "file": "raw__file",
    "ga4": "raw__ga4",
    "matomo": "raw__matomo",
    "hubspot": "raw__hubspot",
    "amplitude": "raw__amplitude",
    "salesforce": "raw__salesforce",
    "mixpanel": "raw__mixpanel",
}
SOURCE_KRS = {
    "file": ["signups-total"],
    "ga4": ["conversion-up", "users-reached"],
    "matomo": ["homepage-fast"],
    "hubspot": ["revenue-won", "mqls"],
    "amplitude": ["editor-opens"],
    "salesforce": ["revenue-won-sf", "leads-sf"],
    "mixpanel": ["paid-editor-opens", "signup-activation"],
}

ORGANISATION = f"""
organisation:
  name: Reliability Shop
  timezone: Europe/Berlin
  lookback_days: 2
sources:
  file: {{allowed_lag_days: {ALLOWED_LAG_DAYS}}}
  ga4: {{property_id: "{DEMO_PROPERTY_ID}", allowed_lag_days: {ALLOWED_LAG_DAYS}}}
  matomo: {{site_id: 1, allowed_lag_days: {ALLOWED_LAG_DAYS}}}
  hubspot: {{allowed_lag_days: {ALLOWED_LAG_DAYS}}}
  amplitude: {{region: eu, allowed_lag_days: {ALLOWED_LAG_DAYS}}}
  salesforce: {{allowed_lag_days: {ALLOWED_LAG_DAYS}}}
  mixpanel: {{project_id: {MIXPANEL_PROJECT_ID}, timezone: Europe/Berlin,
              allowed_lag_days: {ALLOWED_LAG_DAYS}}}
teams:
  - {{id: growth, name: Growth, owner: growth@example.com}}
  - {{id: sales, name: Sales, owner: sales@example.com}}
"""

METRICS = """
metrics:
  - {id: signups, source: file, query: {path: data/signups.csv}}
  - id: product_sessions
    source: ga4
    query: {metric: sessions, filter: {dimension: pagePath, begins_with: /products/}}
  - id: product_purchases
    source: ga4
    query: {metric: "keyEvents:purchase", filter: {dimension: pagePath, begins_with: /products/}}
  - id: product_conversion
    ratio: {numerator: product_purchases, denominator: product_sessions}
  - {id: users, source: ga4, query: {metric: totalUsers}}
  - id: load_time
    unit: s
    source: matomo
    query: {method: PagePerformance.get, column: avg_page_load_time,
            page_url: "https://shop.example/"}
  - id: won_revenue
    unit: €
    source: hubspot
    query: {object: deals, aggregate: sum, property: amount, date_property: closedate,
            stage: won}
  - id: new_mqls
    source: hubspot
    query: {object: contacts, date_property: hs_v2_date_entered_marketingqualifiedlead}
  - id: editor_opens
    source: amplitude
    query: {event: Editor Opened, where: {property: plan, in: [pro, team]}}
  - id: won_revenue_sf
    unit: €
    source: salesforce
    query: {object: Opportunity, aggregate: sum, field: Amount, date_field: CloseDate,
            stage: won}
  - id: new_leads_sf
    source: salesforce
    query: {object: Lead, date_field: CreatedDate,
            filter: {field: LeadSource, in: [Web, Partner]}}
  - id: paid_editor_opens
    source: mixpanel
    query: {event: Editor Opened, where: {property: plan, in: [pro, team]}}
  - id: signup_activation
    source: mixpanel
    query: {funnel: {steps: [Sign Up, Project Created], window_days: 1}}
"""

OBJECTIVES = """
objectives:
  - id: grow
    title: More people sign up, buy and come back
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: signups-total, title: "Signups +50 % over the previous ten days",
         metric: signups, measure: total, target: +50%}
      - {id: conversion-up, title: "Product-page conversion from 3 % to 5 %",
         metric: product_conversion, measure: rolling_3d, baseline: 3%, target: 5%}
      - {id: users-reached, title: "200,000 people reached this period",
         metric: users, measure: total, target: 200000}
      - {id: homepage-fast, title: "Homepage loads in under 1.5 s",
         metric: load_time, measure: rolling_7d, target: 1.5, direction: at_most}
      - {id: editor-opens, title: "Paying users open the editor 40 times",
         metric: editor_opens, measure: total, target: 40}
  - id: sell
    title: Sales close more and fill the funnel
    team: sales
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: revenue-won, title: "Won revenue +20 % over the previous ten days",
         metric: won_revenue, measure: total, target: +20%}
      - {id: mqls, title: "60 new marketing-qualified leads this period",
         metric: new_mqls, measure: total, target: 60}
      - {id: revenue-won-sf, title: "Salesforce won revenue reaches €100k",
         metric: won_revenue_sf, measure: total, target: 100000}
      - {id: leads-sf, title: "40 web and partner leads",
         metric: new_leads_sf, measure: total, target: 40}
  - id: activate
    title: Paying teams use the editor and new users start projects
    team: growth
    period: {start: 2026-10-01, end: 2026-10-10}
    key_results:
      - {id: paid-editor-opens, title: "300 editor opens by paying teams this period",
         metric: paid_editor_opens, measure: total, target: 300}
      - {id: signup-activation, title: "Sign-up activation from 40 % to 60 %",
         metric: signup_activation, measure: rolling_7d, baseline: 40%, target: 60%}
"""


def signups(day: date) -> int:
    return 12 if day >= PERIOD_START else 10


def write_project(folder: Path) -> Path:
    """The definitions folder (YAML and the file source's CSV export)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "organisation.yaml").write_text(ORGANISATION)
    (folder / "metrics.yaml").write_text(METRICS)
    (folder / "objectives.yaml").write_text(OBJECTIVES)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    with (data / "signups.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "value"])
        day = date(2026, 8, 20)
        while day <= PERIOD_END:
            writer.writerow([day.isoformat(), signups(day)])
            day += timedelta(days=1)
    return folder


def service_account_key(path: Path) -> tuple[Path, list[str]]:
    """A real service-account key file (fresh RSA key) and the secret fragments in it.

    The GA4 client signs its own bearer token (a JWT) with this key, so the key's PEM body is
    the GA4 secret to look for; the bearer tokens themselves are recorded by the sandbox.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "okr-sync-reliability",
        "private_key_id": "canary-ga4-key-id-8c2f4e6a1b9d",
        "private_key": pem,
        "client_email": "okr-sync@okr-sync-reliability.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        # The client signs its own JWT and never calls this; loopback, so a test can never
        # reach Google even if it did.
        "token_uri": "http://127.0.0.1:9/token",
    }
    path.write_text(json.dumps(info))
    body = [line for line in pem.splitlines() if not line.startswith("-----")]
    # Any line of the key body, and the key id: none may appear outside the key file.
    return path, [*body, info["private_key_id"]]


def salesforce_jwt_key(path: Path) -> tuple[bytes, list[str]]:
    """A connected app's private key for Salesforce's JWT bearer flow, written to `path` as
    SALESFORCE_PRIVATE_KEY_PATH reads it (PEM); returns the public key the sandbox org checks
    assertions with, and the PEM body's lines: the canaries."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public, [line for line in pem.decode().splitlines() if not line.startswith("-----")]


Rewrite = Callable[[Request, Any], Any]


class Rewriter:
    """A sandbox handler that, while `rewrite` is set, changes the JSON of its 200 answers.

    How the tests serve bad data (a negative count, a repeated row, a missing metric, a new
    field) through the real wire format without touching the sandboxes' own code.
    """

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self.handler = handler
        self.rewrite: Rewrite | None = None

    def __call__(self, request: Request) -> Response:
        response = self.handler(request)
        rewrite = self.rewrite
        if rewrite is None or response.status != 200 or "json" not in response.content_type:
            return response
        payload = rewrite(request, json.loads(response.body))
        return Response(200, json.dumps(payload).encode(), response.headers, response.content_type)


@dataclass
class Sandboxes:
    """The four API sandboxes on loopback, and the environment that points the pipeline at
    them. `bearer_tokens` collects every Authorization value GA4's sandbox received."""

    ga4: SandboxServer
    ga4_sandbox: GA4Sandbox
    matomo: SandboxServer
    matomo_sandbox: matomo_sandbox.MatomoSandbox
    hubspot: SandboxServer
    hubspot_sandbox: HubSpotSandbox
    amplitude: SandboxServer
    amplitude_sandbox: AmplitudeSandbox
    mixpanel: SandboxServer
    mixpanel_sandbox: MixpanelSandbox
    env: dict[str, str]
    key_secrets: list[str]
    rewriters: dict[str, Rewriter]
    salesforce: SandboxServer
    salesforce_sandbox: SalesforceSandbox
    # The connected app's key for the JWT bearer flow (the env uses client credentials; a
    # test switches with `salesforce_jwt_env`), and its PEM body lines.
    salesforce_key: Path
    salesforce_key_secrets: list[str]
    bearer_tokens: set[str] = field(default_factory=set)

    def server(self, source: str) -> SandboxServer:
        return {
            "ga4": self.ga4,
            "matomo": self.matomo,
            "hubspot": self.hubspot,
            "amplitude": self.amplitude,
            "salesforce": self.salesforce,
            "mixpanel": self.mixpanel,
        }[source]

    def secrets(self) -> list[str]:
        """Every credential value of every source (long enough to be unmistakable)."""
        tokens = [t.removeprefix("Bearer ") for t in self.bearer_tokens]
        # Salesforce's access tokens, as its token endpoint issued them, the app's private key
        # and the JWT assertions signed with it.
        salesforce = [
            SALESFORCE_SECRET,
            *self.salesforce_sandbox.issued_tokens,
            *self.salesforce_key_secrets,
            *self.salesforce_sandbox.jwt_assertions,
        ]
        return [
            MATOMO_TOKEN,
            HUBSPOT_TOKEN,
            MIXPANEL_SECRET,
            AMPLITUDE_API_KEY,
            AMPLITUDE_SECRET_KEY,
            *self.key_secrets,
            *tokens,
            *salesforce,
        ]

    def salesforce_jwt_env(self, env: dict[str, str]) -> dict[str, str]:
        """`env` with Salesforce's JWT bearer flow instead of client credentials."""
        jwt = {k: v for k, v in env.items() if k != "SALESFORCE_CLIENT_SECRET"}
        jwt["SALESFORCE_USERNAME"] = self.salesforce_sandbox.username
        jwt["SALESFORCE_PRIVATE_KEY_PATH"] = str(self.salesforce_key)
        return jwt

    def clear(self) -> None:
        """Back to healthy sandboxes after a fault case."""
        servers = (self.ga4, self.matomo, self.hubspot, self.salesforce, self.mixpanel)
        for server in (*servers, self.amplitude):
            server.clear_faults()
        self.amplitude_sandbox.api_key = AMPLITUDE_API_KEY
        self.amplitude_sandbox.secret_key = AMPLITUDE_SECRET_KEY
        self.salesforce_sandbox.daily_api_limit = SALESFORCE_DAILY_LIMIT
        self.hubspot_sandbox.short_pages(0, 0)
        self.matomo_sandbox.clear_failures()
        for rewriter in self.rewriters.values():
            rewriter.rewrite = None


def _recording(handler: Callable[[Request], Response], seen: set[str]) -> Callable:
    lock = threading.Lock()

    def handle(request: Request) -> Response:
        token = request.headers.get("authorization")
        if token:
            with lock:
                seen.add(token)
        return handler(request)

    return handle


# The Salesforce org's records, created (and some edited or deleted) before the suite's days.
SALESFORCE_HISTORY = (date(2026, 8, 1), date(2026, 10, 12))
SALESFORCE_DAILY_LIMIT = 1_000_000


@contextmanager
def sandboxes(key_dir: Path) -> Iterator[Sandboxes]:
    """Start the four sandboxes (each with a canary credential) for the suite."""
    with ExitStack() as stack:
        bearer: set[str] = set()
        ga4_sandbox = GA4Sandbox()
        matomo = matomo_sandbox.MatomoSandbox(token=MATOMO_TOKEN)
        # Fewer objects than the demo's: the same code paths, a faster first full read.
        hubspot = HubSpotSandbox(deals=600, contacts=1_500, now=HUBSPOT_NOW, token=HUBSPOT_TOKEN)
        amplitude = AmplitudeSandbox(
            generate_events(("Editor Opened",), date(2026, 8, 20), PERIOD_END, users=10),
            now=AMPLITUDE_NOW,
            api_key=AMPLITUDE_API_KEY,
            secret_key=AMPLITUDE_SECRET_KEY,
            region="eu",
            event_types=("Editor Opened",),
        )
        rewriters = {
            "amplitude": Rewriter(amplitude),
            "ga4": Rewriter(ga4_sandbox),
            "matomo": Rewriter(matomo),
            "hubspot": Rewriter(hubspot.warm().handle),
        }
        ga4 = SandboxServer(_recording(rewriters["ga4"], bearer), name="ga4").start()
        stack.callback(ga4.stop)
        matomo_server = SandboxServer(rewriters["matomo"], name="matomo").start()
        stack.callback(matomo_server.stop)
        hubspot_server = SandboxServer(rewriters["hubspot"], name="hubspot").start()
        stack.callback(hubspot_server.stop)
        amplitude_server = SandboxServer(rewriters["amplitude"], name="amplitude").start()
        stack.callback(amplitude_server.stop)
        # A fixed org: its records are stamped with fixed times, so every run reads the same.
        salesforce = SalesforceSandbox(
            client_secret=SALESFORCE_SECRET, daily_api_limit=SALESFORCE_DAILY_LIMIT
        ).generate(*SALESFORCE_HISTORY, opportunities=300, leads=300)
        salesforce_key = key_dir / "salesforce-app.key"
        salesforce.jwt_public_key, salesforce_key_secrets = salesforce_jwt_key(salesforce_key)
        salesforce_server = salesforce.serve()
        stack.callback(salesforce_server.stop)
        mixpanel = MixpanelSandbox(
            demo_events(BASE_START - timedelta(days=7), LATER_END, "Europe/Berlin"),
            username=MIXPANEL_USERNAME,
            secret=MIXPANEL_SECRET,
            project_id=MIXPANEL_PROJECT_ID,
            timezone="Europe/Berlin",
            now=MIXPANEL_NOW,
        )
        mixpanel_server = mixpanel.serve()
        stack.callback(mixpanel_server.stop)
        key, key_secrets = service_account_key(key_dir / "ga4-service-account.json")
        env = {
            "GA4_ENDPOINT": ga4.base_url,
            "GA4_CREDENTIALS_PATH": str(key),
            "MATOMO_URL": matomo_server.base_url,
            "MATOMO_TOKEN": MATOMO_TOKEN,
            "HUBSPOT_HOST": hubspot_server.base_url,
            "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN,
            **hosts(amplitude_server),
            "AMPLITUDE_API_KEY": AMPLITUDE_API_KEY,
            "AMPLITUDE_SECRET_KEY": AMPLITUDE_SECRET_KEY,
            ENDPOINT_ENV: mixpanel_server.base_url,
            USERNAME_ENV: MIXPANEL_USERNAME,
            SECRET_ENV: MIXPANEL_SECRET,
            # The sandbox has no rate limit; HubSpot's real ones would only make tests wait.
            "HUBSPOT_SEARCH_REQUESTS_PER_SECOND": "1000",
            "HUBSPOT_REQUESTS_PER_SECOND": "1000",
            "SALESFORCE_HOST": salesforce_server.base_url,
            "SALESFORCE_DOMAIN": "reliability-shop.my.salesforce.com",
            "SALESFORCE_CLIENT_ID": SALESFORCE_CLIENT_ID,
            "SALESFORCE_CLIENT_SECRET": SALESFORCE_SECRET,
            # A slow answer must time out in well under a second, not after a minute.
            "OKR_REQUEST_TIMEOUT_S": "0.5",
            "OKR_RETRY_WAIT_SCALE": "0",
        }
        yield Sandboxes(
            ga4,
            ga4_sandbox,
            matomo_server,
            matomo,
            hubspot_server,
            hubspot,
            amplitude_server,
            amplitude,
            mixpanel_server,
            mixpanel,
            env,
            key_secrets,
            rewriters,
            salesforce_server,
            salesforce,
            salesforce_key,
            salesforce_key_secrets,
            bearer,
        )


# -- reading the warehouse ---------------------------------------------------------------------

# Columns that say *when* a row was fetched or seen, not what it says: they differ between two
# runs by construction. Everything else of every public table is compared.
TIMESTAMP_COLUMNS = {"fetched_at"}


def public_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table and view users query: the `okr` and `staging` schemas."""
    rows = con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema IN ('okr', 'staging') AND table_catalog = current_database() "
        "ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def _rounded(value: Any, digits: int | None) -> Any:
    return float(f"{value:.{digits}g}") if digits and isinstance(value, float) else value


def table_checksum(
    con: duckdb.DuckDBPyConnection,
    table: str,
    ignore: frozenset[str] | set[str] = TIMESTAMP_COLUMNS,
    digits: int | None = None,
) -> tuple[int, str]:
    """(rows, order-independent digest of the rows without the `ignore` columns).

    `digits` rounds floating-point values to that many significant digits first (None: the
    exact bits).
    """
    schema, name = table.split(".")
    columns = [
        c
        for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ? AND table_catalog = current_database() ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
        if c not in ignore
    ]
    select = ", ".join(f'"{c}"' for c in columns)
    rows = sorted(
        repr(tuple(_rounded(v, digits) for v in r))
        for r in con.execute(f"SELECT {select} FROM {table}").fetchall()
    )
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def checksums(
    warehouse: Path,
    ignore: frozenset[str] | set[str] = TIMESTAMP_COLUMNS,
    digits: int | None = None,
) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {t: table_checksum(con, t, ignore, digits) for t in public_tables(con)}
    finally:
        con.close()


def query(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def statuses(warehouse: Path, day: date) -> dict[str, str]:
    return dict(
        query(
            warehouse, "SELECT kr_id, status FROM okr.kr_progress_daily WHERE as_of_date = ?", [day]
        )
    )


def copy_warehouse(source: Path, target: Path) -> Path:
    """A byte copy of a closed DuckDB file (and its WAL if one was left)."""
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (the resources read them at run start)."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
