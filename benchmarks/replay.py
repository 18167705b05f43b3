"""Record a sandbox's answers once, then serve them from memory in a process of their own.

The ingest figure must measure the clients, not the sandboxes: the GA4 sandbox computes a
million-row report and HubSpot's renders 200,000 deals, which takes longer than reading them.
So the real connector runs once against the live sandbox with every answer recorded
(`--record`), and all contenders are then measured against `--serve`, which answers each
request with the recorded bytes (one write per answer, TCP_NODELAY: the shared
`SandboxServer`). Running in its own process, the server never shares a GIL with the client
being measured.

    python -m benchmarks.replay --record ga4 DIR      # prints "PORT <n>", records into DIR
    python -m benchmarks.replay --serve DIR           # prints "PORT <n>", replays DIR
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sandbox.base import Request, Response, SandboxServer

INDEX = "index.jsonl"


def request_key(method: str, path: str, query: dict[str, list[str]], body: bytes) -> str:
    """The same request, however its client serialised the JSON body or ordered the query."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True) if body else ""
    except ValueError:
        canonical = body.hex()
    parts = [method, path, json.dumps(sorted(query.items())), canonical]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class Recorder:
    """A handler that answers through `handler` and keeps every request and answer in a folder
    (answer bodies as files, so the local-files reference can read them as they are)."""

    def __init__(self, handler: Callable[[Request], Response], folder: Path) -> None:
        self.handler = handler
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._n = 0

    def __call__(self, request: Request) -> Response:
        response = self.handler(request)
        with self._lock:
            self._n += 1
            name = f"{self._n:05d}"
            (self.folder / f"{name}.json").write_bytes(response.body)
            (self.folder / f"{name}.request").write_bytes(request.body)
            entry = {
                "n": self._n,
                "key": request_key(request.method, request.path, request.query, request.body),
                "method": request.method,
                "path": request.path,
                "query": urlencode([(k, v) for k, values in request.query.items() for v in values]),
                "content_type_in": request.headers.get("content-type", ""),
                "status": response.status,
                "headers": response.headers,
                "content_type": response.content_type,
                "answer": f"{name}.json",
                "request": f"{name}.request",
            }
            with (self.folder / INDEX).open("a") as index:
                index.write(json.dumps(entry) + "\n")
        return response


def recorded(folder: Path) -> list[dict[str, Any]]:
    """The recorded exchanges in the order they happened."""
    lines = (folder / INDEX).read_text().splitlines()
    return [json.loads(line) for line in lines if line]


class Replayer:
    """Answers every recorded request with its recorded bytes, held in memory."""

    def __init__(self, folder: Path) -> None:
        self.answers: dict[str, Response] = {}
        for entry in recorded(folder):
            self.answers[entry["key"]] = Response(
                status=entry["status"],
                body=(folder / entry["answer"]).read_bytes(),
                headers=entry["headers"],
                content_type=entry["content_type"],
            )

    def __call__(self, request: Request) -> Response:
        key = request_key(request.method, request.path, request.query, request.body)
        answer = self.answers.get(key)
        if answer is None:
            return Response.json(
                {
                    "error": {
                        "code": 404,
                        "message": f"not recorded: {request.method} {request.path}",
                    }
                },
                404,
            )
        return answer


# --- the live sandboxes the recordings come from ------------------------------------------------


def live_handler(source: str, spec: dict[str, Any]) -> Callable[[Request], Response]:
    from datetime import datetime

    now = datetime.fromisoformat(spec["now"])
    if source == "ga4":
        from sandbox.ga4.server import GA4Sandbox, SandboxProperty

        prop = SandboxProperty(
            spec["property_id"],
            time_zone=spec["time_zone"],
            profile="bench",
            bench_pages=spec["bench_pages"],
        )
        return GA4Sandbox([prop], now=now)
    if source == "hubspot":
        from sandbox.hubspot.server import HubSpotSandbox

        sandbox = HubSpotSandbox(deals=spec["deals"], contacts=spec["contacts"], now=now).warm()
        return sandbox.handle
    if source == "mixpanel":
        from datetime import date

        from sandbox.mixpanel.server import MixpanelSandbox, demo_events

        events = demo_events(
            date.fromisoformat(spec["first"]),
            date.fromisoformat(spec["last"]),
            "UTC",
            extra_events=spec["extra_events"],
            users=spec["users"],
        )
        return MixpanelSandbox(events, project_id=spec["project_id"], now=now)
    if source == "amplitude":
        from datetime import date

        from sandbox.amplitude.server import AmplitudeSandbox, generate_events

        names = tuple(spec["events"])
        first, last = date.fromisoformat(spec["first"]), date.fromisoformat(spec["last"])
        return AmplitudeSandbox(
            generate_events(names, first, last, users=spec["users"]),
            now=now.date(),
            event_types=names,
        )
    raise ValueError(f"no live sandbox for {source!r}")


def serve_forever(handler: Callable[[Request], Response]) -> None:
    server = SandboxServer(handler, name="replay").start()
    print(f"PORT {server.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # in short waits: a SIGTERM landing just before the thread blocks runs its handler only
    # when the thread wakes (see sandbox.base.wait_until_interrupted)
    while not stop.wait(0.2):
        pass
    server.stop()


class ServerProcess:
    """A recording or replaying server in a child process (its own interpreter and GIL)."""

    def __init__(self, args: list[str]) -> None:
        from benchmarks.common import REPO

        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.replay", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.process.kill()
            raise RuntimeError(f"replay server did not start: {line!r}")
        self.port = int(line.split()[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def replayed_rounds(
    module: str,
    source: str,
    spec: dict[str, Any],
    payload: dict[str, Any],
    contenders: tuple[str, ...],
    repeats: int,
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """One capture run of ours against the live sandbox (every answer recorded), then
    `repeats` interleaved rounds of every contender against the replay, each in a fresh
    process (`benchmarks.common.run_child`). Returns the capture's result and each
    contender's results, round by round."""
    import tempfile

    from benchmarks.common import run_child

    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    with tempfile.TemporaryDirectory(prefix=f"okr-bench-{source}-rec-") as folder:
        with ServerProcess(["--record", source, folder, json.dumps(spec)]) as live:
            capture = run_child(module, {**payload, "contender": "ours", "base_url": live.base_url})
        with ServerProcess(["--serve", folder]) as replay:
            for _ in range(max(1, repeats)):
                # Interleaved, so a burst of load on the shared machine hits all alike.
                for name in contenders:
                    runs[name].append(
                        run_child(
                            module, {**payload, "contender": name, "base_url": replay.base_url}
                        )
                    )
    return capture, runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--record", nargs=3, metavar=("SOURCE", "DIR", "SPEC_JSON"))
    group.add_argument("--serve", metavar="DIR")
    args = parser.parse_args(argv)
    if args.record:
        source, folder, spec = args.record
        serve_forever(Recorder(live_handler(source, json.loads(spec)), Path(folder)))
    else:
        serve_forever(Replayer(Path(args.serve)))


if __name__ == "__main__":
    main()
