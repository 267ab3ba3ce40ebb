"""A small real world for the record's tests: a git repository whose `main` holds signoff.toml
(listing the reviewers' test keys, tests/support/keys.py) and one eval set, a `feature` commit
that changes the predictions, a bare `origin` both are pushed to, and requests, labels and
decisions made through the real ReviewService (so decisions and label batches are signed).

    w = make_world(tmp_path)                 # repo + origin, nothing in the store yet
    req = request(store, w)                  # the git source's request for w.sha (status: pending)
    decide(store, req, "alice@example.com", "approve")
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from signoff.core.model import DecisionKind
from signoff.service.publishing import publish_outbox
from signoff.service.review import ReviewService
from signoff.plugins.git import GitSource
from tests.support.keys import with_signers

POLICY = """
[[eval_sets]]
name = "texts"
samples = "evals/texts.jsonl"
predictions = "predictions/texts.jsonl"

[policy]
required = { sme = 1, qa = 1 }
min_changed_reviewed = 0
all_regressions_reviewed = false

[roles]
sme = ["alice@example.com", "bob@example.com"]
qa = ["quinn@example.com"]

[labels]
errors = ["format", "wrong"]

[status]
sink = "local"
repo = "acme/model"
context = "signoff"
target_url = "https://ci.example.com/review"
"""

ROWS = [{"id": f"s{i}", "input": f"q{i}", "reference": f"a{i}"} for i in range(1, 5)]
BASE = {1: "a1", 2: "x", 3: "a3", 4: "a4"}
CAND = {1: "b1", 2: "a2", 3: "oops", 4: "a4"}
GIT_ENV = {"GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "dana@example.com",
           "GIT_COMMITTER_NAME": "Dana", "GIT_COMMITTER_EMAIL": "dana@example.com"}


def git(cwd, *args: str) -> str:
    import os

    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV})
    assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
    return out.stdout.strip()


def _jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _preds(outs) -> str:
    return _jsonl([{"id": f"s{i}", "output": o} for i, o in sorted(outs.items())])


@dataclass
class World:
    repo: Path          # the working clone the requests are made from (its origin: `origin`)
    origin: Path        # a bare repository, as a forge holds it
    sha: str            # the candidate commit (branch `feature`)
    base: str           # main's commit
    policy: str


def make_world(root: Path, policy: str = POLICY) -> World:
    policy = with_signers(policy)
    origin, repo = root / "origin.git", root / "repo"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    git(root, "init", "-q", "-b", "main", str(repo))
    for rel, text in {"signoff.toml": policy, "evals/texts.jsonl": _jsonl(ROWS),
                      "predictions/texts.jsonl": _preds(BASE)}.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline")
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "predictions/texts.jsonl").write_text(_preds(CAND))
    git(repo, "commit", "-q", "-am", "candidate")
    sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main", "feature")
    git(repo, "remote", "set-head", "origin", "main")
    return World(repo=repo, origin=origin, sha=sha, base=base, policy=policy)


def service(store, user: str) -> ReviewService:
    return ReviewService(store, user=user)


def request(store, w: World, *, publish: bool = True):
    req = service(store, "ci@example.com").create_request(GitSource(str(w.repo)), sha=w.sha)
    if publish:
        publish_outbox(store)
    return store.get_request(req.id)


def decide(store, req, user: str, kind: str = "approve", *, publish: bool = True):
    verdict = service(store, user).decide(req.id, DecisionKind(kind))
    if publish:
        publish_outbox(store)
    return verdict


def approve(store, w: World):
    """A request for w.sha approved by alice (sme) and quinn (qa), every status posted."""
    req = request(store, w)
    decide(store, req, "alice@example.com")
    assert decide(store, req, "quinn@example.com").status.value == "approved"
    return store.get_request(req.id)


def push_notes(w: World) -> None:
    git(w.repo, "push", "-q", "origin", "refs/notes/signoff:refs/notes/signoff")


def note(repo: Path, sha: str) -> dict:
    return json.loads(git(repo, "notes", "--ref", "signoff", "show", sha))
