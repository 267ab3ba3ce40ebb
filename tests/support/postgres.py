"""A real, throwaway PostgreSQL server for the tests.

Debian's `postgresql` package ships the server binaries under
/usr/lib/postgresql/<version>/bin without putting them on PATH. The server
runs from a temp dir as the `postgres` user when the tests run as root
(initdb refuses root), listens on 127.0.0.1 only (no Unix socket), trusts
local connections, skips fsync (throwaway data: speed over durability) and
is stopped by PID at the end of the session.

Use: import the `postgres_server` fixture into a conftest.py, then
`postgres_server.create_database()` gives a fresh database URL.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

PG_USER = "postgres"
INSTALL_HINT = "run make test, which installs postgresql"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20

SERVER_SETTINGS = """
# signoff test server
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 32MB
log_min_messages = warning
"""


DEBIAN_INITDB = "/usr/lib/postgresql/*/bin/initdb"


def find_bin_dir(pattern: str = DEBIAN_INITDB) -> Path:
    """The newest Debian PostgreSQL bin dir that has initdb and pg_ctl."""
    found = []
    for initdb in glob.glob(pattern):
        bin_dir = Path(initdb).parent
        version = bin_dir.parent.name
        if (bin_dir / "pg_ctl").exists() and re.fullmatch(r"\d+(\.\d+)?", version):
            found.append((float(version), bin_dir))
    if not found:
        pytest.fail(f"PostgreSQL server binaries not found ({pattern}, pg_ctl): {INSTALL_HINT}", pytrace=False)
    return max(found)[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    """True while the process runs (a zombie, waiting for a parent to reap it, has stopped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class PostgresServer:
    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.as_root = os.geteuid() == 0
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="signoff-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.pid: int | None = None
        self.superuser = PG_USER if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        if self.as_root:
            try:
                pg = pwd.getpwnam(PG_USER)
            except KeyError:
                pytest.fail(f"no {PG_USER!r} system user to run the PostgreSQL server as: {INSTALL_HINT}",
                            pytrace=False)
            os.chown(self.base, pg.pw_uid, pg.pw_gid)

    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess:
        cmd = [str(a) for a in args]
        if self.as_root:
            # initdb and postgres refuse to run as root.
            cmd = (["runuser", "-u", PG_USER, "--", *cmd] if shutil.which("runuser")
                   else ["su", PG_USER, "-s", "/bin/sh", "-c", " ".join(map(_quote, cmd))])
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.base)

    def _check(self, what: str, proc: subprocess.CompletedProcess) -> None:
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"PostgreSQL {what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}")

    def start(self) -> None:
        self._check("initdb", self._run(self.bin_dir / "initdb", "-D", self.data, "-U", self.superuser,
                                        "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
                                        timeout=START_TIMEOUT_S))
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(SERVER_SETTINGS.format(port=self.port))
        self._check("start", self._run(self.bin_dir / "pg_ctl", "-D", self.data, "-l", self.log, "-w",
                                       "-t", str(START_TIMEOUT_S), "start", timeout=START_TIMEOUT_S + 10))
        self.pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def stop(self) -> None:
        try:
            if self.pid is not None and _pid_alive(self.pid):
                # -W: don't let pg_ctl poll once a second; we watch the PID ourselves.
                try:
                    self._run(self.bin_dir / "pg_ctl", "-D", self.data, "-m", "fast", "-W", "stop",
                              timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    pass
                deadline = time.monotonic() + STOP_TIMEOUT_S
                while _pid_alive(self.pid) and time.monotonic() < deadline:
                    time.sleep(0.02)
                if _pid_alive(self.pid):
                    os.kill(self.pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def _admin(self):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.superuser, dbname="postgres",
                               autocommit=True)

    def create_database(self, prefix: str = "signoff_test", *, template: str | None = None) -> str:
        """A new database, empty or a copy of `template` (a database nobody is
        connected to); returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


@pytest.fixture(scope="session")
def postgres_server():
    """A running PostgreSQL server for the whole test session (fails, never skips,
    when PostgreSQL is not installed)."""
    server = PostgresServer(find_bin_dir())
    try:
        server.start()
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        server.stop()
        pytest.fail(f"could not start the test PostgreSQL server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
