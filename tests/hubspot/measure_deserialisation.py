"""How much the client's model deserialisation costs on a large deal pull (not a test).

    /work/venv/bin/python tests/hubspot/measure_deserialisation.py [deals]

Pulls the same search pages from the sandbox three ways with the real client:
  bytes  — `_preload_content=False`, body read but not parsed (transport + sandbox baseline),
  json   — `_preload_content=False` + json.loads (the connector parses with orjson, ~half),
  models — the generated method's default: JSON → SimplePublicObject models,
and then the connector's whole fetch_hubspot_objects (JSON → Arrow table). Prints seconds per
approach (best of 3) and deals per second.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import SecretStr

from connectors.hubspot import HubSpotClient, HubSpotSettings, fetch_hubspot_objects
from sandbox.hubspot.server import HubSpotSandbox

PROPERTIES = [
    "amount",
    "amount_in_home_currency",
    "closedate",
    "createdate",
    "dealstage",
    "hs_lastmodifieddate",
    "hs_object_id",
    "pipeline",
]


def _bodies(client: HubSpotClient) -> list[dict]:
    """The keyset-paged search bodies that read every deal (ids > previous page's last)."""
    bodies, bound = [], None
    while True:
        body = {
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": PROPERTIES,
            "limit": 200,
        }
        if bound is not None:
            body["filterGroups"] = [
                {
                    "filters": [
                        {"propertyName": "hs_object_id", "operator": "GT", "value": str(bound)}
                    ]
                }
            ]
        page = client.search_page("deals", body).data
        bodies.append(body)
        if not page.get("paging"):
            return bodies
        bound = int(page["results"][-1]["id"])


def _best(fn: Callable[[], int], runs: int = 3) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - start)
    return best, count


def _serve(deals: int, port: multiprocessing.Queue) -> None:
    """The sandbox in its own process, so its work does not share the client's GIL."""
    sandbox = HubSpotSandbox(deals=deals, contacts=0, now=datetime(2026, 11, 26, 12, tzinfo=UTC))
    server = sandbox.serve()
    port.put((server.base_url, sandbox.token))
    threading.Event().wait()


def main(deals: int) -> None:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_serve, args=(deals, queue), daemon=True)
    child.start()
    try:
        base_url, token = queue.get(timeout=60)
        settings = HubSpotSettings(
            access_token=SecretStr(token),
            host=base_url,
            search_requests_per_second=10_000,
            requests_per_second=10_000,
        )
        client = HubSpotClient(settings)
        bodies = _bodies(client)  # also warms the sandbox's snapshot and match caches
        api = client.search_api

        def raw_bytes() -> int:
            return sum(len(api.do_search("deals", b, _preload_content=False).data) for b in bodies)

        def raw_json() -> int:
            return sum(
                len(json.loads(api.do_search("deals", b, _preload_content=False).data)["results"])
                for b in bodies
            )

        def models() -> int:
            return sum(len(api.do_search("deals", b).results) for b in bodies)

        def connector() -> int:
            return fetch_hubspot_objects(settings, "deals", None, PROPERTIES).num_rows

        print(f"{len(bodies)} search pages")
        for name, fn in (
            ("bytes", raw_bytes),
            ("json", raw_json),
            ("models", models),
            ("fetch_hubspot_objects", connector),
        ):
            seconds, count = _best(fn)
            unit = "bytes" if name == "bytes" else "deals"
            print(
                f"{name:>22}: {seconds:6.2f} s  ({count} {unit}"
                + (f", {count / seconds:,.0f} deals/s)" if unit == "deals" else ")")
            )
    finally:
        child.terminate()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
