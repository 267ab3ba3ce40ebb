"""Review requests: stored, found by id, SHA and change, status changes."""

from __future__ import annotations

from datetime import timezone

import pytest
from sqlalchemy.exc import IntegrityError

from signoff.core.errors import InputError, NotFoundError
from signoff.store.records import OutboxEntry


SHA = "0123456789abcdef0123456789abcdef01234567"


def test_add_and_get_round_trip(store, make_request):
    rec = make_request(store, sha=SHA)
    got = store.get_request(rec.id)
    assert got == rec
    assert got.sha == SHA and got.change_key == "main" and got.source == "git"
    assert got.locator == {"repo": "/tmp/repo"}
    assert got.eval_sets == ["texts"] and got.status == "pending"
    assert got.description == "awaiting review: 0/1 SME" and got.created_by == "ci@example.com"
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timezone.utc.utcoffset(None)


def test_missing_request_is_not_found(store):
    with pytest.raises(NotFoundError, match="no review request 42"):
        store.get_request(42)


def test_list_newest_first(store, make_request):
    ids = [make_request(store, sha=f"{i:040x}").id for i in range(3)]
    assert [r.id for r in store.list_requests()] == ids[::-1]


def test_requests_for_sha_full_prefix_and_short(store, make_request):
    first = make_request(store, sha=SHA)
    second = make_request(store, sha=SHA)
    other = make_request(store, sha="f" * 40)
    assert [r.id for r in store.requests_for_sha(SHA)] == [second.id, first.id]
    assert [r.id for r in store.requests_for_sha(SHA[:7])] == [second.id, first.id]
    assert store.requests_for_sha(SHA[:6]) == []          # too short to be a prefix
    assert [r.id for r in store.requests_for_sha("f" * 40)] == [other.id]
    assert store.requests_for_sha("0123456%") == []       # LIKE wildcards are taken literally


def test_requests_for_change(store, make_request):
    a = make_request(store, change_key="feature/x")
    make_request(store, change_key="main")
    b = make_request(store, sha="e" * 40, change_key="feature/x")
    assert [r.id for r in store.requests_for_change("feature/x")] == [b.id, a.id]
    assert store.requests_for_change("nope") == []


def test_add_request_enqueues_outbox_for_the_new_request_and_audits(store, make_request):
    entry = OutboxEntry(sink="local", target="local|repo|sha|ctx", payload={"state": "pending"})
    rec = make_request(store, sha=SHA, outbox=[entry])
    [item] = store.outbox_items()
    assert item.request_id == rec.id and item.payload == {"state": "pending"} and item.state == "waiting"
    [audit] = [e for e in store.audit_entries() if e.action != "installation.key"]
    assert (audit.action, audit.actor, audit.request_id) == ("request.create", "ci@example.com", rec.id)
    assert audit.payload["sha"] == SHA and audit.payload["status"] == "pending"


def test_duplicate_eval_set_names_are_refused(store, new_request, sample_table):
    with pytest.raises(InputError, match="unique"):
        store.add_request(new_request(), comparisons=[("a", {}, sample_table()), ("a", {}, sample_table())],
                          status="pending", description="", outbox=[], actor="ci")


def test_add_request_is_all_or_nothing(store, new_request, sample_table):
    bad = OutboxEntry(sink="local", target="t", payload={}, request_id=999)   # no such request: FK fails
    with pytest.raises(IntegrityError):
        store.add_request(new_request(), comparisons=[("texts", {}, sample_table())], status="pending",
                          description="", outbox=[bad], actor="ci")
    assert store.list_requests() == []
    assert store.audit_entries() == []
    assert store.verify_audit().ok


def test_set_status_updates_enqueues_and_audits(store, make_request):
    rec = make_request(store)
    entry = OutboxEntry(sink="local", target="t", payload={"state": "approved"})
    store.set_status(rec.id, "approved", "2/2 SME, 1/1 QA", outbox=[entry], actor="quinn@example.com",
                     audit_payload={"reason": "policy met"})
    got = store.get_request(rec.id)
    assert (got.status, got.description) == ("approved", "2/2 SME, 1/1 QA")
    assert [i.request_id for i in store.outbox_items()] == [rec.id]
    last = store.audit_entries()[-1]
    assert last.action == "status.change" and last.actor == "quinn@example.com"
    assert last.payload == {"status": "approved", "description": "2/2 SME, 1/1 QA", "reason": "policy met"}


def test_set_status_of_missing_request(store):
    with pytest.raises(NotFoundError):
        store.set_status(7, "approved", "", outbox=[], actor="x")
    assert store.audit_entries() == []
