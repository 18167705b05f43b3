"""A small threaded HTTP server shared by the source sandboxes.

Each sandbox supplies a `handle(request) -> Response` function; this module takes care of the
socket, request counting and the fault switches (429, 5xx, slow answers, resets, malformed
bodies) that tests and benchmarks turn on.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# How often the serving thread looks for a stop request while idle (seconds).
STOP_POLL_SECONDS = 0.05


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return cls(status=status, body=json.dumps(payload).encode(), headers=headers or {})


@dataclass
class Fault:
    """One injected failure, consumed by the next matching request.

    kind: "status" (answer `status` with `body`/`headers`), "slow" (sleep `delay` seconds, then
    answer normally), "reset" (close the socket without answering), "malformed" (answer 200 with
    a body cut in half), "truncate" (let the handler answer, then cut its body in half), "html"
    (answer 200 with a proxy's HTML error page), "empty" (answer 200 with no body at all),
    "rewrite" (let the handler answer, then pass its JSON through `rewrite(request, payload)`:
    a well-formed answer that says something else, e.g. a page without `paging`).
    `path_contains` limits the fault to matching paths and `when` to matching requests;
    `times` repeats it.
    """

    kind: str
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    path_contains: str = ""
    times: int = 1
    rewrite: Callable[[Request, Any], Any] | None = None
    when: Callable[[Request], bool] | None = None


@dataclass
class RecordedRequest:
    """One request a sandbox received, its JSON body decoded (None: no body, or not JSON)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class RequestRecorder:
    """Keeps every request a sandbox's handler receives, in order (`received`): the OKR-tool
    sandboxes' tests read what a client sent. `_lock` also guards the sandbox's own state."""

    def __init__(self) -> None:
        self.received: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def record(self, request: Request) -> RecordedRequest:
        try:
            body = request.json() if request.body else None
        except ValueError:
            body = None
        recorded = RecordedRequest(
            request.method, request.path, request.query, request.headers, body
        )
        with self._lock:
            self.received.append(recorded)
        return recorded

    def posts(self) -> list[RecordedRequest]:
        return [r for r in self.received if r.method == "POST"]


# What a reverse proxy in front of an API answers when its upstream is away, with status 200
# (some proxies and captive portals do): HTML where JSON was expected.
PROXY_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service temporarily unavailable</title></head>"
    b"<body><h1>Service temporarily unavailable</h1><p>Please try again later.</p></body></html>"
)


Handler = Callable[[Request], Response]


def _rewritten(
    response: Response, request: Request, rewrite: Callable[[Request, Any], Any]
) -> Response:
    """The handler's 200 JSON answer passed through `rewrite`; other answers as they are."""
    if response.status != 200 or "json" not in response.content_type:
        return response
    payload = rewrite(request, json.loads(response.body))
    return Response(200, json.dumps(payload).encode(), response.headers, response.content_type)


class SandboxServer:
    """Run `handler` on 127.0.0.1:<free port> in a background thread.

    Use as a context manager or call `start()`/`stop()`. `base_url` is where clients point.
    """

    def __init__(self, handler: Handler, name: str = "sandbox", port: int = 0) -> None:
        self.handler = handler
        self.name = name
        self._requested_port = port
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.request_counts: Counter[str] = Counter()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- fault switches ---------------------------------------------------------------------
    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        """Injected failures not met yet (a test's proof that its fault was hit)."""
        with self._lock:
            return sum(fault.times for fault in self._faults)

    def _next_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains in request.path and (
                    fault.when is None or fault.when(request)
                ):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @property
    def total_requests(self) -> int:
        return sum(self.request_counts.values())

    def reset_counts(self) -> None:
        self.request_counts.clear()

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Python's http.server writes headers and body separately; without NODELAY
                # the second small write waits ~40 ms for the client's delayed ACK.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # quiet: tests and benchmarks count requests instead

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with server._lock:
                    server.request_counts[parts.path] += 1
                fault = server._next_fault(request)
                if fault and fault.kind == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault and fault.kind == "slow":
                    time.sleep(fault.delay)
                if fault and fault.kind == "status":
                    response = Response(fault.status, fault.body, fault.headers)
                elif fault and fault.kind == "malformed":
                    response = Response(200, b'{"rows": [{"dimensionValues": [')
                elif fault and fault.kind == "html":
                    response = Response(200, PROXY_ERROR_PAGE, content_type="text/html")
                elif fault and fault.kind == "empty":
                    response = Response(200, b"")
                else:
                    try:
                        response = server.handler(request)
                    except Exception as exc:  # a sandbox bug must show, not hang the client
                        response = Response.json(
                            {"error": {"code": 500, "message": f"sandbox error: {exc!r}"}}, 500
                        )
                    if fault and fault.kind == "rewrite" and fault.rewrite is not None:
                        response = _rewritten(response, request, fault.rewrite)
                    if fault and fault.kind == "truncate":
                        response = Response(
                            response.status,
                            response.body[: len(response.body) // 2],
                            response.headers,
                            response.content_type,
                        )
                self._write(response)

            def _write(self, response: Response) -> None:
                head = [
                    f"HTTP/1.1 {response.status} {self.responses.get(response.status, ('',))[0]}"
                ]
                headers = {"Content-Type": response.content_type, **response.headers}
                headers["Content-Length"] = str(len(response.body))
                head += [f"{k}: {v}" for k, v in headers.items()]
                # One write for head and body: avoids the Nagle/delayed-ACK stall entirely.
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + response.body)
                self.wfile.flush()

            do_GET = _serve
            do_POST = _serve
            do_PUT = _serve
            do_PATCH = _serve
            do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._requested_port), _Handler)
        self._httpd.daemon_threads = True
        # stop() waits for serve_forever's next poll: Python's default of 0.5 s made every
        # `okr demo` and every test with a sandbox wait that long at the end.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": STOP_POLL_SECONDS},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until_interrupted(poll_seconds: float = 0.2) -> None:
    """Block the calling (main) thread until Ctrl-C; the KeyboardInterrupt propagates.

    Short sleeps rather than one endless wait: a SIGINT that arrives after Python last looked
    for signals but before the thread blocks in the kernel is noticed only when the thread
    wakes. With `threading.Event().wait()` that is never, and `okr sandbox` ignored a Ctrl-C
    (tests/cli/test_sandbox_command.py makes that race happen thousands of times).
    """
    while True:
        time.sleep(poll_seconds)


# What a source's sandbox package hands `okr sandbox` and `okr demo`: the running server (None
# for a source without one, such as files) and the environment that points the connector at it.
Started = tuple[SandboxServer | None, dict[str, str]]
