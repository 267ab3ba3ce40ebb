"""The MLflow recipe of docs/mlflow.md run end to end (issue 15): every shell step of its jobs,
verbatim, in bash, against a real MLflow tracking server of its own (tests/mlflow/server.py), with
the example evaluate script it calls (docs/examples/evaluate.py, as the model repository's
ci/evaluate.py) run by the real mlflow client.

What CI does: an earlier run registered version 1 (the baseline, from main); the pull request's
`evaluate` job evaluates the candidate commit (version 2, its run tagged with the commit), and
`signoff request --source mlflow --policy policy/signoff.toml` (the policy from the default branch's
checkout) makes the request; `wait-for-sign-off` times out before anyone decided (exit 5), a
reviewer approves from their machine, and the wait passes (exit 0); the approval is written back onto
the model version (tag and alias). The install lines (pip) are left out: the suite's environments
have Signoff (the suite's venv) and mlflow (the server's venv)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import requests

from tests.forges.test_ci_recipes import bash, git, recipe, run_job, shell_steps
from tests.mlflow.server import QUIET_ENV, MlflowServer
from tests.support import subprocess_pythonpath
from tests.support.keys import key_file, with_signers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "evaluate.py"
MODEL = "support-intents"

POLICY = f"""
[mlflow]
model = "{MODEL}"
alias_on_approval = "approved"

[[eval_sets]]
name = "support-intents"
table = "predictions/support_intents.json"   # what ci/evaluate.py logs
type = "label"

[policy]
required = {{ sme = 1 }}

[roles]
sme = ["alice@example.com"]
"""
SAMPLES = [("t1", "where is my parcel", "shipping"), ("t2", "refund my order please", "billing"),
           ("t3", "the parcel never came", "shipping"), ("t4", "I was charged twice", "billing"),
           ("t5", "change my delivery address", "shipping"), ("t6", "hello there", "other"),
           ("t7", "cancel the invoice", "billing"), ("t8", "track my delivery", "shipping")]
RULES_V1 = [{"word": "refund", "intent": "billing"}, {"word": "parcel", "intent": "shipping"},
            {"word": "invoice", "intent": "billing"}]
RULES_V2 = RULES_V1 + [{"word": "delivery", "intent": "shipping"}, {"word": "charged", "intent": "billing"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A tracking server of its own: the session's (tests/mlflow/conftest.py) holds the other tests' models."""
    s = MlflowServer(tmp_path_factory.mktemp("mlflow-recipe-server"))
    s.start()
    try:
        yield s
    finally:
        s.stop()


def model_repository(path: Path) -> tuple[str, str]:
    """main: the policy, the eval set, the model's rules v1 and ci/evaluate.py (the example); the
    candidate branch: rules v2. Returns (main commit, candidate commit)."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "signoff.toml").write_text(with_signers(POLICY))     # the reviewers' keys (tests/support/keys.py)
    (path / "evals").mkdir()
    (path / "evals" / "support_intents.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": t, "intent": c}) + "\n" for i, t, c in SAMPLES))
    (path / "model").mkdir()
    (path / "model" / "rules.json").write_text(json.dumps(RULES_V1))
    (path / "ci").mkdir()
    shutil.copy(EXAMPLE, path / "ci" / "evaluate.py")
    (path / "requirements.txt").write_text("mlflow\npandas\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "intent model v1")
    main = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "-q", "-b", "candidate/intents-v2")
    (path / "model" / "rules.json").write_text(json.dumps(RULES_V2))
    git(path, "commit", "-q", "-am", "intent model v2: delivery and charged")
    return main, git(path, "rev-parse", "HEAD")


def checkout(repo: Path, dest: Path, ref: str) -> Path:
    """actions/checkout: the repository at `ref` in `dest`."""
    git(repo.parent, "clone", "-q", str(repo), str(dest))
    git(dest, "checkout", "-q", ref)
    return dest


def tool_dir(path: Path, mlflow_python: str) -> Path:
    """What the runner's PATH has after the recipe's pip installs: `python` with mlflow (the
    server's venv) for ci/evaluate.py, and `signoff` (the suite's, on this worktree's code)."""
    path.mkdir()
    for name, line in (("python", f"exec '{mlflow_python}' \"$@\""),      # (a symlink would lose its venv)
                       ("signoff", f"PYTHONPATH='{subprocess_pythonpath()}' exec '{sys.executable}' -m signoff \"$@\"")):
        (path / name).write_text(f"#!/bin/sh\n{line}\n")
        (path / name).chmod(0o755)
    return path


def version_of(server: MlflowServer, version: str) -> dict:
    r = requests.get(f"{server.url}/api/2.0/mlflow/model-versions/get", params={"name": MODEL, "version": version},
                     timeout=10)
    r.raise_for_status()
    return r.json()["model_version"]


def test_the_mlflow_recipe_runs_end_to_end(server, tmp_path):
    spec = recipe("mlflow-github-actions")
    main_sha, sha = model_repository(tmp_path / "origin")
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    tools = tool_dir(tmp_path / "tools", server.python())
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SIGNOFF_", "PYTHONPATH"))}
    env = {**base_env, **QUIET_ENV, "PATH": f"{tools}{os.pathsep}{base_env['PATH']}",
           "SIGNOFF_HOME": str(tmp_path / "ci-home"), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

    def context(commit: str, branch: str) -> dict:
        """The ${{ }} expressions of the recipe, as GitHub fills them for a pull request."""
        return {"vars.MLFLOW_TRACKING_URI": server.url, "secrets.MLFLOW_TRACKING_TOKEN": "",
                "secrets.SIGNOFF_DATABASE_URL": db, "secrets.GITHUB_TOKEN": "", "vars.SIGNOFF_PACKAGE": "signoff",
                "github.event.pull_request.head.sha || github.sha": commit,
                "github.head_ref || github.ref_name": branch,
                "github.event.pull_request.user.email || github.event.head_commit.author.email": "dana@example.com"}

    # The baseline: main's own CI run of the evaluate step registered version 1 (the champion-less
    # baseline is the version before the candidate).
    main_ws = checkout(tmp_path / "origin", tmp_path / "main-ws", main_sha)
    evaluate = [(s, e) for s, e in shell_steps(spec, "evaluate", "github", context(main_sha, "main"))
                if s.strip().startswith("python ")]
    assert [s.strip() for s, _ in evaluate] == ["python ci/evaluate.py"]
    for script, step_env in evaluate:             # step_env: the workflow's env and the step's, expanded
        done = bash(script, main_ws, {**env, **step_env}, timeout=300)
        assert done.returncode == 0, done.stderr
    assert version_of(server, "1")["run_id"]

    # The pull request: the workspace at the candidate, the policy from the default branch (the
    # recipe's second checkout, `path: policy`), then every shell step of the job.
    ws = checkout(tmp_path / "origin", tmp_path / "ws", sha)
    checkout(tmp_path / "origin", ws / "policy", "main")
    ctx = context(sha, "candidate/intents-v2")
    run_job(spec, "evaluate", "github", ctx, env, ws, timeout=300)
    candidate = version_of(server, "2")
    run = requests.get(f"{server.url}/api/2.0/mlflow/runs/get", params={"run_id": candidate["run_id"]},
                       timeout=10).json()["run"]
    assert {t["key"]: t["value"] for t in run["data"]["tags"]}["mlflow.source.git.commit"] == sha

    db_env = {**env, "SIGNOFF_DATABASE_URL": db, "MLFLOW_TRACKING_URI": server.url}
    status = bash(f"signoff status --sha {sha} --json || [ $? -eq 3 ]", ws, db_env)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["status"] == "pending", shown

    # before anyone decided: the wait job times out with 5 (its timeout cut to 1 s here)
    def short(script: str) -> str:
        cut = re.sub(r"--timeout \d+ --interval \d+", "--timeout 1 --interval 0.2", script)
        assert cut != script or "signoff wait" not in script
        return cut
    err = run_job(spec, "wait-for-sign-off", "github", ctx, env, ws, expect=5, rewrite=short)
    assert "timed out after 1 s" in err, err

    # a reviewer approves on their own machine (same store, same tracking server)
    decided = bash(f"signoff decide {sha} --decision approve", ws,
                   {**db_env, "SIGNOFF_USER": "alice@example.com", "SIGNOFF_HOME": str(tmp_path / "alice-home"),
                    "SIGNOFF_SIGNING_KEY": str(key_file("alice@example.com"))})
    assert decided.returncode == 0, decided.stderr

    run_job(spec, "wait-for-sign-off", "github", ctx, env, ws, timeout=120)   # approved: exit 0
    v2 = version_of(server, "2")                                                # written back to MLflow
    tags = {t["key"]: t["value"] for t in v2.get("tags", [])}
    assert tags.get("signoff.status") == "approved", tags
    assert "approved" in v2.get("aliases", []), v2

