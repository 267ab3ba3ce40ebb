"""The use cases over a real SQLite store and the in-memory source double."""

from __future__ import annotations

import pytest

from signoff.core.errors import InputError, PolicyRefusal
from signoff.core.model import DecisionKind, Status, Verdict
from signoff.service.review import ReviewService
from signoff.store.store import Store
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
    assert alice.verdict(req.id).missing == ["0/1 SME", "0/1 QA", "1 more changed sample to label"]
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


def _retrain_source():
    # c1 and c3 differ in one sample only: s5's candidate output ("w" -> "f")
    return InMemorySource(revisions={"c1": default_tables(), "c3": default_tables(shift=1)})


def test_labels_carry_over_a_retrain_except_on_the_changed_sample(store):
    """A one-sample change keeps every label except that sample's (through the real service and store)."""
    source = _retrain_source()
    ci = svc(store, "ci@example.com")
    r1 = ci.create_request(source, sha="c1", change_key="feature/x")
    alice, quinn = svc(store, "alice@example.com"), svc(store, "quinn@example.com")
    for sid in ("s0", "s1", "s2", "s5"):
        alice.set_label(r1.id, "qa", sid, verdict="baseline", comment=f"alice on {sid}")
    quinn.import_labels(r1.id, [{"eval_set": "qa", "sample_id": s, "verdict": "tie"} for s in ("s1", "s5")])
    assert alice.coverage(r1.id).changed_labeled == 3 and alice.coverage(r1.id).carried_labels == 0

    hashes1 = alice.sample_hashes(r1.id, "qa")
    r3 = ci.create_request(source, sha="c3", change_key="feature/x")
    hashes3 = alice.sample_hashes(r3.id, "qa")
    assert [s for s in hashes1 if hashes1[s] != hashes3[s]] == ["s5"]

    carried = {(l.user, l.sample_id) for l in store.labels(r3.id)}
    assert carried == {("alice@example.com", "s0"), ("alice@example.com", "s1"), ("alice@example.com", "s2"),
                       ("quinn@example.com", "s1")}
    cov = alice.coverage(r3.id)
    # s1 (regressed) and s2 (improved) still labeled; s5 (changed) is not: 2 of 3 changed samples
    assert (cov.changed_labeled, cov.regressed_labeled, cov.carried_labels) == (2, 1, 4)
    assert cov.other_labels == 0
    history = alice.changed_since_label(r3.id, "qa")
    assert list(history) == ["s5"] and history["s5"].comment == "alice on s5"
    assert alice.changed_since_label(r1.id, "qa") == {}
    assert alice.summary(r3.id)["carried_labels"] == 4
    # a label on the new request is signed on the new content and counts as usual
    alice.set_label(r3.id, "qa", "s5", verdict="candidate")
    assert alice.coverage(r3.id).changed_labeled == 3
    assert store.verify_audit().ok


def test_a_carried_label_counts_only_when_its_batch_names_an_earlier_request_of_the_change(store):
    """Copied by hand to a request of another change, or onto a changed sample: it does not count."""
    source = _retrain_source()
    ci = svc(store, "ci@example.com")
    r1 = ci.create_request(source, sha="c1", change_key="feature/x")
    alice = svc(store, "alice@example.com")
    alice.set_label(r1.id, "qa", "s1", verdict="baseline")
    alice.set_label(r1.id, "qa", "s5", verdict="baseline")
    other = ci.create_request(source, sha="c3", change_key="feature/other")   # another change: nothing carried
    assert store.labels(other.id) == []
    r3 = ci.create_request(source, sha="c3", change_key="feature/x")
    # someone with the database copies both rows (with their signed batches) where they do not belong
    store.copy_labels(r1.id, other.id)
    store.copy_labels(r1.id, r3.id)            # adds s5, which the service left as history
    assert {l.sample_id for l in store.labels(r3.id)} == {"s1", "s5"}
    cov = alice.coverage(r3.id)
    assert (cov.changed_labeled, cov.carried_labels, cov.other_labels) == (1, 1, 1)
    cov = alice.coverage(other.id)
    assert (cov.changed_labeled, cov.carried_labels, cov.other_labels) == (0, 0, 2)


def test_the_request_just_made_opens_from_memory_only_while_the_store_names_its_file(store, monkeypatch):
    """create_request keeps the tables it wrote as files (ReviewService._prime) for the first open:
    taken only when the database still holds the hash of the file written from them."""
    from sqlalchemy import update

    from signoff.store.comparison_files import ComparisonFileError
    from signoff.store.schema import Comparison

    from tests.support.reads import comparison_reads

    reads = comparison_reads(monkeypatch)
    maker = svc(store, "ci@example.com")
    req = maker.create_request(InMemorySource(), sha="c1")
    name = req.eval_sets[0]
    reads.clear()
    primed = maker.comparison(req.id, name)
    assert reads == []                                      # from memory
    read_back = svc(store, "ci@example.com").comparison(req.id, name)
    assert len(reads) == 1 and primed.equals(read_back)      # what a read of the file gives

    other = svc(store, "ci@example.com")
    req2 = other.create_request(InMemorySource(), sha="c1", change_key="another change")
    with store._write() as s:                               # the database now names another file
        s.execute(update(Comparison).where(Comparison.request_id == req2.id).values(table_sha256="0" * 64))
    # the same file was checked once already in this process (req's), under its own hash: not this one
    with pytest.raises(ComparisonFileError, match="changed since it was stored"):
        other.comparison(req2.id, name)                      # not the table in memory: the file, checked
