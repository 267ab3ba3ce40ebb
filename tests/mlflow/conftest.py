"""Fixtures for the MLflow tests: one real tracking server per session, filled
once by tests/mlflow/fill_server.py with the real mlflow client, and a git
repository whose commits the runs are tagged with.

Tests reach the helpers through fixtures (`mlflow_world`, `cli`), never
`from conftest import`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import git
import pytest

from tests.mlflow.configs import BROKEN_TOML, GENAI_TOML, classic_toml
from tests.mlflow.server import QUIET_ENV, START_TIMEOUT_S, MlflowServer
from tests.support import subprocess_pythonpath

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FILL_TIMEOUT_S = 600
MODEL = "digits-classifier"

@dataclass
class World:
    server: MlflowServer
    facts: dict
    repo: Path                      # git repository: signoff.toml at both commits (2 SMEs required there)
    commits: dict[str, str]         # version -> commit SHA the run is tagged with

    @property
    def url(self) -> str:
        return self.server.url

    def run_id(self, version: str) -> str:
        return self.facts["versions"][version]["run_id"]


def _git_repo(path: Path) -> tuple[Path, dict[str, str]]:
    repo = git.Repo.init(path, initial_branch="main")
    who = git.Actor("Dana", "dana@example.com")
    commits = {}
    for version in ("1", "2"):
        (path / "signoff.toml").write_text(classic_toml(("alice@example.com", "bob@example.com")))
        (path / "MODEL_VERSION").write_text(version)
        repo.index.add(["signoff.toml", "MODEL_VERSION"])
        commits[version] = repo.index.commit(f"model v{version}", author=who, committer=who).hexsha
    repo.close()
    return path, commits


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """Started here, answering only once `mlflow_world` has waited for it: the fill script's
    imports (mlflow, scikit-learn: seconds) overlap with the server's start."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    server.launch()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mlflow_world(mlflow_server, tmp_path_factory) -> World:
    started = time.monotonic()
    base = tmp_path_factory.mktemp("mlflow-world")
    repo, commits = _git_repo(base / "model-repo")
    configs = {}
    for name, text in (("classic", classic_toml()), ("genai", GENAI_TOML), ("broken", BROKEN_TOML)):
        d = base / name
        d.mkdir()
        (d / "signoff.toml").write_text(text)
        configs[name] = str(d / "signoff.toml")
    out = base / "facts.json"
    cmd = [mlflow_server.python(), str(HERE / "fill_server.py"), "--tracking-uri", mlflow_server.url,
           "--out", str(out), "--commit-v1", commits["1"], "--commit-v2", commits["2"],
           "--config", configs["classic"], "--genai-config", configs["genai"], "--broken-config", configs["broken"]]
    cmd += ["--wait", str(START_TIMEOUT_S)]
    env = {**mlflow_server.env(), "MLFLOW_TRACKING_URI": mlflow_server.url}
    fill = subprocess.Popen(cmd, cwd=base, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        mlflow_server.wait_ready()
        output, _ = fill.communicate(timeout=FILL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        fill.kill()
        fill.communicate()
        pytest.fail(f"fill_server.py did not finish in {FILL_TIMEOUT_S}s", pytrace=False)
    except BaseException:
        fill.kill()
        fill.communicate()
        raise
    if fill.returncode != 0:
        tail = "\n".join(output.splitlines()[-40:])
        pytest.fail(f"fill_server.py failed ({fill.returncode}):\n{tail}", pytrace=False)
    facts = json.loads(out.read_text())
    facts["setup_seconds"] = round(time.monotonic() - started, 1)
    return World(server=mlflow_server, facts=facts, repo=repo, commits=commits)


class Cli:
    """`signoff ...` in a subprocess, as CI runs it, with its own data dir."""

    def __init__(self, home: Path):
        self.home = home
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SIGNOFF_"))}
        self.env = {**env, **QUIET_ENV, "SIGNOFF_HOME": str(home), "PYTHONPATH": subprocess_pythonpath()}

    def __call__(self, *args: str, user: str = "ci@example.com", env: dict | None = None, timeout: float = 180):
        p = subprocess.run([sys.executable, "-m", "signoff", *args], cwd=self.home, capture_output=True, text=True,
                           env={**self.env, "SIGNOFF_USER": user, **(env or {})}, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def json(self, *args: str, **kw):
        code, out, err = self(*args, **kw)
        assert code == 0, f"signoff {' '.join(args)} exited {code}: {err}"
        return json.loads(out)


@pytest.fixture
def cli(tmp_path) -> Cli:
    home = tmp_path / "signoff-home"
    home.mkdir()
    return Cli(home)
