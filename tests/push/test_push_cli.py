"""`okr push [--dry-run]`, and what `okr validate` says about `push:` settings and ids."""

from __future__ import annotations

from datetime import date

from push_testkit import CONVERSION_ID, DEFINITIONS, SESSIONS_ID, set_progress, write_definitions
from typer.testing import CliRunner

from okr_cli.main import app
from warehouse.db import connection

DAY = date(2026, 9, 14)


def okr(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


def test_dry_run_prints_what_would_be_written(tools, push_definitions, warehouse_file) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    result = okr("push", "--dry-run", "-d", str(push_definitions), "-w", str(warehouse_file))
    assert result.exit_code == 0, result.output
    assert "okr_tracker: would push" in result.stdout
    assert "conversion-up" in result.stdout and CONVERSION_ID in result.stdout
    # The comment column wraps to the terminal's width: its start is on the key result's line.
    line = next(ln for ln in result.stdout.splitlines() if "conversion-up" in ln)
    assert "3.21" in line and "okr-sync, data" in line
    assert tools.okr_tracker.received == [] and tools.webhook.caught == []


def test_push_sends_the_newest_day_and_then_nothing(
    tools, push_definitions, warehouse_file
) -> None:
    set_progress(warehouse_file, date(2026, 9, 13), {"sessions-up": 1000.0})
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0, "conversion-up": 0.0321})
    result = okr("push", "-d", str(push_definitions), "-w", str(warehouse_file))
    assert result.exit_code == 0, result.output
    assert "okr_tracker: pushed" in result.stdout and "webhook: pushed" in result.stdout
    assert "1234" in result.stdout and "3.21" in result.stdout
    assert sorted(r.path for r in tools.okr_tracker.puts()) == [
        f"/keyres/{CONVERSION_ID}/values/2026-09-14",
        f"/keyres/{SESSIONS_ID}/values/2026-09-14",
    ]  # the newest computed day only
    again = okr("push", "-d", str(push_definitions), "-w", str(warehouse_file))
    assert again.exit_code == 0
    assert "okr_tracker: nothing new to push" in again.stdout
    assert "webhook: nothing new to push" in again.stdout


def test_one_failing_tool_exits_1_after_pushing_the_others(
    tools, push_definitions, warehouse_file
) -> None:
    set_progress(warehouse_file, DAY, {"sessions-up": 1234.0})
    tools.okr_tracker.client_id = "another-client"
    result = okr("push", "-d", str(push_definitions), "-w", str(warehouse_file))
    assert result.exit_code == 1
    assert "No API client `okr-sync-tests` exists" in result.stderr
    with connection(warehouse_file) as con:
        assert con.execute("SELECT tool FROM push.sent").fetchall() == [("webhook",)]


def test_validate_checks_the_ids_in_the_tool_with_credentials(tools, push_definitions) -> None:
    del tools.okr_tracker.key_results[CONVERSION_ID]
    result = okr("validate", str(push_definitions))
    assert result.exit_code == 1
    assert "okr.yaml:" in result.stderr
    assert "push.okr_tracker" in result.stderr
    assert f"okr_tracker has no key result with id `{CONVERSION_ID}`" in result.stderr
    tools.okr_tracker.add(CONVERSION_ID)
    assert okr("validate", str(push_definitions)).exit_code == 0


def test_validate_without_credentials_notes_the_unchecked_ids(
    tools, push_definitions, monkeypatch
) -> None:
    monkeypatch.delenv("TEST_OKR_TRACKER_SECRET")
    result = okr("validate", str(push_definitions))
    assert result.exit_code == 0, result.output
    assert "okr_tracker ids not checked: set the environment variable TEST_OKR_TRACKER_SECRET" in (
        result.stderr
    )


def test_a_push_to_an_unconfigured_tool_is_a_located_error(tools, tmp_path) -> None:
    text = DEFINITIONS.replace("push: {{okr_tracker: {conversion_id}}}", "push: {{quantiv: x1}}")
    folder = write_definitions(tmp_path / "defs", tools.okr_tracker_server.base_url, text)
    result = okr("validate", "--offline", str(folder))
    assert result.exit_code == 1
    assert "objectives[0].key_results[1].push.quantiv" in result.stderr
    assert "pushes to `quantiv`, which is not configured" in result.stderr
    known = "(okr-sync knows: okr_tracker, quantive, perdoo, tability, webhook)"
    assert f"did you mean `quantive`? {known}" in result.stderr


def test_a_secret_written_into_yaml_is_refused(tools, tmp_path) -> None:
    text = DEFINITIONS.replace("token_env: TEST_OKR_TRACKER_KEY", "token: abc123")
    folder = write_definitions(tmp_path / "defs", tools.okr_tracker_server.base_url, text)
    result = okr("validate", "--offline", str(folder))
    assert result.exit_code == 1
    assert "push.okr_tracker.token" in result.stderr
    assert "token_env" in result.stderr  # the did-you-mean


def test_push_without_a_warehouse_says_what_to_do(tools, push_definitions, tmp_path) -> None:
    missing = tmp_path / "nowhere.duckdb"
    result = okr("push", "-d", str(push_definitions), "-w", str(missing))
    assert result.exit_code == 1
    assert "no warehouse at" in result.stderr and "okr run" in result.stderr
    assert not missing.exists() and tools.okr_tracker.received == []


def test_piped_without_columns_the_comment_is_printed_whole(monkeypatch) -> None:
    """As `okr status`: piped without COLUMNS a table keeps its natural width (`okr demo`'s
    push table folded its comments into a column of three characters at 80)."""
    import io

    from rich.console import Console

    from destinations.push.ledger import PushOutcome
    from destinations.push.tools import CheckIn
    from okr_cli import push

    comment = "okr-sync, data through 2026-09-14, flags: provisional"
    check_in = CheckIn("okr_tracker", "conversion-up", CONVERSION_ID, DAY, 3.21, comment)
    piped = Console(file=io.StringIO(), width=80, highlight=False)
    monkeypatch.setattr(push, "console", piped)
    monkeypatch.delenv("COLUMNS", raising=False)
    push.print_outcomes([PushOutcome("okr_tracker", sent=[(check_in, "answer-1")])], dry_run=False)
    line = next(ln for ln in piped.file.getvalue().splitlines() if "conversion-up" in ln)
    assert comment in line and "3.21" in line
