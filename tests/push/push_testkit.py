"""Shared pieces of the push tests: definitions that map key results to tools, and progress
rows written into a real warehouse file."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path

import duckdb

from okr_definitions.resolve import Definitions
from pipelines.resources import load_valid_definitions
from warehouse.db import connection

OKR_TRACKER_KEY = "canary-okr-tracker-gateway-key-7Q2x"
OKR_TRACKER_CLIENT_ID = "okr-sync-tests"
OKR_TRACKER_SECRET = "canary-okr-tracker-client-secret-9Fz1"
WEBHOOK_SECRET = "canary-webhook-hmac-secret-3Kd8"

# The tool ids: okr-tracker's are Firestore-like, the webhook receiver's its own names.
SESSIONS_ID = "Jx8LqSessions0000001"
CONVERSION_ID = "Jx8LqConversion00002"

# The definitions of the push tests: sessions-up (a count), conversion-up (a percentage) and
# signups-up (pushed nowhere). PUSH, SESSIONS_PUSH and CONVERSION_PUSH are filled in below.
_TEMPLATE = """\
organisation: {{name: Acme, timezone: Europe/Berlin}}
teams: [{{id: growth, name: Growth}}]
push:
PUSH
metrics:
  - {{id: sessions, source: file, query: {{path: data/sessions.csv}}}}
  - {{id: signups, source: file, query: {{path: data/signups.csv}}}}
  - id: conversion
    ratio: {{numerator: signups, denominator: sessions}}
objectives:
  - id: more-customers
    title: More visitors become customers
    team: growth
    period: 2026-Q3
    key_results:
      - id: sessions-up
        title: Sessions up by 40 percent
        metric: sessions
        target: +40%
        unit: sessions
        push: {{SESSIONS_PUSH}}
      - id: conversion-up
        title: Conversion rate from 3.2 % to 5.5 %
        metric: conversion
        measure: rolling_28d
        baseline: 3.2%
        target: 5.5%
        unit: "%"
        push: {{CONVERSION_PUSH}}
      - id: signups-up
        title: Signups reach 900
        metric: signups
        target: 900
"""


def _definitions(push: str, sessions_push: str, conversion_push: str) -> str:
    return (
        _TEMPLATE.replace("SESSIONS_PUSH", sessions_push)
        .replace("CONVERSION_PUSH", conversion_push)
        .replace("PUSH", push)
    )


# okr-tracker and the webhook (the text for write_definitions: its fields in braces).
DEFINITIONS = _definitions(
    "  okr_tracker:\n"
    "    base_url: {okr_tracker_url}\n"
    "    token_env: TEST_OKR_TRACKER_KEY\n"
    "    client_id_env: TEST_OKR_TRACKER_CLIENT_ID\n"
    "    client_secret_env: TEST_OKR_TRACKER_SECRET\n"
    "  webhook: {{url_env: TEST_WEBHOOK_URL, secret_env: TEST_WEBHOOK_SECRET}}",
    "okr_tracker: {sessions_id}, webhook: sessions-kr",
    "okr_tracker: {conversion_id}",
)


def one_tool_definitions(tool: str, settings: str, sessions: str, conversion: str) -> str:
    """The text for write_definitions of the definitions pushing to `tool` only: `settings`
    its `push.<tool>` settings as a YAML flow mapping, where `{url}` stands for the sandbox's
    URL; `sessions` and `conversion` the tool's ids of the two key results."""
    escaped = settings.replace("{", "{{").replace("}", "}}").replace("{{url}}", "{okr_tracker_url}")
    return _definitions(f"  {tool}: {escaped}", f"{tool}: {sessions}", f"{tool}: {conversion}")


def write_definitions(folder: Path, okr_tracker_url: str, text: str = DEFINITIONS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    for name in ("sessions", "signups"):
        (folder / "data" / f"{name}.csv").write_text("date,value\n2026-07-01,1\n")
    (folder / "okr.yaml").write_text(
        text.format(
            okr_tracker_url=okr_tracker_url, sessions_id=SESSIONS_ID, conversion_id=CONVERSION_ID
        )
    )
    return folder


def load(folder: Path) -> Definitions:
    return load_valid_definitions(folder)


def connector(path: Path) -> Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]:
    return lambda: connection(path)


def set_progress(
    path: Path,
    day: date,
    values: dict[str, float | None],
    data_through: date | None = None,
    flags: dict[str, list[str]] | None = None,
) -> None:
    """Write (replace) the key results' rows of okr.kr_progress_daily for `day`, as the
    progress model would: only the columns push reads carry meaning here."""
    units = {"sessions-up": "sessions", "conversion-up": "%", "signups-up": None}
    with connection(path) as con:
        con.execute("DELETE FROM okr.kr_progress_daily WHERE as_of_date = ?", [day])
        for kr_id, value in values.items():
            con.execute(
                "INSERT INTO okr.kr_progress_daily (as_of_date, kr_id, objective_id, team, "
                "metric_id, measure, period_start, period_end, value, expected_progress, "
                "status, data_through, commitment, weight, unit, flags, definition_hash) "
                "VALUES (?, ?, 'more-customers', 'growth', 'm', 'total', DATE '2026-07-01', "
                "DATE '2026-09-30', ?, 0.5, 'on_track', ?, 'committed', 1, ?, ?, 'h')",
                [
                    day,
                    kr_id,
                    value,
                    data_through or day,
                    units[kr_id],
                    (flags or {}).get(kr_id, []),
                ],
            )
