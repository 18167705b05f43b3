"""The commands that live in modules of their own are registered by name and imported when
they run (okr_cli/lazy_commands.py): `okr run` and `okr status` do not pay for them, and every
command is still listed, parsed and run as typer builds it."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from okr_cli.main import app

DEFERRED = {
    "push": "okr_cli.push",
    "publish": "okr_cli.publish",
    "import": "okr_cli.import_workbook",
    "notify": "okr_cli.notify",
    "checkin": "okr_cli.checkin",
    "backup": "okr_cli.backup",
    "restore": "okr_cli.backup",
    "doctor": "okr_cli.doctor",
}

_PROBE = """
import json, sys
import typer.main
from okr_cli.main import app
group = typer.main.get_command(app)
before = sorted(m for m in sys.modules if m.startswith("okr_cli."))
backup = group.get_command(None, "backup")
after = sorted(m for m in sys.modules if m.startswith("okr_cli."))
print(json.dumps({"before": before, "after": after, "names": group.list_commands(None),
                  "backup_options": [p.name for p in backup.params]}))
"""


def test_command_modules_are_imported_when_their_command_is_looked_up() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    seen = json.loads(probe.stdout)
    assert not set(DEFERRED.values()) & set(seen["before"])
    assert "okr_cli.backup" in seen["after"]
    assert not {"okr_cli.push", "okr_cli.doctor"} & set(seen["after"])
    # every command listed, the ones of their own modules after the main module's, as before
    assert seen["names"][-len(DEFERRED) :] == list(DEFERRED)
    assert {"validate", "run", "status", "sql"} <= set(seen["names"])
    assert {"to", "keep", "warehouse"} <= set(seen["backup_options"])


def test_help_lists_and_runs_the_deferred_commands() -> None:
    runner = CliRunner()
    listing = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0
    for name in DEFERRED:
        assert f" {name} " in listing.output, name
    doctor = runner.invoke(app, ["doctor", "--help"], env={"COLUMNS": "200"})
    assert doctor.exit_code == 0 and "doctor [OPTIONS]" in doctor.output
    unknown = runner.invoke(app, ["restor"])
    assert unknown.exit_code == 2 and "Did you mean 'restore'" in unknown.output
