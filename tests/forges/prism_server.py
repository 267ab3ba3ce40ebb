"""GitHub's official OpenAPI description (npm @octokit/openapi,
generated/api.github.com.json) served by Prism (@stoplight/prism-cli) in
validating mock mode on 127.0.0.1: a request that does not match the spec
gets 422/400/404 instead of an example answer (`--errors`).

The spec is 13 MB; Prism needs 25-75 s on this machine to load it (measured:
~25 s idle, ~50 s with the rest of the suite running on both cores), so
one server runs per test session. It is started as soon as collection shows
a test that needs it (so the load overlaps other tests), stopped by its PID
(process group) at the end of the session. The npm packages come from
`npm ci` in tests/forges/prism (scripts/bootstrap.sh --test).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

PRISM_DIR = Path(__file__).resolve().parent / "prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
SPEC = PRISM_DIR / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json"
START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrismServer:
    def __init__(self):
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.started_at = 0.0
        self.ready_after_s: float | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.process is not None:
            return
        missing = [p for p in (PRISM_BIN, SPEC) if not p.exists()]
        if missing:
            raise RuntimeError(f"Prism or GitHub's OpenAPI description is not installed ({missing[0]}): run "
                               f"`bash scripts/bootstrap.sh --test` (npm ci in {PRISM_DIR})")
        self.port = free_port()
        self.log_path = Path(tempfile.mkdtemp(prefix="signoff-prism-")) / "prism.log"
        self._log = open(self.log_path, "wb")
        self.started_at = time.monotonic()
        # Own process group: stop() ends Prism and anything it started, by PID.
        self.process = subprocess.Popen(
            [str(PRISM_BIN), "mock", str(SPEC), "--errors", "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=PRISM_DIR, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        assert self.process is not None, "start() first"
        # Started early (at collection): by now it may have been loading for longer than `timeout`.
        deadline = max(self.started_at + timeout, time.monotonic() + 10.0)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Prism exited with {self.process.returncode} while loading the spec:\n{self.log_tail()}")
            try:
                requests.get(f"{self.url}/user", headers={"Accept": "application/json"}, timeout=(1, 5))
            except requests.RequestException:
                time.sleep(0.5)
                continue
            if self.ready_after_s is None:
                self.ready_after_s = time.monotonic() - self.started_at
            return
        raise RuntimeError(f"Prism did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT_S)
        self.process = None
        if self._log:
            self._log.close()
            self._log = None
        if self.log_path is not None:   # its folder too: every run's would pile up in /tmp
            shutil.rmtree(self.log_path.parent, ignore_errors=True)
            self.log_path = None
