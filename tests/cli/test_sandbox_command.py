"""`okr sandbox` prints exports that stay valid across restarts (fixed ports from
--port-base), and every variable it exports is documented in the README."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from registry.sources import source_names

REPO = Path(__file__).resolve().parents[2]


def _free_port_base(count: int = len(source_names())) -> int:
    """A base with a free port for every registered source after it (bound and released at
    once): `okr sandbox` serves each source on the base plus its place in the registry."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65000:
            continue
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


def _exports(port_base: int) -> dict[str, str]:
    """Start `okr sandbox`, read the exports it prints, stop it with Ctrl-C (SIGINT)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GA4_", "MATOMO_", "HUBSPOT_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "okr_cli.main", "sandbox", "--port-base", str(port_base)],
        cwd=REPO,
        env={**env, "NO_COLOR": "1", "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Ctrl-C at a terminal: the child must not inherit an ignored SIGINT from the test
        # process (an xdist worker running Dagster's code may ignore it), or Python installs
        # no KeyboardInterrupt handler in it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    exports: dict[str, str] = {}
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    for line in process.stdout:
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").strip().partition("=")
            exports[key] = value
        if line.startswith("Ctrl-C stops") or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    try:
        status = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output = process.stdout.read()
        raise AssertionError(f"okr sandbox did not stop on Ctrl-C: {output}") from None
    assert status in (0, 130), process.stdout.read()  # 130: Ctrl-C before the wait began
    return exports


def test_exports_survive_a_restart_and_are_documented() -> None:
    base = _free_port_base()
    first = _exports(base)
    second = _exports(base)
    assert first == second
    # the bundled definitions read every built-in source with a server
    assert first["GA4_ENDPOINT"] == f"http://127.0.0.1:{base + 1}"
    assert first["MATOMO_URL"] == f"http://127.0.0.1:{base + 2}"
    assert first["HUBSPOT_HOST"] == f"http://127.0.0.1:{base + 3}"
    assert first["GA4_ANONYMOUS"] == "1"
    readme = (REPO / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))
    assert set(first) <= documented, set(first) - documented


def test_a_taken_port_is_one_clear_message() -> None:
    base = _free_port_base()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 1))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "okr_cli.main", "sandbox", "--port-base", str(base)],
            cwd=REPO,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"a sandbox port from {base} on is taken" in result.stderr
    assert "--port-base" in result.stderr


# Ctrl-C racing the wait: a thread sends SIGINT while the main thread goes into the wait,
# thousands of times. Sent from a thread that takes the GIL the moment the main thread lets it
# go, the signal often lands after Python's last look for signals and before the thread blocks
# in the kernel: `threading.Event().wait()` then never returns (in 20,000 rounds it hung in six
# runs of six here, each within seconds), while the helper's next short sleep notices it.
_CTRL_C_RACE = """
import os, signal, sys, threading
from sandbox.base import wait_until_interrupted

WAIT = {wait}
interrupted = 0
for _ in range({rounds}):
    go = threading.Event()

    def send() -> None:
        go.wait()
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        go.set()
        WAIT()
    except KeyboardInterrupt:
        interrupted += 1
    sender.join()
print(interrupted)
"""


def _race(wait: str, rounds: int, timeout: float) -> subprocess.CompletedProcess[str] | None:
    script = _CTRL_C_RACE.format(wait=wait, rounds=rounds)
    try:
        return subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    except subprocess.TimeoutExpired:
        return None


def test_ctrl_c_is_never_lost_while_the_sandbox_waits() -> None:
    rounds = 20_000
    finished = _race("lambda: wait_until_interrupted(poll_seconds=0.002)", rounds, timeout=90)
    assert finished is not None, "wait_until_interrupted missed a Ctrl-C"
    assert finished.returncode == 0, finished.stderr
    assert int(finished.stdout) == rounds
