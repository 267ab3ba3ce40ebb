"""Where the policy comes from, through the command line on hand-made repositories:
a candidate that relaxes its own signoff.toml stays pending until a policy owner
approves; its co-authors and committers may not approve (docs/trust.md)."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from tests.e2e.test_cli_loop import Signoff
from tests.support.keys import with_signers

ROWS = [{"id": f"s-{i}", "input": f"q{i}", "reference": f"a{i}"} for i in range(4)]
BASE = {0: "a0", 1: "x", 2: "a2", 3: "a3"}
CAND = {0: "a0", 1: "a1", 2: "oops", 3: "a3"}

POLICY = """
[[eval_sets]]
name = "texts"
samples = "evals/texts.jsonl"
predictions = "predictions/texts.jsonl"

[[eval_sets]]
name = "extra"
samples = "evals/texts.jsonl"
predictions = "predictions/extra.jsonl"

[policy]
required = { sme = 1, qa = 1 }
owners = ["quinn@example.com"]

[roles]
sme = ["alice@example.com", "carol@example.com", "erin@example.com"]
qa = ["bob@example.com"]
"""
POLICY = with_signers(POLICY)   # every reviewer's key listed: decisions are signed

# The candidate's own policy: no review needed, "extra" removed, "texts" repointed, "added" new.
RELAXED = """
[[eval_sets]]
name = "texts"
samples = "evals/texts.jsonl"
predictions = "predictions/elsewhere.jsonl"

[[eval_sets]]
name = "added"
samples = "evals/texts.jsonl"
predictions = "predictions/added.jsonl"

[policy]
required = {}
min_changed_reviewed = 0
allow_unreviewed = true

[roles]
sme = ["dana@example.com"]
"""


def jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def preds(outs) -> str:
    return jsonl([{"id": f"s-{i}", "output": o} for i, o in sorted(outs.items())])


def commit(repo: git.Repo, files: dict[str, str], message: str, *, author="dana@example.com",
           committer="dana@example.com") -> str:
    root = Path(repo.working_tree_dir)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    repo.index.add(list(files))
    return repo.index.commit(message, author=git.Actor(author.split("@")[0], author),
                             committer=git.Actor(committer.split("@")[0], committer)).hexsha


def make_relaxing(path: Path, policy: str = POLICY):
    """main holds the policy; feature relaxes it (dana writes, erin commits, carol co-authors)."""
    repo = git.Repo.init(path, initial_branch="main")
    commit(repo, {"signoff.toml": policy, "evals/texts.jsonl": jsonl(ROWS), "predictions/texts.jsonl": preds(BASE),
                  "predictions/extra.jsonl": preds(BASE), "predictions/added.jsonl": preds(BASE)}, "baseline")
    repo.create_head("feature").checkout()
    commit(repo, {"predictions/texts.jsonl": preds(CAND), "predictions/added.jsonl": preds(CAND)}, "candidate",
           committer="erin@example.com")
    sha = commit(repo, {"signoff.toml": RELAXED}, "relax the policy\n\nCo-authored-by: Carol <Carol@Example.com>\n")
    repo.heads.main.checkout()
    return repo, sha


@pytest.fixture
def relaxing(tmp_path):
    return make_relaxing(tmp_path / "repo")


@pytest.fixture
def run(tmp_path):
    return Signoff(tmp_path / "home")


def test_a_candidate_that_relaxes_its_own_policy_waits_for_a_policy_owner(relaxing, run):
    repo, sha = relaxing
    (run.home).mkdir(exist_ok=True)
    code, out, err = run("request", "--sha", sha, "--repo", repo.working_tree_dir, "--json")
    assert code == 0, err
    req = json.loads(out)
    assert req["status"] == "pending"
    assert req["description"].startswith("awaiting review: signoff.toml changed (needs a policy owner), 0/1 SME, 0/1 QA")
    assert len(req["description"]) <= 140

    code, out, err = run("show", str(req["id"]), "--json")
    assert code == 0, err
    summary = json.loads(out)
    change = summary["policy_change"]
    assert change["approved"] is False and change["approved_by"] == [] and change["owners"] == ["quinn@example.com"]
    assert "-required = { sme = 1, qa = 1 }" in change["diff"] and "+required = {}" in change["diff"]
    assert change["added_eval_sets"] == ["added"]
    item = summary["checklist"][0]
    assert item["name"] == "signoff.toml changed: needs approval by a policy owner" and item["ok"] is False
    assert change["removed_eval_sets"] == ["extra"] and change["repointed_eval_sets"] == ["texts"]
    # The base's sets (with the base's paths) are compared, and the added one in addition.
    assert [es["eval_set"] for es in summary["eval_sets"]] == ["texts", "extra", "added"]
    texts = next(es for es in summary["eval_sets"] if es["eval_set"] == "texts")
    assert texts["classes"]["regressed"] == 1      # predictions/texts.jsonl, not the candidate's "elsewhere"
    added = next(es for es in summary["eval_sets"] if es["eval_set"] == "added")
    assert added["classes"]["improved"] == 1
    assert summary["request"]["authors"] == {"dana@example.com": "author", "erin@example.com": "committer",
                                             "carol@example.com": "co-author"}
    code, out, _ = run("show", str(req["id"]))
    assert code == 0 and "policy change: signoff.toml changed by the candidate" in out and "+required = {}" in out

    # Neither the co-author nor the committer may approve; the refusal says why.
    code, _, err = run("decide", str(req["id"]), "--decision", "approve", user="carol@example.com")
    assert code == 4 and "carol@example.com co-authored a candidate commit (Co-authored-by) and may not approve it" in err
    code, _, err = run("decide", str(req["id"]), "--decision", "approve", user="erin@example.com")
    assert code == 4 and "erin@example.com committed a candidate commit and may not approve it" in err
    # The candidate's own roles do not apply: dana is no reviewer of this request.
    code, _, err = run("decide", str(req["id"]), "--decision", "approve", user="dana@example.com")
    assert code == 4
    # Only a policy owner of the BASE policy approves the change.
    code, _, err = run("decide", str(req["id"]), "--decision", "approve", "--role", "policy-owner",
                       user="alice@example.com")
    assert code == 4 and "not a policy owner" in err

    for user in ("alice@example.com", "bob@example.com"):
        code, _, err = run("decide", str(req["id"]), "--decision", "approve", user=user)
        assert code == 0, err
    code, out, _ = run("status", "--sha", sha, "--json")
    status = json.loads(out)
    assert code == 3 and status["description"] == "awaiting review: signoff.toml changed (needs a policy owner)"

    code, _, err = run("decide", str(req["id"]), "--decision", "approve", "--role", "policy-owner",
                       user="quinn@example.com")
    assert code == 0, err
    code, out, _ = run("status", "--sha", sha)
    assert code == 0, out
    code, out, _ = run("show", str(req["id"]), "--json")
    change = json.loads(out)["policy_change"]
    assert change["approved"] is True and change["approved_by"] == ["quinn@example.com"]


def test_no_policy_owners_says_so_and_blocks(tmp_path, run):
    repo, sha = make_relaxing(tmp_path / "repo", POLICY.replace('owners = ["quinn@example.com"]\n', ""))
    run.home.mkdir(exist_ok=True)
    code, out, err = run("request", "--sha", sha, "--repo", repo.working_tree_dir, "--policy-ref", "main", "--json")
    assert code == 0, err
    code, out, _ = run("show", sha, "--json")
    assert "no [policy] owners are listed: add owners to signoff.toml on the default branch first" in out
    code, out, _ = run("status", "--sha", sha, "--json")
    assert code == 3 and json.loads(out)["description"].startswith("awaiting review: signoff.toml changed")
    code, out, err = run("decide", sha, "--decision", "approve", "--role", "policy-owner", user="quinn@example.com")
    assert code == 4 and "lists no [policy] owners" in err


def test_a_repository_without_a_policy_on_its_default_branch_exits_2(tmp_path, run):
    repo = git.Repo.init(tmp_path / "bare-policy", initial_branch="main")
    commit(repo, {"README.md": "hi\n"}, "start")
    repo.create_head("feature").checkout()
    sha = commit(repo, {"signoff.toml": RELAXED}, "my own policy")
    run.home.mkdir(exist_ok=True)
    code, _, err = run("request", "--sha", sha, "--repo", repo.working_tree_dir)
    assert code == 2
    assert "signoff.toml not found on main" in err and "add signoff.toml to main first" in err


def test_files_source_needs_a_policy_and_takes_one_from_policy_file(tmp_path, run):
    root = tmp_path / "files"
    for rel, text in {"signoff.toml": POLICY.split("[[eval_sets]]\nname = \"extra\"")[0] + POLICY[POLICY.index("[policy]"):],
                      "evals/texts.jsonl": jsonl(ROWS), "v1/predictions/texts.jsonl": preds(BASE),
                      "v2/predictions/texts.jsonl": preds(CAND),
                      "v2/signoff.toml": RELAXED.split('[[eval_sets]]\nname = "added"')[0] + "[policy]\nrequired = {}\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    locator = json.dumps({"root": str(root), "baseline_dir": "v1", "candidate_dir": "v2"})
    run.home.mkdir(exist_ok=True)
    code, _, err = run("request", "--sha", "a" * 40, "--source", "files", "--locator", locator)
    assert code == 2 and "no policy for" in err and "--policy FILE" in err
    code, out, err = run("request", "--sha", "a" * 40, "--source", "files", "--locator", locator,
                         "--policy", str(root / "signoff.toml"), "--json")
    assert code == 0, err
    req = json.loads(out)
    assert req["status"] == "pending" and "signoff.toml changed (needs a policy owner)" in req["description"]
