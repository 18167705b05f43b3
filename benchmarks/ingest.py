"""Figure 1, ingest: GA4 report rows and HubSpot deals from the sandboxes into DuckDB.

For each source, three contenders fetch the same answers, each in a fresh child process:

- **ours**: the real connector (official client library, paging, parsing into Arrow) and the
  real warehouse load (`replace_source_window` with the source's raw table for GA4, as the
  GA4 asset does; for HubSpot `warehouse.sources.hubspot.sync`, the asset's own run: the
  read, its load in one transaction, the daily values, then `replace_source_window`) into a
  migrated warehouse file;
- **practical limit**: a bare httpx loop asking for the same pages over loopback — each paged
  read page by page from the cursor in the answer before (HubSpot's `paging.next.after` and
  keyset restarts, as a real client must; never the recorded list of requests), every answer
  parsed once with `json.loads` — keeping the answers as files, and DuckDB bulk-reading them
  into a table;
- **local files**: the same answers read by DuckDB straight from local files, no HTTP.

The sandboxes are not measured: the real connector first runs against the live sandbox with
every answer recorded (benchmarks/replay.py), and all three contenders are then served the
recorded bytes from memory by a server in its own process. HubSpot's client-side rate limits
(4 searches a second, HubSpot's documented limit) are lifted for all contenders alike: in
production they, not the client, bound a 200,000-deal full read (1,000 search pages ≥ 250 s).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from benchmarks.common import Figure, child_main, median, parser, report, run_child

COMMAND = "python -m benchmarks.ingest"
NOW = "2026-11-26T12:00:00+00:00"
GA4_PROPERTY = "900000001"
GA4_FIRST_DAY = date(2026, 4, 1)
SCALES: dict[str, dict[str, Any]] = {
    # 5,000 pages × 200 days = 1,000,000 report rows; the connector's default page size.
    "full": {"ga4_pages": 5_000, "ga4_days": 200, "ga4_page_size": None, "deals": 200_000},
    # HubSpot also at a quarter of that, where fixed costs show.
    "small_hubspot": {"ga4_pages": 0, "ga4_days": 0, "ga4_page_size": None, "deals": 50_000},
    # Small pages so paging and batching still happen.
    "tiny": {"ga4_pages": 40, "ga4_days": 25, "ga4_page_size": 300, "deals": 1_500},
}
RSS_LIMIT_MIB = 1024
# HubSpot's CRM search serves at most 10,000 results per query (its documented cap).
HUBSPOT_SEARCH_CAP = 10_000
NOTES = {
    "ingest": """
### Ingest (figure 1)

Method: answers are recorded once from the live sandbox, then replayed from memory by a
server in its own process for every contender (three repetitions each, interleaved, median).
Each contender is a fresh child process; wall time starts after imports and after the
warehouse file is opened and migrated, and ends when the rows are committed and a CHECKPOINT
has written them into the file (the same for every contender; see the HubSpot notes). Peak
RSS is the
child's own high-water mark (`VmHWM`, whole process, imports included). The practical limit
reads the answers with `read_json_objects` and DuckDB's JSON path functions: `read_json`
with a typed schema of the nested rows took 20-22 s for the million GA4 rows here (5-6x
slower), and the reference should be the fastest bulk read, not a slow one.

GA4 before the fix (same machine, same method): ours 62.3 s, 16,061 rows/s, peak RSS 1,367 MiB.
The client library's REST transport decodes every answer into protobuf in pure Python
(`json_format.Parse`, ~40 µs a row) and the connector then walked the rows in Python. Fixed
in connectors/ga4 (see "Fixes"): the REST answers are fetched through the client's own
authorised session and host and read with pyarrow's JSON reader; the daily sums are Arrow
group-bys. gRPC (`transport="grpc"`) keeps the protobuf path; the sandbox speaks REST only,
so it cannot be measured here, and REST is the default, so this was the path users run.

GA4 peak memory, traced by stage (VmRSS, one run): 203 MiB after imports and migrations,
430 MiB while the largest batch answer (66 MB of JSON, 500,000 rows) is parsed, up to 760 MiB
while the rows are read (Arrow's allocator then keeps the freed columns: RSS stayed at 670
MiB before the fix, now handed back, 275 MiB), 360 MiB with the raw table built, and about
+490 MiB in DuckDB for inserting and committing the nested raw rows (raw.ga4_responses keeps
every answer row as sent): ~850 MiB at the end. The practical limit's DuckDB JSON read peaks
at ~2.5 GiB for the same answers. Since the first recorded run the GA4 reader also counts
each answer row once when a row comes twice across pages (another change), which costs
time and memory on a million rows; the figure includes it.

HubSpot before the fixes: ours 27.2 s against 10.9 s for the practical limit (a run under
heavy load), `load_object_read` alone 9.3 s (pyinstrument: insert_history 5.3 s,
upsert_objects 3.4 s: DuckDB's ON CONFLICT path into empty tables, and the property maps
converted from Arrow twice). Since then (second round): the daily values pull each property
out of the flattened map column once instead of `pc.map_lookup` per property (the daily step
from ~1.0 s to ~0.4 s), each page becomes Arrow in one conversion as it arrives (peak RSS
~80 MiB lower), and a first read skips the archive pass. Old against new tree, alternating
against the same replay server (5 rounds): 6.20 s -> 5.69 s, limit 3.29 s, 1.88x -> 1.73x.

What bounds it is writing the CRM's objects into DuckDB, not reading HubSpot (stage medians,
wall/CPU seconds, one quiet window): fetch 2.20/1.91 (the client's HTTP 0.58 s for 984
requests, `json.loads` ~0.5 s, dicts to Arrow ~0.4 s), load 2.45/2.51, daily 0.37/0.41. The
load writes every deal twice, into the current state and its first history version, each a
table with a `MAP` of properties and a primary key: DuckDB checks every map entry for
duplicate and NULL keys (~0.45 us each, 0.6-0.75 s for 1.6 M entries, the same whichever way
the map is built; 0.06 s as a plain list), each such table costs ~0.5 s to write plus ~0.2 s
for its key, and inserts into a table with a primary key run on one core. The load alone is
about 90 % of the whole practical-limit run. Getting well below 2x would take a schema
change (properties as a list of pairs, losing `properties['x']` in SQL and the unique-key
guarantee; or history stored as only the versions after the first) or giving up the
"property missing vs null" distinction, which is what keeps pyarrow's JSON reader out
(it reads both as null and has no map type); none of these is worth the trade.
The reference is honest since this round (the figures recorded last session, 2.40 for
195,555 deals, were against a loop that replayed the recorded requests without reading a
single answer): the bare loop now asks for each page from the cursor in the answer before,
with HubSpot's keyset restarts at the 10,000-result cap, and parses every answer with
`json.loads` as any client must to find its cursor; it must send exactly the requests the
connector sent (the run fails otherwise). The figures are recorded at 50,000 deals too,
where fixed costs show, and with each contender's CPU seconds beside the wall time: on this
machine, shared with seven colleagues' test runs (load average 25-35 while these ran), the
wall times of both contenders stretched 10-20x and the CPU ratio is the steadier figure.

Third round, where fixed costs show (50,000 deals). Fairness first, both ways. Ours now runs
`warehouse.sources.hubspot.sync`, the asset's own run (the full-read decision, the check for
properties never read, the company-currency request: 248 requests, one more for both
contenders), instead of a hand-picked subset of its steps. And every clock now ends with a
CHECKPOINT: DuckDB checkpoints on its own inside a commit whose log passes 16 MB, which ours'
two keyed tables do (0.28 s of ours' commit at 50,000 deals), while the bare loop's bulk read
was checkpointed only when its file was closed, after its clock: the same work, inside one
clock and outside the other. The seconds each contender's CHECKPOINT took are in the details
(ours' is near zero: its commit already did it); before this round the figures were 1.47
(195,555 deals) and 1.63 (48,892). Then the fixed costs of ours, cut (CPU seconds, 50,000
deals): the daily values opened three in-memory DuckDB instances per call, ~20 ms each, now one
(0.18 -> 0.11 s); a first read was decided by pyarrow's `count_distinct` on one thread (20-60
ms) and the insert then checked the same again in two queries, now one DuckDB query and no
second check; the search's id-order check ran a Python loop per object, now one pass in C;
`pyarrow.acero`, imported on first use by the load's duplicate check (~14 ms), is imported
before the clock like every other import; after a first read the daily values use the rows just
read instead of reading the same objects back from the warehouse (0.03 s at 50,000 deals).
Tried and not kept: converting each page to Arrow in a worker thread while the next page is
fetched (GIL contention: the 50,000-deal fetch 0.355 -> 0.488 s wall); writing the history's
first version from the same Arrow table instead of copying the stored rows (0.40 s against 0.29
s for both statements: DuckDB builds a MAP from Arrow at ~0.4 us an entry, validating each
map's keys, the same whichever way the map is built, and copies a stored MAP at ~0.15 us);
sending through urllib3 without hubspot-api-client's generated path (0.43 -> 0.33 ms CPU a
request, ~25 ms in all; the bare loop's httpx costs 0.86 ms); forcing a string compression (the
file 3x larger, the commit no faster).

What bounds the rest (CPU seconds, 50,000 deals, one quiet window): the fetch 0.35
(`json.loads` 0.11, as in the bare loop; the client's HTTP 0.11, the bare loop's httpx 0.21;
each page's dicts to Arrow 0.08-0.15), the load 0.55 (the current state's MAP built from Arrow
0.20, its copy into the history 0.08, the commit with its checkpoint 0.28: two tables with a
MAP and a primary key, which the notes above keep), the daily values 0.12, the rest ~0.05;
against ~1.0 for the whole bare loop, whose DuckDB read builds one MAP table without a key on
two threads. The load is the gap, and it is the schema's (current state and first history
version, each keyed and with its MAP).

Fourth round, 195,555 deals on a quiet machine: the last quiet round measured 1.54 (ours 4.24
s, the bare loop 2.76 s) while the CPU ratio was 1.05: ours spends no more CPU than the bare
loop, but serially on one core, where the bare loop's DuckDB read uses two. So this round takes
work off ours' serial path. (1) On a first read the daily values are computed from the rows just
read in a thread while DuckDB runs the load (DuckDB releases the GIL while a statement runs; the
thread's pyarrow and in-memory DuckDB work mostly does too): 0.3-0.4 s CPU now alongside the
load, which takes longer. If the load finds objects stored after all (a cursor lost, a newer
version kept), the values are computed again from the stored objects. (2) The answers are parsed
with orjson instead of `json.loads`: the same dicts, 0.30 -> 0.16 s CPU for the 963 pages.
Stages now (wall, one process, load average ~5): the fetch 1.27-1.75 s, the load 1.96-2.33 s
(the current state's MAP from Arrow 1.24-1.47, its copy into the history ~0.5, the commit 0.16),
the daily values 0.56-0.67 s beside the load; 3.31-3.77 s in all. Old tree against new,
interleaved with the bare loop (five rounds, load 5-6): CPU medians 3.59 -> 3.38 s (the bare
loop 3.62); wall 4.89 -> 4.54 s, too noisy at that load to quote. Measured and not kept: the
MAP built from another Arrow shape (1.6 M entries, one thread: Arrow's map 0.50 s CPU, its keys
dictionary-encoded 0.51, a struct of text columns mapped by DuckDB's `map_from_entries` as the
Salesforce load does 0.56): DuckDB checks every map's keys whatever the shape.

The figures in the table were recorded at load average ~5 (colleagues' tests on the two shared
cores), which stretches every wall time about twofold and takes the bare loop's second core
away: 0.89 at 195,555 deals, 1.12 at 48,892 (CPU ratios 1.04 and 1.10). The quiet figure is
the one the issue asks about, and a quiet run (`python -m benchmarks.run_all`) gives the figure
to quote; this round takes an estimated 0.4-0.5 s of ours' 4.24 s off the quiet round above
(its serial path, not measured quiet here). The lever left is the load itself: streaming each
page's rows into DuckDB while the next pages are fetched (into a staging table, then copied
into the keyed tables at ~0.15 us an entry instead of ~0.4 from Arrow) would take the current
state's MAP build (~1.2 s) off the serial path. Not done: it would hold a write transaction or
a staging connection open across the network read, which `sync` keeps free today (in production
that read is bounded by HubSpot's rate limit, 200-250 s for 200,000 deals, the warehouse held
all along to save ~1 s), and would reach the connector's re-read from the start (an incomplete
read) and its archived-list filtering into the warehouse.

HubSpot's own limits are lifted for every contender; in production 1,000 search pages at
HubSpot's 5 searches a second (the connector keeps to 4) take at least 200-250 s, which
bounds a full read of 200,000 deals long before the client does.
""",
}


# --- what the connectors are asked for ---------------------------------------------------------


def ga4_metrics() -> list[Any]:
    from connectors.base import MetricRequest
    from okr_definitions.sources.ga4 import GA4Query

    # One report: three metrics sharing the date × pagePath breakdown (a row per page and day).
    return [
        MetricRequest(mid, GA4Query(metric=name, dimensions=["pagePath"]))
        for mid, name in (
            ("page_sessions", "sessions"),
            ("page_views", "screenPageViews"),
            ("page_purchases", "keyEvents:purchase"),
        )
    ]


def hubspot_metrics() -> list[Any]:
    from connectors.base import MetricRequest
    from okr_definitions.sources.hubspot import HubSpotQuery

    return [
        MetricRequest(
            "won_revenue",
            HubSpotQuery(
                object="deals",
                aggregate="sum",
                property="amount",
                date_property="closedate",
                stage="won",
            ),
        ),
        MetricRequest("deals_created", HubSpotQuery(object="deals", date_property="createdate")),
        MetricRequest(
            "win_rate",
            HubSpotQuery(
                object="deals",
                date_property="closedate",
                stage="won",
                denominator={"stage": "closed"},
            ),
        ),
    ]


def _window(payload: dict[str, Any]) -> tuple[date, date]:
    if payload["source"] == "ga4":
        return GA4_FIRST_DAY, GA4_FIRST_DAY + timedelta(days=payload["ga4_days"] - 1)
    from sandbox.hubspot.server import HISTORY_START

    return HISTORY_START, datetime.fromisoformat(NOW).date() - timedelta(days=1)


def checkpointed(con: Any) -> float:
    """Write the committed rows into the database file itself (DuckDB's CHECKPOINT); returns
    the seconds it took. Every contender's clock ends with it: DuckDB checkpoints on its own
    when a commit's log passes 16 MB (ours, whose two tables with keys log their rows) and
    otherwise when the file is closed (a bare bulk read), so without it one side's clock would
    hold that work and the other's not."""
    began = time.perf_counter()
    con.execute("CHECKPOINT")
    return time.perf_counter() - began


# --- ours ----------------------------------------------------------------------------------------


def _ours_ga4(payload: dict[str, Any], con: Any) -> dict[str, Any]:
    from connectors.base import request_hash
    from connectors.ga4 import GA4Settings, fetch_ga4
    from warehouse.load import replace_source_window

    start, end = _window(payload)
    metrics = ga4_metrics()
    extra = {"page_size": payload["ga4_page_size"]} if payload["ga4_page_size"] else {}
    began = time.perf_counter()
    cpu_began = time.process_time()
    settings = GA4Settings.for_sandbox(payload["base_url"], GA4_PROPERTY, **extra)
    result = fetch_ga4(
        settings, metrics, start, end, now=datetime.fromisoformat(NOW), partition_date=end
    )
    ids = [m.metric_id for m in metrics]
    replace_source_window(
        con,
        "ga4",
        ids,
        start,
        end,
        result,
        request_hash({"source": "ga4", "metrics": ids, "start": start, "end": end}),
        datetime.now(UTC),
        end,
        raw_tables={
            "raw.ga4_responses": ("partition_date BETWEEN ? AND ?", [start, end], result.raw)
        },
    )
    checkpoint = checkpointed(con)
    seconds = time.perf_counter() - began
    cpu_seconds = time.process_time() - cpu_began
    (rows,) = con.execute("SELECT sum(rows_returned) FROM raw.ga4_responses").fetchone()
    (daily,) = con.execute("SELECT count(*) FROM raw.metric_rows").fetchone()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "checkpoint_seconds": checkpoint,
        "rows": int(rows),
        "metric_rows": int(daily),
        "requests": result.request_count,
    }


def _ours_hubspot(payload: dict[str, Any], con: Any) -> dict[str, Any]:
    from contextlib import contextmanager

    from pydantic import SecretStr

    from connectors.base import request_hash
    from connectors.hubspot import HubSpotClient, HubSpotSettings
    from sandbox.hubspot.server import DEFAULT_TOKEN
    from warehouse.load import replace_source_window
    from warehouse.sources.hubspot import sync

    start, end = _window(payload)
    metrics = hubspot_metrics()
    ids = [m.metric_id for m in metrics]

    @contextmanager
    def opened() -> Iterator[Any]:
        # The warehouse opened and migrated before the clock, as the bare loop's file is.
        yield con

    began = time.perf_counter()
    cpu_began = time.process_time()
    settings = HubSpotSettings(
        access_token=SecretStr(DEFAULT_TOKEN),
        host=payload["base_url"],
        time_zone="UTC",
        search_requests_per_second=1e6,
        requests_per_second=1e6,
    )
    client = HubSpotClient(settings)
    # What the HubSpot asset runs: the read, its load, the daily values (sync), then the
    # window's rows written as write_fetch_result writes them.
    report = sync(
        opened, settings, metrics, start, end, earliest_needed=start, run_id="bench", client=client
    )
    replace_source_window(
        con,
        "hubspot",
        ids,
        report.window_start,
        report.window_end,
        report.result,
        request_hash(
            {
                "source": "hubspot",
                "metrics": ids,
                "start": report.window_start,
                "end": report.window_end,
            }
        ),
        datetime.now(UTC),
        report.window_end,
    )
    checkpoint = checkpointed(con)
    seconds = time.perf_counter() - began
    cpu_seconds = time.process_time() - cpu_began
    (objects,) = con.execute("SELECT count(*) FROM raw.hubspot_objects").fetchone()
    (metric_rows,) = con.execute("SELECT count(*) FROM raw.metric_rows").fetchone()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "checkpoint_seconds": checkpoint,
        "rows": int(objects),
        "metric_rows": int(metric_rows),
        "requests": client.request_count,
    }


def ours(payload: dict[str, Any]) -> dict[str, Any]:
    # Loaded on first use by pyarrow's group_by (the load's duplicate check): an import, kept
    # out of the clock like the contenders' other imports.
    import pyarrow.acero  # noqa: F401

    from warehouse.db import connect

    with tempfile.TemporaryDirectory(prefix="okr-bench-ingest-") as folder:
        con = connect(Path(folder) / "ingest.duckdb")
        try:
            if payload["source"] == "ga4":
                return _ours_ga4(payload, con)
            return _ours_hubspot(payload, con)
        finally:
            con.close()


# --- the references ----------------------------------------------------------------------------

_MAX_OBJECT = 1 << 30


def _sql_list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def bulk_read(con: Any, source: str, files: dict[str, list[str]]) -> int:
    """DuckDB reads the answers' rows (GA4 report rows, HubSpot objects) into one table.

    `read_json_objects` and DuckDB's JSON path functions, not `read_json` with a typed
    schema: the typed transform of these deeply nested answers ran 5-6x slower here
    (1M GA4 rows: ~20 s against ~3.5 s), and the reference should be the fastest bulk read.
    """
    reads = {
        kind: f"read_json_objects({_sql_list(names)}, maximum_object_size={_MAX_OBJECT})"
        for kind, names in files.items()
        if names
    }
    if source == "ga4":
        reports = []
        if "single" in reads:
            reports.append(f"SELECT json FROM {reads['single']}")
        if "batch" in reads:
            reports.append(
                f"SELECT unnest(json_extract(json, '$.reports[*]')) FROM {reads['batch']}"
            )
        con.execute(
            f"""
            CREATE TABLE answer_rows AS
            WITH reports AS ({" UNION ALL ".join(reports)}),
            report_rows AS (SELECT unnest(json_extract(json, '$.rows[*]')) AS r FROM reports)
            SELECT json_extract_string(r, '$.dimensionValues[*].value') AS dimension_values,
                   json_extract_string(r, '$.metricValues[*].value') AS metric_values
            FROM report_rows
            """
        )
    else:
        con.execute(
            f"""
            CREATE TABLE answer_rows AS
            WITH results AS (
                SELECT unnest(json_extract(json, '$.results[*]')) AS r FROM {reads["objects"]}
            )
            SELECT r->>'$.id' AS object_id,
                   CAST(r->>'$.createdAt' AS TIMESTAMPTZ) AS created_at,
                   CAST(r->>'$.updatedAt' AS TIMESTAMPTZ) AS updated_at,
                   CAST(r->>'$.archived' AS BOOLEAN) AS archived,
                   CAST(json_extract(r, '$.properties') AS MAP(VARCHAR, VARCHAR)) AS properties
            FROM results
            """
        )
    (rows,) = con.execute("SELECT count(*) FROM answer_rows").fetchone()
    return int(rows)


def _kind(source: str, path: str) -> str | None:
    """Which bulk read an answer belongs to (None: not a data answer, e.g. pipelines)."""
    if source == "ga4":
        if path.endswith(":runReport"):
            return "single"
        return "batch" if path.endswith(":batchRunReports") else None
    return "objects" if path.startswith("/crm/v3/objects/") else None


def _group(source: str, entries: list[dict[str, Any]], name: Any) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {"single": [], "batch": [], "objects": []}
    for entry in entries:
        kind = _kind(source, entry["path"])
        if kind and entry["status"] == 200:
            kinds[kind].append(str(name(entry)))
    return kinds


def _continues_a_chain(entry: dict[str, Any], body: bytes) -> bool:
    """Whether a recorded request is a later page of a paged read: the bare loop does not
    replay those, it asks for them from the cursor in each answer, as a client must."""
    if "after=" in entry["query"]:
        return True
    if not (entry["method"] == "POST" and entry["path"].endswith("/search") and body):
        return False
    sent = json.loads(body)
    bounded = any(
        f.get("propertyName") == "hs_object_id" and f.get("operator") == "GT"
        for g in sent.get("filterGroups", [])
        for f in g.get("filters", [])
    )
    return "after" in sent or bounded


def _next_after(data: dict[str, Any]) -> str | None:
    return ((data.get("paging") or {}).get("next") or {}).get("after")


def _search_pages(client: Any, path: str, first: dict[str, Any]) -> Iterator[bytes]:
    """HubSpot CRM search, paged as a client must page it: `paging.next.after` from each
    answer, and before the offset passes the 10,000-result cap a keyset restart (`hs_object_id
    GT` the last id read) added to every filter group, sorted by id."""
    limit = int(first["limit"])
    groups = [list(g["filters"]) for g in first["filterGroups"]] or [[]]
    bound: int | None = None
    after: str | None = None
    offset = 0
    last_id: int | None = None
    while True:
        keyset = (
            [{"propertyName": "hs_object_id", "operator": "GT", "value": str(bound)}]
            if bound is not None
            else []
        )
        body = {k: v for k, v in first.items() if k != "after"}
        body["filterGroups"] = [{"filters": g + keyset} for g in groups if g + keyset]
        if after is not None:
            body["after"] = after
        answer = client.post(path, json=body)
        yield answer.content
        data = json.loads(answer.content)
        results = data.get("results") or []
        if results:
            last_id = int(results[-1]["id"])
        next_after = _next_after(data)
        if not next_after:
            return
        offset = max(offset + limit, int(next_after))
        if offset + limit > HUBSPOT_SEARCH_CAP:
            bound, after, offset = last_id, None, 0
        else:
            after = str(next_after)


def _list_pages(client: Any, entry: dict[str, Any]) -> Iterator[bytes]:
    """A list endpoint (HubSpot's recycle bin), following `paging.next.after`."""
    params = parse_qsl(entry["query"])
    while True:
        answer = client.get(entry["path"], params=params)
        yield answer.content
        next_after = _next_after(json.loads(answer.content))
        if not next_after:
            return
        params = [(k, v) for k, v in params if k != "after"] + [("after", next_after)]


def bare_loop(payload: dict[str, Any]) -> dict[str, Any]:
    """The practical limit: httpx over loopback and DuckDB's bulk JSON read. A paged read is
    asked for page by page from the cursor in each answer (parsed with `json.loads`, as any
    client must to find it), never replayed from the recorded list of requests; every answer
    is parsed once, as a client does (GA4's pages are planned from the first answer's
    rowCount)."""
    import duckdb
    import httpx

    from benchmarks.replay import recorded

    folder = Path(payload["recording"])
    entries = recorded(folder)
    bodies = [(folder / e["request"]).read_bytes() for e in entries]
    starts = [
        (entry, body)
        for entry, body in zip(entries, bodies, strict=True)
        if not _continues_a_chain(entry, body)
    ]
    with tempfile.TemporaryDirectory(prefix="okr-bench-bare-") as tmp:
        out = Path(tmp)
        con = duckdb.connect(str(out / "bare.duckdb"))
        files: dict[str, list[str]] = {"single": [], "batch": [], "objects": []}
        requests = 0
        began = time.perf_counter()
        cpu_began = time.process_time()
        with httpx.Client(base_url=payload["base_url"], timeout=120) as client:
            for entry, body in starts:
                kind = _kind(payload["source"], entry["path"])
                if entry["method"] == "POST" and entry["path"].endswith("/search"):
                    pages = _search_pages(client, entry["path"], json.loads(body))
                elif entry["method"] == "GET" and kind == "objects":
                    pages = _list_pages(client, entry)
                else:
                    url = entry["path"] + (f"?{entry['query']}" if entry["query"] else "")
                    headers = {"content-type": entry["content_type_in"]} if body else {}
                    answer = client.request(entry["method"], url, content=body, headers=headers)
                    json.loads(answer.content)  # a client reads every answer
                    pages = iter([answer.content])
                for content in pages:
                    requests += 1
                    name = out / f"{requests:05d}.json"
                    name.write_bytes(content)
                    if kind:
                        files[kind].append(str(name))
        rows = bulk_read(con, payload["source"], files)
        checkpoint = checkpointed(con)
        seconds = time.perf_counter() - began
        cpu_seconds = time.process_time() - cpu_began
        con.close()
    if requests != len(entries):
        raise RuntimeError(
            f"the bare loop sent {requests} requests where the connector sent {len(entries)}"
        )
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "checkpoint_seconds": checkpoint,
        "rows": rows,
        "requests": requests,
    }


def local_files(payload: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    from benchmarks.replay import recorded

    folder = Path(payload["recording"])
    entries = recorded(folder)
    with tempfile.TemporaryDirectory(prefix="okr-bench-files-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "files.duckdb"))
        began = time.perf_counter()
        cpu_began = time.process_time()
        rows = bulk_read(
            con,
            payload["source"],
            _group(payload["source"], entries, lambda e: folder / e["answer"]),
        )
        checkpoint = checkpointed(con)
        seconds = time.perf_counter() - began
        cpu_seconds = time.process_time() - cpu_began
        con.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "checkpoint_seconds": checkpoint,
        "rows": rows,
    }


CONTENDERS = {"ours": ours, "bare_loop": bare_loop, "local_files": local_files}


def measure(payload: dict[str, Any]) -> dict[str, Any]:
    return CONTENDERS[payload["contender"]](payload)


# --- orchestration -----------------------------------------------------------------------------


def _live_spec(source: str, scale: dict[str, Any]) -> dict[str, Any]:
    if source == "ga4":
        return {
            "now": NOW,
            "property_id": GA4_PROPERTY,
            "time_zone": "UTC",
            "bench_pages": scale["ga4_pages"],
        }
    return {"now": NOW, "deals": scale["deals"], "contacts": 0}


def measure_source(source: str, scale_name: str, repeats: int, folder: Path) -> Figure:
    from benchmarks.replay import ServerProcess

    scale = SCALES[scale_name]
    recording = folder / source
    base = {
        "source": source,
        "ga4_days": scale["ga4_days"],
        "ga4_page_size": scale["ga4_page_size"],
        "recording": str(recording),
    }
    # The capture run: the real connector against the live sandbox, every answer recorded.
    spec = json.dumps(_live_spec(source, scale))
    with ServerProcess(["--record", source, str(recording), spec]) as live:
        capture = run_child(
            "benchmarks.ingest", {**base, "contender": "ours", "base_url": live.base_url}
        )
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
    with ServerProcess(["--serve", str(recording)]) as replay:
        for _ in range(max(1, repeats)):
            # Interleaved, so a burst of load on the shared machine hits every side alike.
            for name in CONTENDERS:
                runs[name].append(
                    run_child(
                        "benchmarks.ingest",
                        {**base, "contender": name, "base_url": replay.base_url},
                    )
                )
    shutil.rmtree(recording, ignore_errors=True)

    t = {name: median([r["seconds"] for r in rs]) for name, rs in runs.items()}
    rows = runs["ours"][0]["rows"]
    if any(r["rows"] != runs["bare_loop"][0]["rows"] for r in runs["bare_loop"]):
        raise RuntimeError("the bare loop read a different number of rows between runs")
    rss = max(r["peak_rss_mib"] for r in runs["ours"])
    # Each round's pair, then the median: load on the shared machine moves a pair alike.
    ratio = median(
        [o["seconds"] / b["seconds"] for o, b in zip(runs["ours"], runs["bare_loop"], strict=True)]
    )
    what = "GA4 report rows" if source == "ga4" else "HubSpot deals"
    return Figure(
        key=f"ingest_{source}",
        title=f"Ingest: {rows:,} {what}",
        ours=f"{t['ours']:.2f} s, {rows / t['ours']:,.0f} rows/s, peak RSS {rss:.0f} MiB",
        reference=(
            f"practical limit {t['bare_loop']:.2f} s "
            f"({runs['bare_loop'][0]['rows'] / t['bare_loop']:,.0f} rows/s); "
            f"local files {t['local_files']:.2f} s"
        ),
        ratio=ratio,
        target=f"≤ 1.5× the practical limit; peak RSS ≤ {RSS_LIMIT_MIB} MiB",
        met=ratio <= 1.5 and rss <= RSS_LIMIT_MIB,
        command=COMMAND,
        details={
            "scale": scale_name,
            "repeats": len(runs["ours"]),
            "seconds": {n: [round(r["seconds"], 3) for r in rs] for n, rs in runs.items()},
            "median_seconds": {n: round(v, 3) for n, v in t.items()},
            # CPU time of each contender's process in the same span (its threads too; the
            # replay server's is in neither): steadier than wall time on a loaded machine.
            "cpu_seconds": {n: [round(r["cpu_seconds"], 3) for r in rs] for n, rs in runs.items()},
            "cpu_ratio": round(
                median(
                    [
                        o["cpu_seconds"] / b["cpu_seconds"]
                        for o, b in zip(runs["ours"], runs["bare_loop"], strict=True)
                    ]
                ),
                2,
            ),
            # The CHECKPOINT that ends each clock (in the seconds above), round by round.
            "checkpoint_seconds": {
                n: [round(r["checkpoint_seconds"], 3) for r in rs] for n, rs in runs.items()
            },
            "rows": {n: rs[0]["rows"] for n, rs in runs.items()},
            "ratio_to_local_files": round(t["ours"] / t["local_files"], 2),
            "practical_limit_to_local_files": round(t["bare_loop"] / t["local_files"], 2),
            "peak_rss_mib": {
                n: [round(r["peak_rss_mib"], 1) for r in rs] for n, rs in runs.items()
            },
            "http_requests": runs["bare_loop"][0]["requests"],
            "connector_requests": runs["ours"][0]["requests"],
            "metric_rows_loaded": runs["ours"][0]["metric_rows"],
            "capture_run_seconds_against_live_sandbox": round(capture["seconds"], 2),
        },
    )


def run(
    scale: str = "full", repeats: int = 3, sources: tuple[str, ...] = ("ga4", "hubspot")
) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="okr-bench-recordings-") as folder:
        figures = [measure_source(source, scale, repeats, Path(folder)) for source in sources]
        if scale == "full" and "hubspot" in sources:
            small = measure_source("hubspot", "small_hubspot", repeats, Path(folder))
            small.key = "ingest_hubspot_small"
            small.details["scale"] = "full (50,000 deals)"
            figures.append(small)
        return figures


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if child_main(measure, argv):
        return
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--source", choices=["ga4", "hubspot"], action="append")
    args = p.parse_args(argv)
    sources = tuple(args.source or ("ga4", "hubspot"))
    report(run(args.scale, args.repeats, sources), NOTES, write=not args.no_record)


if __name__ == "__main__":
    main()
