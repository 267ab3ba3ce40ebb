"""The tampering suite (issue 11): each case detected by `signoff audit verify` (exit 1, saying
what and where) on SQLite and PostgreSQL, with the anchors reachable (a local status carries
the head in its target_url, as a forge status does)."""

from __future__ import annotations

import pytest

from app.cli.main import main
from app.core.audit import GENESIS
from app.core.model import Decision, DecisionKind, Label, Verdict
from app.service.publishing import publish_outbox
from app.store.records import NewRequest, OutboxEntry
from tests.store.conftest import (_comparison_table, _postgres_template, _sqlite_template, backend,  # noqa: F401
                                  store, store_url)
from tests.store.test_store_audit import raw_sql
from tests.support.postgres import postgres_server  # noqa: F401

SHA = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def status(state):
    return OutboxEntry(sink="local", target=f"local||r|{SHA}|signoff", payload={
        "repo": "r", "sha": SHA, "state": state, "description": state, "context": "signoff",
        "target_url": "https://ci.example.com/review"})


@pytest.fixture
def history(store, monkeypatch, store_url):
    """A request, labels, two decisions, statuses posted (anchored) after each step."""
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", store_url)
    req = store.add_request(NewRequest(sha=SHA, change_key="main", source="files", locator={}, baseline_ref="b",
                                       candidate_ref=SHA, title="t", author="dana@example.com", content_hash="c0ffee",
                                       config_toml="[policy]\n", eval_sets=["texts"]),
                            comparisons=[("texts", {}, _comparison_table())], status="pending",
                            description="pending", outbox=[status("pending")], actor="ci@example.com")
    publish_outbox(store)
    store.upsert_label(Label(req.id, "texts", "s1", "alice@example.com", verdict=Verdict.TIE))
    store.upsert_labels([Label(req.id, "texts", "s2", "alice@example.com", correct=True),
                         Label(req.id, "texts", "s3", "bob@example.com", error="format")], actor="alice@example.com")
    store.record_decision(Decision("alice@example.com", "sme", DecisionKind.REJECT, "c0ffee", request_id=req.id),
                          status="rejected", description="rejected", outbox=[status("failure")])
    publish_outbox(store)
    store.record_decision(Decision("bob@example.com", "sme", DecisionKind.APPROVE, "c0ffee", request_id=req.id),
                          status="rejected", description="rejected", outbox=[status("failure")])
    publish_outbox(store)
    assert main(["audit", "verify"]) == 0
    return req


def verify(capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["audit", "verify"])
    return code, capsys.readouterr().out


def last_seq(store) -> int:
    return store.audit_head()[0]


def test_intact_log_says_which_anchors_it_checked(history, capsys):
    code, out = verify(capsys)
    assert code == 0 and "checked anchor: local status" in out and "audit log intact" in out


def test_edit_an_entry(history, store, store_url, capsys):
    seq = [e.seq for e in store.audit_entries() if e.action == "decision"][0]
    raw_sql(store_url, f"""UPDATE audit_log SET payload = replace(payload, 'reject', 'approve') WHERE seq = {seq}""")
    code, out = verify(capsys)
    assert code == 1 and f"entry {seq}" in out and "edited" in out


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_delete_an_entry(history, store, store_url, capsys, which):
    seq = {"first": 1, "middle": last_seq(store) // 2, "last": last_seq(store)}[which]
    raw_sql(store_url, f"DELETE FROM audit_log WHERE seq = {seq}")
    code, out = verify(capsys)
    assert code == 1 and "TAMPERED" in out
    if which != "last":
        assert f"entry {seq} is missing" in out
    else:
        assert "entries removed at the end" in out


def test_delete_the_tail_and_fix_the_head(history, store, store_url, capsys):
    keep = [e for e in store.audit_entries() if e.action == "decision"][-1].seq - 1   # cut off bob's approval
    [h] = [e.hash for e in store.audit_entries() if e.seq == keep]
    raw_sql(store_url, f"DELETE FROM audit_log WHERE seq > {keep}",
            f"UPDATE audit_head SET count = {keep}, last_hash = '{h}'")
    code, out = verify(capsys)
    assert code == 1 and "which the log does not hold" in out            # the anchors
    assert "decisions:" in out or "decisions row" in out                  # and the tables


def _rewrite_suffix(store, store_url, start: int, edit) -> None:
    """What someone with the database and no key does: edit from `start` on and recompute every hash."""
    from app.core.audit import entry_hash
    from app.core.hashing import canonical_json

    entries = store.audit_entries()
    prev = entries[start - 2].hash if start > 1 else GENESIS
    stmts = []
    for e in entries[start - 1:]:
        payload = edit(e)
        h = entry_hash(seq=e.seq, at=e.at, actor=e.actor, action=e.action, request_id=e.request_id,
                       payload=payload, prev_hash=prev, signature=e.signature, key=e.key)
        text = canonical_json(payload).replace("'", "''")
        stmts.append(f"UPDATE audit_log SET payload = '{text}', prev_hash = '{prev}', hash = '{h}' WHERE seq = {e.seq}")
        prev = h
    stmts.append(f"UPDATE audit_head SET last_hash = '{prev}'")
    raw_sql(store_url, *stmts)


def test_rewrite_a_suffix_with_recomputed_hashes(history, store, store_url, capsys):
    first_decision = [e for e in store.audit_entries() if e.action == "decision"][0]

    def edit(e):
        p = dict(e.payload)
        if e.seq == first_decision.seq:
            p["kind"] = "approve"
        return p

    _rewrite_suffix(store, store_url, first_decision.seq, edit)
    raw_sql(store_url, "UPDATE decisions SET kind = 'approve'")
    code, out = verify(capsys)
    assert code == 1 and "(rewritten)" in out          # an anchor past the rewrite
    assert "signature does not verify" in out          # and the installation's signature over the entry


def test_delete_everything_and_reset_the_head(history, store, store_url, capsys):
    raw_sql(store_url, "DELETE FROM audit_log", f"UPDATE audit_head SET count = 0, last_hash = '{GENESIS}'",
            "DELETE FROM labels", "DELETE FROM decisions", "DELETE FROM requests")
    code, out = verify(capsys)
    assert code == 1 and "which the log does not hold" in out


def test_flip_a_decision_row(history, store, store_url, capsys):
    raw_sql(store_url, "UPDATE decisions SET kind = 'approve' WHERE kind = 'reject'")
    code, out = verify(capsys)
    assert code == 1 and "kind is approve in the store, reject in the log" in out and "decisions row" in out


def test_flip_a_label_row(history, store, store_url, capsys):
    raw_sql(store_url, "UPDATE labels SET correct = false WHERE sample_id = 's2'")
    code, out = verify(capsys)
    assert code == 1 and "labels: (req 1, texts, s2, alice@example.com): correct is False in the store" in out


def test_delete_a_label_row_and_a_status(history, store, store_url, capsys):
    raw_sql(store_url, "DELETE FROM labels WHERE sample_id = 's3'", "UPDATE requests SET status = 'approved'")
    code, out = verify(capsys)
    assert code == 1 and "(req 1, texts, s3, bob@example.com) in the log, not in the store" in out
    assert "requests row 1: status is 'approved' in the store, 'rejected' in the log" in out


def test_forge_an_entry_without_a_key(history, store, store_url, capsys):
    """An approval appended by hand with the chain extended correctly, but no installation's signature."""
    from app.core.audit import entry_hash

    e = store.audit_entries()[-1]
    seq = e.seq + 1
    at = e.at
    payload = {"user": "mallory@example.com", "role": "sme", "kind": "approve", "content_hash": "c0ffee",
               "comment": "", "sha": SHA, "status": "approved", "description": "approved"}
    h = entry_hash(seq=seq, at=at, actor="mallory@example.com", action="decision", request_id=1, payload=payload,
                   prev_hash=e.hash)
    from app.core.hashing import canonical_json
    raw_sql(store_url, f"INSERT INTO audit_log (seq, at, actor, action, request_id, payload, prev_hash, hash) VALUES "
                       f"({seq}, '{at.strftime('%Y-%m-%d %H:%M:%S.%f')}', 'mallory@example.com', 'decision', 1, "
                       f"'{canonical_json(payload)}', '{e.hash}', '{h}')",
            f"UPDATE audit_head SET count = {seq}, last_hash = '{h}'")
    code, out = verify(capsys)
    assert code == 1 and f"entry {seq} (decision by mallory@example.com): not signed by an installation" in out


def test_a_missing_head_is_repaired_from_the_log_and_audited(history, store, store_url, capsys):
    raw_sql(store_url, "DELETE FROM audit_head")
    with pytest.raises(Exception, match="signoff audit repair"):
        store.append_audit(actor="a", action="x", request_id=None, payload={})
    code, out = verify(capsys)
    assert code == 1 and "audit head record is missing" in out
    assert main(["audit", "repair"]) == 0
    assert store.audit_entries()[-1].action == "audit.repair"
    code, out = verify(capsys)
    assert code == 0, out
