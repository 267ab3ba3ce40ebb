"""`signoff verify` with the store in reach still checks the record against what the store
cannot change: the policy and keys at the protected base of the model's repository. Someone
with write access to the database who rewrites a request's policy or keys and signs a decision
with a key of their own does not get a passing `verify` (docs/trust.md)."""

from __future__ import annotations

from sqlalchemy import update

from signoff.cli.main import main
from signoff.core.hashing import canonical_json
from signoff.core.model import Decision, DecisionKind
from signoff.core.signing import statement_bytes
from signoff.store.schema import Request
from tests.audit.world import approve, make_world, request
from tests.store.conftest import _postgres_template, _sqlite_template, backend, store, store_url  # noqa: F401
from tests.support.keys import public_line, signer
from tests.support.postgres import postgres_server  # noqa: F401


def _verify(monkeypatch, store_url, sha, *extra) -> int:
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", store_url)
    return main(["verify", "--sha", sha, *extra])


def test_a_genuine_approval_verifies_against_the_protected_base(store, store_url, tmp_path, monkeypatch, capsys):
    w = make_world(tmp_path)
    approve(store, w)
    assert _verify(monkeypatch, store_url, w.sha) == 0, capsys.readouterr()
    assert "protected base" in capsys.readouterr().out


def test_a_policy_and_keys_rewritten_in_the_database_do_not_verify(store, store_url, tmp_path, monkeypatch, capsys):
    w = make_world(tmp_path)
    req = request(store, w)
    # mallory, with write access to the database: makes herself the SME and QA of this request,
    # lists her own key, and signs two approvals.
    relaxed = w.policy.replace('qa = ["quinn@example.com"]', 'qa = ["mallory@example.com"]').replace(
        'sme = ["alice@example.com", "bob@example.com"]', 'sme = ["mallory@example.com"]')
    mallory = signer("mallory@example.com")
    with store._write() as s:
        s.execute(update(Request).where(Request.id == req.id).values(
            config_toml=relaxed, reviewer_keys={"mallory@example.com": [public_line("mallory@example.com")]}))
    from signoff.service.review import _digest

    for role in ("sme", "qa"):
        statement = {"type": "signoff/decision/v1", "request": req.id, "sha": req.sha, "change_key": req.change_key,
                     "content_hash": req.content_hash, "policy_digest": _digest(relaxed),
                     "user": "mallory@example.com", "role": role, "decision": "approve", "comment": "",
                     "at": "2026-12-06T21:00:00Z", "audit_position": store.audit_position()}
        d = Decision(user="mallory@example.com", role=role, kind=DecisionKind.APPROVE, content_hash=req.content_hash,
                     request_id=req.id, sha=req.sha, signature=mallory.sign(statement_bytes(statement)),
                     statement=canonical_json(statement), key_fingerprint=mallory.fingerprint, verified=True)
        store.record_decision(d, evaluate=lambda decisions, labels: _approved(), outbox_for=lambda v, c: [])
    assert _verify(monkeypatch, store_url, w.sha) == 1
    out = capsys.readouterr()
    assert "not signoff.toml at the protected base" in (out.out + out.err)
    # Keys alone rewritten (the policy text left as it was): mallory's key is still not alice's.
    with store._write() as s:
        s.execute(update(Request).where(Request.id == req.id).values(
            config_toml=w.policy, reviewer_keys={"alice@example.com": [public_line("mallory@example.com")]}))
    assert _verify(monkeypatch, store_url, w.sha) == 1


def test_no_repository_to_check_against_fails_closed(store, store_url, tmp_path, monkeypatch, capsys):
    w = make_world(tmp_path)
    req = approve(store, w)
    with store._write() as s:   # the request's repository is gone from here, and none is given
        s.execute(update(Request).where(Request.id == req.id).values(locator={"repo": str(tmp_path / "gone")}))
    monkeypatch.chdir(tmp_path)
    assert _verify(monkeypatch, store_url, w.sha) == 1
    out = capsys.readouterr()
    assert "cannot check the record's policy against the protected base" in (out.out + out.err)
    # CI's checkout of the default branch gives the policy file: that is enough.
    (tmp_path / "policy.toml").write_text(w.policy)
    assert _verify(monkeypatch, store_url, w.sha, "--policy", str(tmp_path / "policy.toml")) == 0, \
        capsys.readouterr()


def _approved():
    from signoff.core.policy import PolicyVerdict
    from signoff.core.model import Status

    return PolicyVerdict(status=Status.APPROVED, description="approved")
