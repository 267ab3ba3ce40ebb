"""Issue 10 item 3, last bullet: where a forge token is configured, the token-owner check
fails closed. A decision made while the forge cannot be reached is recorded (signed, audited)
as "identity not yet checked" and does not count; once the forge answers (`signoff publish`,
the window's drain, the next decide/status) it is marked checked and counts, or, when the
token belongs to someone else, refused for good. The real service and store (SQLite),
signed decisions, GITHUB_TOKEN with GITHUB_API_URL naming a loopback GitHub."""

from __future__ import annotations

import sqlite3

import pytest

from signoff.cli.main import main
from signoff.core.model import IDENTITY_CHECKED, IDENTITY_REFUSED, IDENTITY_SKIPPED, IDENTITY_UNCHECKED, Status
from signoff.service.publishing import OutboxDrainer
from signoff.service.review import ReviewService
from tests.forges.fakes import FakeGitHub
from tests.forges.helpers import SHA, ci_names, forge_config, forge_source
from tests.forges.loopback import Fault

USERS = {"tok-ci": {"login": "signoff-bot", "email": None},
         "tok-alice": {"login": "alice", "email": "alice@example.com"},
         "tok-quinn": {"login": "quinn", "email": "quinn@example.com"}}
WAITING = ("identity not yet checked against the github token's account (forge unreachable): "
           "it counts once checked")


@pytest.fixture
def server(monkeypatch):
    """A loopback GitHub that knows the tokens of USERS, named by the environment as its CI would."""
    forge = FakeGitHub(token="tok-ci", users=dict(USERS))
    ci_names(monkeypatch, "github", forge.url)
    yield forge
    forge.stop()


def as_user(monkeypatch, store, who: str) -> ReviewService:
    monkeypatch.setenv("GITHUB_TOKEN", f"tok-{who}")
    return ReviewService(store, user=f"{who}@example.com")


def down(server: FakeGitHub) -> None:
    """Every request dropped without an answer, as a forge that is down (until faults are cleared)."""
    server.inject(*[Fault("drop", method=m, path_part="/") for m in ("GET", "POST") for _ in range(50)])


def up(server: FakeGitHub) -> None:
    with server.lock:
        server.faults.clear()


def reviewed_by_alice(monkeypatch, store, server) -> int:
    """A request, labelled and approved by alice (SME) with the forge up: only QA is missing."""
    req = as_user(monkeypatch, store, "ci").create_request(forge_source(forge_config("github", server.url)), sha=SHA)
    alice = as_user(monkeypatch, store, "alice")
    alice.set_label(req.id, "qa", "s1", verdict="baseline")
    alice.set_label(req.id, "qa", "s5", verdict="both-wrong")
    alice.decide(req.id, "approve")
    [mine] = [d for d in store.decisions_for_change(req.change_key) if d.user == "alice@example.com"]
    assert mine.identity == IDENTITY_CHECKED
    return req.id


def quinn_decides_while_down(monkeypatch, store, server, request_id: int):
    down(server)
    verdict = as_user(monkeypatch, store, "quinn").decide(request_id, "approve")
    assert verdict.status is Status.PENDING
    [waiting] = verdict.not_counted
    assert (waiting.user, waiting.not_counted) == ("quinn@example.com", WAITING)
    return verdict


def test_forge_down_then_back_the_decision_is_checked_counts_and_the_status_is_posted(server, store, monkeypatch):
    rid = reviewed_by_alice(monkeypatch, store, server)
    quinn_decides_while_down(monkeypatch, store, server, rid)
    # recorded, signed and audited, but waiting: the stored status stays pending
    [row] = store.unchecked_decisions(rid)
    assert row.signature and row.identity_forge == "github" and row.identity_token
    assert store.get_request(rid).status == "pending"
    [entry] = [e for e in store.audit_entries(rid) if e.action == "decision" and e.actor == "quinn@example.com"]
    assert entry.payload["identity"] == IDENTITY_UNCHECKED and entry.payload["signature"]
    quinn = as_user(monkeypatch, store, "quinn")
    summary = quinn.summary(rid)
    assert summary["decisions_not_counted"] == [
        {"user": "quinn@example.com", "role": "qa", "decision": "approve", "why": WAITING}]

    # still down: `signoff publish` leaves it waiting
    quinn.publish()
    assert store.unchecked_decisions(rid) and store.get_request(rid).status == "pending"

    up(server)
    quinn.publish()                                  # as `signoff publish` does
    assert store.unchecked_decisions(rid) == []
    [mine] = [d for d in store.decisions_for_change(store.get_request(rid).change_key)
              if d.user == "quinn@example.com"]
    assert mine.identity == IDENTITY_CHECKED
    assert quinn.verdict(rid).status is Status.APPROVED
    assert store.get_request(rid).status == "approved"
    assert server.posted(SHA, "signoff/review")[-1][0] == "success"    # posted by the same drain
    assert [e.action for e in store.audit_entries(rid)][-3:-1] == ["identity.checked", "status.change"]
    report = store.verify_audit()
    assert report.ok, report.problems


def test_the_windows_background_drain_makes_the_check_too(server, store, monkeypatch):
    rid = reviewed_by_alice(monkeypatch, store, server)
    quinn_decides_while_down(monkeypatch, store, server, rid)
    up(server)
    OutboxDrainer(store).drain()                    # what app/ui/outbox_drain.py runs on its timer
    assert store.unchecked_decisions(rid) == []
    assert store.get_request(rid).status == "approved"
    assert server.posted(SHA, "signoff/review")[-1][0] == "success"


def test_forge_back_but_the_token_is_someone_elses_the_decision_is_refused_and_never_counts(server, store, monkeypatch):
    rid = reviewed_by_alice(monkeypatch, store, server)
    quinn_decides_while_down(monkeypatch, store, server, rid)
    server.users["tok-quinn"] = {"login": "mallory", "email": "mallory@example.com"}   # whose token it was
    up(server)
    quinn = as_user(monkeypatch, store, "quinn")
    quinn.publish()
    assert store.unchecked_decisions(rid) == []
    verdict = quinn.verdict(rid)
    assert verdict.status is Status.PENDING and store.get_request(rid).status == "pending"
    [refused] = verdict.not_counted
    assert refused.identity == IDENTITY_REFUSED
    port = server.url.rsplit(":", 1)[1]
    assert refused.not_counted == (f"identity refused: the github token for 127.0.0.1:{port} belongs to "
                                   f"mallory (mallory@example.com), not quinn@example.com")
    assert "identity.refused" in [e.action for e in store.audit_entries(rid)]
    # never counts: later drains leave it refused
    quinn.publish()
    assert quinn.verdict(rid).status is Status.PENDING
    assert all(state != "success" for state, _ in server.posted(SHA, "signoff/review"))
    report = store.verify_audit()
    assert report.ok, report.problems


def test_another_token_proves_nothing_of_who_decided_the_check_waits(server, store, monkeypatch):
    rid = reviewed_by_alice(monkeypatch, store, server)
    quinn_decides_while_down(monkeypatch, store, server, rid)
    up(server)
    as_user(monkeypatch, store, "ci").publish()       # CI's publish, CI's token
    assert len(store.unchecked_decisions(rid)) == 1
    assert store.get_request(rid).status == "pending"
    as_user(monkeypatch, store, "quinn").publish()    # the token the decision was made with
    assert store.get_request(rid).status == "approved"


def test_a_changed_identity_row_fails_audit_verify(server, store, monkeypatch, tmp_path):
    """The identity state is part of the record: flipping it in the table is found by the replay."""
    rid = reviewed_by_alice(monkeypatch, store, server)
    quinn_decides_while_down(monkeypatch, store, server, rid)
    with sqlite3.connect(tmp_path / "store.db") as conn:   # someone with write access to the database
        conn.execute("UPDATE decisions SET identity_check = 'checked' WHERE identity_check = 'unchecked'")
    report = store.verify_audit()
    assert not report.ok
    assert any("identity is checked in the store, unchecked in the log" in p for p in report.problems)


def test_cli_decide_says_it_waits_and_status_checks_it(server, store, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    rid = reviewed_by_alice(monkeypatch, store, server)
    down(server)
    monkeypatch.setenv("GITHUB_TOKEN", "tok-quinn")
    monkeypatch.setenv("SIGNOFF_USER", "quinn@example.com")
    capsys.readouterr()
    assert main(["decide", str(rid), "--decision", "approve"]) == 0
    out, err = capsys.readouterr()
    assert "approve recorded for quinn@example.com; status: pending" in out
    assert ("warning: recorded, but it counts only once your identity is checked against the github token's "
            "account; `signoff publish` retries") in err
    assert main(["show", str(rid)]) == 0
    assert f"not counted: approve by quinn@example.com (qa): {WAITING}" in capsys.readouterr().out
    up(server)
    assert main(["status", "--sha", SHA]) == 0       # the check is made: approved
    assert "approved" in capsys.readouterr().out


def test_a_token_for_another_host_is_no_token_for_the_check_and_decide_says_so(server, store, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    rid = reviewed_by_alice(monkeypatch, store, server)
    monkeypatch.delenv("GITHUB_API_URL")        # GITHUB_TOKEN is now for api.github.com, not the loopback
    monkeypatch.setenv("GITHUB_TOKEN", "tok-quinn")
    monkeypatch.setenv("SIGNOFF_USER", "quinn@example.com")
    capsys.readouterr()
    assert main(["decide", str(rid), "--decision", "approve"]) == 0
    out, err = capsys.readouterr()
    assert "status: approved" in out                     # no check applies: it counts
    assert "note: identity not checked against a github token: GITHUB_TOKEN is for api.github.com" in err
    [mine] = [d for d in store.decisions_for_change(store.get_request(rid).change_key)
              if d.user == "quinn@example.com"]
    assert mine.identity == IDENTITY_SKIPPED
    assert server.authorizations().count("Bearer tok-quinn") == 0
