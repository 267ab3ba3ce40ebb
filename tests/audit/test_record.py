"""The sign-off record: export -> offline verify, tampering with the record, the store's log
and the anchors (docs/trust.md "The record"). Signed decisions are written in the shape the
signing part stores them (statement text, signature, key fingerprint), signed with real keys."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from app.cli.main import main
from app.core.model import Decision, DecisionKind, Label, Verdict
from app.core.signing import statement_bytes
from app.service.record import build_record, record_keys, sha256_text, verify_record
from app.service.review import ReviewService
from app.service.signer import generate_key
from app.store.records import NewRequest
from tests.store.conftest import (_comparison_table, _postgres_template, _sqlite_template, backend,  # noqa: F401
                                  store, store_url)
from tests.support.postgres import postgres_server  # noqa: F401

SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


@pytest.fixture
def keys(tmp_path):
    return {u: generate_key(tmp_path / "keys" / u.split("@")[0], u)
            for u in ("alice@example.com", "quinn@example.com", "mallory@example.com")}


def policy(keys) -> str:
    return ("[[eval_sets]]\nname = \"texts\"\nsamples = \"s.jsonl\"\npredictions = \"p.jsonl\"\n[policy]\nrequired = { sme = 1, qa = 1 }\nmin_changed_reviewed = 0\nall_regressions_reviewed = false\n"
            "[roles]\nsme = [\"alice@example.com\"]\nqa = [\"quinn@example.com\"]\n"
            "[signers.keys]\n"
            f"\"alice@example.com\" = [\"{keys['alice@example.com'].public_key}\"]\n"
            f"\"quinn@example.com\" = [\"{keys['quinn@example.com'].public_key}\"]\n")


def make_request(store, config_toml, *, sha=SHA, locator=None, source="git"):
    req = NewRequest(sha=sha, change_key="feature", source=source, locator=locator or {"repo": "/nonexistent"},
                     baseline_ref="b" * 40, candidate_ref=sha, title="t", author="dana@example.com",
                     content_hash="c0ffee", config_toml=config_toml, eval_sets=["texts"], created_by="ci")
    return store.add_request(req, comparisons=[("texts", {"samples": 4}, _comparison_table())], status="pending",
                             description="awaiting review", outbox=[], actor="ci@example.com")


@pytest.fixture
def signed_store(store, keys, monkeypatch):
    """Decisions whose audit entries carry the reviewers' signed statements (store.record_decision
    is wrapped to add them, in the same transaction, as the signing part's store does)."""
    from app.store import store as store_mod

    pending: list[dict] = []
    original = store_mod.audit_log.AuditAppender.append

    def append(self, *, actor, action, request_id, payload, at=None):
        if action == "decision" and pending:
            payload = {**payload, **pending.pop(0)}
        return original(self, actor=actor, action=action, request_id=request_id, payload=payload, at=at)

    monkeypatch.setattr(store_mod.audit_log.AuditAppender, "append", append)

    def decide(req, user, role, kind="approve", *, signer=None, status="pending", description="awaiting"):
        statement = {"type": "signoff/decision/v1", "request": req.id, "sha": req.sha, "change_key": req.change_key,
                     "content_hash": req.content_hash, "policy_digest": sha256_text(req.config_toml), "user": user,
                     "role": role, "decision": kind, "comment": "", "at": datetime.now(timezone.utc).isoformat(),
                     "audit_position": store.audit_head()[0]}
        text = statement_bytes(statement).decode()
        signer = signer or keys[user]
        pending.append({"statement": text, "signature": signer.sign(text.encode()),
                        "key_fingerprint": signer.fingerprint})
        store.record_decision(Decision(user, role, DecisionKind(kind), req.content_hash, request_id=req.id),
                              status=status, description=description, outbox=[])

    store.decide = decide
    return store


def allowed_signers(keys, *users) -> str:
    return "".join(f"{u} namespaces=\"signoff\" {keys[u].public_key}\n" for u in users)


def approved_request(store, keys):
    req = make_request(store, policy(keys))
    store.decide(req, "alice@example.com", "sme")
    store.decide(req, "quinn@example.com", "qa", status="approved", description="approved: 1/1 SME, 1/1 QA")
    return req


def test_export_then_offline_verify_passes_and_each_tampering_fails(signed_store, keys, tmp_path, monkeypatch,
                                                                     store_url, capsys):
    store = signed_store
    approved_request(store, keys)
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", store_url)
    out, signers = tmp_path / "record.json", tmp_path / "allowed_signers"
    signers.write_text(allowed_signers(keys, "alice@example.com", "quinn@example.com"))
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
    only_alice.write_text(allowed_signers(keys, "alice@example.com"))
    assert main(["audit", "verify", "--record", str(out), "--allowed-signers", str(only_alice)]) == 1
    assert "quinn@example.com" in capsys.readouterr().out


def test_a_decision_signed_by_an_unlisted_key_does_not_count(signed_store, keys):
    store = signed_store
    req = make_request(store, policy(keys))
    store.decide(req, "alice@example.com", "sme")
    store.decide(req, "quinn@example.com", "qa", signer=keys["mallory@example.com"])
    record = build_record(ReviewService(store, user="signoff"), SHA)
    problems, _ = verify_record(record, record_keys(record))
    assert any("quinn@example.com" in p and "not listed" in p for p in problems), problems
    assert any("says pending" in p for p in problems)
    # and the store's log says so too: a forged entry without the actor's key
    report = store.verify_audit()
    assert not report.ok and any("does not list for quinn@example.com" in p for p in report.problems), report.problems


def test_an_unsigned_record_never_verifies(store, keys):
    req = make_request(store, policy(keys))
    for user, role in (("alice@example.com", "sme"), ("quinn@example.com", "qa")):
        store.record_decision(Decision(user, role, DecisionKind.APPROVE, req.content_hash, request_id=req.id),
                              status="approved", description="approved", outbox=[])
    record = build_record(ReviewService(store, user="signoff"), SHA)
    problems, _ = verify_record(record, record_keys(record))
    assert any("is not signed" in p for p in problems) and any("says pending" in p for p in problems)
