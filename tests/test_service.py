"""The use cases over a real SQLite store and the in-memory source double."""

from __future__ import annotations

import pytest

from app.core.errors import InputError, PolicyRefusal
from app.core.model import DecisionKind, Status, Verdict
from app.service.review import ReviewService
from app.store.store import Store
from tests.plugin_doubles import InMemorySource, default_tables


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def svc(store, user):
    return ReviewService(store, user=user)


def test_request_classifies_and_posts_pending(store):
    req = svc(store, "ci@example.com").create_request(InMemorySource(), sha="c1")
    assert req.status == "pending"
    assert req.description == "awaiting review: 0/1 SME, 0/1 QA, 2 more changed samples to label, 1 regression unlabeled"
    s = svc(store, "alice@example.com")
    summary = s.summary(req.id)
    assert summary["eval_sets"][0]["classes"] == {"unchanged": 3, "changed": 1, "improved": 1, "regressed": 1, "missing": 0}
    assert [i.payload["state"] for i in store.outbox_items()] == ["pending"]
    report = s.publish()
    assert report.delivered == 1 and report.waiting == 0
    assert [x["state"] for x in store.local_statuses("c1")] == ["pending"]


def test_labels_move_the_policy_and_decisions_approve(store):
    req = svc(store, "ci@example.com").create_request(InMemorySource(), sha="c1")
    alice = svc(store, "alice@example.com")
    alice.set_label(req.id, "qa", "s1", verdict=Verdict.BASELINE)
    assert alice.verdict(req.id).missing == ["0/1 SME", "0/1 QA", "1 more changed samples to label"]
    alice.set_label(req.id, "qa", "s2", correct=True)
    assert alice.verdict(req.id).missing == ["0/1 SME", "0/1 QA"]
    with pytest.raises(InputError, match="no sample 'nope'"):
        alice.set_label(req.id, "qa", "nope", verdict=Verdict.TIE)
    with pytest.raises(InputError, match="unknown error category"):
        alice.set_label(req.id, "qa", "s1", error="typo")
    alice.set_label(req.id, "qa", "s1", error="wrong")          # keeps the verdict
    lab = alice.labels_frame(req.id).iloc[0]
    assert (lab.verdict, lab.error) == ("baseline", "wrong")
    alice.decide(req.id, DecisionKind.APPROVE, "ok")
    v = svc(store, "quinn@example.com").decide(req.id, "approve")
    assert v.status is Status.APPROVED
    assert store.get_request(req.id).status == "approved"


def test_self_approval_and_roles_refused(store):
    req = svc(store, "ci@example.com").create_request(InMemorySource(author="alice@example.com"), sha="c1")
    with pytest.raises(PolicyRefusal, match="author"):
        svc(store, "alice@example.com").decide(req.id, "approve")
    with pytest.raises(PolicyRefusal, match="holds no role"):
        svc(store, "mallory@example.com").decide(req.id, "approve")


def test_new_content_on_the_same_change_makes_approvals_stale(store):
    source = InMemorySource(revisions={"c1": default_tables(), "c2": default_tables(), "c3": default_tables(shift=1)})
    ci = svc(store, "ci@example.com")
    r1 = ci.create_request(source, sha="c1", change_key="feature/x")
    svc(store, "alice@example.com").set_label(r1.id, "qa", "s1", verdict="baseline")
    svc(store, "alice@example.com").set_label(r1.id, "qa", "s5", verdict="both-wrong")
    svc(store, "alice@example.com").decide(r1.id, "approve")
    assert svc(store, "quinn@example.com").decide(r1.id, "approve").status is Status.APPROVED

    # same content on a new commit: approvals and labels still hold
    r2 = ci.create_request(source, sha="c2", change_key="feature/x")
    assert r2.status == "approved"
    # different predictions: earlier approvals are stale
    r3 = ci.create_request(source, sha="c3", change_key="feature/x")
    v = ci.verdict(r3.id)
    assert r3.status == "pending" and v.status is Status.PENDING
    assert {d.user for d in v.stale} == {"alice@example.com", "quinn@example.com"}


def test_import_labels_is_all_or_nothing(store):
    req = svc(store, "ci@example.com").create_request(InMemorySource(), sha="c1")
    alice = svc(store, "alice@example.com")
    with pytest.raises(InputError, match="row 2: verdict must be one of"):
        alice.import_labels(req.id, [{"eval_set": "qa", "sample_id": "s1", "verdict": "baseline"},
                                     {"eval_set": "qa", "sample_id": "s2", "verdict": "meh"}])
    assert alice.labels_frame(req.id).empty
    assert alice.import_labels(req.id, [{"eval_set": "qa", "sample_id": "s1", "verdict": "baseline", "correct": "no"}]) == 1
