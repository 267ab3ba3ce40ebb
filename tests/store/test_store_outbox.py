"""The outbox: supersession, per-target order, leases, retries, concurrent claimers."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from signoff.store import outbox as ob
from signoff.store.schema import OutboxRow
from signoff.store.records import OutboxEntry
from signoff.store.schema import utcnow


def enqueue(store, rid, *targets):
    for t in targets:
        store.set_status(rid, "pending", f"for {t}", outbox=[OutboxEntry(sink="local", target=t, payload={"t": t})],
                         actor="ci")
    return [i.id for i in store.outbox_items()][-len(targets):]


def states(store):
    return {i.id: i.state for i in store.outbox_items(states=("waiting", "delivered", "superseded", "failed"))}


def test_claim_oldest_first_with_lease(store, make_request):
    rid = make_request(store).id
    ids = enqueue(store, rid, "a", "b", "c")
    t0 = utcnow()
    got = store.claim_outbox("w1", now=t0, limit=2)
    assert [i.id for i in got] == ids[:2]
    assert got[0].payload == {"t": "a"} and got[0].request_id == rid and got[0].attempts == 0
    assert got[0].created_at.tzinfo is not None
    # Held by w1: w2 only gets what is left, and nothing while the lease lasts.
    assert [i.id for i in store.claim_outbox("w2", now=t0 + timedelta(seconds=1))] == ids[2:]
    assert store.claim_outbox("w3", now=t0 + timedelta(seconds=59)) == []
    # An expired lease can be taken over.
    assert [i.id for i in store.claim_outbox("w3", now=t0 + timedelta(seconds=62))] == ids


def test_newer_entry_supersedes_older_ones_for_the_same_target(store, make_request):
    rid = make_request(store).id
    a1, b1, a2, a3 = enqueue(store, rid, "sha1|ctx", "sha2|ctx", "sha1|ctx", "sha1|ctx")
    got = store.claim_outbox("w1")
    assert [i.id for i in got] == [b1, a3]
    assert [i.payload for i in got] == [{"t": "sha2|ctx"}, {"t": "sha1|ctx"}]
    assert states(store) == {a1: "superseded", b1: "waiting", a2: "superseded", a3: "waiting"}
    for item in got:
        store.mark_delivered(item.id, "w1")
    assert store.claim_outbox("w2", now=utcnow() + timedelta(hours=1)) == []   # superseded: never handed out


def test_an_item_being_posted_keeps_newer_ones_of_its_target_back(store, make_request):
    rid = make_request(store).id
    [old] = enqueue(store, rid, "T")
    t0 = utcnow()
    assert [i.id for i in store.claim_outbox("w1", now=t0)] == [old]
    assert store.begin_post(old, "w1", now=t0) == ob.POST      # w1's post is on its way
    [new] = enqueue(store, rid, "T")
    # w1 is posting the old state right now: posting the new one beside it could arrive first.
    assert store.claim_outbox("w2", now=t0 + timedelta(seconds=1)) == []
    assert states(store)[old] == "waiting"
    store.mark_delivered(old, "w1")
    assert [i.id for i in store.claim_outbox("w2", now=t0 + timedelta(seconds=2))] == [new]


def test_a_newer_entry_supersedes_a_claimed_one_not_yet_posted(store, make_request):
    """The race of issue 11: `approved` claimed, `rejected` queued before its post. The claimed
    entry is superseded at once, the newer one handed out, and the recheck right before the
    post stops the old one: the forge never gets `approved` after `rejected`."""
    rid = make_request(store).id
    [old] = enqueue(store, rid, "T")
    t0 = utcnow()
    assert [i.id for i in store.claim_outbox("w1", now=t0)] == [old]
    [new] = enqueue(store, rid, "T")
    assert [i.id for i in store.claim_outbox("w2", now=t0 + timedelta(seconds=1))] == [new]
    assert states(store)[old] == "superseded"
    assert store.begin_post(new, "w2", now=t0 + timedelta(seconds=1)) == ob.POST
    assert store.begin_post(old, "w1", now=t0 + timedelta(seconds=1)) == ob.LOST   # not posted
    store.mark_delivered(old, "w1")                                                # ignored
    store.mark_delivered(new, "w2")
    assert states(store) == {old: "superseded", new: "delivered"}


def test_the_recheck_supersedes_a_claimed_entry_when_a_newer_one_came(store, make_request):
    rid = make_request(store).id
    [old] = enqueue(store, rid, "T")
    t0 = utcnow()
    store.claim_outbox("w1", now=t0)
    [new] = enqueue(store, rid, "T")                   # nobody claimed since: only the recheck can see it
    assert store.begin_post(old, "w1", now=t0) == ob.SUPERSEDED_NOW
    assert states(store) == {old: "superseded", new: "waiting"}
    assert [i.id for i in store.claim_outbox("w1", now=t0)] == [new]


def test_the_recheck_defers_an_entry_while_another_of_its_target_is_posted(store, make_request):
    rid = make_request(store).id
    [a] = enqueue(store, rid, "T")
    t0 = utcnow()
    store.claim_outbox("w1", now=t0)
    assert store.begin_post(a, "w1", now=t0) == ob.POST
    [b] = enqueue(store, rid, "T")
    # A claim that did not see w1's post start (the two raced; here written by hand): the
    # recheck, under the head lock, still refuses to post beside it.
    assert store.claim_outbox("w2", now=t0 + timedelta(seconds=1)) == []
    with store._write() as s:
        s.execute(update(OutboxRow).where(OutboxRow.id == b)
                  .values(claimed_by="w2", lease_until=t0 + timedelta(seconds=120)))
    assert store.begin_post(b, "w2", now=t0 + timedelta(seconds=1)) == ob.LATER
    assert states(store) == {a: "waiting", b: "waiting"}
    store.mark_delivered(a, "w1")
    assert [i.id for i in store.claim_outbox("w2", now=t0 + timedelta(seconds=2))] == [b]   # released: taken again
    assert store.begin_post(b, "w2", now=t0 + timedelta(seconds=2)) == ob.POST
    # Another target never waits for this one.
    [c] = enqueue(store, rid, "U")
    store.claim_outbox("w3", now=t0 + timedelta(seconds=2))
    assert store.begin_post(c, "w3", now=t0 + timedelta(seconds=2)) == ob.POST


def test_sequence_is_per_target_and_assigned_when_enqueued(store, make_request):
    from sqlalchemy import select

    from signoff.store.schema import OutboxRow

    rid = make_request(store).id
    ids = enqueue(store, rid, "A", "B", "A", "A", "B")
    with store._read() as s:
        got = dict(s.execute(select(OutboxRow.id, OutboxRow.seq)).all())
    assert [got[i] for i in ids] == [1, 1, 2, 3, 2]


def test_expired_in_flight_item_is_superseded(store, make_request):
    rid = make_request(store).id
    [old] = enqueue(store, rid, "T")
    t0 = utcnow()
    store.claim_outbox("w1", now=t0)
    [new] = enqueue(store, rid, "T")
    assert [i.id for i in store.claim_outbox("w2", now=t0 + timedelta(seconds=61))] == [new]
    assert states(store)[old] == "superseded"
    store.mark_delivered(old, "w1")                  # too late: w1 no longer holds it
    assert states(store)[old] == "superseded"


def test_retry_waits_until_due_and_counts_attempts(store, make_request):
    rid = make_request(store).id
    [item_id] = enqueue(store, rid, "T")
    t0 = utcnow()
    store.claim_outbox("w1", now=t0)
    store.mark_retry(item_id, "w1", "HTTP 502 from api.github.com", t0 + timedelta(seconds=30))
    [item] = store.outbox_items()
    assert item.attempts == 1 and item.last_error == "HTTP 502 from api.github.com"
    assert item.next_attempt_at == t0 + timedelta(seconds=30)
    assert store.claim_outbox("w1", now=t0 + timedelta(seconds=10)) == []
    [again] = store.claim_outbox("w2", now=t0 + timedelta(seconds=31))
    assert again.id == item_id and again.attempts == 1
    store.mark_delivered(item_id, "w2")
    [done] = store.outbox_items(states=("delivered",))
    assert done.attempts == 2 and done.delivered_at is not None and done.delivered_at.tzinfo is not None
    assert store.outbox_items() == []


def test_failed_items_stay_visible_and_are_not_retried(store, make_request):
    rid = make_request(store).id
    [item_id] = enqueue(store, rid, "T")
    store.claim_outbox("w1")
    store.mark_failed(item_id, "w1", "401 Bad credentials")
    [failed] = store.outbox_items(states=("failed",))
    assert failed.last_error == "401 Bad credentials" and failed.attempts == 1
    assert store.claim_outbox("w1", now=utcnow() + timedelta(days=1)) == []


def test_marks_by_a_worker_that_does_not_hold_the_item_are_ignored(store, make_request):
    rid = make_request(store).id
    [item_id] = enqueue(store, rid, "T")
    store.claim_outbox("w1")
    store.mark_delivered(item_id, "intruder")
    store.mark_failed(item_id, "intruder", "x")
    assert states(store)[item_id] == "waiting"


def _claim_all(store, worker, barrier, out, errors, *, deliver):
    try:
        barrier.wait(timeout=10)
        idle = 0
        while idle < 2:
            got = store.claim_outbox(worker, limit=3)
            idle = idle + 1 if not got else 0
            for item in got:
                out.append(item.id)
                if deliver:
                    store.mark_delivered(item.id, worker)
    except Exception as exc:  # reported by the test, not lost in the thread
        errors.append(exc)


def test_two_concurrent_claimers_never_share_an_item(store, second_store, make_request):
    rid = make_request(store).id
    store.set_status(rid, "pending", "", actor="ci",
                     outbox=[OutboxEntry(sink="local", target=f"t{i}", payload={"i": i}) for i in range(60)])
    all_ids = {i.id for i in store.outbox_items()}
    for deliver in (True, False):
        barrier = threading.Barrier(2)
        got1, got2, errors = [], [], []
        threads = [threading.Thread(target=_claim_all, args=(s, w, barrier, out, errors), kwargs={"deliver": deliver})
                   for s, w, out in ((store, "w1", got1), (second_store, "w2", got2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        if deliver:
            assert not set(got1) & set(got2) and set(got1) | set(got2) == all_ids
            assert len(got1) + len(got2) == len(all_ids)
            store.set_status(rid, "pending", "", actor="ci",
                             outbox=[OutboxEntry(sink="local", target=f"u{i}", payload={}) for i in range(60)])
            all_ids = {i.id for i in store.outbox_items()}
        else:  # leases held: each item went to exactly one of them
            assert not set(got1) & set(got2) and set(got1) | set(got2) == all_ids


def _fail(store, item_id, error="401 Bad credentials"):
    assert item_id in [i.id for i in store.claim_outbox("w1")]
    store.mark_failed(item_id, "w1", error)


def test_requeue_failed_puts_the_item_back_and_audits_it(store, make_request):
    rid = make_request(store).id
    [item_id] = enqueue(store, rid, "T")
    _fail(store, item_id)
    assert store.requeue_failed(actor="alice@example.com") == 1
    [item] = store.outbox_items()
    assert (item.id, item.state, item.attempts, item.next_attempt_at) == (item_id, "waiting", 0, None)
    entry = store.audit_entries()[-1]
    assert (entry.action, entry.actor, entry.request_id) == ("outbox.requeue", "alice@example.com", None)
    assert entry.payload == {"ids": [item_id], "errors": {str(item_id): "401 Bad credentials"}, "superseded": []}
    assert store.verify_audit().ok
    # Due at once; nothing left to requeue, and nothing audited for that.
    assert [i.id for i in store.claim_outbox("w2")] == [item_id]
    entries = len(store.audit_entries())
    assert store.requeue_failed() == 0
    assert len(store.audit_entries()) == entries


def test_requeue_failed_brings_back_only_the_newest_entry_of_a_target(store, make_request):
    rid = make_request(store).id
    [a1] = enqueue(store, rid, "A")
    _fail(store, a1)
    [a2] = enqueue(store, rid, "A")
    _fail(store, a2)                       # newest for A, failed too: this one comes back
    [b1] = enqueue(store, rid, "B")
    _fail(store, b1)
    [c1] = enqueue(store, rid, "C")
    _fail(store, c1)
    [c2] = enqueue(store, rid, "C")        # a newer state of C was posted: c1 must stay dead
    store.claim_outbox("w1")
    store.mark_delivered(c2, "w1")
    assert store.requeue_failed() == 2
    assert states(store) == {a1: "superseded", a2: "waiting", b1: "waiting", c1: "superseded", c2: "delivered"}
    payload = store.audit_entries()[-1].payload
    assert payload["ids"] == [a2, b1] and payload["superseded"] == [a1, c1]
    assert [i.id for i in store.claim_outbox("w2")] == [a2, b1]


def test_requeue_failed_by_ids(store, make_request):
    rid = make_request(store).id
    [a] = enqueue(store, rid, "A")
    _fail(store, a)
    [b] = enqueue(store, rid, "B")
    _fail(store, b, "403 Forbidden")
    [w] = enqueue(store, rid, "W")         # waiting: not a failed item, left alone
    assert store.requeue_failed([b, w, 9999]) == 1
    assert states(store) == {a: "failed", b: "waiting", w: "waiting"}
    assert store.audit_entries()[-1].payload["errors"] == {str(b): "403 Forbidden"}
