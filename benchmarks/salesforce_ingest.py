"""Salesforce ingest: 200,000 and 50,000 opportunities from the sandbox org into DuckDB.

Contenders, each in its own fresh process (its peak RSS its own: `VmHWM`, see
`benchmarks.common.peak_rss_mib`), three interleaved rounds, against the same sandbox org
served by this process; the ratio is the median of the rounds' ratios
(`benchmarks.common.paired_rounds`):

- ours: `warehouse.sources.salesforce.sync`, what the Salesforce asset runs — login, describe,
  the read (sized by `SELECT COUNT()`; a Bulk API 2.0 queryAll job above 50,000 records: CSV
  pages of 50,000 read by DuckDB; REST below), the records and their history loaded into a
  migrated warehouse file, the currency rates, two metrics' daily values recomputed over
  the window, then stored as the asset stores them (`replace_source_window`, what
  `write_fetch_result` runs);
- ours_rest: the same with Bulk switched off (every `nextRecordsUrl` page of 2,000 through
  simple-salesforce), the path of orgs without the Bulk API;
- bare_rest: the floor over REST — httpx logs in, sends ours' SOQL to queryAll, follows the
  `nextRecordsUrl` each answer names, `json.loads` each page and inserts the columns into a
  DuckDB file; no history, no daily values;
- bare_bulk: the floor over Bulk API 2.0 — httpx creates the same queryAll job, polls it on
  ours' schedule, streams each CSV page to a file and asks for the next with the
  `Sforce-Locator` the answer names, and DuckDB's CSV reader inserts the page into a DuckDB
  file.

Every contender imports its modules and opens (ours: and migrates) its DuckDB file before its
clock starts, and its clock ends when its rows are committed and a CHECKPOINT has written them
into the file (as in benchmarks.ingest: DuckDB checkpoints on its own inside a commit whose log
passes 16 MB, otherwise when the file is closed, so without it the same work could fall inside
one clock and outside another; each CHECKPOINT's seconds are in the details). `cpu_seconds` is
its process's CPU time (threads too) while the clock runs. The figure compares ours with the
bare loop over the same pages (bare_bulk when ours read through Bulk, bare_rest when through
REST). Targets: ≤ 1.5× (≤ 2× at the least), peak RSS ≤ 1 GiB.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, benchmark_main, median, paired_rounds

COMMAND = "python -m benchmarks.salesforce_ingest"
SCALES = {"full": (200_000, 50_000), "tiny": (3_000,)}
HISTORY = (date(2026, 1, 1), date(2026, 6, 30))
# In this order each round: ours next to the Bulk floor, ours_rest next to the REST floor.
CONTENDERS = ("ours", "bare_bulk", "bare_rest", "ours_rest")
API = "v62.0"
POLL_S = 0.05  # the first wait between Bulk job polls, doubling: ours' bulk_poll_s
NOTES = {
    "salesforce_ingest": """
### Salesforce ingest

The sandbox org is generated once per size in the parent process and serves every contender
over loopback (REST pages of 2,000 as JSON, Bulk result pages of 50,000 as CSV). Each
contender runs in a fresh child, three interleaved rounds; the ratio is the median of the
rounds' ratios (ours next to its floor in each round). `ours` reads through Bulk API 2.0 when
the read holds more than 50,000 records (at 200,000 opportunities: 175,494 records; at 50,000
the read is 43,976 records and goes through REST); `ours_rest` is the same pipeline forced
through REST. The bare loops send ours' SOQL (the records some metric could count), read
their cursors from each answer (`nextRecordsUrl`, `Sforce-Locator`) like any client and insert
the columns into a DuckDB file, and do nothing else: no describe, no size, no history table,
no currency rates, no daily values. The sandbox's own work (filtering the org, writing JSON
and CSV) is in every contender's wall time, not in its CPU time (`median_cpu_seconds`: the
timed part only, threads included). Peak RSS is each child's own high-water mark (`VmHWM`).

Measured as the HubSpot ingest is (this round): every contender imports its modules and opens
its DuckDB file (ours: opened and migrated, the run's connections are that one) before its
clock, and every clock ends with its rows committed and a `CHECKPOINT` that writes them into
the file. DuckDB checkpoints on its own inside a commit whose log passes 16 MB (ours' load, or
the commit after it at 50,000) but the bare loops' inserts only when the file closed, after
their clock: the same work inside one clock and outside the other (0.15-0.25 s of the bare
Bulk loop's at 200,000, 0.04-0.07 s of the bare REST loop's at 50,000; each CHECKPOINT's
seconds are in the details). Ours' clock also holds what the asset does after the sync, the
window's daily values stored in raw.metric_rows (`replace_source_window`, as the HubSpot
figure's ours does). Before this round ours opened its warehouse three times inside its clock
and the bare loops opened theirs inside theirs.

This round's cuts (CPU seconds of one ingest as the asset runs it, a connection factory and a
final CHECKPOINT, fresh processes, three interleaved rounds against the tree before, medians):
1.10 → 0.86 at 200,000 (Bulk), 0.64 → 0.57 at 50,000 (REST).
- The records' map is built by casting the fields struct (`CAST(fields AS MAP(VARCHAR,
  VARCHAR))`) instead of `MAP()` of a key list and a value list: `MAP()` checked every
  record's keys for duplicates (1.4 µs a record), a struct's names are unique already. The
  first read's insert into raw.salesforce_records at 200,000: 0.53 → 0.28 s CPU.
- The REST read's SystemModstamp is parsed by Arrow's ISO 8601 cast instead of a DuckDB
  instance opened for it (~20 ms a read).
- The run reads every object first, then one warehouse connection loads the reads and
  computes the daily values (it was one connection for each load and another for the daily
  values; the currency rates are read with the records, before the warehouse is opened). With
  the process's shared DuckDB instance an open now costs ~2.5 ms CPU (0.7 ms while another
  connection holds the file), so this saves little time; what it saves is a detach and
  attach of the file between the load and the daily values.
Cuts after the quiet recording (1.54 at 50,000, CPU 0.512 s against 0.242 s), on the REST
read only: simple-salesforce's answers parsed with orjson instead of the standard library's
decoder (~30 ms of 22 pages of 2,000 records), and a field's column converted to text whole
when it holds one JSON type (~5 ms). Ours at 50,000 against the tree before, fresh processes,
seven interleaved rounds, medians, load ~2.5: CPU 0.566 → 0.508 s, wall 1.13 → 1.04 s; this
script with `--no-record` (load 2-5) then gave 1.40 at 50,000 (CPU 0.50 against 0.27 s).
Overlap of the REST read (the round after): each page of 2,000 is turned into columns
(`parse.records_from_rest_page`) on a worker thread while the main thread asks for the next
page and decodes it, as the Bulk read parses a CSV page while the next downloads; one request
in flight at a time, the same requests in the same order, so the session renewal and the
retries are unchanged. `ours_rest` at 50,000 against the tree before, fresh processes, seven
interleaved rounds with the bare REST loop, medians, load ~1.3: wall 0.954 → 0.888 s, CPU
0.531 → 0.513 s (bare loop 0.632 s, CPU 0.278 s): ratio 1.42 → 1.37 (CPU ratio 1.91 → 1.80).
This script right after (load 0.8 rising to 2.5): 1.29 at 50,000 (`ours_rest` beside the same
floor 1.41; CPU 0.50 against 0.27 s) and 1.39 at 200,000 through Bulk, a path this round left
as it was (a run a few minutes before, load ~1.8: 1.40 and 1.29).
What follows the last page is now the critical path (statement times, in process): the load's
INSERT into raw.salesforce_records ~0.04 s, the history copy ~0.035, their COMMIT ~0.075 (the
log of two tables), the daily values ~0.06, the closing CHECKPOINT ~0.085. Starting the load
before the last page would need the warehouse connection during the read (the read holds none
so other writers go on) and a staging table inside the load's transaction: not done.
Tried and not kept: a lower `checkpoint_threshold` so the 50,000-record load checkpoints at its
commit instead of logging first (0.02 s, a setting of the whole process); `map_from_entries`
or a `MAP {}` literal (the same key checks as `MAP()`).

What bounds the rest (CPU seconds, in process, quiet moments): at 200,000 through Bulk, ours
0.86 against the bare loop's 0.38: the load 0.49 (the insert with its map 0.28, the copy into
the history that a first read fills with every record 0.20), the CSV pages into Arrow 0.18
(mostly hidden behind the downloads), the daily values of the two metrics 0.12, describe,
COUNT(), currency ~0.02; the bare loop writes one table of plain columns. At 50,000 through
REST, ours 0.55-0.60 against 0.28-0.31 (before the cuts below): the pages and their
decoding cost what the bare loop's do; ours adds the records into columns (0.08), the load
0.15 and its commit with the
checkpoint (0.13: two tables, the current state and the history, each written to the log and
then into the file, where the bare loop writes one), the daily values 0.055, the COUNT() and
describe. Both gaps are the schema's: every record kept twice (current state and first
version) with its fields as a map. The wall ratio is lower than the CPU ratio because the
sandbox's time (filtering 200,000 records per request, writing the pages) is in both
contenders' wall time; on a loaded machine the ratio follows the CPU ratio more (ours waits
for the cores as long as it works).

Recorded here with `python -m benchmarks.salesforce_ingest` (load average 5-7, colleagues'
tests on the two cores): at 200,000 through Bulk 1.28 (rounds 1.36, 1.28, 1.17; CPU 0.84 s
against 0.37 s, 2.36x; REST-only ours 1.00 against the bare REST loop, CPU 1.75 against 1.06);
at 50,000 through REST 1.23 (rounds 2.75, 1.17, 1.23: ours' first round took 4.4 s where the
bare loop's took 1.6, the machine's doing; CPU 0.58 s against 0.28 s, 2.01x). Round 1's
figures, 1.60 and 1.82, were measured the old way (ours' three opens inside its clock, the bare
loops' checkpoint outside theirs) and on a quieter machine; a quiet run (`python -m
benchmarks.run_all`) gives the figures to quote, and by the CPU ratios above both sizes may
land above 1.5 there.
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

    env = {
        "SALESFORCE_CLIENT_ID": payload["client_id"],
        "SALESFORCE_CLIENT_SECRET": payload["client_secret"],
        "SALESFORCE_DOMAIN": "bench.my.salesforce.com",
        "SALESFORCE_HOST": payload["base_url"],
    }
    return SalesforceSettings.from_env(env, bulk_poll_s=POLL_S, **overrides)


def _checkpointed(con: Any) -> float:
    """Write the committed rows into the database file itself (DuckDB's CHECKPOINT); returns
    its seconds. Every contender's clock ends with it, as in benchmarks.ingest: DuckDB
    checkpoints on its own inside a commit whose log passes 16 MB (ours' load) and otherwise
    when the file is closed (the bare loops' inserts), so without it one side's clock would
    hold that work and the other's not."""
    began = time.perf_counter()
    con.execute("CHECKPOINT")
    return time.perf_counter() - began


def _ours(payload: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    # Ours' modules are imported before the clock, as the bare loops import theirs: the
    # connector's fetch and Bulk modules (and simple-salesforce with them) load on first use.
    from contextlib import contextmanager
    from datetime import UTC, datetime

    # Loaded on first use by pyarrow's group_by (replace_source_window's duplicate check).
    import pyarrow.acero  # noqa: F401

    import connectors.salesforce.bulk
    import connectors.salesforce.fetch  # noqa: F401
    from connectors.base import request_hash
    from warehouse.db import connect
    from warehouse.load import replace_source_window
    from warehouse.sources.salesforce import sync

    with tempfile.TemporaryDirectory() as folder:
        # The warehouse opened and migrated before the clock, as the bare loops' files are
        # opened before theirs; the run's connections are this one.
        con = connect(Path(folder) / "bench.duckdb")

        @contextmanager
        def opened() -> Iterator[Any]:
            yield con

        settings, metrics = _settings(payload, **overrides), _metrics()
        ids = [m.metric_id for m in metrics]
        began, cpu_began = time.perf_counter(), time.process_time()
        report = sync(opened, settings, metrics, *HISTORY, earliest_needed=HISTORY[0], run_id="b")
        # What the asset does next (write_fetch_result): the window's daily values stored.
        replace_source_window(
            con,
            "salesforce",
            ids,
            report.window_start,
            report.window_end,
            report.result,
            request_hash(
                {
                    "source": "salesforce",
                    "metrics": ids,
                    "start": report.window_start,
                    "end": report.window_end,
                }
            ),
            datetime.now(UTC),
            report.window_end,
        )
        checkpoint = _checkpointed(con)
        seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
        ((records,),) = con.execute("SELECT count(*) FROM raw.salesforce_records").fetchall()
        con.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "checkpoint_seconds": checkpoint,
        "rows": records,
        "requests": report.result.request_count,
        "read": report.reads[0].how,
        "daily_rows": report.result.daily.num_rows,
    }


def _login(client: Any, payload: dict[str, Any]) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": payload["client_id"],
        "client_secret": payload["client_secret"],
    }
    answer = client.post(f"{payload['base_url']}/services/oauth2/token", data=form)
    token = answer.json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _bare_rest(payload: dict[str, Any]) -> dict[str, Any]:
    import duckdb
    import httpx
    import pyarrow as pa

    base, fields = payload["base_url"], payload["fields"]
    # The client (its TLS context) is built before the clock starts: the floor is the loop.
    with httpx.Client(timeout=60) as client, tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "bare.duckdb"))
        began, cpu_began = time.perf_counter(), time.process_time()
        headers = _login(client, payload)
        answer = client.get(
            f"{base}/services/data/{API}/queryAll", params={"q": payload["soql"]}, headers=headers
        ).json()
        requests = 2
        while True:
            records = answer["records"]
            page = pa.table({name: [r[name] for r in records] for name in fields})
            con.register("page", page)
            if requests == 2:
                con.execute("CREATE TABLE records AS SELECT * FROM page")
            else:
                con.execute("INSERT INTO records SELECT * FROM page")
            con.unregister("page")
            if answer["done"]:
                break
            answer = client.get(base + answer["nextRecordsUrl"], headers=headers).json()
            requests += 1
        checkpoint = _checkpointed(con)
        seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
        ((rows,),) = con.execute("SELECT count(*) FROM records").fetchall()
        con.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "checkpoint_seconds": checkpoint,
        "rows": rows,
        "requests": requests,
    }


def _bare_bulk(payload: dict[str, Any]) -> dict[str, Any]:
    import duckdb
    import httpx

    base = payload["base_url"]
    with httpx.Client(timeout=60) as client, tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "bare.duckdb"))
        began, cpu_began = time.perf_counter(), time.process_time()
        headers = _login(client, payload)
        jobs = f"{base}/services/data/{API}/jobs/query"
        job = client.post(
            jobs,
            json={"operation": "queryAll", "query": payload["soql"], "contentType": "CSV"},
            headers=headers,
        ).json()
        requests, wait = 2, POLL_S
        while job["state"] != "JobComplete":
            time.sleep(wait)
            wait = min(wait * 2, 10.0)
            job = client.get(f"{jobs}/{job['id']}", headers=headers).json()
            requests += 1
        results = f"{base}/services/data/v{float(job['apiVersion']):.1f}/jobs/query/{job['id']}"
        locator, page = "", 0
        while locator != "null":
            params = {"maxRecords": 50_000, **({"locator": locator} if locator else {})}
            target = Path(folder) / f"page-{page}.csv"
            with client.stream(
                "GET", f"{results}/results", params=params, headers=headers
            ) as answer:
                with target.open("wb") as out:
                    for chunk in answer.iter_bytes(1 << 20):
                        out.write(chunk)
                locator = answer.headers["Sforce-Locator"]
            requests += 1
            verb = "CREATE TABLE records AS" if page == 0 else "INSERT INTO records"
            con.execute(f"{verb} SELECT * FROM read_csv(?, header = true)", [str(target)])
            page += 1
        checkpoint = _checkpointed(con)
        seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
        ((rows,),) = con.execute("SELECT count(*) FROM records").fetchall()
        con.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "checkpoint_seconds": checkpoint,
        "rows": rows,
        "requests": requests,
    }


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    """One contender's run; `cpu_seconds` is its process's CPU time (threads too) while the
    clock runs, imports excluded as from the wall time."""
    contender = payload["contender"]
    if contender == "ours":
        return _ours(payload)
    if contender == "ours_rest":
        return _ours(payload, bulk_threshold=10**9)
    if contender == "bare_rest":
        return _bare_rest(payload)
    return _bare_bulk(payload)


def _soql(metrics: list[Any]) -> tuple[str, list[str]]:
    """The SOQL ours sends for the first, full read, and its columns: the bare loops send it
    too, so every contender reads the same records in the same pages."""
    from connectors.salesforce.requests import fields_for_metrics, full_read_where, records_soql
    from sandbox.salesforce.server import SCHEMA

    names = fields_for_metrics(metrics, {"Opportunity": True})["Opportunity"]
    where = full_read_where(metrics, "Opportunity", SCHEMA["Opportunity"])
    soql = records_soql("Opportunity", names, where=where)
    columns = soql.removeprefix("SELECT ").split(" FROM ")[0].split(", ")
    return soql, columns


def _measure_size(count: int, repeats: int, scale: str) -> Figure:
    from benchmarks.common import run_child
    from sandbox.salesforce.server import CLIENT_ID, CLIENT_SECRET, SalesforceSandbox

    soql, columns = _soql(_metrics())
    org = SalesforceSandbox().generate(*HISTORY, opportunities=count, leads=0)
    server = org.serve()
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in CONTENDERS}
    payload = {
        "base_url": server.base_url,
        "soql": soql,
        "fields": columns,
        # The bare loops' credentials come with the payload: importing the sandbox module
        # would put the connector's imports into their time.
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    try:
        for _ in range(repeats):
            for contender in CONTENDERS:
                results[contender].append(
                    run_child("benchmarks.salesforce_ingest", {**payload, "contender": contender})
                )
    finally:
        server.stop()
    seconds = {c: [r["seconds"] for r in rs] for c, rs in results.items()}
    medians = {c: median(v) for c, v in seconds.items()}
    cpu = {c: median([r["cpu_seconds"] for r in rs]) for c, rs in results.items()}
    rss = {c: [r["peak_rss_mib"] for r in rs] for c, rs in results.items()}
    bulk = "Bulk" in results["ours"][0]["read"]
    floor = "bare_bulk" if bulk else "bare_rest"
    # Each round's ratio, then the median: load on the shared machine moves a round alike.
    ratio, cpu_ratio, _ = paired_rounds(results, "ours", floor)
    rest_ratio, _, _ = paired_rounds(results, "ours_rest", "bare_rest")
    peak = max(rss["ours"] + rss["ours_rest"])
    details = {
        "scale": scale,
        "repeats": repeats,
        "opportunities": count,
        "compared_with": floor,
        "seconds": {c: [round(s, 3) for s in v] for c, v in seconds.items()},
        "median_seconds": {c: round(v, 3) for c, v in medians.items()},
        "median_cpu_seconds": {c: round(v, 3) for c, v in cpu.items()},
        "rows": {c: rs[0]["rows"] for c, rs in results.items()},
        "requests": {c: rs[0]["requests"] for c, rs in results.items()},
        "read": {c: results[c][0]["read"] for c in ("ours", "ours_rest")},
        "peak_rss_mib": {c: [round(m, 1) for m in v] for c, v in rss.items()},
        # The CHECKPOINT that ends each clock (in the seconds above), round by round.
        "checkpoint_seconds": {
            c: [round(r["checkpoint_seconds"], 3) for r in rs] for c, rs in results.items()
        },
        "ratio_rest_to_bare_rest": round(rest_ratio, 2),
        "ratio_cpu_to_floor": round(cpu_ratio, 2),
    }
    path = "Bulk API 2.0" if bulk else "REST"
    return Figure(
        key="salesforce_ingest" if count >= 200_000 else "salesforce_ingest_small",
        title=f"Salesforce ingest: {count:,} opportunities ({path})",
        ours=f"{medians['ours']:.2f} s (peak RSS {peak:.0f} MiB)",
        reference=f"{medians[floor]:.2f} s bare {path} loop + DuckDB",
        ratio=ratio,
        target="≤ 1.5 (≤ 2.0 at the least), peak RSS ≤ 1024 MiB",
        met=ratio <= 1.5 and peak <= 1024,
        command=COMMAND,
        details=details,
    )


def run(scale: str, repeats: int) -> list[Figure]:
    return [_measure_size(count, repeats, scale) for count in SCALES[scale]]


if __name__ == "__main__":
    benchmark_main(__doc__, measure, run, NOTES)
