"""A private PostgreSQL cluster for the tests: Debian's server binaries, `initdb` and `pg_ctl`
in a temporary folder, on a free port of 127.0.0.1, removed at the end.

Both programs refuse to run as root, so as root (CI) they run as the `postgres` user that
Debian's package creates (`runuser -u postgres -- …`); as another user they run as that user.
The superuser has a password (scram-sha-256 over TCP), so a wrong one is refused as it would
be by a real server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

POSTGRES_BIN = Path(os.environ.get("OKR_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "okr_admin"
# A canary too: tests/reliability/test_secrets.py looks for it everywhere.
SUPERUSER_PASSWORD = "pg-canary-5e1f0c7d2b"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PostgresCluster:
    folder: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres", password: str = SUPERUSER_PASSWORD) -> str:
        """A libpq URL for the superuser (or any password, to be refused)."""
        return (
            f"postgresql://{SUPERUSER}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"
        )

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Runs SQL with Debian's psql; its output (unaligned, tuples only)."""
        result = subprocess.run(
            [
                str(POSTGRES_BIN / "psql"),
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
                self.url(database),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def create_database(self, name: str) -> str:
        """A new empty database; its superuser URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            _as_server_user(
                [str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"]
            ),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """initdb + pg_ctl start on a free port; the caller stops it (PostgresCluster.stop)."""
    folder = Path(tempfile.mkdtemp(prefix="okr-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        server = pwd.getpwnam("postgres")
        os.chown(folder, server.pw_uid, server.pw_gid)
    password_file = folder / "pwfile"
    password_file.write_text(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        os.chown(password_file, server.pw_uid, server.pw_gid)
    cluster = PostgresCluster(folder, _free_port())
    subprocess.run(
        _as_server_user(
            [
                str(POSTGRES_BIN / "initdb"),
                "-D",
                str(cluster.data_dir),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(password_file),
                "--auth-host",
                "scram-sha-256",
                "--auth-local",
                "trust",
                "-E",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ]
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    password_file.unlink()
    # Small and quick: a test cluster needs no durability (fsync off) and few connections.
    options = (
        f"-p {cluster.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40 "
        "-c shared_buffers=32MB"
    )
    started = subprocess.run(
        _as_server_user(
            [
                str(POSTGRES_BIN / "pg_ctl"),
                "-D",
                str(cluster.data_dir),
                "-l",
                str(folder / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        capture_output=True,
        text=True,
        timeout=90,
    )
    if started.returncode != 0:
        log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{log}")
    return cluster
