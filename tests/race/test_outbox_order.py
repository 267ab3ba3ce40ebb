"""publish_outbox and the outbox order (SQLite, fast): an entry claimed for posting is
checked against the newest of its target right before its post, so an older state
claimed before a newer one was queued is never posted after it."""

from __future__ import annotations

from signoff.service.publishing import publish_outbox
from signoff.store.records import NewRequest, OutboxEntry
from signoff.store.store import Store

SHA = "0123456789abcdef0123456789abcdef01234567"
TARGET = f"local||acme/model|{SHA}|signoff/review"


def _entry(state: str) -> OutboxEntry:
    return OutboxEntry(sink="local", target=TARGET, payload={"repo": "acme/model", "sha": SHA, "state": state,
                                                             "description": state, "context": "signoff/review"})


def _store(tmp_path) -> tuple[Store, int]:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    req = NewRequest(sha=SHA, change_key="main", source="git", locator={}, baseline_ref="b" * 40,
                     candidate_ref=SHA, title="t", author="dana@example.com", content_hash="c", config_toml="",
                     eval_sets=[])
    rid = store.add_request(req, comparisons=[], status="pending", description="", outbox=[], actor="ci").id
    return store, rid


def test_a_state_queued_after_the_claim_wins_and_the_claimed_one_is_not_posted(tmp_path):
    store, rid = _store(tmp_path)
    store.set_status(rid, "approved", "approved", outbox=[_entry("approved")], actor="ci")
    real_begin = store.begin_post
    queued = []

    def reject_arrives_first(item_id, worker, **kw):
        # Between the claim and the post, a reject is recorded (another reviewer, another process).
        if not queued:
            queued.append(1)
            store.set_status(rid, "rejected", "rejected", outbox=[_entry("rejected")], actor="ci")
        return real_begin(item_id, worker, **kw)

    store.begin_post = reject_arrives_first
    report = publish_outbox(store)
    # approved is never posted; the same run claims again and posts rejected
    assert (report.delivered, report.superseded, report.waiting) == (1, 1, 0)
    assert [s["state"] for s in store.local_statuses(SHA)] == ["rejected"]
    assert [(i.payload["state"], i.state) for i in store.outbox_items(states=("delivered", "superseded"))] == [
        ("approved", "superseded"), ("rejected", "delivered")]
    store.close()


def test_posts_of_one_target_follow_the_order_they_were_queued(tmp_path):
    store, rid = _store(tmp_path)
    for state in ("pending", "approved", "rejected"):
        store.set_status(rid, state, state, outbox=[_entry(state)], actor="ci")
        publish_outbox(store)
    store.set_status(rid, "pending", "p2", outbox=[_entry("pending")], actor="ci")
    store.set_status(rid, "approved", "a2", outbox=[_entry("approved")], actor="ci")
    publish_outbox(store)
    assert [s["state"] for s in store.local_statuses(SHA)] == ["pending", "approved", "rejected", "approved"]
    store.close()
