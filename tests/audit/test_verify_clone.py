"""CI trusts signatures, not statuses (issue 11, item 4): `signoff verify` from a fresh clone with
no store, and `signoff wait --verify`, which a status set by hand never satisfies.

The review happens in one store (real service, signed decisions, statuses posted and the head
anchored as a git note); the branch and refs/notes/signoff are pushed to a bare "origin"; the
real CLI then runs in a subprocess against a clone of it and an empty SQLite store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from signoff.cli.main import main
from signoff.store.store import Store
from tests.audit.world import approve, git, make_world, note, push_notes, request
from tests.store.test_store_audit import raw_sql
from tests.support import subprocess_pythonpath

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'team.db'}")
    yield s
    s.close()


def cli(tmp_path, *args, timeout=120):
    """The real CLI with nothing but an empty store of its own (CI without the team's store)."""
    env = {**os.environ, "PYTHONPATH": subprocess_pythonpath(), "SIGNOFF_HOME": str(tmp_path / "ci-home"),
           "SIGNOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'ci-empty.db'}", "SIGNOFF_USER": "ci@example.com"}
    p = subprocess.run([sys.executable, "-m", "signoff", *args], env=env, cwd=tmp_path, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def fresh_clone(world, tmp_path, name="clone", *, notes=True) -> Path:
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", str(world.origin), str(clone))
    if notes:
        git(clone, "fetch", "-q", "origin", "refs/notes/signoff:refs/notes/signoff")
    return clone


def lines(out: str, err: str) -> list[str]:
    return [line for line in (out + err).splitlines() if line.strip()]


def test_verify_from_a_fresh_clone_with_no_store(store, world, tmp_path):
    approve(store, world)
    push_notes(world)
    clone = fresh_clone(world, tmp_path)
    code, out, err = cli(tmp_path, "verify", "--sha", world.sha, "--repo", str(clone))
    assert code == 0, out + err
    assert "verifies: signed and approved" in out and f"refs/notes/signoff in {clone}" in out
    assert "signature verifies" in out and "ci-empty.db" not in out     # not from the (empty) store


def test_a_tampered_record_in_the_note_does_not_verify(store, world, tmp_path):
    approve(store, world)
    push_notes(world)
    clone = fresh_clone(world, tmp_path)
    n = note(clone, world.sha)
    d = n["record"]["predicate"]["decisions"][-1]          # quinn's approval
    d["statement"] = d["statement"].replace('"comment":""', '"comment":"edited"')
    edited = tmp_path / "note.json"
    edited.write_text(json.dumps(n))
    git(clone, "notes", "--ref", "signoff", "add", "-f", "-F", str(edited), world.sha)
    code, out, err = cli(tmp_path, "verify", "--sha", world.sha, "--repo", str(clone))
    assert code == 1 and len(lines(out, err)) == 1, out + err
    assert "does NOT verify" in out and "quinn@example.com" in out and "says pending" in out


def test_a_note_for_another_commit_does_not_verify(store, world, tmp_path):
    approve(store, world)
    push_notes(world)
    clone = fresh_clone(world, tmp_path)
    git(clone, "checkout", "-q", "-b", "other", "origin/main")
    (clone / "predictions/texts.jsonl").write_text("")
    (clone / "README").write_text("other\n")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "another candidate")
    other = git(clone, "rev-parse", "HEAD")
    git(clone, "notes", "--ref", "signoff", "copy", "-f", world.sha, other)
    code, out, err = cli(tmp_path, "verify", "--sha", other, "--repo", str(clone))
    assert code == 1 and len(lines(out, err)) == 1, out + err
    assert f"the record found is not about {other}" in out


def test_no_note_at_all_is_one_line_saying_what_to_fetch(store, world, tmp_path):
    approve(store, world)                 # notes written, never pushed
    clone = fresh_clone(world, tmp_path, notes=False)
    code, out, err = cli(tmp_path, "verify", "--sha", world.sha, "--repo", str(clone))
    assert code == 1 and len(lines(out, err)) == 1, out + err
    assert "no signed record" in out and "refs/notes/signoff" in out


# -- wait --verify: a status alone never ends the wait with 0 ---------------------------------

def test_wait_verify_ignores_a_success_set_by_hand_in_the_store(store, world, tmp_path, monkeypatch, capsys):
    req = request(store, world)
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", f"sqlite:///{tmp_path / 'team.db'}")
    # someone with the database: the request row and a posted local status both say approved
    store.record_local_status(repo="acme/model", sha=world.sha, context="signoff", state="approved",
                              description="approved: 1/1 SME, 1/1 QA")
    raw_sql(os.environ["SIGNOFF_DATABASE_URL"], "UPDATE requests SET status = 'approved'")
    assert main(["wait", "--sha", world.sha, "--verify", "--timeout", "1", "--interval", "0.2"]) == 5   # 5: timed out
    assert "does not verify" in capsys.readouterr().err
    approve_rest(store, req)
    assert main(["wait", "--sha", world.sha, "--verify", "--timeout", "5", "--interval", "0.2"]) == 0


def approve_rest(store, req):
    from tests.audit.world import decide

    decide(store, req, "alice@example.com")
    decide(store, req, "quinn@example.com")


def test_wait_verify_ignores_a_success_set_by_hand_on_the_forge(store, world, tmp_path):
    from tests.forges.fakes import FakeGitHub

    forge = FakeGitHub(token="hand-token")
    try:
        body = json.dumps({"state": "success", "context": "signoff", "description": "approved"}).encode()
        post = urllib.request.Request(f"{forge.url}/repos/acme/model/statuses/{world.sha}", data=body, method="POST",
                                      headers={"Authorization": "Bearer hand-token", "Accept": "application/json",
                                               "Content-Type": "application/json"})
        urllib.request.urlopen(post, timeout=10).close()
        assert forge.posted(world.sha) == [("success", "approved")]
        req = request(store, world)
        clone = fresh_clone(world, tmp_path, notes=False)
        code, out, err = cli(tmp_path, "wait", "--sha", world.sha, "--verify", "--repo", str(clone),
                             "--timeout", "2", "--interval", "0.5")
        assert code == 5 and "timed out" in err, out + err
        approve_rest(store, req)       # the genuine record: signed, anchored in the note, pushed
        push_notes(world)
        code, out, err = cli(tmp_path, "wait", "--sha", world.sha, "--verify", "--repo", str(clone),
                             "--timeout", "30", "--interval", "0.5")
        assert code == 0 and "signed record verifies" in err, out + err   # fetched from origin by itself
    finally:
        forge.stop()
