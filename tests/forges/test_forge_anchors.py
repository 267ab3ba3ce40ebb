"""Forge statuses as anchors (issue 11, item 3): `signoff audit verify` reads back, from the forge,
the commit statuses the store says it posted, and checks the `#signoff-audit=COUNT-HASH` in their
target_url against the log. Unreachable: listed as "not checked", never as OK.

A real git repository (tests/audit/world.py) whose base policy posts to a loopback GitHub; the
review goes through the real service, each reviewer with a token of their own."""

from __future__ import annotations

import pytest

from signoff.cli.main import main
from signoff.core.audit import GENESIS
from signoff.store.store import Store
from tests.audit.world import POLICY, decide, git, make_world, request
from tests.forges.fakes import FakeGitHub
from tests.forges.helpers import ci_names
from tests.store.test_store_audit import raw_sql

USERS = {"t-ci": {"login": "ci", "email": "ci@example.com"},
         "t-alice": {"login": "alice", "email": "alice@example.com"},
         "t-quinn": {"login": "quinn", "email": "quinn@example.com"}}


@pytest.fixture
def github():
    server = FakeGitHub(users=USERS)
    yield server
    server.stop()


@pytest.fixture
def reviewed(tmp_path, github, monkeypatch):
    """An approved request whose three statuses went to the loopback GitHub (with the head)."""
    policy = POLICY.replace('sink = "local"', 'sink = "github"') + f'api_url = "{github.url}"\n'
    world = make_world(tmp_path, policy)
    url = f"sqlite:///{tmp_path / 'team.db'}"
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", url)
    ci_names(monkeypatch, "github", github.url)
    store = Store(url)
    monkeypatch.setenv("GITHUB_TOKEN", "t-ci")
    req = request(store, world)
    for user in ("alice", "quinn"):
        monkeypatch.setenv("GITHUB_TOKEN", f"t-{user}")
        decide(store, req, f"{user}@example.com")
    assert [s for s, _ in github.posted(world.sha)] == ["pending", "pending", "success"]
    assert all("#signoff-audit=" in p.target_url for p in github.accepted)
    yield store, world, url
    store.close()


def verify(capsys, *args) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["audit", "verify", *args])
    return code, capsys.readouterr().out


def drop_the_git_notes(world) -> None:
    git(world.repo, "update-ref", "-d", "refs/notes/signoff")


def test_the_forge_status_is_read_back_and_checked(reviewed, capsys, github):
    store, world, _url = reviewed
    drop_the_git_notes(world)
    code, out = verify(capsys)
    assert code == 0, out
    assert f"checked anchor: github status signoff on acme/model@{world.sha[:10]}: entry" in out
    gets = [c for c in github.calls if c[0] == "GET" and c[1].endswith(f"/commits/{world.sha}/status")]
    assert gets, github.calls


def test_a_reset_log_is_seen_through_the_forge_status(reviewed, capsys):
    store, world, url = reviewed
    drop_the_git_notes(world)
    # everything but the outbox's record of what went to the forge
    raw_sql(url, "DELETE FROM audit_log", f"UPDATE audit_head SET count = 0, last_hash = '{GENESIS}'",
            "DELETE FROM labels", "DELETE FROM label_statements", "DELETE FROM decisions",
            "DELETE FROM comparisons", "DELETE FROM requests")
    code, out = verify(capsys)
    assert code == 1 and f"github status signoff on acme/model@{world.sha[:10]} anchors entry" in out
    assert "which the log does not hold" in out


def test_the_tail_cut_and_the_head_fixed_is_seen_through_the_forge_status(reviewed, capsys):
    store, world, url = reviewed
    drop_the_git_notes(world)
    keep = [e for e in store.audit_entries() if e.action == "decision"][-1].seq - 1
    [h] = [e.hash for e in store.audit_entries() if e.seq == keep]
    raw_sql(url, f"DELETE FROM audit_log WHERE seq > {keep}", f"UPDATE audit_head SET count = {keep}, last_hash = '{h}'")
    code, out = verify(capsys)
    assert code == 1 and "github status signoff" in out and "which the log does not hold" in out


def test_an_unreachable_forge_is_not_checked_never_ok(reviewed, capsys, github, monkeypatch):
    store, world, _url = reviewed
    drop_the_git_notes(world)
    github.stop()
    code, out = verify(capsys)
    assert code == 0, out   # the log itself is intact
    assert f"not checked: github status signoff on acme/model@{world.sha[:10]}: not read back" in out
    assert "checked anchor: github" not in out
    monkeypatch.delenv("GITHUB_TOKEN")
    code, out = verify(capsys)
    assert "not checked: github status signoff" in out and "no token" in out


def test_a_status_set_by_hand_over_ours_is_listed_not_trusted(reviewed, capsys, github):
    store, world, _url = reviewed
    drop_the_git_notes(world)
    from tests.forges.fakes import Posted

    with github.lock:
        github.accepted.append(Posted("acme/model", world.sha, "signoff", "success", "LGTM", ""))
    code, out = verify(capsys)
    assert "holds a status without an anchor (set by hand" in out
    assert "checked anchor: github" not in out
