"""The CI recipes of the docs (docs/ci-recipes.md, docs/mlflow.md): every one validated
against its platform's published schema (check-jsonschema's vendored GitHub workflow and
GitLab CI schemas, offline), and the GitHub and GitLab ones run: every shell step of their
jobs, verbatim, in bash, in a real git repository, against loopback GitHub and GitLab
servers, with the reviewers deciding through the CLI in between. Only the install lines
(pip) are left out: the suite's own environment has Signoff. The MLflow recipe's steps need
an MLflow server and the team's evaluate script: it is validated and checked statically."""

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
from tests.support import subprocess_pythonpath

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


DOCS = [ROOT / "docs" / "ci-recipes.md", ROOT / "docs" / "mlflow.md"]
MARK = re.compile(r"<!-- recipe: ([\w-]+) -->\s*```yaml\n(.*?)```", re.S)
# the action versions the recipes use: current majors (GitHub deprecates the older ones' runtimes)
ACTIONS = {"actions/checkout@v4", "actions/setup-python@v5"}


def all_recipes() -> dict[str, str]:
    """Every ```yaml block marked `<!-- recipe: NAME -->` in the docs, by name."""
    found = {}
    for doc in DOCS:
        for name, body in MARK.findall(doc.read_text(encoding="utf-8")):
            assert name not in found, f"two recipes named {name}"
            found[name] = body
    return found


def recipe(name: str) -> dict:
    recipes = all_recipes()
    assert name in recipes, f"the docs have no yaml block marked 'recipe: {name}'"
    return yaml.safe_load(recipes[name])


def signoff_lines(job: dict) -> list[str]:
    """The job's shell lines that run signoff (GitHub `steps[].run`, GitLab `script`)."""
    lines = []
    for step in job.get("steps", []):
        lines += str(step.get("run", "")).splitlines()
    lines += [str(x) for x in job.get("script", [])]
    return [ln.strip() for ln in lines if ln.strip().startswith("signoff ")]


EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def expand(text: str, context: dict) -> str:
    """GitHub's ${{ expr }}: each expression the test knows, by its text; an unknown one fails."""
    def one(m):
        assert m.group(1) in context, f"the test does not know ${{{{ {m.group(1)} }}}}"
        return context[m.group(1)]
    return EXPR.sub(one, text)


def shell_steps(spec: dict, job_name: str, forge: str, context: dict) -> list[tuple[str, dict]]:
    """(script, env) for each shell step of the job, in order, as the runner would run it:
    GitHub: `steps[].run` with workflow, job and step `env`; GitLab: `before_script` then
    `script` (after `extends`), with `variables`. `pip install` lines are left out (the suite's
    environment has Signoff); everything else runs."""
    out = []
    if forge == "github":
        job = spec["jobs"][job_name]
        base = {**(spec.get("env") or {}), **(job.get("env") or {})}
        for step in job.get("steps", []):
            if "run" not in step:
                assert step["uses"] in ACTIONS, step["uses"]
                continue
            env = {k: expand(str(v), context) for k, v in {**base, **(step.get("env") or {})}.items()}
            out.append((expand(step["run"], context), env))
    else:
        job = dict(spec[job_name])
        for parent in ([job["extends"]] if isinstance(job.get("extends"), str) else job.get("extends", [])):
            job = {**spec[parent], **job}
        env = {k: str(v) for k, v in {**(spec.get("variables") or {}), **(job.get("variables") or {})}.items()}
        for line in [*job.get("before_script", []), *job.get("script", [])]:
            assert isinstance(line, str), f"{job_name}: a script line that YAML reads as {type(line).__name__}: {line!r}"
            out.append((line, env))
    kept = []
    for script, env in out:
        lines = [ln for ln in script.splitlines() if not ln.strip().startswith("pip install")]
        if any(ln.strip() for ln in lines):
            kept.append(("\n".join(lines), env))
    return kept


@pytest.mark.parametrize("name", sorted(all_recipes()))
def test_recipe_is_valid_for_its_platform(name, tmp_path):
    """Each recipe against the platform's published schema (vendored in check-jsonschema: offline)."""
    body = all_recipes()[name]
    schema = "vendor.gitlab-ci" if "gitlab" in name.split("-") else "vendor.github-workflows"
    path = tmp_path / f"{name}.yml"
    path.write_text(body, encoding="utf-8")
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    spec = yaml.safe_load(body)
    uses = re.findall(r"(?m)^\s*(?:- )?uses:\s*(\S+)", body)
    assert set(uses) <= ACTIONS, uses
    jobs = spec["jobs"].items() if "jobs" in spec else [(k, v) for k, v in spec.items()
                                                         if isinstance(v, dict) and "script" in v]
    for job_name, job in jobs:   # every job is bounded, within hosted runners' limits
        if "jobs" in spec:
            assert 0 < job.get("timeout-minutes", 0) <= 360, job_name
        else:
            assert re.fullmatch(r"(\d+m|[1-3]h)", job.get("timeout", "")), job_name
        for line in signoff_lines(job):   # no empty commit: the variable every signoff step names is set
            for var in re.findall(r'--sha "\$(\w+)"', line):
                env = {**(spec.get("env") or {}), **(job.get("env") or {})} if "jobs" in spec else {}
                assert var in ("GITHUB_SHA", "CI_COMMIT_SHA") or var in env, (job_name, line)
            if "jobs" in spec:
                assert "SIGNOFF_DATABASE_URL" in {**(spec.get("env") or {}), **(job.get("env") or {})}, job_name


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


def run_job(spec: dict, job: str, forge: str, context: dict, env: dict, cwd: Path, expect: int = 0,
            timeout: float = 120, rewrite=lambda script: script) -> str:
    """The job's shell steps, in order, as a runner does: the first that fails ends the job, and
    must exit `expect` (0: every step passes). Returns their stderr."""
    steps = shell_steps(spec, job, forge, context)
    assert steps, f"{job}: no shell steps"
    err = ""
    for script, step_env in steps:
        done = bash(rewrite(script), cwd, {**env, **step_env}, timeout=timeout)
        err += done.stderr
        if done.returncode != 0:
            assert done.returncode == expect, (job, script, done.returncode, done.stderr)
            return err
    assert expect == 0, f"{job}: every step passed, expected one to exit {expect}"
    return err


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_recipe_runs(forge, tmp_path):
    """The request, the reviewers' decisions, the release: every shell step of the recipes."""
    server = (FakeGitHub if forge == "github" else FakeGitLab)(token="tok-ci", users=USERS[forge])
    try:
        api_url = server.url.removesuffix("/api/v4")
        sha = model_repo(tmp_path / "model", TOML.format(sink=forge, repo="acme/support-model", api_url=api_url))
        repo = tmp_path / "model"
        db = f"sqlite:///{tmp_path / 'shared.db'}"
        token_var = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN"}[forge]
        context = {"secrets.SIGNOFF_DATABASE_URL": db, "secrets.GITHUB_TOKEN": "tok-ci", "vars.SIGNOFF_PACKAGE": "signoff",
                   "github.event.sha": sha}
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": subprocess_pythonpath(),
               "SIGNOFF_DATABASE_URL": db, token_var: "tok-ci", "SIGNOFF_HOME": str(tmp_path / "ci-home"),
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
               # what the runner sets: the commit, and where its forge is (an environment token goes only there)
               {"github": "GITHUB_SHA", "gitlab": "CI_COMMIT_SHA"}[forge]: sha,
               {"github": "GITHUB_API_URL", "gitlab": "CI_SERVER_URL"}[forge]: api_url}
        if forge == "github":
            request, release, waiting = recipe("github-actions"), recipe("github-actions-release"), recipe("github-actions-wait")
            assert request["env"]["SIGNOFF_USER"] == "ci@acme.example" and request["permissions"]["statuses"] == "write"
            assert {"SIGNOFF_DATABASE_URL", "GITHUB_TOKEN"} <= set(request["env"])
            assert release.get("on", release.get(True)) == "status"   # (YAML 1.1 reads `on` as true)
            assert "'signoff/review'" in release["jobs"]["release"]["if"] \
                and "'success'" in release["jobs"]["release"]["if"]
            jobs = {"request": (request, "request-review"), "release": (release, "release"),
                    "wait": (waiting, "wait-for-sign-off")}
        else:
            request = recipe("gitlab-ci")
            waiting = recipe("gitlab-ci-wait")
            assert request["variables"]["SIGNOFF_USER"] == "ci@acme.example" and request["release"]["when"] == "manual"
            env["CI_COMMIT_REF_NAME"] = "candidate/model-v2"   # a commit GitLab finds no branch for: --ref places it
            server.refless.add(sha)
            jobs = {"request": (request, "signoff:request"), "release": (request, "release"),
                    "wait": (waiting, "signoff:wait")}

        run_job(*jobs["request"], forge, context, env, repo)                       # CI: request the review
        # (the GitHub request step ends with `status --json || [ $? -eq 3 ]`: pending is 3)
        # no target_url configured: the audit head rides at the end of the description (docs/trust.md)
        assert unanchored(server.posted(sha, "signoff/review")) == [("pending", "awaiting review: 0/1 SME, 0/1 QA")]

        # before anyone decided: the release refuses, and the wait times out with 5
        run_job(*jobs["release"], forge, context, env, repo, expect=1)
        def short(script):
            cut = re.sub(r"--timeout \d+ --interval \d+", "--timeout 1 --interval 0.2", script)
            assert cut != script or "signoff wait" not in script
            return cut
        err = run_job(*jobs["wait"], forge, context, env, repo, expect=5, rewrite=short)
        assert "timed out after 1 s" in err, err

        for who, user in (("alice", "alice@example.com"), ("quinn", "quinn")):   # reviewers, on their machines
            decided = bash(f"signoff decide {sha} --decision approve", repo,
                           {**env, "SIGNOFF_USER": user, token_var: f"tok-{who}",
                            "SIGNOFF_SIGNING_KEY": str(key_file(user))})
            assert decided.returncode == 0, decided.stderr
        assert unanchored(server.posted(sha, "signoff/review"))[-1] == ("success", "approved: 1/1 SME, 1/1 QA")

        run_job(*jobs["release"], forge, context, env, repo)                       # CI: the release, verified
        err = run_job(*jobs["wait"], forge, context, env, repo, timeout=60)        # or the job that waited
        assert "signed record verifies" in err, err
        if forge == "gitlab":
            assert {p.ref for p in server.accepted} == {"candidate/model-v2"}
    finally:
        server.stop()
