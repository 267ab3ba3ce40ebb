"""The sign-off record: export -> offline verify, and a record whose decisions do not verify.
The request comes from a real git repository whose base signoff.toml lists the reviewers' keys;
decisions are made through the real ReviewService (signed with each reviewer's test key), or by a
hostile client that skips the service's own checks (tests/audit/world.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from signoff.cli.main import main
from signoff.service import review as review_mod
from signoff.service.record import build_record, record_keys, verify_record
from signoff.service.review import ReviewService
from tests.audit.world import approve, decide, make_world, request
from tests.store.conftest import _postgres_template, _sqlite_template, backend, store, store_url  # noqa: F401
from tests.support import keys as test_keys
from tests.support.postgres import postgres_server  # noqa: F401


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path)


def allowed_signers(*users) -> str:
    return "".join(f"{u} namespaces=\"signoff\" {test_keys.public_line(u)}\n" for u in users)


def hostile_decide(store, req, user, kind="approve", *, key_of=None, unsigned=False, monkeypatch):
    """A modified client: signs with `key_of`'s key (or not at all) and skips the service's check."""
    monkeypatch.setattr(review_mod, "verify_statement", lambda statement, signature, keys: "SHA256:skipped")
    svc = ReviewService(store, user=user, signer=test_keys.signer(key_of or user))
    if unsigned:
        real = svc._signed_decision
        monkeypatch.setattr(svc, "_signed_decision", lambda *a: replace(real(*a), signature="", statement=None,
                                                                          key_fingerprint=None))
    svc.decide(req.id, kind)
    monkeypatch.undo()


def test_export_then_offline_verify_passes_and_each_tampering_fails(store, world, tmp_path, monkeypatch,
                                                                     store_url, capsys):
    approve(store, world)
    SHA = world.sha
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", store_url)
    out, signers = tmp_path / "record.json", tmp_path / "allowed_signers"
    signers.write_text(allowed_signers("alice@example.com", "quinn@example.com"))
    assert main(["audit", "export", "--sha", SHA, "-o", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["_type"] == "https://in-toto.io/Statement/v1"
    assert {"gitCommit": SHA} in [s["digest"] for s in record["subject"]]
    assert len(record["predicate"]["decisions"]) == 2
    assert record["predicate"]["audit"]["installation_keys"]
    # offline: nothing but the two files
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", "sqlite:////nonexistent/nowhere.db")
    assert main(["audit", "verify", "--record", str(out), "--allowed-signers", str(signers)]) == 0, \
        capsys.readouterr().out
    assert "verifies: signed and approved" in capsys.readouterr().out

    text = out.read_text()
    # one byte changed (in a signed statement: the decision no longer verifies)
    i = text.index("approve")
    bad = tmp_path / "byte.json"
    bad.write_text(text[:i] + "Approve"[0].lower() + "pprovf" + text[i + 7:])
    assert main(["audit", "verify", "--record", str(bad), "--allowed-signers", str(signers)]) == 1
    assert "does NOT verify" in capsys.readouterr().out
    # one decision removed: the policy no longer says approved
    fewer = json.loads(text)
    fewer["predicate"]["decisions"].pop()
    bad.write_text(json.dumps(fewer))
    assert main(["audit", "verify", "--record", str(bad), "--allowed-signers", str(signers)]) == 1
    assert "says pending" in capsys.readouterr().out
    # a key that is not listed for quinn
    only_alice = tmp_path / "only_alice"
    only_alice.write_text(allowed_signers("alice@example.com"))
    assert main(["audit", "verify", "--record", str(out), "--allowed-signers", str(only_alice)]) == 1
    assert "quinn@example.com" in capsys.readouterr().out


def test_a_decision_signed_by_an_unlisted_key_does_not_count(store, world, monkeypatch):
    req = request(store, world)
    decide(store, req, "alice@example.com")
    hostile_decide(store, req, "quinn@example.com", key_of="mallory@example.com", monkeypatch=monkeypatch)
    # an honest installation does not count it (the hostile client stored what it liked)
    assert ReviewService(store, user="ci@example.com").verdict(req.id).status.value == "pending"
    record = build_record(ReviewService(store, user="signoff"), world.sha)
    problems, _ = verify_record(record, record_keys(record))
    assert any("quinn@example.com" in p and "not listed" in p for p in problems), problems
    assert any("says pending" in p for p in problems)
    # and the store's log says so too: a forged entry without the actor's key
    report = store.verify_audit()
    assert not report.ok and any("does not list for quinn@example.com" in p for p in report.problems), report.problems


def test_an_unsigned_record_never_verifies(store, world, monkeypatch):
    req = request(store, world)
    for user in ("alice@example.com", "quinn@example.com"):
        hostile_decide(store, req, user, unsigned=True, monkeypatch=monkeypatch)
    assert ReviewService(store, user="ci@example.com").verdict(req.id).status.value == "pending"
    record = build_record(ReviewService(store, user="signoff"), world.sha)
    problems, _ = verify_record(record, record_keys(record))
    assert any("is not signed" in p for p in problems) and any("says pending" in p for p in problems)
