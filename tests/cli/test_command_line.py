"""The command line on a bad day (issue 21, items 8-12; issue 23, item 5): every usage or
environment error is one clean message, the days of a run are checked before anything runs,
`okr sql` is read-only in fact, and pipes get output meant for pipes.

Every command runs as a real subprocess writing into a real pipe (subprocess's stdout), on a
copy of the session's shared demo or on a fresh path.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from okr_definitions.loader import load_definitions
from okr_definitions.resolve import Definitions

REPO = Path(__file__).resolve().parents[2]
# What Dagster's console log and Python print for a failure: none of it reaches a user
# unless they ask with --verbose. "Traceback" alone misses Dagster's formatted events.
TRACE_MARKERS = ("Traceback", "STEP_FAILURE", "RUN_FAILURE", "Stack Trace:", "dagster - ERROR")
SOURCE_ENV = (
    "GA4_CREDENTIALS_PATH",
    "GA4_ENDPOINT",
    "GA4_ANONYMOUS",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "MATOMO_URL",
    "MATOMO_TOKEN",
    "HUBSPOT_ACCESS_TOKEN",
    "HUBSPOT_HOST",
    "DAGSTER_HOME",
    "OKR_WAREHOUSE",
    "OKR_DEFINITIONS",
)


def okr(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, columns: int = 200
) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SOURCE_ENV}
    full_env = {**base, "COLUMNS": str(columns), "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "okr_cli.main", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        timeout=300,
    )


def assert_clean(result: subprocess.CompletedProcess, max_lines: int = 1) -> list[str]:
    """No trace of any kind, and at most `max_lines` lines on stderr; returns them."""
    for marker in TRACE_MARKERS:
        assert marker not in result.stdout + result.stderr, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert 1 <= len(lines) <= max_lines, result.stderr
    return lines


@pytest.fixture
def demo_copy(shared_demo, tmp_path: Path) -> tuple[Path, Path]:
    """(definitions, warehouse) copied from the shared demo, free to change."""
    definitions = tmp_path / "okr_definitions"
    shutil.copytree(shared_demo.definitions, definitions)
    warehouse = tmp_path / "okr_sync.duckdb"
    shutil.copy(shared_demo.warehouse, warehouse)
    return definitions, warehouse


def _loaded(definitions: Path) -> Definitions:
    loaded, problems = load_definitions(definitions)
    assert loaded is not None, problems
    return loaded


def _newest_day(definitions: Definitions) -> date:
    """Yesterday in the organisation's time zone: the newest day that has ended."""
    zone = ZoneInfo(definitions.organisation.timezone)
    return datetime.now(zone).date() - timedelta(days=1)


def _row_counts(warehouse: Path) -> tuple[int, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (raw,) = con.execute("SELECT count(*) FROM raw.metric_rows").fetchone()
        (staged,) = con.execute("SELECT count(*) FROM staging.metric_daily").fetchone()
    finally:
        con.close()
    return raw, staged


# ---- okr run: the days are checked before anything runs (21.8, 21.11) ----------------------


def test_run_before_the_first_day_needed_is_refused_before_anything_runs(
    demo_copy, tmp_path: Path
) -> None:
    definitions, warehouse = demo_copy
    earliest = _loaded(definitions).earliest_date_needed()
    before = _row_counts(warehouse)
    day_before = (earliest - timedelta(days=1)).isoformat()
    result = okr(
        "run", "--from", day_before, "--to", earliest.isoformat(),
        "-d", str(definitions), "-w", str(warehouse),
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = assert_clean(result)
    assert f"--from {day_before}" in line and f"start at {earliest}" in line
    assert _row_counts(warehouse) == before  # nothing written
    fresh = tmp_path / "fresh.duckdb"
    one_day = okr("run", "--date", day_before, "-d", str(definitions), "-w", str(fresh))
    assert one_day.returncode == 2 and f"start at {earliest}" in assert_clean(one_day)[0]
    assert not fresh.exists()


def test_run_of_a_day_that_has_not_ended_is_refused(demo_copy, tmp_path: Path) -> None:
    definitions, _ = demo_copy
    loaded = _loaded(definitions)
    for days in (
        lambda newest: ["--date", (newest + timedelta(days=1)).isoformat()],
        lambda newest: [
            "--from", newest.isoformat(), "--to", (newest + timedelta(days=30)).isoformat()
        ],
    ):  # fmt: skip
        # `okr run` reads the clock itself: asked again when midnight passed during the call
        for attempt in range(2):
            newest = _newest_day(loaded)
            fresh = tmp_path / f"fresh-{attempt}.duckdb"
            result = okr("run", *days(newest), "-d", str(definitions), "-w", str(fresh))
            if _newest_day(loaded) == newest:
                break
        assert result.returncode == 2, result.stderr
        (line,) = assert_clean(result)
        assert f"the newest day to run is {newest}" in line
        assert not fresh.exists()


def test_run_date_usage_errors_are_one_line(tmp_path: Path) -> None:
    for args in (
        ["--date", "yesterday"],
        ["--from", "2026-10-01"],
        ["--date", "2026-10-01", "--to", "2026-10-02"],
    ):
        result = okr("run", *args, "-w", str(tmp_path / "w.duckdb"))
        assert result.returncode == 2, args
        assert_clean(result)


def test_parse_errors_are_one_line_naming_the_commands_help() -> None:
    """A value of the wrong type, an unknown option or command, a missing argument: one line
    and exit 2, like the usage errors above (typer's own rendering is a boxed panel)."""
    for args, names in (
        (["checkin", "--week", "nope"], "'nope' is not a week"),
        (["sandbox", "--port-base", "x"], "--port-base"),
        (["run", "--nope"], "--nope"),
        (["nocommand"], "nocommand"),
        (["sql"], "query"),
    ):
        result = okr(*args)
        assert result.returncode == 2, (args, result.stderr)
        (line,) = assert_clean(result)
        assert line.startswith(f"error: okr {args[0]}" if args[0] != "nocommand" else "error: okr:")
        assert names in line and "--help)" in line, line
        assert "╭" not in result.stderr


# ---- okr run: a failing source is one clean message (23.5, 21.11) --------------------------


def test_a_refused_token_prints_one_message_not_dagster_events(demo_copy) -> None:
    """Every sandbox serving, Matomo's token refused: the run prints the source, what
    happened and what to do in a few lines; Dagster's failure events (which exist: --verbose
    shows them) stay out of the terminal."""
    from connectors.matomo.settings import TOKEN_ENV
    from okr_cli.run_summary import key_results_reading
    from okr_cli.sandboxes import running_sandboxes

    definitions, warehouse = demo_copy
    loaded = _loaded(definitions)
    day = _newest_day(loaded).isoformat()
    args = ("run", "--date", day, "-d", str(definitions), "-w", str(warehouse))
    with running_sandboxes(loaded.used_sources()):
        env = {
            k: v
            for k, v in os.environ.items()
            if k.startswith(("GA4_", "MATOMO_", "HUB", "AMPLITUDE_"))
        }
        env[TOKEN_ENV] = "not-the-token"
        quiet = okr(*args, env=env)
        verbose = okr(*args, "--verbose", env=env)
    assert quiet.returncode == verbose.returncode == 1
    printed = (quiet.stdout + quiet.stderr).splitlines()
    assert len(printed) <= 3, printed  # was 153-232 lines
    failed, summary = assert_clean(quiet, max_lines=2)
    assert failed.startswith("failed: matomo: ") and "refused the token" in failed
    assert "MATOMO_TOKEN: it must be the token_auth" in failed and "view access" in failed
    assert "1 of 7 sources failed (matomo)" in summary
    assert "loaded: amplitude, file, ga4, hubspot, mixpanel, salesforce" in summary
    affected = key_results_reading(loaded, {"matomo"})
    assert affected and f"key results without fresh data: {', '.join(affected)}" in summary
    # The events and the trace are there for whoever asks.
    assert "STEP_FAILURE" in verbose.stderr and "Stack Trace:" in verbose.stderr
    assert verbose.stderr.splitlines()[-1] == summary


def test_run_without_credentials_names_the_environment_variables(tmp_path: Path) -> None:
    """The bundled definitions with no source configured: one line a source naming the exact
    variable, and a summary that calls nothing fresh that is not."""
    warehouse = tmp_path / "w.duckdb"
    result = okr("run", "-w", str(warehouse))
    assert result.returncode == 1
    lines = assert_clean(result, max_lines=7)
    by_source = {line.split(":")[1].strip(): line for line in lines[:-1]}
    assert set(by_source) == {"amplitude", "ga4", "hubspot", "matomo", "mixpanel", "salesforce"}, (
        lines
    )
    assert "AMPLITUDE_API_KEY" in by_source["amplitude"]
    assert "AMPLITUDE_SECRET_KEY" in by_source["amplitude"]
    assert "GA4_CREDENTIALS_PATH" in by_source["ga4"]
    assert "credentials_path" not in by_source["ga4"]
    assert "HUBSPOT_ACCESS_TOKEN" in by_source["hubspot"]
    assert "MATOMO_URL" in by_source["matomo"] and "MATOMO_TOKEN" in by_source["matomo"]
    assert "SALESFORCE_CLIENT_ID" in by_source["salesforce"]
    assert "SALESFORCE_CLIENT_SECRET" in by_source["salesforce"]
    assert "MIXPANEL_SERVICE_ACCOUNT_SECRET" in by_source["mixpanel"]
    assert (
        "6 of 7 sources failed (amplitude, ga4, hubspot, matomo, mixpanel, salesforce)" in lines[-1]
    )
    assert "fresh" not in lines[-1].replace("without fresh data", "")


# ---- okr sql: read-only in fact, pipe format, text as written (21.9, 21.10) ----------------


def test_sql_piped_writes_csv_with_whole_values(shared_demo) -> None:
    warehouse = str(shared_demo.warehouse)
    result = okr(
        "sql", "SELECT kr_id, as_of_date, status FROM okr.kr_progress_daily ORDER BY 2, 1",
        "-w", warehouse, columns=40,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["kr_id", "as_of_date", "status"]
    con = duckdb.connect(warehouse, read_only=True)
    expected = con.execute(
        "SELECT kr_id, as_of_date::VARCHAR, status FROM okr.kr_progress_daily ORDER BY 2, 1"
    ).fetchall()
    con.close()
    assert [tuple(r) for r in rows[1:]] == expected
    table = okr("sql", "SELECT 1 AS n", "-w", warehouse, "--format", "table")
    assert "┃ n ┃" in table.stdout  # --format still chooses


def test_sql_shows_text_as_written(shared_demo) -> None:
    warehouse = str(shared_demo.warehouse)
    query = "SELECT ':x: [red]x[/red]' AS \"[b]c[/b]\""
    for fmt, expected in (
        ("csv", "[b]c[/b]\n:x: [red]x[/red]\n"),
        ("table", ":x: [red]x[/red]"),
        ("json", '"[b]c[/b]": ":x: [red]x[/red]"'),
    ):
        result = okr("sql", query, "-w", warehouse, "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout, (fmt, result.stdout)
    assert "[b]c[/b]" in okr("sql", query, "-w", warehouse, "--format", "table").stdout


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (SELECT 1) TO '{out}'",
        "COPY okr.key_results TO '{out}' (FORMAT csv)",
        "DELETE FROM okr.key_results",
        "CREATE TABLE main.x AS SELECT 1",
        "ATTACH '{out}' AS other",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "SELECT 1; DROP TABLE okr.key_results",
    ],
)
def test_sql_refuses_anything_but_a_query(shared_demo, tmp_path: Path, statement: str) -> None:
    out = tmp_path / "written"
    result = okr("sql", statement.format(out=out), "-w", str(shared_demo.warehouse))
    assert result.returncode == 1
    (line,) = assert_clean(result)
    assert "okr sql only reads" in line and "statement is refused" in line
    assert not out.exists()
    con = duckdb.connect(str(shared_demo.warehouse), read_only=True)
    (count,) = con.execute("SELECT count(*) FROM okr.key_results").fetchone()
    con.close()
    assert count == len(_loaded(shared_demo.definitions).key_results)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_parquet('{parquet}')",
    ],
)
def test_sql_reads_no_file(shared_demo, tmp_path: Path, query: str) -> None:
    """Queries that read files are queries: the connection itself has no file access."""
    parquet = tmp_path / "t.parquet"
    duckdb.execute(f"COPY (SELECT 42 AS secret) TO '{parquet}'")
    result = okr("sql", query.format(parquet=parquet), "-w", str(shared_demo.warehouse))
    assert result.returncode == 1
    (line,) = assert_clean(result)
    assert "root:" not in result.stdout and "42" not in result.stdout
    assert line.startswith("error: ")


def test_sql_empty_query_is_a_usage_error(shared_demo) -> None:
    for query in ("", "   ", " ; "):
        result = okr("sql", query, "-w", str(shared_demo.warehouse))
        assert result.returncode == 2
        assert "the query is empty" in assert_clean(result)[0]


# ---- okr status: pipes, COLUMNS, text as written, what exists (21.9, 21.11) ----------------


def _status_strings(warehouse: Path) -> tuple[list[str], list[str]]:
    """(every value and target as `okr status` formats it, every key-result title)."""
    from reports.formatting import format_value
    from warehouse.db import connection
    from warehouse.queries import status_rows

    with connection(warehouse, read_only=True) as con:
        rows = status_rows(con)
    numbers = [format_value(r[k], r["unit"]) for r in rows for k in ("value", "target")]
    return numbers, [r["title"] for r in rows]


@pytest.mark.parametrize("columns", [80, 100, 140])
def test_status_piped_honours_columns(shared_demo, columns: int) -> None:
    result = okr("status", "-w", str(shared_demo.warehouse), columns=columns)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    numbers, titles = _status_strings(shared_demo.warehouse)
    for number in numbers:  # never cut, never split from its unit
        assert any(number in line for line in lines), (number, result.stdout)
    long_titles = [t for t in titles if len(t) > columns // 2]
    wrapped = [t for t in long_titles if not any(t in line for line in lines)]
    if columns < 100:
        assert wrapped, "a narrow page wraps the long titles"
    text = " ".join(" ".join(line.replace("│", " ").split()) for line in lines)
    for title in titles:
        assert all(word in text for word in title.split()), title
    assert "\x1b[" not in result.stdout  # plain text


def test_status_piped_without_columns_keeps_the_natural_width(shared_demo) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    result = subprocess.run(
        [sys.executable, "-m", "okr_cli.main", "status", "-w", str(shared_demo.warehouse)],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if k not in SOURCE_ENV},
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    _, titles = _status_strings(shared_demo.warehouse)
    for title in titles:  # nothing wrapped
        assert any(title in line for line in lines), title


def test_status_and_report_show_titles_as_written(demo_copy, tmp_path: Path) -> None:
    definitions, warehouse = demo_copy
    hostile = "Grow :x: [red]fast[/red] [bold]now"
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE okr.key_results SET title = ? WHERE kr_id = 'won-revenue'", [hostile])
    con.execute("UPDATE okr.teams SET name = '[i]Sales[/i]' WHERE team_id = 'sales'")
    con.close()
    result = okr("status", "-w", str(warehouse), columns=250)
    assert result.returncode == 0, result.stderr
    assert hostile in result.stdout and "[i]Sales[/i] (sales)" in result.stdout


def test_status_names_what_exists(shared_demo) -> None:
    warehouse = str(shared_demo.warehouse)
    con = duckdb.connect(warehouse, read_only=True)
    first, last = con.execute(
        "SELECT min(as_of_date), max(as_of_date) FROM okr.kr_progress_daily"
    ).fetchone()
    teams = [
        t for (t,) in con.execute("SELECT DISTINCT team FROM okr.kr_progress_daily").fetchall()
    ]
    con.close()
    nope = okr("status", "--team", "nope", "-w", warehouse)
    assert nope.returncode == 1
    assert f"its teams: {', '.join(sorted(teams))}" in assert_clean(nope)[0]
    early = okr("status", "--date", (first - timedelta(days=1)).isoformat(), "-w", warehouse)
    assert early.returncode == 1
    assert f"the warehouse holds {first}..{last}" in assert_clean(early)[0]
    bad = okr("status", "--date", "W48", "-w", warehouse)
    assert bad.returncode == 2 and "YYYY-MM-DD" in assert_clean(bad)[0]


def test_a_warehouse_path_that_is_no_warehouse_is_one_line(shared_demo, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    yaml_file = tmp_path / "team.yaml"
    yaml_file.write_text("teams: []\n")
    day = _newest_day(_loaded(shared_demo.definitions)).isoformat()
    run = ["run", "--date", day, "-d", str(shared_demo.definitions)]
    for target, says in ((folder, "is a folder"), (yaml_file, "is not a DuckDB warehouse")):
        for command in (["status"], ["sql", "SELECT 1"], ["export", "--out", str(tmp_path)], run):
            result = okr(*command, "-w", str(target))
            assert result.returncode == 1, (command, target)
            assert says in assert_clean(result)[0]
    assert yaml_file.read_text() == "teams: []\n"


def test_commands_after_the_demo_name_its_warehouse(shared_demo, tmp_path: Path) -> None:
    """Run where `okr demo` ran (its okr-demo/ folder), without -w: one line with the flag."""
    from warehouse.db import DEFAULT_PATH

    if DEFAULT_PATH.exists():
        pytest.fail(f"{DEFAULT_PATH} exists here; this test needs the default warehouse absent")
    (tmp_path / "okr-demo").mkdir()
    shutil.copy(shared_demo.warehouse, tmp_path / "okr-demo" / "okr_sync.duckdb")
    for command in ("status", "report"):
        result = okr(command, cwd=tmp_path)
        assert result.returncode == 1
        assert "add -w okr-demo/okr_sync.duckdb" in assert_clean(result)[0]


# ---- okr report and okr export (21.9, 21.11) ----------------------------------------------


def test_report_usage_errors_leave_nothing_behind(demo_copy, tmp_path: Path) -> None:
    definitions, warehouse = demo_copy
    out = tmp_path / "reports"
    out.mkdir()
    common = ("-w", str(warehouse), "-d", str(definitions))
    result = okr("report", "--out", str(out), *common)
    assert result.returncode == 2
    assert f"--out {out} is a folder" in assert_clean(result)[0]
    week = okr("report", "--week", "W48", *common)
    assert week.returncode == 2
    assert "2026-W48" in assert_clean(week)[0] and "isoformat" not in week.stderr
    assert list(out.iterdir()) == []
    assert [p.name for p in tmp_path.rglob("*.partial")] == []


def test_export_prints_whole_paths(shared_demo, tmp_path: Path) -> None:
    out = tmp_path / "a-folder-with-a-long-name-for-the-exports" / "and-another-level"
    result = okr(
        "export", "--format", "csv", "--out", str(out), "-w", str(shared_demo.warehouse),
        columns=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = sorted(out.iterdir())
    assert len(written) >= 9
    for path in written:
        assert str(path) in result.stdout


# ---- consistent options (21.12) -------------------------------------------------------------


def test_validate_accepts_d_like_every_command_reading_definitions(demo_copy) -> None:
    definitions, _ = demo_copy
    result = okr("validate", "-d", str(definitions), "--offline")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK:")


def test_an_unexpected_environment_error_is_one_line_and_its_trace_on_request(
    tmp_path: Path,
) -> None:
    target = tmp_path / "no-such-folder" / "schema.json"
    result = okr("schema", "--out", str(target))
    assert result.returncode == 1
    (line,) = assert_clean(result)
    assert "FileNotFoundError" in line and "OKR_VERBOSE=1" in line
    verbose = okr("schema", "--out", str(target), env={"OKR_VERBOSE": "1"})
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr
