"""The CI recipes in docs/ci-recipes.md, run: their `signoff` lines, verbatim,
in bash, in a real git repository, against loopback GitHub and GitLab
servers, with the reviewers deciding through the CLI in between. Only the
install lines (pip) are left out: the suite's own environment has Signoff."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.keys import key_file, with_signers
import yaml

from tests.forges.fakes import FakeGitHub, FakeGitLab
from tests.forges.helpers import unanchored

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "ci-recipes.md"
BIN = Path(sys.executable).parent

SAMPLES = [{"id": f"s{i}", "input": f"question {i}", "reference": r} for i, r in enumerate("abcdef")]
BASELINE = ["a", "b", "x", "x", "e", "y"]
CANDIDATE = ["a", "z", "c", "x", "e", "w"]
TOML = """
[[eval_sets]]
name = "qa"
samples = "evals/qa.jsonl"
predictions = "predictions/qa.jsonl"

[policy]
required = {{ sme = 1, qa = 1 }}
min_changed_reviewed = 0.0
all_regressions_reviewed = false

[roles]
sme = ["alice@example.com"]
qa = ["quinn"]

[status]
sink = "{sink}"
repo = "{repo}"
context = "signoff/review"
api_url = "{api_url}"
"""
USERS = {"github": {"tok-ci": {"login": "acme-ci", "email": None},
                    "tok-alice": {"login": "alice", "email": "alice@example.com"},
                    "tok-quinn": {"login": "quinn", "email": None}},
         "gitlab": {"tok-ci": {"username": "acme-ci", "email": "ci@acme.example"},
                    "tok-alice": {"username": "alice", "email": "alice@example.com"},
                    "tok-quinn": {"username": "quinn", "email": "quinn@example.com"}}}


def recipe(name: str) -> dict:
    text = RECIPES.read_text(encoding="utf-8")
    m = re.search(rf"<!-- recipe: {name} -->\s*```yaml\n(.*?)```", text, re.S)
    assert m, f"docs/ci-recipes.md has no yaml block marked 'recipe: {name}'"
    return yaml.safe_load(m.group(1))


def signoff_lines(job: dict) -> list[str]:
    """The job's shell lines that run signoff (GitHub `steps[].run`, GitLab `script`)."""
    lines = []
    for step in job.get("steps", []):
        lines += str(step.get("run", "")).splitlines()
    lines += [str(x) for x in job.get("script", [])]
    return [ln.strip() for ln in lines if ln.strip().startswith("signoff ")]


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "dana@example.com",
           "GIT_COMMITTER_NAME": "Dana", "GIT_COMMITTER_EMAIL": "dana@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def model_repo(path: Path, config: str) -> str:
    """main = baseline predictions, branch candidate = the candidate's; returns the candidate commit."""
    import json

    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "evals").mkdir()
    (path / "predictions").mkdir()
    (path / "signoff.toml").write_text(with_signers(config))   # the reviewers' keys (tests/support/keys.py)
    (path / "evals" / "qa.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SAMPLES))

    def predictions(outputs):
        (path / "predictions" / "qa.jsonl").write_text(
            "".join(json.dumps({"id": f"s{i}", "output": o}) + "\n" for i, o in enumerate(outputs)))

    predictions(BASELINE)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "baseline model")
    git(path, "checkout", "-q", "-b", "candidate/model-v2")
    predictions(CANDIDATE)
    git(path, "commit", "-q", "-am", "candidate model")
    return git(path, "rev-parse", "HEAD")


def bash(line: str, cwd: Path, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-c", line], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_recipe_runs(forge, tmp_path):
    spec = recipe({"github": "github-actions", "gitlab": "gitlab-ci"}[forge])
    server = (FakeGitHub if forge == "github" else FakeGitLab)(token="tok-ci", users=USERS[forge])
    try:
        jobs = {k: v for k, v in (spec["jobs"] if forge == "github" else spec).items()
                if isinstance(v, dict) and not k.startswith(".") and (v.get("steps") or v.get("script"))}
        request_job, wait_job = [jobs[k] for k in jobs if "request" in k][0], [jobs[k] for k in jobs if "wait" in k][0]
        assert signoff_lines(request_job) and signoff_lines(wait_job)

        api_url = server.url.removesuffix("/api/v4")
        sha = model_repo(tmp_path / "model", TOML.format(sink=forge, repo="acme/support-model", api_url=api_url))
        literal = {k: str(v) for k, v in (spec.get("env") or spec.get("variables") or {}).items() if "${{" not in str(v)}
        assert literal["SIGNOFF_USER"] == "ci@acme.example"
        token_var = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN"}[forge]
        if forge == "github":
            assert {"SIGNOFF_DATABASE_URL", "GITHUB_TOKEN"} <= set(spec["env"]) and \
                spec["permissions"]["statuses"] == "write"
        env = {**os.environ, **literal, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
               "SIGNOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}", token_var: "tok-ci",
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
               {"github": "GITHUB_SHA", "gitlab": "CI_COMMIT_SHA"}[forge]: sha,
               # what the runner sets: where its forge is (an environment token goes only there)
               {"github": "GITHUB_API_URL", "gitlab": "CI_SERVER_URL"}[forge]: api_url}
        if forge == "gitlab":  # a commit GitLab finds no branch for: only the recipe's --ref places the status
            env["CI_COMMIT_REF_NAME"] = "candidate/model-v2"
            server.refless.add(sha)
        repo = tmp_path / "model"

        for line in signoff_lines(request_job):                          # CI: request the review
            done = bash(line, repo, env)
            assert done.returncode == 0, (line, done.stderr)
        # no target_url configured: the audit head rides at the end of the description (docs/trust.md)
        assert unanchored(server.posted(sha, "signoff/review")) == [("pending", "awaiting review: 0/1 SME, 0/1 QA")]

        wait_lines = signoff_lines(wait_job)
        if forge == "github":  # the same wait, for one second, before anyone decided (once is enough: slow CLI starts)
            short = re.sub(r"--timeout \d+", "--timeout 1", wait_lines[0])
            early = bash(short, repo, env)
            assert early.returncode == 2, early.stderr
            assert re.search(rf"\] {sha[:10]} pending: awaiting review: 0/1 SME, 0/1 QA \(waited \d+s, \d+s left\)",
                             early.stderr), early.stderr

        for who, user in (("alice", "alice@example.com"), ("quinn", "quinn")):   # reviewers, on their machines
            decided = bash(f"signoff decide {sha} --decision approve", repo,
                           {**env, "SIGNOFF_USER": user, token_var: f"tok-{who}",
                            "SIGNOFF_SIGNING_KEY": str(key_file(user))})
            assert decided.returncode == 0, decided.stderr

        for line in wait_lines:                                           # CI: the wait job
            done = bash(line, repo, env, timeout=60)
            assert done.returncode == 0, (line, done.stderr)
            assert "approved: 1/1 SME, 1/1 QA" in done.stderr
        state = {"github": "success", "gitlab": "success"}[forge]
        assert unanchored(server.posted(sha, "signoff/review"))[-1] == (state, "approved: 1/1 SME, 1/1 QA")
        if forge == "gitlab":
            assert {p.ref for p in server.accepted} == {"candidate/model-v2"}
    finally:
        server.stop()
