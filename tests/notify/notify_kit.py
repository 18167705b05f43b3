"""Helpers of the notify tests: a small project with a `notify:` section, a warehouse whose
newest two days hold hand-written statuses, and a real SMTP server (aiosmtpd) with STARTTLS.

STARTTLS in tests: the fixture generates a self-signed certificate for 127.0.0.1 (the
`cryptography` package), serves it from aiosmtpd with `require_starttls=True` and
`auth_require_tls=True`, and points the client at it with OKR_SMTP_CA_FILE — the same setting
a relay with a private CA needs in production. So a client that skipped STARTTLS, or sent the
password before it, fails the test.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from tls_certs import self_signed_certificate

from okr_definitions.resolve import Definitions
from pipelines.resources import load_valid_definitions
from warehouse.db import connect, transaction
from warehouse.definitions import write_definitions
from warehouse.progress import compute_objective_progress

# Monday 30 November 2026, 09:00 in Berlin: the digest (Mondays 08:00) is due, and the newest
# computed day is yesterday, Sunday 29 November (the end of 2026-W48).
NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
DAY = date(2026, 11, 29)
SMTP_USER, SMTP_PASSWORD = "okr-bot", "smtp-password-canary-5b1e"

DEFINITIONS = """
organisation: {name: Tiny Shop, timezone: Europe/Berlin, lookback_days: 3}
teams:
  - {id: growth, name: Growth}
  - {id: sales, name: Sales}
metrics:
  - {id: signups, source: file, query: {path: data/signups.csv}}
  - {id: deals, source: file, query: {path: data/deals.csv}}
objectives:
  - id: grow
    title: More people sign up
    team: growth
    period: 2026-Q4
    key_results:
      - {id: signups-total, title: "1500 signups :rocket:", metric: signups, target: 1500}
      - {id: signups-week, title: 150 signups a week, metric: signups, measure: rolling_7d,
         target: 150, baseline: 100}
  - id: sell
    title: Sales close more deals
    team: sales
    period: 2026-Q4
    key_results:
      - {id: deals-total, title: 90 deals this quarter, metric: deals, target: 90}
      - {id: deals-week, title: 9 deals a week, metric: deals, measure: rolling_7d, target: 9,
         baseline: 5}
notify:
  channels:
    growth-slack: {slack_webhook_env: SLACK_WEBHOOK_GROWTH}
    sales-teams: {teams_webhook_env: TEAMS_WEBHOOK_SALES}
    leads-mail: {email: [growth-lead@example.com, ceo@example.com], smtp_env_prefix: OKR_SMTP}
  rules:
    - {teams: [growth], on: [at_risk, off_track, stale, achieved], to: [growth-slack]}
    - {teams: [sales], on: [off_track], to: [sales-teams, leads-mail]}
    - {digest: weekly, day: monday, time: "08:00", to: [growth-slack, leads-mail]}
"""

# (kr, status the day before, status on DAY): signups-total slips to at_risk (growth: Slack);
# deals-week slips to at_risk (sales only alert on off_track: nothing); deals-total drops to
# off_track (sales: Teams and mail); signups-week does not change.
STATUSES = {
    "signups-total": ("on_track", "at_risk"),
    "signups-week": ("on_track", "on_track"),
    "deals-total": ("at_risk", "off_track"),
    "deals-week": ("on_track", "at_risk"),
}


def write_project(root: Path, text: str = DEFINITIONS) -> Path:
    folder = root / "okr_definitions"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "okr.yaml").write_text(text)
    for name in ("signups", "deals"):
        (folder / "data" / f"{name}.csv").write_text("date,value\n2026-10-01,1\n")
    return folder


def _row(kr: Any, day: date, status: str) -> dict[str, Any]:
    return {
        "as_of_date": day,
        "kr_id": kr.id,
        "objective_id": kr.objective_id,
        "team": kr.team,
        "metric_id": kr.metric_id,
        "measure": kr.measure,
        "period_start": kr.period_start,
        "period_end": kr.period_end,
        "value": 40.0,
        "baseline": 0.0,
        "target": kr.target_value,
        "direction": "increase",
        "progress": 0.4,
        "score": 0.4,
        "expected_progress": 0.65,
        "status": status,
        "status_reason": "the newest data is 4 days old" if status == "stale" else None,
        "data_through": day,
        "commitment": kr.commitment,
        "weight": kr.weight,
        "unit": None,
        "flags": ["sampled"] if status == "off_track" else [],
        "definition_hash": kr.definition_hash,
    }


def write_warehouse(
    path: Path, definitions: Definitions, statuses: dict[str, tuple[str, str]], day: date = DAY
) -> None:
    """okr.kr_progress_daily for `day - 1` and `day` with the given statuses (and the
    objective rows the report reads), in a fresh or existing warehouse file."""
    con = connect(path)
    try:
        write_definitions(con, definitions)
        rows = [
            _row(kr, d, statuses[kr.id][i])
            for kr in definitions.resolved_key_results()
            for i, d in enumerate((day - timedelta(days=1), day))
        ]
        with transaction(con):
            con.execute(
                "DELETE FROM okr.kr_progress_daily WHERE as_of_date BETWEEN ? AND ?",
                [day - timedelta(days=1), day],
            )
            columns = list(rows[0])
            con.executemany(
                f"INSERT INTO okr.kr_progress_daily ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                [[r[c] for c in columns] for r in rows],
            )
        compute_objective_progress(con, day - timedelta(days=1), day)
    finally:
        con.close()


@dataclass
class Project:
    definitions_dir: Path
    warehouse: Path
    definitions: Definitions

    def load(self) -> Definitions:
        return load_valid_definitions(self.definitions_dir)


def sent_rows(warehouse: Path) -> list[dict[str, Any]]:
    con = connect(warehouse, read_only=True)
    try:
        cursor = con.execute("SELECT * FROM notify.sent ORDER BY channel, kind, kr_id")
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


# -- a real SMTP server -------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage
    over_tls: bool
    login: str | None


@dataclass
class MailHandler:
    mails: list[ReceivedMail] = field(default_factory=list)
    # SMTP replies to give instead of accepting, one per DATA (e.g. "451 4.3.0 try later")
    refusals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            if self.refusals:
                return self.refusals.pop(0)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            login = session.auth_data.login.decode() if session.auth_data else None
            self.mails.append(
                ReceivedMail(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message,  # type: ignore[arg-type]
                    session.ssl is not None,
                    login,
                )
            )
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.mails.clear()
            self.refusals.clear()


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
    ok = (
        isinstance(auth, LoginPassword)
        and auth.login.decode() == SMTP_USER
        and auth.password.decode() == SMTP_PASSWORD
    )
    return AuthResult(success=ok, handled=False, auth_data=auth if ok else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpRelay:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS before AUTH and mail."""

    def __init__(self, folder: Path) -> None:
        self.cert_file, key_file = self_signed_certificate(folder, "relay")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, key_file)
        self.handler = MailHandler()
        self.port = free_port()
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            authenticator=_authenticate,
            auth_require_tls=True,
            ready_timeout=10,
        )

    def env(self, prefix: str = "OKR_SMTP") -> dict[str, str]:
        return {
            f"{prefix}_HOST": "127.0.0.1",
            f"{prefix}_PORT": str(self.port),
            f"{prefix}_USER": SMTP_USER,
            f"{prefix}_PASSWORD": SMTP_PASSWORD,
            f"{prefix}_FROM": "okr-sync@example.com",
            f"{prefix}_CA_FILE": str(self.cert_file),
        }

    def start(self) -> SmtpRelay:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    close = stop  # for contextlib.closing
