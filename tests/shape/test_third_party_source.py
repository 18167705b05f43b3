"""A source shipped as its own package (entry-point group `okr_sync.sources`) works end to end:
`okr validate` knows its query, a run loads its rows, a key result reads them.

The example package (tests/plugins/okr_example_source/) is built into a wheel and installed with
pip into a temporary folder that only the `okr` subprocesses see (PYTHONPATH), so the test venv
is not changed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "tests" / "plugins" / "okr_example_source"
NAME, VERSION = "okr_example_source", "0.1.0"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(folder: Path) -> Path:
    """A pure-Python wheel of the example package (the format is a zip with a dist-info; no
    build backend is needed, so nothing is fetched)."""
    dist_info = f"{NAME}-{VERSION}.dist-info"
    files = {f"{NAME}/{p.name}": p.read_bytes() for p in sorted((PACKAGE / NAME).glob("*.py"))}
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: okr-example-source\nVersion: {VERSION}\n"
    ).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: okr-sync tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{dist_info}/entry_points.txt"] = (
        b"[okr_sync.sources]\nexample = okr_example_source:SOURCE\n"
    )
    record = [_record_line(name, data) for name, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    wheel = folder / f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plugin")
    wheel = build_wheel(folder)
    target = folder / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=120,
    )
    assert (target / f"{NAME}-{VERSION}.dist-info" / "entry_points.txt").is_file()
    return target


def okr(plugin_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONPATH": str(plugin_path)}
    return subprocess.run(
        [sys.executable, "-m", "okr_cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


DEFINITIONS = """\
organisation: {name: Plug-in Test, timezone: UTC, lookback_days: 0}
sources:
  example: {allowed_lag_days: 2}
teams:
  - {id: ops, name: Operations}
metrics:
  - id: events
    source: example
    query: {per_day: %s}
objectives:
  - id: count-events
    title: Events are counted every day
    team: ops
    period: 2026-Q4
    key_results:
      - {id: events-total, title: Events reach 920 this quarter, metric: events,
         measure: total, target: 920}
      - {id: events-week, title: Events hold 70 a week, metric: events,
         measure: rolling_7d, target: 70, direction: at_least}
"""


def write_definitions(folder: Path, per_day: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "okrs.yaml").write_text(DEFINITIONS % per_day)
    return folder


def test_validate_knows_the_plugin_source(plugin_path: Path, tmp_path: Path) -> None:
    good = okr(plugin_path, "validate", str(write_definitions(tmp_path / "good", "10")))
    assert good.returncode == 0, good.stderr
    bad = okr(plugin_path, "validate", str(write_definitions(tmp_path / "bad", "-1")))
    assert bad.returncode == 1
    # The plug-in's own lint, located at the field, with its fix.
    assert (
        "okrs.yaml:9: error: metrics[0].query.per_day" in bad.stderr
        and "per_day is negative" in bad.stderr
    ), bad.stderr


def test_without_the_plugin_the_source_is_unknown(tmp_path: Path) -> None:
    result = okr(Path("/nonexistent"), "validate", str(write_definitions(tmp_path / "d", "10")))
    assert result.returncode == 1
    # (the fix suggests the closest built-in name, `amplitude`, or lists them all)
    assert "unknown source `example`" in result.stderr, result.stderr


def test_a_run_loads_the_plugin_rows_into_a_key_result(plugin_path: Path, tmp_path: Path) -> None:
    definitions = write_definitions(tmp_path / "okr", "10")
    warehouse = tmp_path / "plugin_test.duckdb"
    run = okr(
        plugin_path,
        "run",
        "-d",
        str(definitions),
        "-w",
        str(warehouse),
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-10",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        raw = con.execute(
            "SELECT count(*), sum(value) FROM raw.metric_rows WHERE source = 'example'"
        ).fetchall()
        rows = con.execute(
            "SELECT kr_id, value, progress FROM okr.kr_progress_daily "
            "WHERE as_of_date = '2026-10-10' ORDER BY kr_id"
        ).fetchall()
    # 10 days × 10 events; the total since 10-01 is 100 of 920 (progress 100/920); the last 7
    # days hold 70 of 70.
    assert raw == [(10, 100.0)]
    assert rows == [
        ("events-total", 100.0, pytest.approx(100 / 920)),
        ("events-week", 70.0, pytest.approx(1.0)),
    ]
