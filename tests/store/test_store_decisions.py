"""Decisions: recorded with the status and the outbox entry, audited first."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from signoff.core.errors import InputError, NotFoundError
from signoff.core.model import Decision, DecisionKind
from signoff.store.records import OutboxEntry


def fixed(status: str, description: str, outbox=()):
    """record_decision's callbacks for a verdict decided beforehand (the store tests' policy)."""
    return {"evaluate": lambda decisions, labels: SimpleNamespace(status=status, description=description),
            "outbox_for": lambda verdict, changed: list(outbox)}


def decision(request_id, user="alice@example.com", role="sme", kind=DecisionKind.APPROVE, **kw) -> Decision:
    return Decision(user=user, role=role, kind=kind, content_hash="c0ffee", request_id=request_id, **kw)


def test_record_decision_updates_status_outbox_and_audit(store, make_request):
    rec = make_request(store)
    entry = OutboxEntry(sink="local", target="t", payload={"state": "approved"})
    saved, _ = store.record_decision(decision(rec.id, comment="looks right"), **fixed("approved", "approved: 1/1 SME", [entry]))
    assert saved.created_at is not None and saved.created_at.tzinfo is not None
    assert saved.sha == rec.sha and saved.request_id == rec.id and saved.kind is DecisionKind.APPROVE
    got = store.get_request(rec.id)
    assert (got.status, got.description) == ("approved", "approved: 1/1 SME")
    assert [i.request_id for i in store.outbox_items()] == [rec.id]
    entry = store.audit_entries()[-1]
    assert (entry.action, entry.actor, entry.at) == ("decision", "alice@example.com", saved.created_at)
    assert entry.payload["kind"] == "approve" and entry.payload["comment"] == "looks right"
    assert entry.payload["status"] == "approved"


def test_decisions_for_change_oldest_first_across_requests(store, make_request):
    first = make_request(store, sha="1" * 40, change_key="pr-7")
    other = make_request(store, sha="2" * 40, change_key="pr-8")
    second = make_request(store, sha="3" * 40, change_key="pr-7", content_hash="new")
    store.record_decision(decision(first.id), **fixed("pending", "", []))
    store.record_decision(decision(other.id, user="x@example.com"), **fixed("pending", "", []))
    store.record_decision(decision(second.id, user="quinn@example.com", role="qa", kind=DecisionKind.REJECT),
                          **fixed("rejected", "", []))
    store.record_decision(decision(first.id, kind=DecisionKind.REQUEST_CHANGES), **fixed("rejected", "", []))
    got = store.decisions_for_change("pr-7")
    assert [(d.user, d.kind, d.request_id, d.sha) for d in got] == [
        ("alice@example.com", DecisionKind.APPROVE, first.id, "1" * 40),
        ("quinn@example.com", DecisionKind.REJECT, second.id, "3" * 40),
        ("alice@example.com", DecisionKind.REQUEST_CHANGES, first.id, "1" * 40),
    ]
    assert all(d.content_hash == "c0ffee" and d.created_at.tzinfo is not None for d in got)
    assert store.decisions_for_change("nobody") == []


def test_decision_needs_an_existing_request(store):
    with pytest.raises(InputError):
        store.record_decision(decision(None), **fixed("approved", "", []))
    with pytest.raises(NotFoundError, match="no review request 5"):
        store.record_decision(decision(5), **fixed("approved", "", []))
    assert store.audit_entries() == []


def test_a_waiting_identity_check_is_marked_once_audited_and_replayed(store, make_request):
    """The forge identity check (docs/trust.md): a decision recorded 'unchecked' is marked checked or
    refused once, with an audit entry; the status is re-evaluated in the same transaction; audit
    verify replays the state."""
    rec = make_request(store)
    saved, _ = store.record_decision(
        decision(rec.id, identity="unchecked", identity_forge="github", identity_note="connection refused",
                 identity_token="ab12"), **fixed("pending", "awaiting review: 0/1 SME", []))
    assert store.audit_entries()[-1].payload["identity"] == "unchecked"
    [waiting] = store.unchecked_decisions(rec.id)
    assert (waiting.id, waiting.identity, waiting.identity_forge, waiting.identity_token) == (
        saved.id, "unchecked", "github", "ab12")
    entry = OutboxEntry(sink="local", target="t", payload={"state": "approved"})
    seen = []

    def evaluate(decisions, labels):
        seen.append([d.identity for d in decisions])
        return SimpleNamespace(status="approved", description="approved: 1/1 SME")

    done, verdict = store.set_decision_identity(saved.id, "checked", "the github token is alice's", actor="alice",
                                                evaluate=evaluate, outbox_for=lambda v: [entry])
    assert done and verdict.status == "approved" and seen == [["checked"]]
    assert store.get_request(rec.id).status == "approved" and len(store.outbox_items()) == 1
    assert [e.action for e in store.audit_entries()[-2:]] == ["identity.checked", "status.change"]
    assert store.unchecked_decisions() == []
    again = store.set_decision_identity(saved.id, "refused", "", actor="x", evaluate=evaluate, outbox_for=lambda v: [])
    assert again == (False, None)                              # no longer waiting: left as it is
    assert store.decisions_for_change(rec.change_key)[0].identity == "checked"
    report = store.verify_audit()
    assert report.ok, report.problems
    with pytest.raises(InputError):
        store.set_decision_identity(saved.id, "maybe", "", actor="x", evaluate=evaluate, outbox_for=lambda v: [])
