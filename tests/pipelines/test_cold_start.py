"""A daily run's cold start: the definitions parsed once per process, and the commands that only
read the warehouse or the YAML start without Dagster (README, "Commands")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from okr_cli.main import app
from okr_definitions import loader

REPO = Path(__file__).resolve().parents[2]


def test_a_run_parses_each_definitions_file_once(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`okr run` reads the definitions in the CLI, in the code location and in every asset's
    resource: each YAML file is still parsed and validated once (it was nine times a run)."""
    parsed: list[Path] = []
    parse = loader._parse_file

    def counting(file: Path):  # noqa: ANN202 - the loader's own return type
        parsed.append(file)
        return parse(file)

    monkeypatch.setattr(loader, "_PARSED", {})
    monkeypatch.setattr(loader, "_parse_file", counting)
    warehouse = tmp_path / "cold.duckdb"
    result = CliRunner().invoke(
        app, ["run", "--date", "2026-10-05", "-d", str(project), "-w", str(warehouse)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in parsed) == [
        "metrics.yaml",
        "objectives.yaml",
        "organisation.yaml",
    ]

    # An edited file is parsed again; the others come from the process's memo.
    objectives = project / "objectives.yaml"
    objectives.write_text(objectives.read_text().replace("Signups +50 %", "Signups +50%"))
    definitions, problems = loader.load_definitions(project)
    assert definitions is not None, problems
    assert [p.name for p in parsed[3:]] == ["objectives.yaml"]
    assert (
        definitions.key_results["signups-total"].item.title
        == "Signups +50% over the previous ten days"
    )


_READ_COMMANDS = """
import json, sys
from okr_cli.main import app
codes, loaded = [], []
heavy = json.loads(sys.argv[2])
for args in json.loads(sys.argv[1]):
    try:
        app(args)
    except SystemExit as exc:
        codes.append(exc.code)
    # which of them this process has loaded so far, after each command
    loaded.append(
        sorted(h for h in heavy if any(m == h or m.startswith(h + ".") for m in sys.modules))
    )
print(json.dumps({"codes": codes, "loaded": loaded}), file=sys.stderr)
"""


# What the commands people wait on at a prompt must not load: Dagster, the report's charting,
# and the sources' client libraries (needed only when credentials are set and a check runs).
HEAVY = [
    "dagster",
    "altair",
    "vl_convert",
    "google.analytics",
    "google.protobuf",
    "grpc",
    "hubspot",
    "simple_salesforce",
    "zeep",
    "httpx",
]
# `okr validate` (without credentials) reads only the YAML and the export files: not DuckDB,
# and of Arrow only what reads the demo's CSV export (no Parquet, no workbook reader).
WAREHOUSE_ONLY = ["duckdb", "pyarrow.parquet", "fastexcel"]
# DuckDB, and pyarrow with NumPy: `okr validate` loads Arrow only to read export files.
WAREHOUSE_AND_ARROW = ["duckdb", "pyarrow", "numpy"]


def _commands_in_one_process(commands: list[list[str]], heavy: list[str]) -> dict:
    """Run the `okr` commands one after another in a fresh process (no credentials in its
    environment): their exit codes, which of `heavy` it had loaded after each, its output."""
    result = subprocess.run(
        [sys.executable, "-c", _READ_COMMANDS, json.dumps(commands), json.dumps(heavy)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "NO_COLOR": "1"},
    )
    outcome = json.loads(result.stderr.strip().splitlines()[-1])
    return {**outcome, "output": result.stdout + result.stderr}


def test_status_sql_and_validate_import_no_dagster_and_no_client_library(shared_demo) -> None:
    """`okr status`, `okr sql` and `okr validate` (no credentials: the demo uses all seven
    sources) load neither Dagster, nor the report's charting, nor any source's client; `okr
    validate`, run first, not DuckDB either."""
    commands = [
        ["validate", str(shared_demo.definitions)],
        ["status", "-w", str(shared_demo.warehouse)],
        ["sql", "-w", str(shared_demo.warehouse), "SELECT count(*) FROM okr.kr_progress_latest"],
    ]
    outcome = _commands_in_one_process(commands, HEAVY + WAREHOUSE_ONLY)
    assert outcome["codes"] == [0, 0, 0], outcome["output"]
    # after validate nothing heavy; after status and sql only DuckDB
    assert outcome["loaded"] == [[], ["duckdb"], ["duckdb"]]


_API_ONLY = """
organisation: {name: Cold, timezone: UTC}
sources:
  ga4: {property_id: "314159265"}
teams:
  - {id: growth, name: Growth, owner: growth@example.com}
metrics:
  - {id: sessions, source: ga4, query: {metric: sessions}}
objectives:
  - id: seen
    title: Seen
    team: growth
    period: 2026-Q4
    key_results:
      - {id: sessions-up, title: Sessions, metric: sessions, measure: total,
         baseline: 0, target: 100}
"""


def test_validate_of_api_sources_loads_no_arrow(tmp_path: Path) -> None:
    """Definitions without export files: `okr validate` (no credentials) plans the requests
    and checks the YAML without pyarrow and NumPy, ~0.1 s of a command run at a prompt."""
    (tmp_path / "okr.yaml").write_text(_API_ONLY)
    validate = [["validate", str(tmp_path)]]
    outcome = _commands_in_one_process(validate, [*HEAVY, *WAREHOUSE_AND_ARROW])
    assert outcome["codes"] == [0], outcome["output"]
    assert outcome["loaded"] == [[]]


def test_the_backup_commands_keep_the_warehouse_default() -> None:
    """`okr backup`'s --keep default is spelled in the CLI (warehouse/backup.py loads DuckDB,
    which `okr validate` does without): the two agree."""
    from okr_cli.backup import DEFAULT_KEEP as cli_keep
    from warehouse.backup import DEFAULT_KEEP

    assert cli_keep == DEFAULT_KEEP


def test_status_opens_the_warehouse_once(shared_demo, monkeypatch: pytest.MonkeyPatch) -> None:
    """`okr status` asks all its questions (rows, key results not started, check-in trends)
    on one read-only connection: each open is a DuckDB instance of its own (~20 ms)."""
    from warehouse import db

    opened: list[Path] = []
    open_file = db._open

    def counting(target: Path, *args: object):  # noqa: ANN202 - DuckDB's connection
        opened.append(target)
        return open_file(target, *args)

    monkeypatch.setattr(db, "_open", counting)
    result = CliRunner().invoke(
        app,
        ["status", "-w", str(shared_demo.warehouse), "-d", str(shared_demo.definitions)],
        env={"COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert result.exit_code == 0, result.output
    # the rows and the check-in trends, each from the one connection
    assert "key results as of" in result.output
    assert "Check-ins, " in result.output
    assert opened == [shared_demo.warehouse]
