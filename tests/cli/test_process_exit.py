"""An `okr` process ends without the interpreter's teardown (okr_cli/console.py
`_end_process`), and still does what a user relies on from an exit: its status, all of its
output, the exit handlers (logging's files, temporary folders), and waiting for a thread
still at work. Each case is a real process running a command through `run_app`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_COMMAND = """
import atexit, logging, sys, tempfile, threading, time
from pathlib import Path
import typer
from okr_cli.console import run_app

out = Path(sys.argv[1])
app = typer.Typer(add_completion=False)
alive_at_exit = []


@app.command()
def work(late_thread: bool = False) -> None:
    logging.basicConfig(filename=out / "log.txt", level=logging.INFO)
    logging.info("logged by the command")
    alive_at_exit.append(tempfile.TemporaryDirectory(dir=out))  # its finaliser removes it
    (out / "tempdir.txt").write_text(alive_at_exit[0].name)
    atexit.register(lambda: (out / "atexit.txt").write_text("ran"))
    if late_thread:
        def later() -> None:
            time.sleep(0.3)
            (out / "thread.txt").write_text("finished")
        threading.Thread(target=later).start()
    sys.stdout.write("x" * 200_000)  # more than a pipe's buffer, no newline
    raise typer.Exit(3)

sys.argv = ["okr", *sys.argv[2:]]
run_app(app)
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _COMMAND, str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_status_output_and_exit_handlers_survive_the_quick_exit(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 3
    assert result.stdout == "x" * 200_000
    assert result.stderr == ""
    assert "logged by the command" in (tmp_path / "log.txt").read_text()
    assert (tmp_path / "atexit.txt").read_text() == "ran"
    assert not Path((tmp_path / "tempdir.txt").read_text()).exists()


def test_a_thread_still_at_work_is_waited_for(tmp_path: Path) -> None:
    result = _run(tmp_path, "--late-thread")
    assert result.returncode == 3
    assert (tmp_path / "thread.txt").read_text() == "finished"


def test_a_profiler_still_writes_its_figures(tmp_path: Path) -> None:
    script = tmp_path / "command.py"
    script.write_text(_COMMAND)
    profile = tmp_path / "run.prof"
    result = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr  # cProfile itself swallows the exit status
    assert profile.stat().st_size > 0
