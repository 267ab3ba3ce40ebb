"""A real MLflow tracking server for the tests, run from the MLflow virtualenv
that scripts/bootstrap.sh --test makes (.venv-mlflow; the app's own .venv has
no mlflow in it).

    mlflow server --backend-store-uri sqlite:///DIR/mlflow.db --artifacts-destination DIR/artifacts
                  --host 127.0.0.1 --port N --workers 1        (artifacts served through its proxy)

with MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false (no background job runner).
`mlflow server` starts uvicorn as a child: both run in a process group of
their own, which stop() ends (SIGTERM, then SIGKILL) by the group of the PID
it started. The same data and port survive stop() / start(), which is how a
test takes the server down mid-way and brings it back.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_ENV = "SIGNOFF_MLFLOW_VENV"
START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 20
INSTALL_HINT = "run `bash scripts/bootstrap.sh --test` (it installs mlflow into .venv-mlflow)"

QUIET_ENV = {
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",   # no huey job runner next to the server
    "MLFLOW_DISABLE_TELEMETRY": "true",              # no usage pings (there is no network anyway)
    "DO_NOT_TRACK": "true",
    "PYTHONWARNINGS": "ignore",
}


def mlflow_venv() -> Path:
    venv = Path(os.environ.get(VENV_ENV) or REPO_ROOT / ".venv-mlflow")
    if not (venv / "bin" / "mlflow").exists():
        pytest.fail(f"the MLflow test server's virtualenv is missing ({venv}/bin/mlflow): {INSTALL_HINT}",
                    pytrace=False)
    return venv


def free_port() -> int:
    """A free port BELOW the kernel's ephemeral range: an ephemeral one (bind to port 0) can be
    taken by any outgoing connection while the server is down, and the restart then fails."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, max(20001, low))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail("no free port for the MLflow test server in 20000-%d" % low, pytrace=False)


class MlflowServer:
    def __init__(self, root: Path, venv: Path | None = None, port: int | None = None):
        self.root = Path(root)
        self.venv = venv or mlflow_venv()
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.root / "server.log"
        (self.root / "artifacts").mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SIGNOFF_"))}
        return {**env, **QUIET_ENV}

    def start(self) -> "MlflowServer":
        self.launch()
        return self.wait_ready()

    def launch(self) -> "MlflowServer":
        """Start the process, without waiting for it to answer (see wait_ready)."""
        if self.running:
            return self
        cmd = [str(self.venv / "bin" / "mlflow"), "server",
               "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
               "--artifacts-destination", str(self.root / "artifacts"),
               "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        return self

    def wait_ready(self) -> "MlflowServer":
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                pytest.fail(f"mlflow server exited at start:\n{self.log_tail()}", pytrace=False)
            try:
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"mlflow server did not answer /health within {START_TIMEOUT_S}s:\n{self.log_tail()}",
                    pytrace=False)

    def stop(self) -> None:
        """End the server and its workers (its process group), and reap it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        try:  # workers that outlived the parent, or a parent that ignored SIGTERM
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        self._wait_port_free()

    def _wait_port_free(self) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.2)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def python(self) -> str:
        return str(self.venv / "bin" / "python")
