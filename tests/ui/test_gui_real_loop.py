"""The review loop in the real window, on the real service, store and demo:
open the demo request, label by keys, approve through the dialog, and see the
status CI waits on change."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from signoff.service.review import ReviewService
from signoff.store.store import Store
from signoff.service.signer import KeyFileSigner
from signoff.plugins.demo import DemoSource, build_demo_workspace, demo_key_file

pytestmark = [pytest.mark.gui, pytest.mark.real_signer]   # the demo's own reviewer keys sign


@pytest.fixture
def demo_request(tmp_path):
    ws = build_demo_workspace(tmp_path / "demo")
    store = Store()  # SIGNOFF_HOME is a fresh temp dir (tests/conftest.py)
    ci = ReviewService(store, user="ci@example.com")
    req = ci.create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    yield store, req, ws
    store.close()


def as_reviewer(store, ws, user):
    return ReviewService(store, user=user, signer=KeyFileSigner(demo_key_file(ws.repo, user)))


def test_label_by_keys_and_approve_in_the_window(qtbot, make_window, demo_request):
    store, req, ws = demo_request
    alice = as_reviewer(store, ws, "alice@example.com")
    window = make_window(alice)
    with qtbot.waitSignal(window.comparisonLoaded, timeout=20000):
        window.inbox.select(req.id)
    assert window.eval_set == req.eval_sets[0]
    assert "awaiting review: 0/2 SME, 0/1 QA" in window.verdict_label.text()

    # Twelve labels by keys only: 1-4 label and move on, c / x mark correctness, undo takes one back.
    window.table.setFocus()
    keys = [Qt.Key_1, Qt.Key_2, Qt.Key_3, Qt.Key_4] * 3
    labeled = []
    for key in keys:
        labeled.append(window.current_sample_id())
        qtbot.keyClick(window.table, key)
        if window.queues.notice.isVisible():   # the end of the regressions: Enter goes to the next queue
            assert "regressed queue of digits done (9/9)" in window.queues.notice.text.text()
            qtbot.keyClick(window.table, Qt.Key_Return)
    qtbot.keyClick(window.table, Qt.Key_Z, Qt.ControlModifier)       # undo the last (both wrong)
    window.flush_labels()            # labels are written off the GUI thread, in keystroke order
    mine = alice.labels_frame(req.id, user="alice@example.com")
    assert len(mine) == 11
    assert set(mine["sample_id"]) == set(labeled[:11])
    assert list(mine.set_index("sample_id").loc[labeled[:4], "verdict"]) == ["candidate", "baseline", "tie", "both-wrong"]
    qtbot.keyClick(window.table, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)  # redo
    window.flush_labels()
    assert len(alice.labels_frame(req.id, user="alice@example.com")) == 12

    # The rest of the coverage the demo policy asks for comes from a second SME, then bob and quinn approve.
    bob = as_reviewer(store, ws, "bob@example.com")
    rows = []
    for name in req.eval_sets:
        t = bob.comparison(req.id, name)
        rows += [{"eval_set": name, "sample_id": i, "verdict": "tie"} for i in t.loc[t["class"] != "unchanged", "id"]]
    bob.import_labels(req.id, rows)
    bob.decide(req.id, "approve", "fine")
    as_reviewer(store, ws, "quinn@example.com").decide(req.id, "approve", "ok for release")

    # Alice approves through the dialog (Ctrl+Enter).
    qtbot.keyClick(window.table, Qt.Key_Return, Qt.ControlModifier)
    dialog = window.approval_dialog
    assert dialog is not None and dialog.isVisible()
    assert "1/2 SME" in dialog.status_label.text()
    assert [lab.text().split(":")[0].strip() for lab in dialog.count_labels] == ["✓ counts"] * 2
    dialog.approve_radio.setChecked(True)
    dialog.comment.setPlainText("regressions are acceptable: see labels")
    qtbot.mouseClick(dialog.ok_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)

    assert store.get_request(req.id).status == "approved"
    qtbot.waitUntil(lambda: "approved" in window.verdict_label.text(), timeout=5000)
    # The status CI sees: the window posts the outbox in the background, last state approved.
    qtbot.waitUntil(lambda: (store.local_statuses(req.sha) or [{}])[-1].get("state") == "approved", timeout=10000)
    qtbot.waitUntil(lambda: "outbox: all statuses posted" in window.status_label.text(), timeout=10000)
    assert store.verify_audit().ok
    alice_decision = [d for d in store.decisions_for_change(req.change_key) if d.user == "alice@example.com"][0]
    assert alice_decision.signature and alice_decision.key_fingerprint == alice._signer.fingerprint
