"""Secrets: every source's credential is a canary, and no canary may surface anywhere.

GA4 reads a real service-account key file (its PEM lines and key id are canaries, and so is
every bearer token the client signed with it, as the GA4 sandbox received them); Salesforce
logs in with a client secret in run 1 and with a connected app's private key (JWT bearer flow)
in run 2 (the secret, the key's PEM lines, the signed assertions and every access token are
canaries); Matomo and HubSpot get canary tokens, and Matomo sits behind a basic-auth proxy
whose password is in `MATOMO_URL` (`http://user:password@host`). Two `okr run`s go through
success, retries and failures for every source — including servers that echo the token back
in their error message, as a proxy or a misconfigured instance might — then `okr validate`,
`okr status`, `okr sql` and `okr report` run. Afterwards the test scans:

- the stdout and stderr of every command,
- the Dagster instance: every event of every run through its API (failures with their
  exception messages, causes and stacks) and every byte of its files on disk,
- the HTML and Markdown report,
- every column of every table in every schema of the warehouse, cast to text.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
from postgres_cluster import SUPERUSER_PASSWORD, PostgresCluster
from reliability_kit import (
    HUBSPOT_TOKEN,
    LATER_END,
    LATER_START,
    MATOMO_TOKEN,
    SALESFORCE_SECRET,
    copy_warehouse,
)

from pipelines.resources import load_valid_definitions
from sandbox.base import Fault
from sandbox.ga4.server import error_body
from sandbox.hubspot.server import rate_limit_fault

REPO = Path(__file__).resolve().parents[2]
WRONG_PG_PASSWORD = "wrong-pg-canary-7c41"
MATOMO_URL_PASSWORD = "canary-matomo-url-password-6b1f9d2e"


def _okr(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "okr_cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


def _warehouse_text(path: Path) -> dict[str, str]:
    """'schema.table.column' → every value of the column as text (all tables, all schemas)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema <> 'information_schema' "
            "ORDER BY ALL"
        ).fetchall()
        text = {}
        for schema, table, column in columns:
            (joined,) = con.execute(
                f'SELECT string_agg(CAST("{column}" AS VARCHAR), chr(10)) FROM "{schema}"."{table}"'
            ).fetchone()
            text[f"{schema}.{table}.{column}"] = joined or ""
        return text
    finally:
        con.close()


def _instance_text(home: Path) -> tuple[dict[str, str], int]:
    """run id → every event of the run, serialised; and the number of failure events."""
    events: dict[str, str] = {}
    failures = 0
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            records = instance.all_logs(run.run_id)
            failures += sum(
                r.dagster_event_type == dg.DagsterEventType.STEP_FAILURE for r in records
            )
            events[run.run_id] = "\n".join(dg.serialize_value(r) for r in records)
    return events, failures


def _leaks(where: str, text: str, secrets: list[str]) -> list[str]:
    return [f"{where}: {secret[:12]}…" for secret in secrets if secret in text]


def test_no_credential_reaches_output_event_log_report_or_warehouse(
    suite, tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    sb = suite.sandboxes
    warehouse = copy_warehouse(suite.base, tmp_path / "secrets.duckdb")
    home = tmp_path / "dagster_home"
    home.mkdir()
    # The same project, publishing to PostgreSQL: the URL's password is a canary too (refused
    # in run 1, accepted in run 2).
    definitions = tmp_path / "okr_definitions"
    shutil.copytree(suite.env["OKR_DEFINITIONS"], definitions)
    (definitions / "publish.yaml").write_text("publish: {postgres: {tables: all}}\n")
    database = f"secrets_{os.getpid()}"
    postgres_cluster.create_database(database)
    # Matomo sits behind a basic-auth proxy whose password is in MATOMO_URL: one more canary.
    sb.matomo_sandbox.basic_auth = ("okr-reader", MATOMO_URL_PASSWORD)
    matomo_url = suite.env["MATOMO_URL"].replace(
        "http://", f"http://okr-reader:{MATOMO_URL_PASSWORD}@"
    )
    env = {
        **os.environ,
        **suite.env,
        "OKR_DEFINITIONS": str(definitions),
        "OKR_PUBLISH_POSTGRES_URL": postgres_cluster.url(database, password=WRONG_PG_PASSWORD),
        "MATOMO_URL": matomo_url,
        "OKR_WAREHOUSE": str(warehouse),
        "COLUMNS": "200",
        "DAGSTER_HOME": str(home),
        "OKR_REPORTS": str(tmp_path / "reports"),
    }
    outputs: dict[str, str] = {}
    days = ["--from", LATER_START.isoformat(), "--to", LATER_END.isoformat()]
    try:
        # Run 1: GA4 recovers from a 429; Matomo and HubSpot fail, their servers quoting the
        # token back in the error.
        sb.ga4.inject(
            Fault(
                "status",
                status=429,
                times=2,
                body=error_body(429, "Exhausted concurrent requests quota."),
            )
        )
        sb.matomo_sandbox.fail_method(
            "PagePerformance.get", f"Invalid token_auth {MATOMO_TOKEN} for site 1"
        )
        sb.hubspot.inject(
            Fault(
                "status",
                status=400,
                times=50,
                body=(
                    b'{"status": "error", "category": "VALIDATION_ERROR", "message": "token '
                    + HUBSPOT_TOKEN.encode()
                    + b' may not search"}'
                ),
            )
        )
        code, outputs["run 1"] = _okr("run", *days, env=env)
        assert code == 1, outputs["run 1"]
        sb.clear()

        env["OKR_PUBLISH_POSTGRES_URL"] = postgres_cluster.url(database)
        # Run 2: GA4 is refused at the API; Matomo recovers from a 429 with Retry-After and
        # HubSpot from a burst of 5xx; the key file's JWTs reach the sandbox.
        sb.ga4.inject(
            Fault(
                "status",
                status=401,
                times=50,
                body=error_body(
                    401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"
                ),
            )
        )
        sb.matomo.inject(Fault("status", status=429, headers={"Retry-After": "1"}, times=2))
        sb.hubspot.inject(rate_limit_fault(times=1), Fault("status", status=503, times=2))
        # Salesforce logs in with the JWT bearer flow: the app's private key is in use.
        jwt_logins = len(sb.salesforce_sandbox.jwt_assertions)
        code, outputs["run 2"] = _okr("run", *days, env=sb.salesforce_jwt_env(env))
        assert code == 1, outputs["run 2"]
        assert len(sb.salesforce_sandbox.jwt_assertions) > jwt_logins
        sb.clear()

        # Metadata checks with tokens the servers refuse.
        sb.matomo_sandbox.token = sb.hubspot_sandbox.token = "another-token"
        sb.salesforce_sandbox.client_secret = "another-secret"
        code, outputs["validate"] = _okr("validate", suite.env["OKR_DEFINITIONS"], env=env)
        assert code == 1, outputs["validate"]
    finally:
        sb.clear()
        sb.matomo_sandbox.basic_auth = None
        sb.matomo_sandbox.token = MATOMO_TOKEN
        sb.hubspot_sandbox.token = HUBSPOT_TOKEN
        sb.salesforce_sandbox.client_secret = SALESFORCE_SECRET

    for command in (["status"], ["sql", "SELECT * FROM okr.kr_progress_latest"], ["report"]):
        code, outputs[command[0]] = _okr(*command, env=env)
        assert code == 0, outputs[command[0]]

    secrets = [
        *sb.secrets(),
        SUPERUSER_PASSWORD,
        WRONG_PG_PASSWORD,
        MATOMO_URL_PASSWORD,
        f"okr-reader:{MATOMO_URL_PASSWORD}",
    ]
    # The scan is only worth something if the secrets were really used and failures logged.
    assert any(t.startswith("Bearer ey") for t in sb.bearer_tokens)
    assert len(secrets) > 20
    # Matomo loaded through the proxy in run 2, so the URL's password was in use.
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (matomo_rows,) = con.execute(
            "SELECT count(*) FROM raw.metric_rows WHERE source = 'matomo' AND date >= ?",
            [LATER_START],
        ).fetchone()
    finally:
        con.close()
    assert matomo_rows > 0
    for run, words in (
        (
            "run 1",
            (
                "failed: matomo: ",
                "failed: hubspot: ",
                "publish__postgres (destination)",
                "password authentication",
            ),
        ),
        ("run 2", ("failed: ga4: ", "credentials refused")),
    ):
        assert all(w in outputs[run] for w in words), outputs[run]
    assert "***" in outputs["run 1"]  # the echoed tokens were scrubbed, not dropped silently

    leaks: list[str] = []
    for name, text in outputs.items():
        leaks += _leaks(f"output of okr {name}", text, secrets)
    events, failures = _instance_text(home)
    # Two runs × (sources, staging, progress and publish jobs); Matomo, HubSpot and the
    # publish failed in one, GA4 in the other.
    assert len(events) == 8 and failures == 4
    for run_id, text in events.items():
        leaks += _leaks(f"event log of run {run_id}", text, secrets)
    files = [f for f in home.rglob("*") if f.is_file()]
    for file in files:
        leaks += _leaks(f"instance file {file}", file.read_bytes().decode("latin-1"), secrets)
    reports = sorted((tmp_path / "reports").rglob("*.*"))
    assert {p.suffix for p in reports} >= {".html", ".md"}
    for report in reports:
        leaks += _leaks(f"report {report.name}", report.read_text(errors="replace"), secrets)
    columns = _warehouse_text(warehouse)
    assert columns["publish.postgres_runs.outcome"].split() == ["failed", "published"]
    assert any(c.startswith("raw.hubspot_") for c in columns)  # every schema, raw included
    for column, text in columns.items():
        leaks += _leaks(f"warehouse column {column}", text, secrets)
    assert not leaks, "\n".join(leaks)
    print(
        f"{len(secrets)} secrets, none in: {len(outputs)} command outputs, "
        f"{sum(t.count(chr(10)) + 1 for t in events.values())} events of {len(events)} runs, "
        f"{len(files)} instance files, {len(reports)} report files, "
        f"{len(columns)} warehouse columns"
    )


def test_no_push_credential_reaches_output_event_log_or_warehouse(tmp_path: Path) -> None:
    """Issue 20: the OKR tools' tokens (okr-tracker's gateway key and client secret, Quantive's
    API token, Tability's personal token and per-outcome check-in tokens, the webhook's URL and
    HMAC secret) are canaries too. The tools refuse them once, quoting them
    back; `okr push` and a Dagster materialisation of the push assets run through that and a
    success; then their output, the Dagster instance and the warehouse are scanned."""
    import sys as _sys

    _sys.path.insert(0, str(REPO / "tests" / "push"))
    from datetime import date

    from push_testkit import (
        DEFINITIONS,
        OKR_TRACKER_CLIENT_ID,
        OKR_TRACKER_KEY,
        OKR_TRACKER_SECRET,
        WEBHOOK_SECRET,
        load,
        set_progress,
        write_definitions,
    )

    from pipelines.destinations.push.assets import build_push_asset
    from pipelines.partitions import daily_partitions
    from pipelines.resources import OkrDefinitionsResource, WarehouseResource
    from sandbox.okr_tracker.server import OkrTrackerSandbox
    from sandbox.perdoo.server import PATH as PERDOO_PATH
    from sandbox.perdoo.server import PerdooSandbox
    from sandbox.quantive.server import QuantiveSandbox
    from sandbox.tability.server import WORKSPACE, TabilitySandbox
    from sandbox.webhook.server import WebhookSandbox

    hook_token = "canary-hook-token-5Jw0"
    tracker = OkrTrackerSandbox({"Jx8LqSessions0000001": "S", "Jx8LqConversion00002": "C"})
    tracker.api_key, tracker.client_id = OKR_TRACKER_KEY, OKR_TRACKER_CLIENT_ID
    tracker.client_secret = OKR_TRACKER_SECRET
    hook = WebhookSandbox(WEBHOOK_SECRET, f"/hooks/catch/123456/{hook_token}/")
    quantive = QuantiveSandbox({"6543f0c2a1b2c3d4e5f60718": "S", "6543f0c2a1b2c3d4e5f60719": "C"})
    quantive.token = "canary-quantive-token-1Rb5"
    perdoo = PerdooSandbox()
    perdoo.token = "canary-perdoo-token-8Kd3"
    perdoo_ids = ("0b6f1c2e-5d3a-4e8b-9c7d-1a2b3c4d5e6f", "0b6f1c2e-5d3a-4e8b-9c7d-1a2b3c4d5e70")
    for perdoo_id in perdoo_ids:
        perdoo.add(perdoo_id)
    tability = TabilitySandbox()
    tability.token = "canary-tability-token-6Ns3"
    remote = {"outcome-sessions": "canary-remote-a-2Lp9", "outcome-conv": "canary-remote-b-7Vx2"}
    for outcome_id, remote_token in remote.items():
        tability.add(outcome_id, remote_token)
    secrets = [OKR_TRACKER_KEY, OKR_TRACKER_SECRET, WEBHOOK_SECRET, hook_token]
    secrets += [quantive.token, perdoo.token, tability.token, *remote.values()]
    all_tools = (
        DEFINITIONS.replace(
            "  webhook:",
            "  quantive: {{base_url: QUANTIVE_URL, token_env: TEST_QUANTIVE_TOKEN}}\n"
            "  perdoo: {{base_url: PERDOO_URL, token_env: TEST_PERDOO_TOKEN}}\n"
            f"  tability: {{{{workspace_id: {WORKSPACE}, base_url: TABILITY_URL, "
            "token_env: TEST_TABILITY_TOKEN, checkin_tokens_env: TEST_TABILITY_CHECKINS}}\n"
            "  webhook:",
        )
        .replace(
            "webhook: sessions-kr}}",
            "webhook: sessions-kr, quantive: 6543f0c2a1b2c3d4e5f60718, "
            f"perdoo: {perdoo_ids[0]}, tability: outcome-sessions}}}}",
        )
        .replace(
            "{{okr_tracker: {conversion_id}}}",
            "{{okr_tracker: {conversion_id}, quantive: 6543f0c2a1b2c3d4e5f60719, "
            f"perdoo: {perdoo_ids[1]}, tability: outcome-conv}}}}",
        )
    )
    day = date(2026, 9, 14)
    warehouse = tmp_path / "push_secrets.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    outputs: dict[str, str] = {}
    with (
        tracker.serve() as tracker_server,
        hook.serve() as hook_server,
        quantive.serve() as quantive_server,
        perdoo.serve() as perdoo_server,
        tability.serve() as tability_server,
    ):
        text = all_tools.replace("QUANTIVE_URL", quantive_server.base_url)
        text = text.replace("TABILITY_URL", tability_server.base_url)
        text = text.replace("PERDOO_URL", perdoo_server.base_url + PERDOO_PATH)
        folder = write_definitions(tmp_path / "defs", tracker_server.base_url, text)
        hook_url = hook.url(hook_server)
        env = {
            **os.environ,
            "TEST_OKR_TRACKER_KEY": OKR_TRACKER_KEY,
            "TEST_OKR_TRACKER_CLIENT_ID": OKR_TRACKER_CLIENT_ID,
            "TEST_OKR_TRACKER_SECRET": OKR_TRACKER_SECRET,
            "TEST_WEBHOOK_URL": hook_url,
            "TEST_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "QUANTIVE_ACCOUNT_ID": quantive.account_id,
            "TEST_QUANTIVE_TOKEN": quantive.token,
            "TEST_PERDOO_TOKEN": perdoo.token,
            "TEST_TABILITY_TOKEN": tability.token,
            "TEST_TABILITY_CHECKINS": json.dumps(remote),
            "OKR_RETRY_WAIT_SCALE": "0",
            "COLUMNS": "250",
            "DAGSTER_HOME": str(home),
        }
        echo = " / ".join([*secrets, hook_url])

        def refuse_quoting_the_tokens() -> None:
            body = ('{"message": "' + echo + '"}').encode()
            tracker_server.inject(Fault("status", status=401, body=body, times=1))
            for server in (hook_server, quantive_server, perdoo_server, tability_server):
                server.inject(Fault("status", status=500, body=body, times=1))

        set_progress(warehouse, day, {"sessions-up": 1234.0, "conversion-up": 0.0321})
        refuse_quoting_the_tokens()
        args = ("-d", str(folder), "-w", str(warehouse))
        code, outputs["push refused"] = _okr("push", *args, env=env)
        assert code == 1, outputs["push refused"]
        code, outputs["push"] = _okr("push", *args, env=env)
        assert code == 0, outputs["push"]

        # The Dagster assets, through the same refusal, in a real instance on disk.
        set_progress(warehouse, day, {"sessions-up": 1300.0, "conversion-up": 0.04})
        refuse_quoting_the_tokens()
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            partitions = daily_partitions(load(folder))
            tools = ("okr_tracker", "quantive", "perdoo", "tability", "webhook")
            assets = [build_push_asset(t, partitions) for t in tools]
            resources = {
                "okr_definitions": OkrDefinitionsResource(path=str(folder)),
                "warehouse": WarehouseResource(path=str(warehouse)),
            }
            with dg.DagsterInstance.from_config(str(home)) as instance:
                for _ in range(2):
                    dg.materialize(
                        assets,
                        partition_key=day.isoformat(),
                        resources=resources,
                        instance=instance,
                        raise_on_error=False,
                    )
        finally:
            os.environ.clear()
            os.environ.update(saved)

    # The canaries were really sent, and the failures really logged.
    assert any(r.headers.get("okr-client-secret") == OKR_TRACKER_SECRET for r in tracker.puts())
    assert len(hook.caught) == 2
    assert {r.headers.get("authorization") for r in quantive.posts()} == {
        f"Bearer {quantive.token}"
    }
    assert {r.query["remote_checkins_token"][0] for r in tability.posts()} == set(remote.values())
    assert {r.headers.get("authorization") for r in perdoo.mutations()} == {
        f"Bearer {perdoo.token}"
    }
    assert "***" in outputs["push refused"]  # the echoed tokens were scrubbed, not dropped
    events, failures = _instance_text(home)
    assert len(events) == 2 and failures == 5
    leaks: list[str] = []
    for name, text in outputs.items():
        leaks += _leaks(f"output of okr {name}", text, secrets)
    for run_id, text in events.items():
        leaks += _leaks(f"event log of run {run_id}", text, secrets)
    for file in (f for f in home.rglob("*") if f.is_file()):
        leaks += _leaks(f"instance file {file}", file.read_bytes().decode("latin-1"), secrets)
    columns = _warehouse_text(warehouse)
    assert any(c.startswith("push.sent.") for c in columns)
    for column, text in columns.items():
        leaks += _leaks(f"warehouse column {column}", text, secrets)
    assert not leaks, "\n".join(leaks)


# -- notify (issue 18): webhook URLs and the SMTP password ----------------------------------


def test_no_notify_secret_reaches_output_event_log_or_warehouse(
    tmp_path: Path, monkeypatch
) -> None:
    """The Slack webhook's secret path, the Teams webhook's signature and the SMTP password
    are canaries. The servers fail first — quoting the URL and the password back in their
    errors, as a proxy might — then recover; `okr notify` and the Dagster asset run through
    both. No canary may surface in command output, the event log, the instance's files or
    any warehouse column (notify.sent holds the errors)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    sys.path.insert(0, str(REPO / "tests" / "notify"))
    from notify_kit import (
        DEFINITIONS,
        SMTP_PASSWORD,
        STATUSES,
        SmtpRelay,
        write_project,
        write_warehouse,
    )

    from pipelines.build import build_definitions
    from pipelines.destinations.notify.definitions import NOTIFY_JOB
    from sandbox.slack.server import SlackSandbox
    from sandbox.teams.server import TeamsSandbox

    # `okr notify` is told this moment (--at): a test that runs past midnight in Berlin must
    # still find the digest due and the warehouse's newest day recent.
    at = dt.datetime.now(ZoneInfo("Europe/Berlin"))
    today = at.date()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    weekday = today.strftime("%A").lower()  # the digest is due today from 00:00: always sent
    text = DEFINITIONS.replace("2026-Q4", quarter).replace(
        'day: monday, time: "08:00"', f'day: {weekday}, time: "00:00"'
    )
    folder = write_project(tmp_path, text)
    warehouse = tmp_path / "okr_sync.duckdb"
    write_warehouse(
        warehouse, load_valid_definitions(folder), STATUSES, today - dt.timedelta(days=1)
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    slack_secret, teams_secret = "slackcanary9f3e1d2c7b6a", "teams-canary-4e8d2a9c1f7b"
    with (
        SlackSandbox() as slack,
        TeamsSandbox() as teams,
        contextlib.closing(SmtpRelay(tmp_path).start()) as relay,
    ):
        slack_url = slack.new_webhook(slack_secret)
        teams_url = teams.new_webhook(teams_secret)
        env = {
            **os.environ,
            **relay.env(),
            "SLACK_WEBHOOK_GROWTH": slack_url,
            "TEAMS_WEBHOOK_SALES": teams_url,
            "OKR_DEFINITIONS": str(folder),
            "OKR_WAREHOUSE": str(warehouse),
            "OKR_REQUEST_TIMEOUT_S": "0.5",
            "DAGSTER_HOME": str(home),
        }
        secrets = [slack_secret, teams_secret, SMTP_PASSWORD]
        outputs: dict[str, str] = {}
        echo = f"upstream error for {slack_url} and {teams_url} ({SMTP_PASSWORD})".encode()
        slack.inject(Fault("status", 502, echo, times=100))
        teams.inject(Fault("status", 400, echo, times=100))
        relay.handler.refusals += [f"554 5.7.1 not with password {SMTP_PASSWORD}"] * 20
        pinned = ("--at", at.isoformat())
        code, outputs["notify, failing"] = _okr("notify", *pinned, env=env)
        assert code == 1, outputs["notify, failing"]
        assert "HTTP 502" in outputs["notify, failing"]
        # a wrong password is refused without the password being said
        code, outputs["notify, wrong password"] = _okr(
            "notify", *pinned, env={**env, "OKR_SMTP_PASSWORD": SMTP_PASSWORD + "-wrong"}
        )
        assert "refused the login" in outputs["notify, wrong password"]
        secrets.append(SMTP_PASSWORD + "-wrong")

        # The asset, through the same failures, into a persistent instance.
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        defs = build_definitions(load_valid_definitions(folder))
        with dg.DagsterInstance.get() as instance:
            result = defs.resolve_job_def(NOTIFY_JOB).execute_in_process(instance=instance)
        assert result.success
        failed = _warehouse_text(warehouse)  # notify.sent with the failures' errors
        assert "HTTP 502" in failed["notify.sent.error"], failed["notify.sent.error"]
        assert "[redacted]" in failed["notify.sent.error"]  # the SMTP server's echo, scrubbed
        slack.clear_faults()
        teams.clear_faults()
        relay.handler.clear()
        code, outputs["notify, recovered"] = _okr("notify", *pinned, env=env)
        assert code == 0, outputs["notify, recovered"]
        assert "5 sent, 0 failed" in outputs["notify, recovered"]  # 3 alerts, 2 digests
        assert (len(slack.messages()), len(teams.messages()), len(relay.handler.mails)) == (2, 1, 2)

    leaks: list[str] = []
    for name, text in outputs.items():
        leaks += _leaks(f"output of okr {name}", text, secrets)
    events, _ = _instance_text(home)
    (log,) = events.values()
    assert "HTTP 502" in log and "not with password [redacted]" in log  # failures were logged
    for run_id, text in events.items():
        leaks += _leaks(f"event log of run {run_id}", text, secrets)
    for file in (f for f in home.rglob("*") if f.is_file()):
        leaks += _leaks(f"instance file {file}", file.read_bytes().decode("latin-1"), secrets)
    for column, text in [*failed.items(), *_warehouse_text(warehouse).items()]:
        leaks += _leaks(f"warehouse column {column}", text, secrets)
    assert not leaks, "\n".join(leaks)
