"""The tampering suite (issue 11): each case detected by `signoff audit verify` (exit 1, saying
what and where) on SQLite and PostgreSQL, with the anchors reachable: the request comes from a
real git repository whose base signoff.toml lists the reviewers' keys, labels and decisions go
through the real ReviewService (signed), every status is posted to the local sink (its target_url
carries the head) and anchored as a git note on the commit (refs/notes/signoff)."""

from __future__ import annotations

import pytest

from signoff.cli.main import main
from signoff.core.audit import GENESIS
from signoff.core.model import Verdict
from tests.audit.world import decide, make_world, note, request, service
from tests.store.conftest import _postgres_template, _sqlite_template, backend, store, store_url  # noqa: F401
from tests.store.test_store_audit import raw_sql
from tests.support.postgres import postgres_server  # noqa: F401


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path)


@pytest.fixture
def history(store, monkeypatch, store_url, world):
    """A request, labels (a keystroke and a file of alice's, one of bob's), bob's approval and
    alice's reject, each status posted (anchored) as it changed."""
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", store_url)
    req = request(store, world)
    alice, bob = service(store, "alice@example.com"), service(store, "bob@example.com")
    alice.set_label(req.id, "texts", "s1", verdict=Verdict.TIE)
    alice.import_labels(req.id, [{"eval_set": "texts", "sample_id": "s2", "correct": "true"}])
    bob.set_label(req.id, "texts", "s3", error="format")
    decide(store, req, "bob@example.com", "approve")
    decide(store, req, "alice@example.com", "reject")
    assert store.get_request(req.id).status == "rejected"
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
    seq = [e.seq for e in store.audit_entries() if e.action == "decision"][-1]   # alice's reject
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
    keep = [e for e in store.audit_entries() if e.action == "decision"][-1].seq - 1   # cut off alice's reject
    [h] = [e.hash for e in store.audit_entries() if e.seq == keep]
    raw_sql(store_url, f"DELETE FROM audit_log WHERE seq > {keep}",
            f"UPDATE audit_head SET count = {keep}, last_hash = '{h}'")
    code, out = verify(capsys)
    assert code == 1 and "which the log does not hold" in out            # the anchors
    assert "decisions:" in out or "decisions row" in out                  # and the tables


def _rewrite_suffix(store, store_url, start: int, edit) -> None:
    """What someone with the database and no key does: edit from `start` on and recompute every hash."""
    from signoff.core.audit import entry_hash
    from signoff.core.hashing import canonical_json

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
    reject = [e for e in store.audit_entries() if e.action == "decision"][-1]

    def edit(e):   # the reject becomes an approval, in the entry and in the statement it carries
        p = dict(e.payload)
        if e.seq == reject.seq:
            p["kind"] = "approve"
            p["statement"] = p["statement"].replace('"decision":"reject"', '"decision":"approve"')
        return p

    _rewrite_suffix(store, store_url, reject.seq, edit)
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


def test_rewrite_a_requests_policy_or_keys(history, store, store_url, capsys):
    """What decides who counts is fixed by the request's creation entry: a policy or keys rewritten
    in the table (to make a key of one's own count) shows."""
    raw_sql(store_url, "UPDATE requests SET config_toml = config_toml || '# relaxed'")
    code, out = verify(capsys)
    assert code == 1 and "requests row 1: its policy (signoff.toml) changed since the log recorded it" in out
    raw_sql(store_url, "UPDATE requests SET config_toml = replace(config_toml, '# relaxed', '')",
            "UPDATE requests SET reviewer_keys = '{\"alice@example.com\": [\"ssh-ed25519 AAAAmallory\"]}'")
    code, out = verify(capsys)
    assert code == 1 and "requests row 1: its reviewers' keys changed since the log recorded it" in out
    assert "its policy (signoff.toml)" not in out


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
    from signoff.core.audit import entry_hash

    e = store.audit_entries()[-1]
    seq = e.seq + 1
    at = e.at
    payload = {"user": "mallory@example.com", "role": "sme", "kind": "approve", "content_hash": "c0ffee",
               "comment": "", "sha": history.sha, "status": "approved", "description": "approved"}
    h = entry_hash(seq=seq, at=at, actor="mallory@example.com", action="decision", request_id=1, payload=payload,
                   prev_hash=e.hash)
    from signoff.core.hashing import canonical_json
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


# -- the git note alone (no local statuses, no outbox: a store whose statuses go to a forge) --------

def _only_the_git_note(store_url) -> None:
    raw_sql(store_url, "DELETE FROM local_statuses", "DELETE FROM outbox")


def test_the_git_note_anchors_the_head(history, world, store):
    n = note(world.repo, world.sha)
    posted = [e for e in store.audit_entries() if e.action == "status.posted"][-1]
    assert n["signoff_audit"] == posted.payload["anchor"]
    assert f"git note {world.repo}" in posted.payload["anchored_in"]
    assert n["record"]["predicate"]["request"]["sha"] == world.sha
    assert n["record"]["predicate"]["verdict"]["status"] == "rejected"


def test_delete_the_tail_and_fix_the_head_is_seen_through_the_git_note(history, store, store_url, world, capsys):
    keep = [e for e in store.audit_entries() if e.action == "decision"][-1].seq - 1
    [h] = [e.hash for e in store.audit_entries() if e.seq == keep]
    _only_the_git_note(store_url)
    # the tables follow the cut too, so the replay finds nothing wrong: only the anchor can tell
    raw_sql(store_url, f"DELETE FROM audit_log WHERE seq > {keep}",
            f"UPDATE audit_head SET count = {keep}, last_hash = '{h}'",
            "DELETE FROM decisions WHERE kind = 'reject'",
            "UPDATE requests SET status = 'pending', description = 'awaiting review: 0/1 QA'")
    assert store.verify_audit().ok, store.verify_audit().problems    # the log and tables agree
    code, out = verify(capsys)
    assert code == 1 and f"git note on {world.sha[:10]} in {world.repo} anchors entry" in out
    assert "which the log does not hold" in out
    assert "local status" not in out


def test_delete_everything_is_seen_through_the_git_note(history, store, store_url, world, capsys):
    _only_the_git_note(store_url)
    raw_sql(store_url, "DELETE FROM audit_log", f"UPDATE audit_head SET count = 0, last_hash = '{GENESIS}'",
            "DELETE FROM labels", "DELETE FROM label_statements", "DELETE FROM decisions", "DELETE FROM comparisons",
            "DELETE FROM requests")
    code, out = verify(capsys)     # the installation remembers where it wrote notes (SIGNOFF_HOME)
    assert code == 1 and f"git note on {world.sha[:10]} in {world.repo}" in out
    assert "which the log does not hold" in out


def test_delete_everything_is_seen_through_the_notes_of_a_named_repository(history, store, store_url, world,
                                                                           capsys, monkeypatch, tmp_path):
    """Another installation (no memory of the notes) verifying with the repository named."""
    _only_the_git_note(store_url)
    raw_sql(store_url, "DELETE FROM audit_log", f"UPDATE audit_head SET count = 0, last_hash = '{GENESIS}'",
            "DELETE FROM labels", "DELETE FROM label_statements", "DELETE FROM decisions", "DELETE FROM comparisons",
            "DELETE FROM requests")
    monkeypatch.setenv("SIGNOFF_HOME", str(tmp_path / "another-home"))
    code, out = verify(capsys)
    assert code == 0 and "no anchor reachable" in out     # nothing to compare with: the docs say so
    capsys.readouterr()
    assert main(["audit", "verify", "--repo", str(world.repo)]) == 1
    out = capsys.readouterr().out
    assert f"git note on {world.sha[:10]} in {world.repo}" in out and "which the log does not hold" in out
