"""Salesforce ingest: 200,000 opportunities from the sandbox org into DuckDB.

Contenders, each in its own fresh process (its peak RSS its own), against the same sandbox org
served by this process:

- ours: `warehouse.sources.salesforce.sync`, what the Salesforce asset runs — login, describe,
  the read (a Bulk API 2.0 queryAll job above 50,000 records: CSV pages of 50,000 read by
  DuckDB), the records and their history loaded into a migrated warehouse file, the currency
  rates, and two metrics' daily values recomputed over the window;
- ours_rest: the same with Bulk switched off (every `nextRecordsUrl` page of 2,000 through
  simple-salesforce), the path of orgs without the Bulk API;
- bare_loop: the practical limit over REST — httpx logs in, follows every `nextRecordsUrl`,
  `json.loads` each page and inserts the columns into DuckDB; no history, no daily values.

Targets: ours ≤ 2× bare_loop, peak RSS ≤ 1 GiB.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, benchmark_main, median

COMMAND = "python -m benchmarks.salesforce_ingest"
SCALES = {"full": 200_000, "tiny": 3_000}
HISTORY = (date(2026, 1, 1), date(2026, 6, 30))
SOQL_FIELDS = ["Amount", "CloseDate", "CurrencyIsoCode", "IsClosed", "IsWon"]
NOTES = {
    "salesforce_ingest": """
### Salesforce ingest

The sandbox org is generated once in the parent process and serves every contender over
loopback (REST pages of 2,000 as JSON, Bulk result pages of 50,000 as CSV). `ours` reads
through Bulk API 2.0 (the read holds more than 50,000 records); `ours_rest` is the same
pipeline forced through REST; `bare_loop` follows the REST pages with httpx and inserts the
columns into DuckDB, with nothing else (no history table, no daily values), so it is the
floor for a REST read of the same records. The sandbox's own serialisation time is in every
contender's figure.
""",
}


def _metrics() -> list[Any]:
    from connectors.base import MetricRequest

    return [
        MetricRequest(
            "won_revenue_sf",
            {
                "object": "Opportunity",
                "aggregate": "sum",
                "field": "Amount",
                "date_field": "CloseDate",
                "stage": "won",
            },
        ),
        MetricRequest(
            "win_rate_sf",
            {
                "object": "Opportunity",
                "date_field": "CloseDate",
                "stage": "won",
                "denominator": {"stage": "closed"},
            },
        ),
    ]


def _settings(payload: dict[str, Any], **overrides: Any) -> Any:
    from connectors.salesforce import SalesforceSettings
    from sandbox.salesforce.server import CLIENT_ID, CLIENT_SECRET

    env = {
        "SALESFORCE_CLIENT_ID": CLIENT_ID,
        "SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
        "SALESFORCE_DOMAIN": "bench.my.salesforce.com",
        "SALESFORCE_HOST": payload["base_url"],
    }
    return SalesforceSettings.from_env(env, bulk_poll_s=0.05, **overrides)


def _ours(payload: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    from warehouse.db import connection
    from warehouse.sources.salesforce import sync

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.duckdb"
        with connection(path):
            pass  # migrated
        began = time.perf_counter()
        report = sync(
            lambda: connection(path),
            _settings(payload, **overrides),
            _metrics(),
            *HISTORY,
            earliest_needed=HISTORY[0],
            run_id="bench",
        )
        seconds = time.perf_counter() - began
        with connection(path) as con:
            ((records,),) = con.execute("SELECT count(*) FROM raw.salesforce_records").fetchall()
    return {
        "seconds": seconds,
        "rows": records,
        "requests": report.result.request_count,
        "read": report.reads[0].how,
        "daily_rows": report.result.daily.num_rows,
    }


def _bare(payload: dict[str, Any]) -> dict[str, Any]:
    import duckdb
    import httpx
    import pyarrow as pa

    from sandbox.salesforce.server import CLIENT_ID, CLIENT_SECRET

    base = payload["base_url"]
    began = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE records (id VARCHAR, is_deleted BOOLEAN, stamp VARCHAR, amount DOUBLE, "
        "close_date VARCHAR, currency VARCHAR, is_closed BOOLEAN, is_won BOOLEAN)"
    )
    requests = 0
    with httpx.Client(timeout=60) as client:
        token = client.post(
            f"{base}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        soql = f"SELECT Id, IsDeleted, SystemModstamp, {', '.join(SOQL_FIELDS)} FROM Opportunity"
        answer = client.get(
            f"{base}/services/data/v62.0/queryAll", params={"q": soql}, headers=headers
        ).json()
        requests = 2
        while True:
            records = answer["records"]
            page = pa.table(
                {
                    "id": [r["Id"] for r in records],
                    "is_deleted": [r["IsDeleted"] for r in records],
                    "stamp": [r["SystemModstamp"] for r in records],
                    "amount": [r["Amount"] for r in records],
                    "close_date": [r["CloseDate"] for r in records],
                    "currency": [r["CurrencyIsoCode"] for r in records],
                    "is_closed": [r["IsClosed"] for r in records],
                    "is_won": [r["IsWon"] for r in records],
                }
            )
            con.register("page", page)
            con.execute("INSERT INTO records SELECT * FROM page")
            con.unregister("page")
            if answer["done"]:
                break
            answer = client.get(base + answer["nextRecordsUrl"], headers=headers).json()
            requests += 1
    ((rows,),) = con.execute("SELECT count(*) FROM records").fetchall()
    return {"seconds": time.perf_counter() - began, "rows": rows, "requests": requests}


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    if payload["contender"] == "ours":
        return _ours(payload)
    if payload["contender"] == "ours_rest":
        return _ours(payload, bulk_threshold=10**9)
    return _bare(payload)


def run(scale: str, repeats: int) -> list[Figure]:
    from benchmarks.common import run_child
    from sandbox.salesforce.server import SalesforceSandbox

    count = SCALES[scale]
    org = SalesforceSandbox().generate(*HISTORY, opportunities=count, leads=0)
    server = org.serve()
    results: dict[str, list[dict[str, Any]]] = {"ours": [], "ours_rest": [], "bare_loop": []}
    try:
        for _ in range(repeats):
            for contender in results:
                results[contender].append(
                    run_child(
                        "benchmarks.salesforce_ingest",
                        {"contender": contender, "base_url": server.base_url},
                    )
                )
    finally:
        server.stop()
    seconds = {c: [r["seconds"] for r in rs] for c, rs in results.items()}
    medians = {c: median(v) for c, v in seconds.items()}
    rss = {c: [r["peak_rss_mib"] for r in rs] for c, rs in results.items()}
    ratio = medians["ours"] / medians["bare_loop"]
    peak = max(rss["ours"] + rss["ours_rest"])
    details = {
        "scale": scale,
        "repeats": repeats,
        "opportunities": count,
        "seconds": {c: [round(s, 3) for s in v] for c, v in seconds.items()},
        "median_seconds": {c: round(v, 3) for c, v in medians.items()},
        "rows": {c: rs[0]["rows"] for c, rs in results.items()},
        "requests": {c: rs[0]["requests"] for c, rs in results.items()},
        "read": {c: rs[0].get("read") for c, rs in results.items() if c != "bare_loop"},
        "peak_rss_mib": {c: [round(m, 1) for m in v] for c, v in rss.items()},
        "ratio_rest_to_bare_loop": round(medians["ours_rest"] / medians["bare_loop"], 2),
    }
    return [
        Figure(
            key="salesforce_ingest",
            title=f"Salesforce ingest: {count:,} opportunities",
            ours=f"{medians['ours']:.2f} s (peak RSS {peak:.0f} MiB)",
            reference=f"{medians['bare_loop']:.2f} s bare REST loop + DuckDB",
            ratio=ratio,
            target="≤ 2.0, peak RSS ≤ 1024 MiB",
            met=ratio <= 2.0 and peak <= 1024,
            command=COMMAND,
            details=details,
        )
    ]


if __name__ == "__main__":
    benchmark_main(__doc__, measure, run, NOTES)
