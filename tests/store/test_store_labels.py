"""Labels: one per (request, eval set, sample, user); replaced, deleted, imported, carried."""

from __future__ import annotations

import pytest

from signoff.core.errors import NotFoundError
from signoff.core.model import Label, Verdict

ALICE, BOB = "alice@example.com", "bob@example.com"


def label(request_id, sample_id="s1", user=ALICE, eval_set="texts", **fields) -> Label:
    return Label(request_id=request_id, eval_set=eval_set, sample_id=sample_id, user=user, **fields)


def test_upsert_inserts_then_replaces(store, make_request):
    rid = make_request(store).id
    first = store.upsert_label(label(rid, verdict=Verdict.CANDIDATE, comment="better"))
    assert first.updated_at is not None and first.updated_at.tzinfo is not None
    second = store.upsert_label(label(rid, verdict=Verdict.BASELINE, correct=False, error="hallucination"))
    [stored] = store.labels(rid)
    assert stored.verdict is Verdict.BASELINE and stored.correct is False and stored.error == "hallucination"
    assert stored.comment is None                      # replaced, not merged
    assert stored.updated_at == second.updated_at >= first.updated_at


def test_empty_label_deletes(store, make_request):
    rid = make_request(store).id
    store.upsert_label(label(rid, verdict=Verdict.TIE))
    store.upsert_label(label(rid, user=BOB, verdict=Verdict.TIE))
    store.upsert_label(label(rid))                     # nothing set: the label goes
    assert [(l.user, l.verdict) for l in store.labels(rid)] == [(BOB, Verdict.TIE)]


def test_filters_by_user_and_eval_set(store, make_request):
    rid = make_request(store).id
    store.upsert_label(label(rid, "s1", ALICE, verdict=Verdict.CANDIDATE))
    store.upsert_label(label(rid, "s2", ALICE, eval_set="other", correct=True))
    store.upsert_label(label(rid, "s1", BOB, verdict=Verdict.BOTH_WRONG))
    assert len(store.labels(rid)) == 3
    assert {(l.eval_set, l.sample_id) for l in store.labels(rid, user=ALICE)} == {("texts", "s1"), ("other", "s2")}
    assert [l.user for l in store.labels(rid, eval_set="texts")] == [ALICE, BOB]
    assert [l.sample_id for l in store.labels(rid, user=BOB, eval_set="other")] == []


def test_labels_are_audited(store, make_request):
    rid = make_request(store).id
    store.upsert_label(label(rid, verdict=Verdict.CANDIDATE, error="formatting"))
    entry = store.audit_entries()[-1]
    assert (entry.action, entry.actor, entry.request_id) == ("label.set", ALICE, rid)
    assert entry.payload == {"eval_set": "texts", "sample_id": "s1", "verdict": "candidate", "correct": None,
                             "error": "formatting", "comment": None}


def test_upsert_labels_one_transaction_one_audit_entry(store, make_request):
    rid = make_request(store).id
    store.upsert_label(label(rid, "s0", verdict=Verdict.TIE))
    batch = [label(rid, f"s{i}", verdict=Verdict.CANDIDATE) for i in range(5)] + [label(rid, "s0")]
    before = len(store.audit_entries())
    assert store.upsert_labels(batch, actor=ALICE) == 6
    assert sorted(l.sample_id for l in store.labels(rid)) == ["s1", "s2", "s3", "s4"]   # s0 emptied: deleted
    entries = store.audit_entries()
    assert len(entries) == before + 1
    assert entries[-1].action == "label.import" and entries[-1].payload["count"] == 6
    assert entries[-1].request_id == rid


def test_upsert_labels_unknown_request_saves_nothing(store, make_request):
    rid = make_request(store).id
    with pytest.raises(NotFoundError, match="no review request 404"):
        store.upsert_labels([label(rid, verdict=Verdict.TIE), label(404, verdict=Verdict.TIE)], actor=ALICE)
    assert store.labels(rid) == []
    with pytest.raises(NotFoundError):
        store.upsert_label(label(404, verdict=Verdict.TIE))


def test_copy_labels_to_a_new_request(store, make_request):
    old = make_request(store).id
    new = make_request(store).id
    store.upsert_label(label(old, "s1", ALICE, verdict=Verdict.CANDIDATE, comment="ok"))
    store.upsert_label(label(old, "s2", BOB, correct=False))
    store.upsert_label(label(new, "s1", ALICE, verdict=Verdict.BASELINE))   # already relabeled: kept
    assert store.copy_labels(old, new) == 1
    carried = {(l.sample_id, l.user): l for l in store.labels(new)}
    assert carried[("s1", ALICE)].verdict is Verdict.BASELINE
    assert carried[("s2", BOB)].correct is False and carried[("s2", BOB)].request_id == new
    assert len(store.labels(old)) == 2                                       # the source keeps its labels
    assert store.audit_entries()[-1].action == "label.copy"
    assert store.copy_labels(old, new) == 0


def test_change_label_merges_fields_audits_and_deletes_when_empty(store, make_request):
    """The keystroke path: only the given fields change, in one transaction with its audit entry."""
    from signoff.store.records import OutboxEntry

    rid = make_request(store).id
    first = store.change_label(rid, "texts", "s1", ALICE, {"verdict": "candidate"})
    assert first.verdict is Verdict.CANDIDATE and first.updated_at is not None
    second = store.change_label(rid, "texts", "s1", ALICE, {"correct": False, "comment": "wrong unit"},
                                outbox_for=lambda l: [OutboxEntry(sink="local", target=f"t|{l.sample_id}",
                                                                  payload={"correct": l.correct})])
    [stored] = store.labels(rid)
    assert (stored.verdict, stored.correct, stored.comment) == (Verdict.CANDIDATE, False, "wrong unit")
    assert second == stored
    assert [i.payload for i in store.outbox_items(states=("waiting",)) if i.target == "t|s1"] == [{"correct": False}]
    entry = store.audit_entries()[-1]
    assert (entry.action, entry.actor, entry.request_id) == ("label.set", ALICE, rid)
    assert entry.payload == {"eval_set": "texts", "sample_id": "s1", "verdict": "candidate", "correct": False,
                             "error": None, "comment": "wrong unit"}
    store.change_label(rid, "texts", "s1", ALICE, {"verdict": None, "correct": None, "comment": None})
    assert store.labels(rid) == []
    assert store.verify_audit().ok
    with pytest.raises(NotFoundError):
        store.change_label(rid + 999, "texts", "s1", ALICE, {"verdict": "tie"})
