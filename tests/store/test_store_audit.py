"""The audit log: a hash chain that shows edits and deletions, anywhere in it."""

from __future__ import annotations

from types import SimpleNamespace

import threading


from signoff.core.audit import GENESIS
from signoff.store.db import make_engine, resolve_url
from signoff.store.store import Store


def raw_sql(url: str, *statements: str) -> None:
    """What someone with write access to the database could do behind Signoff's back."""
    engine = make_engine(resolve_url(url))
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def append_three(store):
    """Entry 1 is the installation's key (written before this store's first entry), 2-4 the three."""
    for i in range(1, 4):
        store.append_audit(actor="alice@example.com", action="test", request_id=None, payload={"n": i})


def test_append_chains_and_payload_round_trips(store):
    payload = {"b": (1, 2), "a": "é ✓ <script>", "f": 0.1, "big": 2 ** 60, "nested": {"z": None, "y": [True]}}
    first = store.append_audit(actor="alice@example.com", action="note", request_id=None, payload=payload)
    second = store.append_audit(actor="bob@example.com", action="note", request_id=3, payload={})
    [key] = [e for e in store.audit_entries() if e.seq == 1]
    assert (key.action, key.prev_hash) == ("installation.key", GENESIS)
    assert (first.seq, first.prev_hash) == (2, key.hash)
    assert (second.seq, second.prev_hash) == (3, first.hash)
    assert first.payload == {"b": [1, 2], "a": "é ✓ <script>", "f": 0.1, "big": 2 ** 60,
                             "nested": {"z": None, "y": [True]}}
    assert store.audit_entries() == [key, first, second]
    assert first.at.tzinfo is not None
    report = store.verify_audit()
    assert report.ok and report.entries == 3 and report.problems == []


def test_empty_log_verifies(store):
    assert store.verify_audit().ok


def test_edited_payload_is_detected(store, store_url):
    append_three(store)
    raw_sql(store_url, """UPDATE audit_log SET payload = '{"n":20}' WHERE seq = 3""")
    report = store.verify_audit()
    assert not report.ok
    assert any("entry 3" in p and "edited" in p for p in report.problems), report.problems


def test_payload_edited_into_garbage_is_reported_not_crashing(store, store_url):
    append_three(store)
    raw_sql(store_url, "UPDATE audit_log SET payload = 'not json', actor = 'mallory' WHERE seq = 1")
    report = store.verify_audit()
    assert not report.ok and any("entry 1" in p for p in report.problems)


def test_deleted_middle_entry_is_detected(store, store_url):
    append_three(store)
    raw_sql(store_url, "DELETE FROM audit_log WHERE seq = 3")
    report = store.verify_audit()
    assert not report.ok and report.entries == 3
    assert any("entry 3 is missing" in p for p in report.problems), report.problems


def test_deleted_last_entry_is_detected(store, store_url):
    append_three(store)
    raw_sql(store_url, "DELETE FROM audit_log WHERE seq = 4")
    report = store.verify_audit()
    assert not report.ok
    assert any("should hold 4 entries but holds 3" in p for p in report.problems), report.problems


def test_every_write_that_changes_a_review_is_audited(store, make_request):
    from signoff.core.model import Decision, DecisionKind, Label, Verdict

    rid = make_request(store).id
    other = make_request(store).id
    store.set_status(rid, "pending", "0/1 SME", outbox=[], actor="ci")
    store.upsert_label(Label(rid, "texts", "s1", "alice@example.com", verdict=Verdict.TIE))
    store.upsert_labels([Label(rid, "texts", "s2", "alice@example.com", correct=True)], actor="alice@example.com")
    store.copy_labels(rid, other)
    store.record_decision(Decision("alice@example.com", "sme", DecisionKind.APPROVE, "c0ffee", request_id=rid),
                          evaluate=lambda decisions, labels: SimpleNamespace(status="approved", description=""),
                          outbox_for=lambda verdict, changed: [])
    assert [e.action for e in store.audit_entries()] == ["installation.key",
        "request.create", "request.create", "status.change", "label.set", "label.import", "label.copy", "decision"]
    assert store.verify_audit().ok


def test_concurrent_appends_from_two_stores_form_one_chain(store, second_store):
    errors = []
    barrier = threading.Barrier(2)

    def append_many(s: Store, who: str):
        try:
            barrier.wait(timeout=10)
            for i in range(25):
                s.append_audit(actor=who, action="test", request_id=None, payload={"i": i})
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append_many, args=(s, who))
               for s, who in ((store, "one"), (second_store, "two"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    entries = store.audit_entries()
    assert [e.seq for e in entries] == list(range(1, 52))   # one installation key: both stores share it
    report = store.verify_audit()
    assert report.ok and report.entries == 51, report.problems
